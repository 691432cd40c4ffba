"""``ridescan`` command line: a thin dispatcher over ``ridescan_ros.commands``.

Sub-command modules are imported only when chosen, so ``ridescan --help`` and the
light commands start fast and never pay for torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "calibrate": "Train an anomaly model on >= 15 normal recordings.",
    "score": "Score recordings with a calibrated model (risk 0-100, top signals).",
    "evaluate": "AUROC/AUPRC of a model and PCA/Mahalanobis/IsolationForest baselines.",
    "demo": "The main job end to end on sample recordings: calibrate, score, table, plots.",
    "serve": "Run the RideScan-compatible /api sidecar (FastAPI + uvicorn).",
    "keys": "Create API keys (stores only their hashes).",
    "inspect": "Show what a recording holds: topics, types, counts, warnings.",
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """Build the parser; only the chosen sub-command's module is imported."""
    parser = argparse.ArgumentParser(
        prog="ridescan",
        description="RideScan-style anomaly scoring for robot recordings (ROS 1/2 bags, CSV, zip).",
        epilog="Run 'ridescan COMMAND --help' for the options of one command.",
    )
    from ridescan_ros import __version__

    parser.add_argument("--version", action="version", version=f"ridescan_ros {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if a in COMMANDS), None)
    for name, help_text in COMMANDS.items():
        if name == chosen:
            mod = importlib.import_module(f"ridescan_ros.commands.{name}")
            p = sub.add_parser(name, help=help_text, description=help_text)
            mod.add_parser(p)
            p.set_defaults(_run=mod.run)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ridescan`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
