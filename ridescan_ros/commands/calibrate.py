"""``ridescan calibrate``: train a model on normal recordings, with a progress bar."""

from __future__ import annotations

import argparse
import sys
import time

from ridescan_ros.core.errors import RideScanError

ROBOT_TYPES = ("SPOT", "UR6", "wheeled_mobile")


def add_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``ridescan calibrate``."""
    p.add_argument("--robot-type", required=True, type=_robot_type, metavar="{SPOT,UR6,wheeled_mobile}",
                   help="robot profile (case-insensitive; also 0/1/2)")
    p.add_argument("--out", required=True, help="model directory to write (replaced atomically)")
    p.add_argument("--epochs", type=int, default=100, help="training epochs per fold (default 100)")
    p.add_argument("--batch-size", type=int, default=128, help="windows per batch (default 128)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto picks CUDA when available")
    p.add_argument("--seed", type=int, default=0, help="random seed (same data + seed = same model)")
    p.add_argument("--topic", action="append", default=[], metavar="ROLE=TOPIC",
                   help="override a profile topic, e.g. joint_states=/robot1/joint_states")
    p.add_argument("--min-files", type=int, default=15, help=argparse.SUPPRESS)
    p.add_argument("paths", nargs="+", metavar="PATH", help="normal recordings: files or folders")


def _robot_type(value: str) -> str:
    from ridescan_ros.core.profiles import get_profile

    try:
        return get_profile(value).name
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


class ProgressBar:
    """One-line stderr bar fed by calibration progress dicts."""

    def __init__(self, stream=sys.stderr, width: int = 28) -> None:
        self.stream, self.width = stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last_line = ""
        self.last_stage = ""
        self.last_t = 0.0

    def __call__(self, p: dict) -> None:
        stage = p.get("stage", "")
        if stage == "reading":
            done, total = p.get("files_done", 0), max(p.get("files_total", 0), 1)
            frac, info = done / total, f"reading {done}/{total} files"
        elif stage == "training":
            folds, fold = p.get("folds", 1), p.get("fold", 1)
            ep, eps = p.get("epoch", 0), max(p.get("epochs", 1), 1)
            frac = ((fold - 1) * eps + ep) / (folds * eps)
            loss = p.get("loss")
            info = f"training fold {fold}/{folds} epoch {ep}/{eps}" + (f" loss {loss:.4f}" if loss is not None else "")
        else:
            frac, info = 1.0, stage
        fill = int(round(frac * self.width))
        line = f"[{'#' * fill}{'.' * (self.width - fill)}] {frac:4.0%} {info}"
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + line.ljust(len(self.last_line)))
            self.stream.flush()
        elif stage != self.last_stage or now - self.last_t > 5.0 or (frac >= 1.0 and line != self.last_line):
            self.stream.write(line + "\n")  # a log, not a terminal: a line per stage or 5 s
            self.last_t = now
        self.last_line, self.last_stage = line, stage

    def close(self) -> None:
        """End the bar's line."""
        if self.tty and self.last_line:
            self.stream.write("\n")


def run(args: argparse.Namespace) -> int:
    """Calibrate and print a summary; 1 on a calibration error."""
    from ridescan_ros.model.calibration import calibrate

    topics = {}
    for item in args.topic:
        role, sep, topic = item.partition("=")
        if not sep:
            print(f"error: --topic expects ROLE=TOPIC, got {item!r}", file=sys.stderr)
            return 2
        topics[role] = topic
    bar = ProgressBar()
    try:
        res = calibrate(args.paths, args.robot_type, args.out, epochs=args.epochs,
                        batch_size=args.batch_size, device=args.device, seed=args.seed,
                        topics=topics or None, progress=bar, min_files=args.min_files)
    except (RideScanError, ValueError) as err:
        bar.close()
        for path, reason in getattr(err, "file_errors", {}).items():
            print(f"skipped {path}: {reason}", file=sys.stderr)
        print(f"error: {err}", file=sys.stderr)
        return 1
    bar.close()
    for path, reason in res.file_errors.items():
        print(f"skipped {path}: {reason}", file=sys.stderr)
    for note in res.notes:
        print(f"warning: {note}", file=sys.stderr)
    held = sorted(res.holdout_file_risk.values())
    net = (f"residual networks trained, final loss {res.final_loss:.4g}" if res.final_loss is not None else
           "none: no joint kinematics + effort (or wrench) pairs to model in these recordings; "
           "window and whole-file statistics only (--epochs/--batch-size/--device unused)")
    print(f"model      {res.model_dir}\nversion    {res.model_version}\n"
          f"robot      {args.robot_type}\nfiles      {res.files_used} used, {len(res.file_errors)} skipped\n"
          f"signals    {len(res.signals)}\nnetwork    {net}\ndevice     {res.device}\nseconds    {res.seconds:.1f}\n"
          f"held-out normal file risk: min {held[0]:.1f}, median {held[len(held) // 2]:.1f}, "
          f"max {held[-1]:.1f} (50 = critical)")
    return 0
