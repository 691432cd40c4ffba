"""Format fixtures and real reference recordings: read correctly or fail with a specific error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ridescan_ros.core.errors import RecordingError, WrongRobotError
from ridescan_ros.core.profiles import get_profile, select_signals
from ridescan_ros.core.readers import expand_inputs, load_all, load_recording

FF = "format_fixtures"


@pytest.mark.parametrize("name", ["example.bag", "example-bz2.bag", "example-lz4.bag"])
def test_ros1_compressions_identical(shared_data: Path, name: str) -> None:
    ref = load_recording(shared_data / FF / "rosbag_js" / "example.bag")
    rec = load_recording(shared_data / FF / "rosbag_js" / name)
    assert rec.messages_read == rec.messages_declared == 8647
    assert set(rec.streams) == set(ref.streams)
    cmd = rec.streams["/turtle1/cmd_vel"]
    assert len(cmd) == 357 and cmd.msgtype == "geometry_msgs/msg/Twist"
    np.testing.assert_array_equal(cmd.columns["linear.x"], ref.streams["/turtle1/cmd_vel"].columns["linear.x"])
    # turtlesim/Pose is not a built-in type: registered from the bag's own definition
    assert set(rec.streams["/turtle1/pose"].columns) >= {"x", "y", "theta"}
    assert any("not decoded" in w and "/rosout" in w for w in rec.warnings)


def test_ros1_unsorted_chunks(shared_data: Path) -> None:
    rec = load_recording(shared_data / FF / "rosbag_js" / "example-unsorted-chunks.bag")
    assert rec.messages_read == 3 and rec.messages_declared == 3


@pytest.mark.parametrize(
    ("name", "reason"), [("empty-file.bag", "0-byte"), ("no-messages.bag", "no complete messages")]
)
def test_ros1_empty_refused(shared_data: Path, name: str, reason: str) -> None:
    path = shared_data / FF / "rosbag_js" / name
    with pytest.raises(RecordingError, match=reason) as ei:
        load_recording(path)
    assert ei.value.path == str(path)


@pytest.mark.parametrize(
    ("folder", "count"),
    [("mcap_cdr_test", 7), ("mcap_talker", 20), ("mcap_wbag", 6074), ("sqlite3_talker", 20),
     ("sqlite3_bag_with_topics_and_service_events", 10)],
)
def test_rosbag2_fixtures_counts(shared_data: Path, folder: str, count: int) -> None:
    rec = load_recording(shared_data / FF / "rosbag2" / folder)
    assert rec.messages_declared == count and rec.messages_read == count


def test_rosbag2_split_without_metadata(shared_data: Path) -> None:
    rec = load_recording(shared_data / FF / "rosbag2" / "sqlite3_reindex_test_bags_multiple_files")
    assert rec.messages_declared is None and rec.messages_read > 0
    assert any("no metadata.yaml" in w for w in rec.warnings)
    singles = sum(
        load_recording(f).messages_read
        for f in sorted((shared_data / FF / "rosbag2" / "sqlite3_reindex_test_bags_multiple_files").glob("*.db3"))
    )
    assert rec.messages_read == singles


def test_rosbag2_empty_bag_with_sidecars(shared_data: Path) -> None:
    with pytest.raises(RecordingError, match="no complete messages"):
        load_recording(shared_data / FF / "rosbag2" / "empty_bag")


def test_rosbag2_wrong_serialization_refused(shared_data: Path) -> None:
    with pytest.raises(RecordingError, match="serialization format 'wrong_format'"):
        load_recording(shared_data / FF / "rosbag2" / "mcap_wrong_rmw_test")


def test_service_events_skipped_with_reason(shared_data: Path) -> None:
    rec = load_recording(shared_data / FF / "rosbag2" / "sqlite3_bag_with_topics_and_service_events")
    assert any("_service_event" in w and "unknown message type" in w for w in rec.warnings)


@pytest.mark.parametrize("folder", ["walking_data", "stationary_data"])
def test_custom_gps_type_from_msg_file(shared_data: Path, folder: str) -> None:
    rec = load_recording(shared_data / FF / "custom_msg_ros2_gps" / folder)
    gps = rec.streams["/gps"]
    assert gps.msgtype == "gps_interfaces/msg/GPSmsg"
    assert len(gps) == rec.messages_declared
    lat = gps.columns["latitude"]
    assert np.isfinite(lat).all() and np.all(np.abs(lat) <= 90)


def test_every_format_fixture_reads_or_fails_specifically(shared_data: Path) -> None:
    items = expand_inputs([shared_data / FF])
    assert len(items) >= 15
    for item in items:
        for res in load_all(item):
            if isinstance(res, RecordingError):
                assert res.reason and "unreadable (" not in res.reason, res


def test_sim_ur5e_ros1(shared_data: Path) -> None:
    rec = load_recording(shared_data / "sim_ur5e" / "run_000.bag")
    assert rec.messages_read == rec.messages_declared
    js = rec.streams["/joint_states"]
    assert len(js) == rec.messages_read // 3
    assert np.all(np.diff(js.t) > 0)
    sig = select_signals(rec, get_profile("UR6"))
    assert "wrist_3_joint.velocity" in sig.series and "wrench.force_z" in sig.series


def test_sim_spot_mcap(shared_data: Path) -> None:
    rec = load_recording(shared_data / "sim_spot" / "run_000.mcap")
    assert rec.messages_read == rec.messages_declared  # MCAP statistics record
    assert {"/joint_states", "/odometry", "/imu", "/status/battery_states"} <= set(rec.streams)
    sig = select_signals(rec, get_profile("SPOT"))
    assert "front_left_knee.effort" in sig.series and not [m for m in sig.missing if m.endswith(".position")]


def test_ur5e_pickapp_wrench_csvs(shared_data: Path) -> None:
    files = sorted((shared_data / "ur5e_pickapp" / "success").glob("*.csv"))[:3]
    for f in files:
        s = load_recording(f).streams["csv"]
        assert s.msgtype == "csv/wrench" and set(s.columns) == {
            f"{k}_{a}" for k in ("force", "torque") for a in "xyz"}
        assert np.all(np.diff(s.t) >= 0)
        sig = select_signals(load_recording(f), get_profile("UR6"))
        assert "wrench.force_z" in sig.series


def test_ur_rtde_idle(shared_data: Path) -> None:
    rec = load_recording(shared_data / "ur_rtde_idle" / "robot_data.csv")
    s = rec.streams["csv"]
    assert s.msgtype == "csv/rtde" and len(s.columns) == 118  # 119 columns minus timestamp
    assert 20.0 < rec.duration_s() < 21.5
    sig = select_signals(rec, get_profile("UR6"))
    assert "shoulder_pan_joint.position" in sig.series


def test_wheeled_davie(shared_data: Path) -> None:
    items = expand_inputs([shared_data / "wheeled_davie"])
    csvs = [i for i in items if i.endswith(".csv")]
    assert len(csvs) >= 16
    rec = load_recording(csvs[0])
    assert rec.streams["csv"].msgtype == "csv/wheeled_mobile"
    assert rec.streams["csv"].t[0] > 1e9
    assert "odom.twist_linear_x" in select_signals(rec, get_profile("wheeled_mobile")).series


def test_panda_reads_but_is_not_ur6(shared_data: Path) -> None:
    rec = load_recording(shared_data / "panda_unsupported" / "joint_states.bag")
    js = rec.streams["/joint_states"]
    assert len({k.rsplit(".", 1)[0] for k in js.columns if k != "header.stamp"}) == 9
    with pytest.raises(WrongRobotError, match="expected 6 joints"):
        select_signals(rec, get_profile("UR6"))


def test_error_inside_bag_folder_names_folder_and_file(tmp_path: Path) -> None:
    bag = tmp_path / "run"
    bag.mkdir()
    (bag / "run_0.db3").write_bytes(b"SQLite format 3\x00" + b"\x07" * 3000)
    with pytest.raises(RecordingError) as ei:
        load_recording(bag)
    assert ei.value.path == str(bag) and ei.value.reason.startswith("run_0.db3: ")


def test_format_decided_by_magic_not_name(shared_data: Path, tmp_path: Path) -> None:
    for src, name in [(shared_data / FF / "rosbag2" / "mcap_cdr_test" / "cdr_test_0.mcap", "a.bin"),
                      (shared_data / FF / "rosbag_js" / "example-lz4.bag", "b.dat")]:
        dst = tmp_path / name
        dst.write_bytes(src.read_bytes())
        assert load_recording(dst).messages_read == load_recording(src).messages_read
