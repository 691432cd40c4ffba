"""The node's Calibrator without ROS: what `ros2 bag record` leaves in the watched folder
(compressed storage, split files, no metadata.yaml) is stored as ONE recording per run."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.typesys import Stores, get_typestore

from ridescan_ros.core.readers import load_recording
from ridescan_ros.nodes.calibrator import Calibrator
from ridescan_ros.service import RideScanService
from ridescan_ros.service.resources import recordings_count

T0 = 1_733_220_000_000_000_000
UR = ["shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
      "wrist_1_joint", "wrist_2_joint", "wrist_3_joint"]


def _bag(path: Path, n: int, start: int = 0, compress: bool = False) -> Path:
    store = get_typestore(Stores.ROS2_HUMBLE)
    Time, Header = store.types["builtin_interfaces/msg/Time"], store.types["std_msgs/msg/Header"]
    JS = store.types["sensor_msgs/msg/JointState"]
    w = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
    if compress:
        w.set_compression(CompressionMode.FILE, CompressionFormat.ZSTD)
    with w:
        conn = w.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=store)
        for i in range(start, start + n):
            t = T0 + i * 8_000_000
            q = np.sin(0.01 * i + np.arange(6))
            msg = JS(header=Header(stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id=""),
                     name=UR, position=q, velocity=np.cos(q), effort=0.1 * q)
            w.write(conn, t, store.serialize_cdr(msg, conn.msgtype))
    return path


def test_compressed_and_split_bag_folders_are_one_stored_recording_each(tmp_path: Path) -> None:
    svc = RideScanService(tmp_path / "data")
    logs: list[str] = []
    cal = Calibrator(svc, "UR6", "arm", "m", log=logs.append)
    zstd = _bag(tmp_path / "run_zstd", 300, compress=True)
    split = tmp_path / "run_split"  # a killed recorder: two split files, no metadata.yaml
    split.mkdir()
    for k in range(2):
        part = _bag(tmp_path / f"part{k}", 200, start=200 * k)
        shutil.move(str(next(part.glob("*.mcap"))), split / f"run_split_{k}.mcap")
    plain = next(_bag(tmp_path / "run_plain", 250).glob("*.mcap"))  # a bare storage file
    done = threading.Semaphore(0)
    for p in (zstd, split, plain):
        cal.register(str(p), on_done=done.release)
    for _ in range(3):
        assert done.acquire(timeout=60)
    cal.close()
    assert cal.good_count() == 3, logs
    rows = svc.files.rows(cal.mission_id)
    assert sorted(r["original_name"] for r in rows) == ["run_plain.mcap", "run_split.zip", "run_zstd.zip"]
    assert recordings_count(rows) == 3
    by_name = {r["original_name"]: r for r in rows}
    for name, n in (("run_zstd.zip", 300), ("run_split.zip", 400), ("run_plain.mcap", 250)):
        paths = svc.files.recording_paths(by_name[name])
        assert len(paths) == 1
        rec = load_recording(paths[0])
        assert rec.messages_read == n, (name, rec.warnings)
    svc.stop()


def test_counts_the_missions_calibration_files_whoever_added_them(tmp_path: Path) -> None:
    """Files uploaded through the sidecar into the node's mission count toward min_files."""
    import pytest

    from sidecar_fakes import csv_files
    from ridescan_ros.service.errors import ServiceError

    svc = RideScanService(tmp_path / "data")
    cal = Calibrator(svc, "wheeled_mobile", "rover", "patrol", log=lambda m: None, org="acme")
    assert cal.stored_count() == 0 and cal.snapshot()["files"] == 0
    for p in csv_files(tmp_path / "c", 3):  # as an upload through /api/file/upload would
        svc.add_file(cal.robot_id, cal.mission_id, p)
    cal.refresh()  # the node refreshes every 0.5 s
    assert cal.stored_count() == 3 and cal.snapshot()["files"] == 3 and cal.good_count() == 0
    # the robot lives in the node's org: keys of that org see it
    assert svc.store.one("SELECT org FROM robots WHERE id=?", (cal.robot_id,))["org"] == "acme"
    # the same robot name with another type is refused, not silently reused
    with pytest.raises(ServiceError, match="is 'wheeled_mobile', not 'ur6'"):
        Calibrator(svc, "UR6", "rover", "patrol", log=lambda m: None, org="acme")
    cal.close()
    svc.stop()


def test_retry_after_a_failure_only_with_more_recordings(tmp_path: Path) -> None:
    """The failed calibration used one zip of 15 recordings: 15 recordings, not 1 file."""
    import zipfile

    from sidecar_fakes import FakeExecutor, csv_files, wait_for

    svc = RideScanService(tmp_path / "data", executor=FakeExecutor())
    svc.start()
    cal = Calibrator(svc, "wheeled_mobile", "rover", "patrol", log=lambda m: None)
    z = tmp_path / "bad15.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in csv_files(tmp_path / "b", 15, "bad"):
            zf.write(p, p.name)
    svc.add_file(cal.robot_id, cal.mission_id, z)
    assert cal.stored_count() == 15
    ok, _ = cal.start(epochs=1, batch_size=8, device="cpu")
    assert ok
    wait_for(lambda: svc.calibration_status(cal.mission_id)["status"] == "calibration_failed")
    assert not cal.retry_worth_it()  # the same 15 recordings would fail the same way
    svc.add_file(cal.robot_id, cal.mission_id, csv_files(tmp_path / "g", 1, "good")[0])
    assert cal.retry_worth_it()
    cal.close()
    svc.stop()
