"""Synthetic sample recordings: readable bags, honest labels, faults only after onset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from ridescan_ros.core.profiles import UR_JOINTS
from ridescan_ros.core.samples import FAULTS, generate_samples, simulate_run


def _twin(fault: str, params: dict, onset: float = 6.0):
    a = simulate_run(np.random.default_rng(7), 12.0, None, onset, {})
    b = simulate_run(np.random.default_rng(7), 12.0, fault, onset, params)
    return a, b, a.t >= onset


def test_sensor_bias_changes_only_one_reading_after_onset() -> None:
    a, b, after = _twin("sensor_bias", {"joint": "wrist_1_joint", "bias_rad": 0.05})
    d = b.q - a.q
    assert np.allclose(d[after, 3], 0.05) and np.allclose(d[~after], 0.0)
    assert np.allclose(np.delete(d, 3, axis=1), 0.0)
    assert np.allclose(b.tau, a.tau)


def test_friction_and_payload_raise_effort_after_onset_only() -> None:
    params = {"joint": "elbow_joint", "extra_frictionloss_Nm": 6.0, "extra_damping_Nms_per_rad": 8.0, "ramp_s": 1.0}
    a, b, after = _twin("joint_friction", params)
    diff = np.abs(b.tau - a.tau)
    assert np.allclose(diff[~after], 0.0)
    assert diff[after, 2].mean() > 1.0 > diff[after, 0].mean()
    a, b, after = _twin("heavy_payload", {"extra_kg": 2.0})
    assert np.allclose(b.tau[~after], a.tau[~after])
    assert (b.tau[after, 2] - a.tau[after, 2]).max() > 5.0  # elbow carries the part
    assert (b.force[after, 2] - a.force[after, 2]).min() < -15.0


def test_generate_writes_readable_labelled_bags(tmp_path: Path) -> None:
    lp = generate_samples(tmp_path / "a", n_normal=2, n_fault=3, duration_s=8.0, seed=3)
    labels = json.loads(lp.read_text())
    assert sorted(labels) == [f"run_{i:03d}.bag" for i in range(5)]
    faults = sorted(v["fault"] for v in labels.values() if v["label"] == "fault")
    assert faults == sorted(FAULTS)
    for name, lab in labels.items():
        assert set(lab) == {"label", "fault", "onset_s", "params", "seed", "info"}
        if lab["label"] == "fault":
            assert 0.3 * 8 <= lab["onset_s"] <= 0.6 * 8
        with AnyReader([tmp_path / "a" / name]) as r:
            counts = {c.topic: c.msgcount for c in r.connections}
            assert counts == {"/joint_states": 1000, "/wrench": 1000}
            conn = next(c for c in r.connections if c.topic == "/joint_states")
            _, _, raw = next(r.messages(connections=[conn]))
            msg = r.deserialize(raw, conn.msgtype)
            assert list(msg.name) == list(UR_JOINTS) and msg.header.stamp.sec > 1_700_000_000
    again = generate_samples(tmp_path / "b", n_normal=2, n_fault=3, duration_s=8.0, seed=3)
    for name in labels:
        assert (tmp_path / "a" / name).read_bytes() == (again.parent / name).read_bytes()


@pytest.mark.parametrize("seed", [0, 1])
def test_normal_runs_differ_between_seeds(seed: int) -> None:
    a = simulate_run(np.random.default_rng(seed), 10.0, None, 0.0, {})
    b = simulate_run(np.random.default_rng(seed + 10), 10.0, None, 0.0, {})
    assert not np.allclose(a.q, b.q)
    assert np.all(np.isfinite(a.tau)) and a.tau.shape == (1250, 6)
