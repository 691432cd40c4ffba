"""Readers on bags written here with rosbags' own writers: time base, masking, damage."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin, Writer as Writer2
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.typesys import Stores, get_typestore

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers import load_recording

T0 = 1_733_220_000_000_000_000
JOINTS = ["j1", "j2"]


def _js(store, stamp_ns: int, pos: list[float], vel: list[float] | None = None):  # type: ignore[no-untyped-def]
    Time = store.types["builtin_interfaces/msg/Time"]
    Header = store.types["std_msgs/msg/Header"]
    JS = store.types["sensor_msgs/msg/JointState"]
    kw = {"seq": 0} if "seq" in store.fielddefs["std_msgs/msg/Header"][1][0] else {}
    hdr = Header(stamp=Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9), frame_id="", **kw)
    return JS(header=hdr, name=JOINTS, position=np.array(pos, dtype=np.float64),
              velocity=np.array(vel or [], dtype=np.float64), effort=np.array([], dtype=np.float64))


def write_ros1(
    path: Path, rows: list[tuple[int, int, list[float]]], compression: str | None = None, chunk: int = 1 << 20
) -> Path:
    """rows: (log ns, stamp ns, positions)."""
    store = get_typestore(Stores.ROS1_NOETIC)
    w = Writer1(path)
    w.chunk_threshold = chunk
    if compression:
        w.set_compression(getattr(Writer1.CompressionFormat, compression.upper()))
    with w:
        conn = w.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=store)
        for log, stamp, pos in rows:
            w.write(conn, log, store.serialize_ros1(_js(store, stamp, pos), conn.msgtype))
    return path


def write_ros2(path: Path, rows: list[tuple[int, int, list[float]]], plugin: StoragePlugin) -> Path:
    store = get_typestore(Stores.ROS2_HUMBLE)
    with Writer2(path, version=9, storage_plugin=plugin) as w:
        conn = w.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=store)
        for log, stamp, pos in rows:
            w.write(conn, log, store.serialize_cdr(_js(store, stamp, pos), conn.msgtype))
    return path


def _rows(n: int = 200, dt: int = 8_000_000) -> list[tuple[int, int, list[float]]]:
    return [(T0 + i * dt, T0 + i * dt - 1000, [0.01 * i, -0.02 * i]) for i in range(n)]


@pytest.mark.parametrize("fmt", ["ros1", "sqlite3", "mcap"])
def test_roundtrip_values_and_stamps(tmp_path: Path, fmt: str) -> None:
    rows = _rows()
    if fmt == "ros1":
        p = write_ros1(tmp_path / "a.bag", rows)
    else:
        plugin = StoragePlugin.SQLITE3 if fmt == "sqlite3" else StoragePlugin.MCAP
        p = write_ros2(tmp_path / "b", rows, plugin)
    rec = load_recording(p)
    js = rec.streams["/joint_states"]
    assert rec.messages_read == 200 and rec.messages_declared in (200, None)
    np.testing.assert_allclose(js.t, [(s) / 1e9 for _, s, _ in rows], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(js.columns["j2.position"], [r[2][1] for r in rows])
    assert "j1.velocity" not in js.columns  # empty arrays give no column, not zeros
    assert rec.warnings == []


@pytest.mark.parametrize("compression", [None, "bz2", "lz4"])
def test_fast_and_slow_paths_identical(tmp_path: Path, compression: str | None) -> None:
    p = write_ros1(tmp_path / "a.bag", _rows(300), compression)
    a, b = load_recording(p, fast=True), load_recording(p, fast=False)
    for k, s in a.streams.items():
        np.testing.assert_array_equal(s.t, b.streams[k].t)
        assert list(s.columns) == list(b.streams[k].columns)
        for c in s.columns:
            np.testing.assert_array_equal(s.columns[c], b.streams[k].columns[c])


def test_stamps_backwards_sorted_and_reported(tmp_path: Path) -> None:
    rows = _rows(100)
    rows = [(log, stamp + (2_000_000_000 if 20 <= i < 40 else 0), pos) for i, (log, stamp, pos) in enumerate(rows)]
    rec = load_recording(write_ros1(tmp_path / "a.bag", rows))
    js = rec.streams["/joint_states"]
    assert np.all(np.diff(js.t) >= 0)
    assert any("backward time step" in w for w in rec.warnings)
    # values travel with their stamps
    i = int(np.argmax(js.t))
    assert js.columns["j1.position"][i] == pytest.approx(0.39)


def test_partial_zero_stamps_fall_back_to_log_time(tmp_path: Path) -> None:
    rows = [(log, 0 if i % 10 == 0 else stamp, pos) for i, (log, stamp, pos) in enumerate(_rows(50))]
    rec = load_recording(write_ros1(tmp_path / "a.bag", rows))
    np.testing.assert_allclose(rec.streams["/joint_states"].t, [r[0] / 1e9 for r in rows], atol=1e-6)
    assert any("is 0 in 5 of 50" in w for w in rec.warnings)


def test_single_1970_stamp_dropped_no_huge_span(tmp_path: Path) -> None:
    rows = _rows(100)
    rows[50] = (rows[50][0], 5_000_000_000, rows[50][2])  # header.stamp at 1970 + 5 s
    rec = load_recording(write_ros1(tmp_path / "a.bag", rows))
    assert len(rec.streams["/joint_states"]) == 99
    assert rec.duration_s() < 1.0
    assert any("header.stamp is implausible" in w for w in rec.warnings)


def test_nan_inf_huge_denormal_masked(tmp_path: Path) -> None:
    rows = _rows(40)
    bad = {5: math.nan, 6: math.inf, 7: -math.inf, 8: -4.7e226, 9: 8.1e-320}
    rows = [(log, st, [bad.get(i, p[0]), p[1]]) for i, (log, st, p) in enumerate(rows)]
    rec = load_recording(write_ros1(tmp_path / "a.bag", rows))
    col = rec.streams["/joint_states"].columns["j1.position"]
    assert np.isnan(col[5:10]).all() and np.isfinite(np.delete(col, range(5, 10))).all()
    masked = next(w for w in rec.warnings if "masked as missing" in w)
    assert "j1.position (4," in masked
    assert any("missing values" in w and "j1.position (1," in w for w in rec.warnings)


@pytest.mark.parametrize("fmt", ["ros1", "mcap"])
def test_truncated_anywhere_never_crashes(tmp_path: Path, fmt: str) -> None:
    rows = _rows(400)
    if fmt == "ros1":
        src = write_ros1(tmp_path / "a.bag", rows, "lz4", chunk=4096)
    else:
        src = next(write_ros2(tmp_path / "b", rows, StoragePlugin.MCAP).glob("*.mcap"))
    data = src.read_bytes()
    rng = np.random.default_rng(0)
    cuts = sorted(set(rng.integers(1, len(data), 25).tolist()) | {1, 8, 20, len(data) - 1})
    recovered = 0
    for cut in cuts:
        p = tmp_path / f"cut{cut}{src.suffix}"
        p.write_bytes(data[:cut])
        try:
            rec = load_recording(p)
        except RecordingError as err:
            assert err.path == str(p) and err.reason
            continue
        n = len(rec.streams["/joint_states"])
        assert 0 < n <= 400 and (rec.recovered or n == 400)
        recovered += rec.recovered
    assert recovered >= 5  # most cuts keep the complete chunks/records before them


@pytest.mark.parametrize("offset", [13, 17, 4200])
def test_forged_length_fields_bounded(tmp_path: Path, offset: int) -> None:
    data = bytearray(write_ros1(tmp_path / "a.bag", _rows(100)).read_bytes())
    data[offset : offset + 4] = b"\xff\xff\xff\x7f"  # a 2 GiB length where a header length lives
    p = tmp_path / "forged.bag"
    p.write_bytes(bytes(data))
    try:
        rec = load_recording(p)
        assert rec.messages_read <= 100
    except RecordingError as err:
        assert err.reason


def test_random_bytes_and_garbage_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for name in ("x.bag", "x.mcap", "x.db3", "x.zip", "x.bin"):
        p = tmp_path / name
        p.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
        with pytest.raises(RecordingError):
            load_recording(p)
    with pytest.raises(RecordingError, match="no such file"):
        load_recording(tmp_path / "missing.bag")


@pytest.mark.parametrize("plugin", [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
@pytest.mark.parametrize("mode", [CompressionMode.MESSAGE, CompressionMode.FILE])
def test_rosbag2_zstd_compression(tmp_path: Path, plugin: StoragePlugin, mode: CompressionMode) -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    p = tmp_path / "c"
    w = Writer2(p, version=9, storage_plugin=plugin)
    w.set_compression(mode, CompressionFormat.ZSTD)
    with w:
        conn = w.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=store)
        for log, stamp, pos in _rows(50):
            w.write(conn, log, store.serialize_cdr(_js(store, stamp, pos), conn.msgtype))
    rec = load_recording(p)
    assert rec.messages_read == rec.messages_declared == 50
    np.testing.assert_array_equal(rec.streams["/joint_states"].columns["j1.position"], [0.01 * i for i in range(50)])
    slow = load_recording(p, fast=False)  # bulk decoder == per-message path, compressed too
    for k, col in rec.streams["/joint_states"].columns.items():
        np.testing.assert_array_equal(col, slow.streams["/joint_states"].columns[k])


def test_split_files_fast_equals_slow(tmp_path: Path) -> None:
    """A bag split over three storage files (no metadata.yaml): one recording, in order,
    bulk decoder == per-message path."""
    d = tmp_path / "cut"
    d.mkdir()
    rows = _rows(300)
    for k in range(3):
        part = write_ros2(tmp_path / f"p{k}", rows[100 * k:100 * (k + 1)], StoragePlugin.MCAP)
        next(part.glob("*.mcap")).rename(d / f"cut_{k}.mcap")
    fast, slow = load_recording(d), load_recording(d, fast=False)
    col = fast.streams["/joint_states"].columns["j1.position"]
    np.testing.assert_array_equal(col, [0.01 * i for i in range(300)])
    np.testing.assert_array_equal(col, slow.streams["/joint_states"].columns["j1.position"])
    np.testing.assert_array_equal(fast.streams["/joint_states"].t, slow.streams["/joint_states"].t)


def test_ros1_scan_matches_rosbags_reader(shared_data: Path, tmp_path: Path) -> None:
    """Our one-pass chunk scan returns exactly what rosbags' indexed reader returns."""
    from ridescan_ros.core.readers.ros1 import read_ros1, read_ros1_rosbags

    bags = [write_ros1(tmp_path / "g.bag", _rows(500), "bz2", chunk=2048),
            shared_data / "format_fixtures" / "rosbag_js" / "example-lz4.bag"]
    for bag in bags:
        ours, ref = read_ros1(str(bag)), read_ros1_rosbags(str(bag))
        assert ours.declared == ref.declared == ours.message_total() and not ours.recovered
        for topic in {c.topic for c in ref.connections}:
            a = sorted((t, p) for c in ours.connections if c.topic == topic for t, p in zip(c.log_ns, c.payloads))
            b = sorted((t, p) for c in ref.connections if c.topic == topic for t, p in zip(c.log_ns, c.payloads))
            assert a == b, topic


def test_replayed_bag_stamps_on_other_clock_use_log_time(tmp_path: Path) -> None:
    day = 86_400 * 10**9
    rows = [(log, stamp - day, pos) for log, stamp, pos in _rows(50)]  # recorded yesterday, replayed now
    rec = load_recording(write_ros1(tmp_path / "a.bag", rows))
    np.testing.assert_allclose(rec.streams["/joint_states"].t, [r[0] / 1e9 for r in rows], atol=1e-6)
    assert any("another clock" in w for w in rec.warnings)


def test_single_stamp_jump_dropped(tmp_path: Path) -> None:
    rows = _rows(50)
    rows[10] = (rows[10][0], rows[10][1] + 3600 * 10**9, rows[10][2])  # one stamp an hour ahead
    rec = load_recording(write_ros1(tmp_path / "a.bag", rows))
    js = rec.streams["/joint_states"]
    assert len(js) == 49 and rec.duration_s() < 1.0
    assert any("more than 10 s from its log time" in w for w in rec.warnings)


@pytest.mark.parametrize("fmt", ["ros1", "mcap"])
def test_malformed_payloads_named_by_message_index_on_both_paths(tmp_path: Path, fmt: str) -> None:
    """Truncated payloads (messages 42 and 43) are counted and the first is named, with the
    same text from the bulk decoder and the per-message path; the others still read."""
    rows = _rows(100)
    if fmt == "ros1":
        store = get_typestore(Stores.ROS1_NOETIC)
        ser, w = store.serialize_ros1, Writer1(tmp_path / "m.bag")
    else:
        store = get_typestore(Stores.ROS2_HUMBLE)
        ser, w = store.serialize_cdr, Writer2(tmp_path / "m", version=9, storage_plugin=StoragePlugin.MCAP)
    with w:
        conn = w.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=store)
        for i, (log, stamp, pos) in enumerate(rows):
            data = ser(_js(store, stamp, pos), conn.msgtype)
            w.write(conn, log, data[: len(data) // 2] if i in (42, 43) else data)
    path = tmp_path / ("m.bag" if fmt == "ros1" else "m")
    fast, slow = load_recording(path), load_recording(path, fast=False)
    msg = [x for x in fast.warnings if "could not be decoded" in x]
    assert len(msg) == 1 and "/joint_states: 2 of 100 messages" in msg[0] and "first at message 42" in msg[0]
    assert msg == [x for x in slow.warnings if "could not be decoded" in x]
    np.testing.assert_array_equal(fast.streams["/joint_states"].t, slow.streams["/joint_states"].t)
    assert len(fast.streams["/joint_states"].t) == 98
