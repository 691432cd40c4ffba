"""Write the ingestion benchmark's bags: a 10-minute 500 Hz 6-joint UR JointState stream.

300,000 messages, once as a ROS 1 .bag and once as a ROS 2 MCAP bag, written with
rosbags' own writers (no compression) into a scratch folder (default
/tmp/ridescan_bench). Complete bags from an earlier run (same message count) are reused.

    .venv/bin/python bench/make_bags.py [--out DIR] [--seconds 600] [--rate 500]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Ros2Writer
from rosbags.typesys import Stores, get_typestore

UR_JOINTS = (
    "shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
    "wrist_1_joint", "wrist_2_joint", "wrist_3_joint",
)
TOPIC = "/joint_states"
TYPE = "sensor_msgs/msg/JointState"
DEFAULT_OUT = Path("/tmp/ridescan_bench")
T0_NS = 1_760_000_000_000_000_000


def trajectories(n: int, rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth pick-and-place-like joint motion with noise, (n, 6) each."""
    rng = np.random.default_rng(0)
    t = np.arange(n)[:, None] / rate
    freq = np.array([0.10, 0.13, 0.17, 0.21, 0.25, 0.31])
    pos = 0.8 * np.sin(2 * np.pi * freq * t) + rng.normal(0, 1e-4, (n, 6))
    vel = 0.8 * 2 * np.pi * freq * np.cos(2 * np.pi * freq * t)
    eff = 5.0 * pos + 0.3 * vel + rng.normal(0, 0.05, (n, 6))
    return pos, vel, eff


def write_bags(out: Path, seconds: float = 600.0, rate: float = 500.0) -> tuple[Path, Path]:
    """Write (or reuse) the ROS 1 and MCAP bags; returns their paths."""
    n = int(seconds * rate)
    out.mkdir(parents=True, exist_ok=True)
    ros1_path = out / f"ur_js_{n}.bag"
    mcap_dir = out / f"ur_js_{n}_mcap"
    pos, vel, eff = trajectories(n, rate)
    step_ns = int(round(1e9 / rate))
    if not ros1_path.exists():
        _write_ros1(ros1_path, pos, vel, eff, step_ns)
    if not (mcap_dir / "metadata.yaml").exists():  # written last, on close
        _write_mcap(mcap_dir, pos, vel, eff, step_ns)
    return ros1_path, mcap_dir


def _messages(store, pos, vel, eff, step_ns):  # type: ignore[no-untyped-def]
    js, hdr_t = store.types[TYPE], store.types["std_msgs/msg/Header"]
    time_t = store.types["builtin_interfaces/msg/Time"]
    ros1 = "seq" in hdr_t.__dataclass_fields__
    for i in range(pos.shape[0]):
        ns = T0_NS + i * step_ns
        stamp = time_t(ns // 1_000_000_000, ns % 1_000_000_000)
        hdr = hdr_t(i, stamp, "base_link") if ros1 else hdr_t(stamp, "base_link")
        yield ns, js(hdr, list(UR_JOINTS), pos[i], vel[i], eff[i])


def _write_ros1(path: Path, pos, vel, eff, step_ns: int) -> None:  # type: ignore[no-untyped-def]
    store = get_typestore(Stores.ROS1_NOETIC)
    tmp = path.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    with Ros1Writer(tmp) as writer:
        conn = writer.add_connection(TOPIC, TYPE, typestore=store)
        for ns, msg in _messages(store, pos, vel, eff, step_ns):
            writer.write(conn, ns, store.serialize_ros1(msg, TYPE))
    tmp.rename(path)


def _write_mcap(path: Path, pos, vel, eff, step_ns: int) -> None:  # type: ignore[no-untyped-def]
    store = get_typestore(Stores.ROS2_HUMBLE)
    shutil.rmtree(path, ignore_errors=True)
    with Ros2Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(TOPIC, TYPE, typestore=store)
        for ns, msg in _messages(store, pos, vel, eff, step_ns):
            writer.write(conn, ns, store.serialize_cdr(msg, TYPE))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--rate", type=float, default=500.0)
    args = ap.parse_args()
    for p in write_bags(args.out, args.seconds, args.rate):
        print(p)


if __name__ == "__main__":
    main()
