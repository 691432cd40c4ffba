"""Small synthetic UR6-like ROS 1 bags, so the demo runs where no reference data exists.

Each run is a pick-and-place arm: six joints (position, velocity, effort in N·m) at 125 Hz on
``/joint_states`` and the tool wrench on ``/wrench``, written with rosbags' ROS 1 writer.
Effort follows a rigid-body-like model (inertia x acceleration + gravity of the links and of
the carried part + Coulomb/viscous friction + noise); routine timing, poses, part mass,
friction and sensor offsets vary per run, so normal runs differ like real ones. A few runs
carry a fault from ``onset_s`` on, and ``labels.json`` says which, in the layout of
``../shared/data/sim_*/labels.json``. This is demo data, not a benchmark: the figures in
``bench/results`` come from the shared reference recordings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ridescan_ros.core.profiles import UR_JOINTS

RATE_HZ = 125.0
EPOCH0 = 1_767_600_000.0  # early January 2026, like the simulated reference runs
FAULTS = ("heavy_payload", "joint_friction", "sensor_bias")
_COULOMB = np.array([3.2, 3.2, 2.4, 0.8, 0.8, 0.8])
_VISCOUS = np.array([4.0, 4.0, 3.0, 0.8, 0.8, 0.8])
_INERTIA = np.array([2.5, 3.0, 1.2, 0.15, 0.1, 0.05])
_NOISE = np.array([0.35, 0.35, 0.25, 0.06, 0.06, 0.06])


@dataclass
class SampleRun:
    """Arrays of one synthetic run, before writing: t (n,), q/qd/tau (n, 6), force/torque (n, 3)."""

    t: np.ndarray
    q: np.ndarray
    qd: np.ndarray
    tau: np.ndarray
    force: np.ndarray
    torque: np.ndarray


def _smooth_steps(t: np.ndarray, times: np.ndarray, values: np.ndarray, ramp: np.ndarray) -> np.ndarray:
    """Piecewise-constant targets joined by cosine ramps: move k starts at times[k]."""
    out = np.full(t.shape, values[0], dtype=np.float64)
    for k in range(1, len(values)):
        u = np.clip((t - times[k]) / ramp[k], 0.0, 1.0)
        out += (values[k] - values[k - 1]) * 0.5 * (1.0 - np.cos(np.pi * u))
    return out


def simulate_run(
    rng: np.random.Generator, duration_s: float, fault: str | None, onset_s: float, params: dict
) -> SampleRun:
    """One run's signals; ``fault`` acts from ``onset_s`` with ``params`` (see FAULTS)."""
    n = int(duration_s * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    pick = np.array([0.0, -1.3, 1.6, -1.9, -1.57, 0.0])
    place = np.array([2.3, -1.1, 1.3, -1.8, -1.57, 0.5])
    moves, times, ramps, carrying_from = [pick + rng.normal(0, 0.05, 6)], [0.0], [1.0], []
    clock = rng.uniform(1.0, 2.0)
    speed = rng.uniform(0.9, 1.1)
    while clock < duration_s - 3.0:
        for station, carry in ((place, True), (pick, False)):
            moves.append(station + rng.normal(0, 0.06, 6))
            times.append(clock)
            ramps.append(rng.uniform(1.2, 1.8) / speed)
            if carry:
                carrying_from.append((clock - rng.uniform(0.4, 0.6), clock + ramps[-1]))
            clock += ramps[-1] + rng.uniform(0.5, 1.0)
    q = np.stack([_smooth_steps(t, np.array(times), np.array(moves)[:, j], np.array(ramps)) for j in range(6)], axis=1)
    qd = np.gradient(q, 1.0 / RATE_HZ, axis=0)
    qdd = np.gradient(qd, 1.0 / RATE_HZ, axis=0)
    carry = np.zeros(n)
    part_kg = 1.2 * rng.uniform(0.96, 1.04)
    for a, b in carrying_from:
        carry[(t >= a) & (t < b)] = 1.0
    extra_kg = np.zeros(n)
    if fault == "heavy_payload":
        extra_kg = params["extra_kg"] * carry * (t >= onset_s)
    mass = 0.925 + part_kg * carry + extra_kg
    lift, elbow = q[:, 1], q[:, 1] + q[:, 2]
    grav = np.zeros((n, 6))
    grav[:, 1] = 9.81 * (3.0 * np.cos(lift) + (1.2 + mass) * 0.42 * np.cos(lift) + 1.2 * 0.39 * np.cos(elbow))
    grav[:, 2] = 9.81 * (1.2 + mass) * 0.39 * np.cos(elbow)
    grav[:, 3] = 9.81 * mass * 0.1 * np.cos(elbow + q[:, 3])
    fric_scale = rng.uniform(0.9, 1.2)
    coulomb = _COULOMB * fric_scale * np.ones((n, 1))
    viscous = _VISCOUS * fric_scale * np.ones((n, 1))
    if fault == "joint_friction":
        j = UR_JOINTS.index(params["joint"])
        ramp = np.clip((t - onset_s) / params["ramp_s"], 0.0, 1.0)
        coulomb[:, j] += params["extra_frictionloss_Nm"] * ramp
        viscous[:, j] += params["extra_damping_Nms_per_rad"] * ramp
    tau = _INERTIA * qdd + grav + coulomb * np.tanh(qd / 0.02) + viscous * qd
    tau *= 1.0 + rng.normal(0, 0.01, 6)  # per-run torque-estimate gain error
    tau += rng.normal(0, 1, (n, 6)) * _NOISE
    q_read = q + rng.normal(0, 1.5e-5, q.shape)
    if fault == "sensor_bias":
        q_read[t >= onset_s, UR_JOINTS.index(params["joint"])] += params["bias_rad"]
    force = rng.normal(0, 2.0, 3) + rng.normal(0, 0.9, (n, 3))
    force[:, 2] += -9.81 * extra_kg + 0.9 * qdd[:, 1]
    torque = rng.normal(0, 0.03, (n, 3)) + 0.05 * qdd[:, [3, 4, 5]]
    return SampleRun(t=t, q=q_read, qd=qd + rng.normal(0, 0.0015, qd.shape), tau=tau, force=force, torque=torque)


def write_bag(path: Path, run: SampleRun, t0: float) -> None:
    """Write one run as a ROS 1 bag (``/joint_states``, ``/wrench``) with rosbags' writer."""
    from rosbags.rosbag1 import Writer
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS1_NOETIC)
    T = ts.types
    js_t, wr_t = "sensor_msgs/msg/JointState", "geometry_msgs/msg/WrenchStamped"
    with Writer(path) as w:
        c_js = w.add_connection("/joint_states", js_t, typestore=ts)
        c_wr = w.add_connection("/wrench", wr_t, typestore=ts)
        for i, ti in enumerate(run.t):
            stamp = t0 + float(ti)
            sec = int(stamp)
            hdr = T["std_msgs/msg/Header"](
                seq=i, stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=int(round((stamp - sec) * 1e9)) % 1_000_000_000), frame_id=""
            )
            js = T[js_t](header=hdr, name=list(UR_JOINTS), position=run.q[i], velocity=run.qd[i], effort=run.tau[i])
            vec = T["geometry_msgs/msg/Vector3"]
            wr = T[wr_t](
                header=T["std_msgs/msg/Header"](seq=i, stamp=hdr.stamp, frame_id="tool0_controller"),
                wrench=T["geometry_msgs/msg/Wrench"](force=vec(*map(float, run.force[i])), torque=vec(*map(float, run.torque[i]))),
            )
            log_ns = int(round((stamp + 0.001) * 1e9))
            w.write(c_js, log_ns, ts.serialize_ros1(js, js_t))
            w.write(c_wr, log_ns + 1000, ts.serialize_ros1(wr, wr_t))


def _fault_params(rng: np.random.Generator, fault: str) -> dict:
    if fault == "heavy_payload":
        return {"extra_kg": float(rng.uniform(1.5, 3.0))}
    if fault == "joint_friction":
        return {"joint": str(rng.choice(["shoulder_pan_joint", "elbow_joint"])), "extra_frictionloss_Nm": float(rng.uniform(4, 8)),
                "extra_damping_Nms_per_rad": float(rng.uniform(5, 12)), "ramp_s": float(rng.uniform(1, 5))}
    return {"joint": str(rng.choice(["shoulder_lift_joint", "wrist_1_joint"])), "bias_rad": float(rng.choice([-1, 1]) * rng.uniform(0.03, 0.06))}


def generate_samples(
    out_dir: str | Path, n_normal: int = 20, n_fault: int = 6, duration_s: float = 30.0, seed: int = 0
) -> Path:
    """Write ``run_NNN.bag`` files and ``labels.json`` into ``out_dir``; return the labels path.

    Faults cycle through FAULTS with onset at 30-60 % of the run; run numbers are shuffled
    so file order does not give the labels away. Same seed, same bytes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds: list[str | None] = [None] * n_normal + [FAULTS[i % len(FAULTS)] for i in range(n_fault)]
    order = rng.permutation(len(kinds))
    labels: dict[str, dict] = {}
    for idx, k in enumerate(order):
        fault = kinds[int(k)]
        run_seed = int(seed * 1000 + idx)
        r = np.random.default_rng(run_seed)
        onset = float(r.uniform(0.3, 0.6) * duration_s) if fault else None
        params = _fault_params(r, fault) if fault else {}
        name = f"run_{idx:03d}.bag"
        path = out / name
        if path.exists():
            path.unlink()
        write_bag(path, simulate_run(r, duration_s, fault, onset or 0.0, params), EPOCH0 + 3600.0 * idx)
        labels[name] = {"label": "fault" if fault else "normal", "fault": fault, "onset_s": onset,
                        "params": params, "seed": run_seed, "info": {"duration_s": duration_s, "generator": "ridescan_ros.core.samples"}}
    lp = out / "labels.json"
    lp.write_text(json.dumps(labels, indent=1, sort_keys=True))
    return lp
