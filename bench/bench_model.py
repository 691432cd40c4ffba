"""Model speed: calibration seconds on 15 one-minute recordings, scoring windows/s, peak memory.

    .venv/bin/python bench/bench_model.py                 # defaults: epochs 100, batch 128, CPU
    .venv/bin/python bench/bench_model.py --epochs 30 --sets samples

Calibration runs in a child process so its peak RSS is its own. Inputs: ``samples`` are 15
synthetic UR6 ROS 1 bags of exactly 60 s at 125 Hz (6 joints + wrench, ``core.samples``);
``sim_ur5e`` are the first 15 normal runs of ../shared/data/sim_ur5e (32-61 s). Results go
to ``bench/results/model.md`` (and ``model.json``). These are measurements, not timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _child_calibrate(paths: list[str], robot: str, out: str, epochs: int, batch: int, device: str) -> None:
    """Runs in the child: calibrate, print one JSON line with seconds and peak RSS."""
    from ridescan_ros.model.calibration import calibrate

    t = time.perf_counter()
    res = calibrate(paths, robot, out, epochs=epochs, batch_size=batch, device=device, seed=0)
    wall = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": wall, "reported_seconds": res.seconds, "device": res.device,
                      "files": res.files_used, "peak_rss_mb": rss_mb, "model_dir": res.model_dir}))


def calibrate_in_child(paths: list[str], robot: str, out: str, epochs: int, batch: int, device: str) -> dict:
    """Calibration in a fresh interpreter (own peak RSS; import time excluded from seconds)."""
    cmd = [sys.executable, __file__, "--child", json.dumps({"paths": paths, "robot": robot, "out": out,
                                                            "epochs": epochs, "batch": batch, "device": device})]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"calibration child failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def scoring_speed(model_dir: str, paths: list[str], repeats: int = 3) -> dict:
    """Windows/s of ``Scorer.score_frame`` on in-memory frames, and end-to-end files/s."""
    from ridescan_ros.core.profiles import select_signals
    from ridescan_ros.core.readers import load_recording
    from ridescan_ros.model.scorer import Scorer

    scorer = Scorer.load(model_dir)
    recs = [load_recording(p) for p in paths]
    frames = [scorer.frame(select_signals(r, scorer.profile)) for r in recs]
    n_win, best = 0, float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        n_win = sum(int(scorer.score_frame(f).risk.size) for f in frames)
        best = min(best, time.perf_counter() - t)
    t = time.perf_counter()
    for p in paths:
        scorer.score_path(p)
    e2e = time.perf_counter() - t
    secs = sum(r.duration_s() for r in recs)
    return {"windows": n_win, "score_frame_s": best, "windows_per_s": n_win / best,
            "end_to_end_s": e2e, "recording_seconds": secs, "realtime_factor": secs / e2e}


def inputs(name: str, tmp: Path, data: Path) -> tuple[list[str], str]:
    """(paths, robot type) of one input set."""
    if name == "samples":
        from ridescan_ros.core.samples import generate_samples

        lp = generate_samples(tmp / "samples", n_normal=15, n_fault=0, duration_s=60.0, seed=0)
        return sorted(str(p) for p in lp.parent.glob("*.bag")), "UR6"
    labels = json.loads((data / name / "labels.json").read_text())
    normals = sorted(k for k, v in labels.items() if v["label"] == "normal")[:15]
    return [str(data / name / k) for k in normals], ("SPOT" if "spot" in name else "UR6")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sets", nargs="+", default=["samples", "sim_ur5e"], choices=["samples", "sim_ur5e", "sim_spot"])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--devices", nargs="+", default=["cpu"], help="cpu and/or cuda (cuda is skipped when absent)")
    ap.add_argument("--data", default=os.environ.get("RIDESCAN_SAMPLE_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = ap.parse_args(argv)
    if args.child:
        c = json.loads(args.child)
        _child_calibrate(c["paths"], c["robot"], c["out"], c["epochs"], c["batch"], c["device"])
        return 0
    import torch

    rows = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for name in args.sets:
            paths, robot = inputs(name, tmp, Path(args.data))
            for dev in args.devices:
                if dev == "cuda" and not torch.cuda.is_available():
                    rows.append({"set": name, "device": "cuda", "skipped": "no CUDA device on this machine"})
                    continue
                cal = calibrate_in_child(paths, robot, str(tmp / f"model_{name}_{dev}"), args.epochs, args.batch_size, dev)
                sc = scoring_speed(cal["model_dir"], paths)
                rows.append({"set": name, "device": dev, "files": len(paths), "calibration": cal, "scoring": sc})
                print(f"{name} [{dev}]: calibration {cal['seconds']:.1f} s (peak RSS {cal['peak_rss_mb']:.0f} MB); "
                      f"scoring {sc['windows_per_s']:.0f} windows/s, end to end {sc['realtime_factor']:.0f}x real time", flush=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(), "epochs": args.epochs, "batch_size": args.batch_size,
            "commit": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (out / "model.md").write_text(render(rows, meta))
    print(f"wrote {out / 'model.md'}")
    return 0


def render(rows: list[dict], meta: dict) -> str:
    """Markdown table of the measurements."""
    lines = ["# Model speed", "", f"`bench/bench_model.py` on {meta['date']}, commit `{meta['commit']}`: {meta['cpus']} CPU cores "
             f"({meta['machine']}), torch threads {meta['torch_threads']}, epochs {meta['epochs']}, batch size {meta['batch_size']}.",
             "Calibration seconds are wall time of `calibrate()` in a fresh process (reading, training all folds, hold-out",
             "risk map, saving); peak RSS is that process's. Scoring windows/s is `Scorer.score_frame` on in-memory frames",
             "(best of 3); end to end is `Scorer.score_path` (read + score) per recording second.", "",
             "| inputs | device | files | calibration s | peak RSS MB | windows | scoring windows/s | end-to-end x real time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("skipped"):
            lines.append(f"| {r['set']} | {r['device']} | - | not measured: {r['skipped']} | | | | |")
            continue
        c, s = r["calibration"], r["scoring"]
        lines.append(f"| {r['set']} | {r['device']} | {r['files']} | {c['seconds']:.1f} | {c['peak_rss_mb']:.0f} | {s['windows']} | "
                     f"{s['windows_per_s']:.0f} | {s['realtime_factor']:.0f} |")
    if not any(r["device"] == "cuda" and not r.get("skipped") for r in rows):
        lines += ["", "GPU: not measured (no CUDA device was available to this run)."]
    lines += ["", "Targets (issue 2): calibration on 15 one-minute recordings <= 60 s on 2 CPU cores; scoring >= 5,000 windows/s on CPU."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
