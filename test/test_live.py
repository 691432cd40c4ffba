"""core.live without ROS: window parity with offline resampling, time jumps, safety stop."""

from __future__ import annotations

import numpy as np
import pytest

from ridescan_ros.core.frame import resample, windows
from ridescan_ros.core.live import LiveWindows, SafetyStop, assessment, risk_level
from ridescan_ros.core.profiles import UR_JOINTS, get_profile, select_signals
from ridescan_ros.core.telemetry import Recording, Stream

PROFILE = get_profile("UR6")
SIGNALS = PROFILE.expected_signals() + ["wrench.force_z"]


def _js_cols(t: float) -> dict[str, float]:
    cols = {"header.stamp": t}
    for i, j in enumerate(UR_JOINTS):
        cols[f"{j}.position"] = np.sin(t + i)
        cols[f"{j}.velocity"] = np.cos(2 * t + i)
        cols[f"{j}.effort"] = 3.0 * i + np.sin(5 * t)
    return cols


def _feed(rng: np.random.Generator, seconds: float = 4.0):
    """(role, topic, type, t, cols) at ~125 Hz joint states and ~100 Hz wrench, jittered."""
    t_js = 1000.0 + np.arange(0, seconds, 0.008) + rng.normal(0, 1e-4, int(np.ceil(seconds / 0.008)))
    t_w = 1000.003 + np.arange(0, seconds, 0.01)
    ev = [("joint_states", "/joint_states", "sensor_msgs/msg/JointState", t, _js_cols(t)) for t in t_js]
    ev += [
        ("wrench", "/wrench", "geometry_msgs/msg/WrenchStamped", t,
         {"force.x": 0.0, "force.y": 1.0, "force.z": np.sin(3 * t), "torque.x": 0.0,
          "torque.y": 0.0, "torque.z": 0.0})
        for t in t_w
    ]
    return sorted(ev, key=lambda e: e[3])


def _offline(events) -> np.ndarray:
    streams = {}
    for topic in ("/joint_states", "/wrench"):
        rows = [e for e in events if e[1] == topic]
        keys = sorted(k for k in rows[0][4] if k != "header.stamp")
        t = np.array([e[3] for e in rows])
        streams[topic] = Stream(topic, rows[0][2], t, {k: np.array([e[4][k] for e in rows]) for k in keys})
    ss = select_signals(Recording(path="x", streams=streams), PROFILE)
    return resample(ss, SIGNALS, 125.0).X


def test_live_windows_equal_offline_windows() -> None:
    events = _feed(np.random.default_rng(0))
    live = LiveWindows(PROFILE, SIGNALS, 125.0, window=50, stride=25)
    got = []
    for role, topic, mt, t, cols in events:
        assert live.add(role, topic, mt, t, cols, wall=0.0)
        got += live.ready(wall=0.0)
    offline = windows(_offline(events), 50, 25)
    assert [w.k for w in got] == list(range(len(got)))
    assert len(got) >= offline.shape[0] - 1 and len(got) > 10
    for w in got:
        np.testing.assert_allclose(w.frame.X, offline[w.k], rtol=0, atol=1e-9)
        assert w.frame.X.shape == (50, len(SIGNALS))


def test_wrong_joints_refused_and_reported() -> None:
    live = LiveWindows(PROFILE, SIGNALS, 125.0, 50, 25)
    cols = {f"j{i}.position": 0.0 for i in range(9)}
    assert not live.add("joint_states", "/joint_states", "sensor_msgs/msg/JointState", 1.0, cols, 0.0)
    assert "expected 6 joints" in live.rejected["joint_states"]
    assert live.add("joint_states", "/joint_states", "sensor_msgs/msg/JointState", 1.0, _js_cols(1.0), 0.0)
    assert "joint_states" not in live.rejected


def test_nan_values_and_time_jump_restart_grid() -> None:
    live = LiveWindows(PROFILE, SIGNALS, 125.0, 50, 25, jump_s=2.0)
    js = ("joint_states", "/joint_states", "sensor_msgs/msg/JointState")
    for t in np.arange(0, 1.0, 0.008):
        cols = _js_cols(t)
        cols["elbow_joint.effort"] = float("nan")
        live.add(*js, 100.0 + t, cols, 0.0)
    out = live.ready(0.0)
    assert out and np.isnan(out[0].frame.X[:, SIGNALS.index("elbow_joint.effort")]).all()
    assert np.isfinite(out[0].frame.X[:, SIGNALS.index("elbow_joint.position")]).all()
    assert not live.add(*js, float("nan"), _js_cols(0.0), 0.0)
    live.add(*js, 5.0, _js_cols(5.0), 0.0)  # clock jumped back (sim restart)
    assert live.resets == 1 and live.t0 is None and live.next_k == 0
    for t in np.arange(5.008, 6.2, 0.008):
        live.add(*js, t, _js_cols(t), 0.0)
    assert live.ready(0.0) and live.t0 == 5.0


def test_silent_role_is_not_waited_for_after_staleness() -> None:
    live = LiveWindows(PROFILE, SIGNALS, 125.0, 50, 25, stale_after_s=1.0)
    live.add("wrench", "/wrench", "geometry_msgs/msg/WrenchStamped", 10.0, {"force.z": 1.0}, wall=0.0)
    for i, t in enumerate(np.arange(10.0, 11.0, 0.008)):
        live.add("joint_states", "/joint_states", "sensor_msgs/msg/JointState", t, _js_cols(t), 0.5)
    assert live.ready(wall=0.5) == []  # still waiting for the wrench
    out = live.ready(wall=1.5)
    assert out and out[0].stale_roles == ["wrench"]
    assert live.ready(wall=5.0) == []  # everything silent: no stale scores


def test_safety_stop_min_duration_and_hysteresis() -> None:
    s = SafetyStop(threshold=50, hysteresis=10, min_duration_s=0.5)
    assert not s.update(60, 0.0)
    assert not s.update(70, 0.4)
    assert s.update(55, 0.5)
    assert s.update(45, 0.6)  # inside the hysteresis band: stays on
    assert not s.update(39, 0.7)
    assert not s.update(float("nan"), 0.8)
    assert not s.update(80, 0.9)  # a fresh excursion needs the full duration again


@pytest.mark.parametrize("score,level", [(10, "low"), (30, "medium"), (50, "critical")])
def test_risk_level(score: float, level: str) -> None:
    assert risk_level(score, 50) == level


def test_assessment_orders_top_signals() -> None:
    a = assessment(72.0, np.array([0.1, -3.0, np.nan, 1.0]), list("abcd"), 1.0, 2.0, "v1", 50, top_k=2)
    assert [s["signal"] for s in a["top_signals"]] == ["b", "d"]
    assert a["level"] == "critical" and a["model_version"] == "v1"
    assert a["top_signals"][0]["share"] == pytest.approx(3.0 / 4.1)


def test_time_base_is_stamp_else_receive_time() -> None:
    live = LiveWindows(PROFILE, SIGNALS, 125.0, 50, 25)
    js = ("joint_states", "/joint_states", "sensor_msgs/msg/JointState")
    cols = _js_cols(1.0)
    cols["header.stamp"] = 0.0  # a driver that never fills stamps: receive time is used
    assert live.add(*js, 500.0, cols, 0.0) and live.buffers["joint_states"].last_t == 500.0
    cols["shoulder_pan_joint.position"] = float("inf")
    assert live.add(*js, 500.01, cols, 0.0)
    assert np.isnan(live.buffers["joint_states"].v[1, live.buffers["joint_states"].keys.index(
        "shoulder_pan_joint.position")])
