"""``ridescan demo``: the main job end to end on labelled sample recordings.

With ``$RIDESCAN_SAMPLE_DATA`` set (CI sets it to ../shared/data) the demo uses the
simulated UR5e pick-and-place runs there; otherwise it writes synthetic UR6-like bags
(``core.samples``) and says so. It calibrates on 15 normal runs, scores the held-out
normal and the faulty runs with the model and the three baselines, prints a table and
writes plots and a summary into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

DEFAULT_EPOCHS = 30  # 5 folds x 30 epochs keeps the demo at a few minutes on 2 CPU cores
DEFAULT_DATASET = "sim_ur5e"


def add_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``ridescan demo``."""
    p.add_argument("--out", default="demo_out", help="folder for model, plots and summary (default ./demo_out)")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"training epochs (default {DEFAULT_EPOCHS}; calibrate's default is 100)")
    p.add_argument("--data", help="a folder with recordings and labels.json (default: $RIDESCAN_SAMPLE_DATA/sim_ur5e, else generated samples)")
    p.add_argument("--robot-type", default=None, help="profile for --data (default UR6; SPOT when the folder name says spot)")
    p.add_argument("--calib-files", type=int, default=15, help="normal runs to calibrate on (default 15)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda (default auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of training and baselines (default 0)")
    p.add_argument("--sample-seconds", type=float, default=30.0, help="length of generated sample runs (default 30 s)")


def _say(msg: str) -> None:
    print(msg, flush=True)


def _choose_data(args: argparse.Namespace, out: Path) -> tuple[Path, str]:
    """(labels.json, robot type): --data, $RIDESCAN_SAMPLE_DATA/sim_ur5e, or generated samples."""
    if args.data:
        lp = Path(args.data) / "labels.json"
        robot = args.robot_type or ("SPOT" if "spot" in Path(args.data).name.lower() else "UR6")
        _say(f"data: {args.data} (labels.json, robot type {robot})")
        return lp, robot
    env = os.environ.get("RIDESCAN_SAMPLE_DATA")
    if env and (Path(env) / DEFAULT_DATASET / "labels.json").is_file():
        _say(f"data: reference recordings {Path(env) / DEFAULT_DATASET} ($RIDESCAN_SAMPLE_DATA): "
             "physics-simulated UR5e pick-and-place runs, ROS 1 bags, labelled faults")
        return Path(env) / DEFAULT_DATASET / "labels.json", "UR6"
    from ridescan_ros.core.samples import generate_samples

    where = out / "sample_data"
    why = f"$RIDESCAN_SAMPLE_DATA={env} has no {DEFAULT_DATASET}/labels.json" if env else "$RIDESCAN_SAMPLE_DATA is not set"
    _say(f"data: {why}, so this demo GENERATES synthetic sample recordings "
         f"(UR6-like ROS 1 bags: 6 joints + wrench, 20 normal, 6 with injected faults) into {where}")
    t = time.perf_counter()
    lp = generate_samples(where, n_normal=20, n_fault=6, duration_s=args.sample_seconds, seed=args.seed)
    _say(f"  generated 26 bags in {time.perf_counter() - t:.1f} s")
    return lp, "UR6"


def _progress_printer():
    state = {"stage": None, "last": 0.0}

    def progress(ev: dict) -> None:
        stage, now = ev.get("stage"), time.perf_counter()
        if stage == "training":
            if ev.get("epoch") in (1, ev.get("epochs")) or now - state["last"] > 5.0:
                loss = ev.get("loss")
                _say(f"  training fold {ev.get('fold', 1)}/{ev.get('folds', 1)} epoch {ev['epoch']}/{ev['epochs']}"
                     + (f" loss {loss:.4f}" if isinstance(loss, float) else ""))
                state["last"] = now
        elif stage == "reading":
            if ev.get("files_done") == ev.get("files_total") or stage != state["stage"]:
                _say(f"  reading calibration files {ev.get('files_done')}/{ev.get('files_total')}")
        elif stage != state["stage"]:
            _say(f"  {stage}")
        state["stage"] = stage

    return progress


def run(args: argparse.Namespace) -> int:
    """Calibrate, score, print and plot; exit 1 when calibration fails."""
    from ridescan_ros import evaluation as ev
    from ridescan_ros.commands.evaluate import json_safe, format_report
    from ridescan_ros.core.errors import RideScanError
    from ridescan_ros.model.calibration import calibrate
    from ridescan_ros.model.scorer import Scorer
    from ridescan_ros.plots import plot_risk, plot_summary

    t_all = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    labels_path, robot = _choose_data(args, out)
    items = ev.read_labels(labels_path)
    normals = [i for i in items if not i.positive]
    calib = [i.path for i in normals[: args.calib_files]]
    calib_set = set(calib)
    held = [i for i in items if i.path not in calib_set]
    _say(f"split: calibrate on {len(calib)} normal runs; score {sum(not i.positive for i in held)} held-out normal "
         f"and {sum(i.positive for i in held)} faulty runs")
    _say(f"calibrating a {robot} model ({args.epochs} epochs, device {args.device}, seed {args.seed}) ...")
    try:
        res = calibrate(calib, robot, out / "model", epochs=args.epochs, device=args.device, seed=args.seed,
                        progress=_progress_printer())
    except RideScanError as err:
        print(f"error: calibration failed: {err}", file=sys.stderr)
        return 1
    _say(f"  model {res.model_version} in {res.model_dir}: {res.files_used} files, {res.seconds:.1f} s on {res.device}")
    scorer = Scorer.load(res.model_dir)
    _say("scoring held-out runs with the model and the PCA / Mahalanobis / IsolationForest baselines ...")
    results = ev.evaluate_files(scorer, calib, held, seed=args.seed, progress=lambda m: _say("  " + m))
    summary = ev.summarize(results)
    report = format_report(summary)
    _say("")
    _say(report)
    plots = out / "plots"
    for r in results:
        if r.error is None:
            sc = {"file": r.item.path, "risk_score": r.risk, "top_signals": [{"signal": s} for s in r.top_signals],
                  "window_scores": [{"t_start": a, "t_end": b, "risk": c} for a, b, c in
                                    zip(r.model_windows["t_start"], r.model_windows["t_end"], r.model_windows["risk"])]}
            lab = "normal" if not r.item.positive else (r.item.fault or "fault")
            plot_risk(sc, plots / f"{Path(r.item.path).stem}.png", onset_s=r.item.onset_s, label=lab)
    plot_summary([{"file": f["file"], "risk": f["risk"], "label": f["label"]} for f in summary["files"] if not f["error"]],
                 plots / "summary.png", title=f"file risk, model {res.model_version} ({labels_path.parent.name})")
    summary.update({"data": str(labels_path.parent), "robot_type": robot, "model_dir": res.model_dir,
                    "model_version": res.model_version, "epochs": args.epochs, "calibration_seconds": res.seconds,
                    "calibration_files": calib, "total_seconds": time.perf_counter() - t_all})
    (out / "summary.json").write_text(json.dumps(json_safe(summary), indent=1))
    (out / "summary.md").write_text(f"# ridescan demo\n\ndata: {labels_path.parent}\n\n```\n{report}\n```\n")
    _say("")
    _say(f"wrote {out / 'summary.json'}, {out / 'summary.md'} and {len(list(plots.glob('*.png')))} plots in {plots}")
    _say(f"demo finished in {time.perf_counter() - t_all:.0f} s")
    return 0
