"""``ridescan score``: risk 0-100 and top signals per recording (table, JSON lines, plots)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ridescan_ros.core.errors import RideScanError


def add_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``ridescan score``."""
    p.add_argument("--model", required=True, help="model directory written by 'ridescan calibrate'")
    p.add_argument("--json", action="store_true", help="one JSON object per line per recording")
    p.add_argument("--plot", metavar="DIR", help="write a risk-over-time PNG per recording into DIR")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                   help="accepted for symmetry with calibrate; scoring runs on the CPU (the fold "
                        "ensemble is two small matrix products per batch)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="recordings: files or folders")


def _table_row(s) -> str:
    top = ", ".join(f"{t['signal']} ({t['contribution']:.0%})" for t in s.top_signals[:3])
    flag = "CRITICAL" if s.risk_score >= 50 else ""
    return f"{s.risk_score:6.1f} {flag:8s} {s.windows:7d}  {Path(s.file).name:40s} {top}"


def run(args: argparse.Namespace) -> int:
    """Score every recording; unreadable ones are reported and the run goes on.

    Returns 0 when every recording was scored, 1 when some could not be.
    """
    from ridescan_ros.core.parallel import Prefetcher
    from ridescan_ros.model import dataset

    paths = dataset.expand(args.paths)
    if not paths:
        print(f"error: no recordings found in {', '.join(args.paths)} (expected .bag, .mcap, .db3, "
              ".csv, .zip or rosbag2 folders)", file=sys.stderr)
        return 1
    # Reading starts now, in a worker process, while this one imports torch and loads the
    # model; later files are read while the one before is scored (core.parallel).
    with Prefetcher(paths) as reads:
        from ridescan_ros.model.scorer import Scorer

        try:
            scorer = Scorer.load(args.model, device=args.device)
        except (RideScanError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return _score_all(args, scorer, reads)


def _score_all(args: argparse.Namespace, scorer, reads) -> int:  # type: ignore[no-untyped-def]
    from ridescan_ros.core.errors import RecordingError

    if args.plot:
        if Path(args.plot).exists() and not Path(args.plot).is_dir():
            print(f"error: --plot {args.plot} is a file; give a folder for the PNGs", file=sys.stderr)
            return 2
        Path(args.plot).mkdir(parents=True, exist_ok=True)
    failed = 0
    plot_names: set[str] = set()
    if not args.json:
        print(f"model {scorer.model_version} ({scorer.profile.name}); risk >= 50 is critical")
        print(f"{'risk':>6s} {'':8s} {'windows':>7s}  {'file':40s} top signals")
    for path, rec in reads:
        try:
            if isinstance(rec, RecordingError):
                raise rec
            s = scorer.score_recording(rec)
        except Exception as err:  # noqa: BLE001 - one file must never stop the others
            if not isinstance(err, RideScanError):
                err = RideScanError(f"{path}: internal error ({type(err).__name__}: {err})")
            failed += 1
            if args.json:
                print(json.dumps({"file": path, "error": str(err)}), flush=True)
            else:
                print(f"{'-':>6s} {'ERROR':8s} {'':7s}  {Path(path).name:40s} {err}", flush=True)
            continue
        print(s.to_json() if args.json else _table_row(s), flush=True)
        if not args.json:
            for w in s.warnings:
                print(f"{'':24s}warning: {w}")
        if args.plot:
            from ridescan_ros.plots import plot_risk

            name = f"{Path(path).name}.png"
            k = 1
            while name in plot_names:  # two run.csv from different folders: run.csv-2.png
                k += 1
                name = f"{Path(path).name}-{k}.png"
            plot_names.add(name)
            plot_risk(s, Path(args.plot) / name)
    return 1 if failed else 0
