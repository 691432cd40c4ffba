"""``ridescan evaluate``: AUROC/AUPRC of a model next to PCA, Mahalanobis and IsolationForest.

Files the model calibrated on (listed in its manifest) are never scored as held-out
normals. Baselines are fitted on those same calibration files' windows.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ridescan_ros.core.errors import RideScanError
from ridescan_ros.evaluation import METHODS

SHORT = {"mahalanobis": "mahal", "mahalanobis_file": "mahal_file"}


def add_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``ridescan evaluate``."""
    p.add_argument("--model", required=True, help="model directory written by 'ridescan calibrate'")
    p.add_argument("--normal", nargs="+", default=[], metavar="PATH", help="normal recordings (files or folders)")
    p.add_argument("--anomalous", nargs="+", default=[], metavar="PATH", help="faulty/failed recordings")
    p.add_argument("--labels", help="labels.json as in ../shared/data/sim_* (files beside it)")
    p.add_argument("--threshold", type=float, default=50.0, help="risk alarm threshold for window figures (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the baselines (IsolationForest, subsampling)")
    p.add_argument("--json", action="store_true", help="print the full report as one JSON object")


def _f(x: float | None, nd: int = 2) -> str:
    return "  -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def format_report(s: dict) -> str:
    """Human-readable tables of a ``evaluation.summarize`` result."""
    lines = [f"held-out normal files: {s['n_normal']}, anomalous files: {s['n_anomalous']}, unreadable: {s['n_errors']}"]
    tot = s["n_normal"] + s["n_anomalous"]
    chance = s["n_anomalous"] / tot if tot else float("nan")
    lines += ["", f"{'method':<17} {'AUROC':>6} {'AUPRC':>6}   (file level; AUPRC chance = {_f(chance)})"]
    for m in METHODS:
        o = s["overall"].get(m)
        if o:
            lines.append(f"{m:<17} {_f(o['auroc']):>6} {_f(o['auprc']):>6}")
    lines.append("(pca/mahalanobis/iforest: mean of the top 10% window scores; *_file: whole-file statistics)")
    ms = [m for m in METHODS if m in s["overall"]]
    if s["per_fault"]:
        lines += ["", f"{'fault (AUROC vs normals)':<24} {'n':>2} " + " ".join(f"{SHORT.get(m, m):>10}" for m in ms)]
        for f, row in s["per_fault"].items():
            lines.append(f"{f:<24} {row['n']:>2} " + " ".join(f"{_f(row[m]):>10}" for m in ms))
        lines.append(f"{'mean over fault types':<24} {'':>2} " + " ".join(f"{_f(s['mean_fault_auroc'][m]):>10}" for m in ms))
    a = s["attribution"]
    if a["n"]:
        lines += ["", f"attribution over {a['n']} faults that name a joint/leg: model top-1 {_f(a['model_top1'])}, "
                  f"top-3 {_f(a['model_top3'])}; PCA per-signal error top-1 {_f(a['pca_top1'])}, top-3 {_f(a['pca_top3'])}"]
    w = s["window"]
    lines += ["", f"window level (model, risk >= {s['threshold']:g}): {_f(w['false_alarms_per_hour'], 1)} false alarms per "
              f"robot-hour over {_f(w['normal_hours'], 2)} h of normal data; event recall {_f(w['event_recall'])}; "
              f"median delay {_f(w['median_delay_s'], 1)} s",
              "window AUROC (post-onset vs normal windows): " + ", ".join(f"{m} {_f(v)}" for m, v in w["auroc"].items())]
    lines += ["", f"{'file':<34} {'label':<22} {'risk':>5}  top signals"]
    for r in s["files"]:
        lab = r["label"] + (f" ({r['fault']})" if r.get("fault") else "")
        risk = "ERR" if r.get("error") else _f(r["risk"], 1)
        tail = r["error"] if r.get("error") else ", ".join(r["top_signals"])
        lines.append(f"{Path(r['file']).name:<34} {lab:<22} {risk:>5}  {tail}")
    return "\n".join(lines)


def json_safe(o: object) -> object:
    if isinstance(o, float) and math.isnan(o):
        return None
    if isinstance(o, dict):
        return {k: json_safe(v) for k, v in o.items()}
    if isinstance(o, list):
        return [json_safe(v) for v in o]
    return o


def run(args: argparse.Namespace) -> int:
    """Score the split, print tables (or JSON); exit 2 on bad input."""
    from ridescan_ros import evaluation as ev
    from ridescan_ros.model.scorer import Scorer

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        scorer = Scorer.load(args.model)
        calib = ev.manifest_inputs(args.model)
        items: list[ev.LabelledFile] = []
        if args.labels:
            items += ev.read_labels(args.labels)
        expand = _expander()
        items += [ev.LabelledFile(path=p, positive=False) for p in expand(args.normal)]
        items += [ev.LabelledFile(path=p, positive=True, fault="anomalous") for p in expand(args.anomalous)]
        items, dropped = ev.split_calibration(items, calib)
        for d in dropped:
            progress(f"excluded (model calibrated on it): {d.path}")
        if not any(i.positive for i in items) or all(i.positive for i in items):
            print("error: need held-out normal and anomalous files (give --labels, or --normal and --anomalous)", file=sys.stderr)
            return 2
        calib_paths = [c["path"] for c in calib if c.get("path") and Path(c["path"]).exists()]
        if len(calib_paths) < len(calib) or not calib_paths:
            print(f"error: the model's calibration files are needed for the baselines; found {len(calib_paths)} of "
                  f"{len(calib)} listed in {args.model}/manifest.json", file=sys.stderr)
            return 2
        results = ev.evaluate_files(scorer, calib_paths, items, seed=args.seed, progress=progress)
    except RideScanError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = ev.summarize(results, threshold=args.threshold)
    summary["excluded_calibration_files"] = [d.path for d in dropped]
    print(json.dumps(json_safe(summary)) if args.json else format_report(summary))
    return 0


def _expander():
    """``core.readers.expand_inputs`` (folders -> recordings)."""
    from ridescan_ros.core.readers import expand_inputs

    return lambda paths: list(expand_inputs(paths)) if paths else []
