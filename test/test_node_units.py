"""Node parts without spinning a node: folder watcher, bag recorder, diagnostics levels."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from ridescan_ros.nodes.watcher import FolderWatcher, is_candidate

pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64  # noqa: E402

from ridescan_ros.nodes.diagnostics import HealthState, build_statuses  # noqa: E402
from ridescan_ros.nodes.recorder import BagRecorder  # noqa: E402


def test_watcher_reports_settled_recordings_once(tmp_path: Path) -> None:
    w = FolderWatcher(str(tmp_path), settle_s=1.0)
    bag = tmp_path / "a.bag"
    bag.write_bytes(b"x" * 10)
    (tmp_path / ".hidden.mcap").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("no")
    folder = tmp_path / "rosbag2_run"
    folder.mkdir()
    (folder / "run_0.mcap").write_bytes(b"x" * 5)
    assert w.poll(0.0) == []
    with open(bag, "ab") as f:  # still being written
        f.write(b"more")
    assert w.poll(1.5) == []
    assert w.poll(3.0) == [str(bag)]
    assert not is_candidate(str(folder))  # no metadata.yaml yet: ros2 bag record still busy
    (folder / "metadata.yaml").write_text("rosbag2_bagfile_information: {}")
    assert w.poll(3.1) == [] and w.poll(4.5) == [str(folder)]
    assert w.poll(10.0) == []


def test_recorder_writes_a_bag_the_readers_read_back(tmp_path: Path) -> None:
    from ridescan_ros.core.readers import load_recording

    rec = BagRecorder(str(tmp_path / "run1"), storage="mcap")
    assert os.listdir(tmp_path) == [".run1.partial"]  # hidden from watchers while open
    for i in range(50):
        js = JointState(name=["a", "b"], position=[float(i), -1.0], velocity=[], effort=[0.5, math.nan])
        js.header.stamp.sec, js.header.stamp.nanosec = 1_700_000_000, i * 10_000_000
        t_ns = 1_700_000_000_000_000_000 + i * 10_000_000 + 1_000_000
        rec.write("/joint_states", "sensor_msgs/msg/JointState", js, t_ns)
        rec.write("/speed", "std_msgs/msg/Float64", Float64(data=0.5), t_ns)
    path = rec.close()
    assert path == str(tmp_path / "run1") and rec.messages == 100
    r = load_recording(path)
    js = r.streams["/joint_states"]
    np.testing.assert_allclose(js.columns["a.position"], np.arange(50.0))
    assert np.isnan(js.columns["b.effort"]).all() and "a.velocity" not in js.columns
    assert js.t[1] - js.t[0] == pytest.approx(0.01, abs=1e-6)  # header stamps
    assert len(r.streams["/speed"]) == 50
    empty = BagRecorder(str(tmp_path / "run2"))
    assert empty.close() is None and not (tmp_path / "run2").exists()


def _health(**kw) -> HealthState:
    base = dict(roles={"joint_states": "/joint_states", "wrench": "/wrench"},
                last_rx_age={"joint_states": 0.1, "wrench": 0.1}, stale_after_s=1.0,
                model_version="v1", windows_scored=3, last_score=12.0)
    base.update(kw)
    return HealthState(**base)


@pytest.mark.parametrize("kw,levels", [
    ({}, ("OK", "OK", "OK")),
    ({"last_rx_age": {"joint_states": 0.1, "wrench": 5.0}}, ("WARN", "OK", "OK")),
    ({"last_rx_age": {"joint_states": None, "wrench": None}}, ("WARN", "OK", "WARN")),
    ({"model_version": None, "model_problem": "model at x failed to load: bad"}, ("OK", "WARN", "WARN")),
    ({"score_error": "scoring failed: boom"}, ("OK", "OK", "ERROR")),
    ({"rejected": {"joint_states": "expected 6 joints"}}, ("WARN", "OK", "OK")),
])
def test_diagnostic_levels(kw: dict, levels: tuple) -> None:
    names = {DiagnosticStatus.OK: "OK", DiagnosticStatus.WARN: "WARN", DiagnosticStatus.ERROR: "ERROR"}
    got = build_statuses("ridescan", "robot", _health(**kw))
    assert tuple(names[s.level] for s in got) == levels
    assert [s.name for s in got] == ["ridescan: inputs", "ridescan: model", "ridescan: scoring"]
    if "model_problem" in kw:
        assert "failed to load" in got[1].message
