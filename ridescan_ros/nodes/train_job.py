"""Calibration in a child process: ``python -m ridescan_ros.nodes.train_job '<json>'``.

The node starts this so training never holds its executor or the GIL. The model is written
to ``<out_dir>.partial`` and renamed to ``out_dir`` only when complete; the last stdout line
is a JSON summary. Exit status 0 on success, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import sys


def run(args: dict) -> dict:
    """Calibrate ``args['paths']`` into ``args['out_dir']``; returns a JSON-ready summary."""
    from ridescan_ros.model.calibration import calibrate

    out_dir = args["out_dir"]
    partial = out_dir + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        result = calibrate(
            args["paths"],
            args["robot_type"],
            partial,
            epochs=int(args["epochs"]),
            batch_size=int(args["batch_size"]),
            device=args["device"],
            min_files=int(args["min_files"]),
        )
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.replace(partial, out_dir)
    version = getattr(result, "model_version", None) or os.path.basename(out_dir)
    return {"model_dir": out_dir, "model_version": str(version)}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        summary = run(json.loads(argv[0]))
    except Exception as err:  # noqa: BLE001 - the parent shows the reason to the user
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
