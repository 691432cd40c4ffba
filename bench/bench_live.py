"""Live-scoring latency and CPU of ridescan_node, next to a bare rclpy republisher.

    .venv/bin/python bench/bench_live.py --model MODEL_DIR [--seconds 20] [--rates 125 500]

For each rate, joint states, wrench and speed scaling (messages of a real sim_ur5e run,
restamped to now) are published at that rate for ``--seconds`` to
  * ``ridescan_node`` (its own process, the given UR6 model): latency = receive time of a
    window's /ridescan/risk_assessment - publish time of the message that completed that
    window (the first message of every input with a stamp at/after the window's end);
  * a bare node that republishes every message (its own process): latency = receive time of
    the republished message - publish time.
CPU share = process CPU seconds / wall seconds while publishing (1.0 = one core).
Without ``--model`` a model is trained first (15 normal runs, 2 epochs).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import signal
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("RIDESCAN_SAMPLE_DATA", REPO.parent / "shared" / "data"))
TOPICS = ("/joint_states", "/wrench", "/speed_scaling_factor")

BARE = r'''
import sys, rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import JointState
from geometry_msgs.msg import WrenchStamped
from std_msgs.msg import Float64
rclpy.init()
n = Node("bare_republisher")
q = QoSProfile(depth=200, reliability=ReliabilityPolicy.BEST_EFFORT)
for topic, cls in (("/joint_states", JointState), ("/wrench", WrenchStamped),
                   ("/speed_scaling_factor", Float64)):
    pub = n.create_publisher(cls, "/bare" + topic, 200)
    n.create_subscription(cls, topic, lambda m, p=pub: p.publish(m), q)
if sys.argv[1:] == ["events"]:
    from rclpy.experimental import EventsExecutor
    ex = EventsExecutor()
else:
    from rclpy.executors import SingleThreadedExecutor
    ex = SingleThreadedExecutor()
ex.add_node(n)
try:
    while rclpy.ok():  # as ridescan_node: EventsExecutor.spin() ignores SIGINT
        ex.spin_once(timeout_sec=0.5)
except BaseException:
    pass
'''

PROBE = r'''
import json, sys, time, rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import JointState
from std_msgs.msg import String
rclpy.init()
n = Node("bench_probe")
out = []
if sys.argv[1] == "node":
    n.create_subscription(String, "/ridescan/risk_assessment", lambda m: out.append(
        (time.monotonic(), json.loads(m.data)["window_end"])), QoSProfile(depth=1000))
else:
    n.create_subscription(JointState, "/bare/joint_states", lambda m: out.append(
        (time.monotonic(), m.header.stamp.sec + m.header.stamp.nanosec * 1e-9)), QoSProfile(depth=1000))
try:
    rclpy.spin(n)
except BaseException:
    pass
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
'''


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def messages(seconds: float, rate: float) -> list[tuple[str, object]]:
    """A real run's messages, cycled to ``seconds`` at ``rate`` per topic."""
    from ridescan_ros.nodes.player import load_messages

    src = load_messages(DATA / "sim_ur5e" / "run_000.bag", start_s=5.0, duration_s=20.0)
    per = {t: [m for _, tt, m in src if tt == t] for t in TOPICS}
    n = int(seconds * rate)
    return [(t, copy.deepcopy(per[t][i % len(per[t])])) for i in range(n) for t in TOPICS]


def run_case(kind: str, rate: float, seconds: float, model: str, tmp: Path) -> dict:
    """Publish at ``rate`` to the node or the bare republisher; latencies and CPU."""
    import rclpy

    if kind.startswith("node"):
        params = tmp / f"p{rate}.yaml"
        params.write_text("/**:\n  ros__parameters:\n"
                          f"    data_dir: {tmp / 'data'}\n    scoring:\n      model_dir: {model}\n")
        cmd = [sys.executable, "-m", "ridescan_ros.nodes.ridescan_node", "--ros-args",
               "--params-file", str(REPO / "config" / "ur6.yaml"), "--params-file", str(params)]
    else:
        cmd = [sys.executable, "-c", BARE] + (["events"] if kind == "bare_events" else [])
    env = dict(os.environ, RIDESCAN_EXECUTOR="single" if kind == "node_single" else "events")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    probe_out = tmp / f"probe_{kind}_{rate:g}.json"
    probe = subprocess.Popen([sys.executable, "-c", PROBE, kind.split("_")[0], str(probe_out)])
    rclpy.init()
    node = rclpy.create_node("bench_driver")
    from geometry_msgs.msg import WrenchStamped
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float64

    pubs = {t: node.create_publisher(cls, t, 200)
            for t, cls in zip(TOPICS, (JointState, WrenchStamped, Float64))}
    while not all(p.get_subscription_count() for p in pubs.values()):
        time.sleep(0.1)
    time.sleep(4.0 if kind.startswith("node") else 1.0)  # node: model loaded; probe matched
    plan = messages(seconds, rate)
    sent: dict[str, list[tuple[float, float]]] = {t: [] for t in TOPICS}  # (stamp, publish mono)
    load0 = os.getloadavg()[0]
    c0, w0 = cpu_seconds(proc.pid), time.monotonic()
    for i, (topic, msg) in enumerate(plan):
        due = w0 + (i // len(TOPICS)) / rate
        while time.monotonic() < due:
            time.sleep(max(0.0, min(0.001, due - time.monotonic())))
        now = time.time()
        if hasattr(msg, "header"):
            msg.header.stamp.sec, msg.header.stamp.nanosec = int(now), int((now % 1) * 1e9)
        mono = time.monotonic()
        pubs[topic].publish(msg)
        sent[topic].append((now, mono))
    wall = time.monotonic() - w0
    cpu = cpu_seconds(proc.pid) - c0
    load1 = os.getloadavg()[0]
    time.sleep(1.0)
    probe.send_signal(signal.SIGINT)
    probe.wait(timeout=20)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    node.destroy_node()
    rclpy.shutdown()
    recv = [tuple(r) for r in json.loads(probe_out.read_text())]
    lat = []
    if kind.startswith("node"):
        # the window's last needed message: per topic the first with stamp >= window end
        # (speed scaling has no stamp: the node uses its receive time, ~ the publish time)
        for t_recv, w_end in recv:
            done = []
            for t in TOPICS:
                stamps = np.array([s for s, _ in sent[t]])
                i = int(np.searchsorted(stamps, w_end - (1.0 / 125 - 1e-9)))  # window end = last row + 1/125 s
                if i < len(stamps):
                    done.append(sent[t][i][1])
            if done:
                lat.append(t_recv - max(done))
    else:
        by_stamp = {round(s, 6): mono for s, mono in sent["/joint_states"]}
        lat = [t_recv - by_stamp[round(s, 6)] for t_recv, s in recv if round(s, 6) in by_stamp]
    lat_ms = np.array(lat) * 1e3
    return {"kind": kind, "rate_hz": rate, "messages": len(plan), "received": len(recv),
            "p50_ms": float(np.percentile(lat_ms, 50)) if lat else None,
            "p99_ms": float(np.percentile(lat_ms, 99)) if lat else None,
            "max_ms": float(lat_ms.max()) if lat else None, "cpu_share": cpu / wall,
            "seconds": wall, "load1_before": load0, "load1_after": load1}


def main() -> int:
    """Run the cases and print a JSON line per case."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="UR6 model dir (trained when omitted)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rates", type=float, nargs="+", default=[125.0, 500.0])
    ap.add_argument("--kinds", nargs="+", default=["bare", "node"],
                    help="bare (SingleThreadedExecutor), bare_events (EventsExecutor), "
                         "node (as shipped: EventsExecutor), node_single (SingleThreadedExecutor)")
    ap.add_argument("--out", help="write OUT.json and OUT.md (e.g. bench/results/live)")
    args = ap.parse_args()
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", "147")
    tmp = Path(tempfile.mkdtemp(prefix="bench_live_"))
    os.environ.setdefault("ROS_LOG_DIR", str(tmp / "log"))
    model = args.model
    if not model:
        from ridescan_ros.model.calibration import calibrate

        labels = json.loads((DATA / "sim_ur5e" / "labels.json").read_text())
        runs = sorted(k for k, v in labels.items() if v["label"] == "normal")[:15]
        model = str(tmp / "model")
        calibrate([str(DATA / "sim_ur5e" / r) for r in runs], "UR6", model, epochs=2, device="cpu")
    rows = []
    for rate in args.rates:
        for kind in args.kinds:
            rows.append(run_case(kind, rate, args.seconds, model, tmp))
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        write_results(Path(args.out), rows, args)
    return 0


def write_results(out: Path, rows: list[dict], args: argparse.Namespace) -> None:
    """``out``.json (all figures) and ``out``.md (the table)."""
    meta = {"cpus": os.cpu_count(), "seconds_per_case": args.seconds,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "cases": rows}, indent=1) + "\n")
    lines = [f"# Live scoring: latency and CPU (`bench/bench_live.py`, {meta['date']})", "",
             f"{meta['cpus']} cores, {args.seconds:g} s of publishing per case; joint states, wrench and speed"
             " scaling each at the rate shown. `bare*` republish every message (latency = republished"
             " receive - publish); `node*` is `ridescan_node` with a UR6 model (latency = receive of a"
             " window's `/ridescan/risk_assessment` - publish of the message that completed the window;"
             " results = windows scored). CPU = process CPU s / wall s (100 = one core).", "",
             "| rate (Hz per topic) | process | results | p50 ms | p99 ms | max ms | CPU % of a core"
             " | load1 before/after |", "|---|---|---|---|---|---|---|---|"]
    f = lambda x: "-" if x is None else f"{x:.1f}"  # noqa: E731
    for r in rows:
        lines.append(f"| {r['rate_hz']:g} | {r['kind']} | {r['received']} | {f(r['p50_ms'])} | "
                     f"{f(r['p99_ms'])} | {f(r['max_ms'])} | {100 * r['cpu_share']:.1f} | "
                     f"{r['load1_before']:.2f} / {r['load1_after']:.2f} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
