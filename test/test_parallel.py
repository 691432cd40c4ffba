"""load_many gives what a serial loop over load_recording gives, in the same order."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.parallel import default_workers, load_many, map_in_processes
from ridescan_ros.core.readers import load_recording
from ridescan_ros.core.telemetry import Recording


def _serial(path: str) -> Recording | RecordingError:
    try:
        return load_recording(path)
    except RecordingError as err:
        return err


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a, np.float64).view(np.int64),
        np.ascontiguousarray(b, np.float64).view(np.int64),
    )


def _assert_same(a: Recording | RecordingError, b: Recording | RecordingError) -> None:
    assert type(a) is type(b)
    if isinstance(a, RecordingError):
        assert str(a) == str(b) and a.path == b.path
        return
    assert (a.path, a.warnings, a.messages_read, a.messages_declared, a.recovered) == (
        b.path, b.warnings, b.messages_read, b.messages_declared, b.recovered)
    assert list(a.streams) == list(b.streams)
    for topic, sa in a.streams.items():
        sb = b.streams[topic]
        assert (sa.msgtype, list(sa.columns)) == (sb.msgtype, list(sb.columns))
        assert _same_bits(sa.t, sb.t)
        for key, col in sa.columns.items():
            assert _same_bits(col, sb.columns[key]), (topic, key)


def test_parallel_matches_serial_in_order(shared_data: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bag"
    garbage.write_bytes(b"#ROSBAG V2.0\n" + b"\x07" * 100)
    paths = [
        str(shared_data / "sim_ur5e" / "run_000.bag"),
        str(tmp_path / "missing.mcap"),
        str(shared_data / "sim_spot" / "run_000.mcap"),
        str(garbage),
    ]
    serial = [_serial(p) for p in paths]
    parallel = load_many(paths, workers=2)
    assert len(parallel) == len(paths)
    for a, b in zip(serial, parallel):
        _assert_same(a, b)
    assert isinstance(parallel[0], Recording) and isinstance(parallel[1], RecordingError)
    assert isinstance(parallel[3], RecordingError) and "garbage.bag" in str(parallel[3])
    in_process = load_many(paths[:2], workers=1, fast=False)
    _assert_same(in_process[0], serial[0])


def _double_or_die(item: int, flag: bool) -> int:
    if item == 3:
        os._exit(3)  # a worker killed mid-read (as the OOM killer would)
    return item * 2 if flag else item


def test_dead_worker_only_costs_its_own_item() -> None:
    out = map_in_processes(_double_or_die, [1, 2, 3, 4], True, workers=2)
    assert out[:2] == [2, 4] and out[3] == 8
    assert isinstance(out[2], BrokenProcessPool)


def test_default_workers_is_capped() -> None:
    assert default_workers(1) == 1
    assert 1 <= default_workers(100) <= 8
    assert load_many([]) == []


def test_large_results_travel_compact_and_unchanged(shared_data: Path) -> None:
    """Results over PACK_MIN_BYTES come back through a /dev/shm file: same bits, same
    order, the same array shared by ``t`` and ``header.stamp`` as serially, no file left."""
    from ridescan_ros.core import parallel

    big = str(shared_data / "sim_spot" / "run_000.mcap")
    small = str(shared_data / "sim_ur5e" / "run_000.bag")
    paths = [small, big, small, str(shared_data / "sim_spot" / "run_001.mcap"), big]
    serial = [_serial(p) for p in paths]
    parallel_out = load_many(paths, workers=2)
    assert [r.path for r in parallel_out] == paths
    for a, b in zip(serial, parallel_out):
        _assert_same(a, b)
        for topic, sa in a.streams.items():
            sb = b.streams[topic]
            same_a = [k for k, c in sa.columns.items() if c is sa.t]
            assert same_a == [k for k, c in sb.columns.items() if c is sb.t]
    leftovers = os.path.join(parallel._pack_dir(), f"{parallel._PACK_PREFIX}{os.getpid()}-*")
    assert not __import__("glob").glob(leftovers)


def test_pack_round_trip_keeps_empty_streams(shared_data: Path) -> None:
    from ridescan_ros.core import parallel
    from ridescan_ros.core.telemetry import Stream

    rec = load_recording(shared_data / "sim_spot" / "run_000.mcap")
    rec.streams["/empty"] = Stream("/empty", "std_msgs/msg/Float64", np.zeros(0), {"data": np.zeros(0)})
    packed = parallel._pack(rec, os.getpid())
    assert isinstance(packed, parallel._Packed) and os.path.exists(packed.file)
    back = parallel._unpack(packed)
    assert not os.path.exists(packed.file)
    _assert_same(rec, back)


def test_small_inputs_read_in_process_unless_workers_given(shared_data: Path) -> None:
    from ridescan_ros.core import parallel

    paths = [str(shared_data / "sim_ur5e" / "run_000.bag"), str(shared_data / "panda_unsupported" / "joint_states.bag")]
    assert sum(parallel._input_bytes(p) for p in paths) < parallel.PARALLEL_MIN_BYTES
    auto, forced = load_many(paths), load_many(paths, workers=2)
    for a, b, c in zip([_serial(p) for p in paths], auto, forced):
        _assert_same(a, b)
        _assert_same(a, c)


def test_with_threads_running_workers_are_not_forked(shared_data: Path) -> None:
    """A threaded process (node, server, torch) gets forkserver workers; same results."""
    import threading

    from ridescan_ros.core.parallel import start_method

    paths = [str(shared_data / "sim_spot" / "run_000.mcap"), str(shared_data / "sim_ur5e" / "run_000.bag")]
    ev = threading.Event()
    th = threading.Thread(target=ev.wait)
    th.start()
    try:
        assert start_method() in ("forkserver", "spawn")
        for a, b in zip([_serial(p) for p in paths], load_many(paths, workers=2)):
            _assert_same(a, b)
    finally:
        ev.set()
        th.join()


def _spot_paths(shared_data: Path, tmp_path: Path) -> list[str]:
    return [str(shared_data / "sim_spot" / "run_000.mcap"), str(tmp_path / "missing.mcap"),
            str(shared_data / "sim_ur5e" / "run_000.bag"), str(shared_data / "sim_spot" / "run_001.mcap"),
            str(shared_data / "sim_spot" / "run_002.mcap")]


def test_prefetcher_gives_serial_results_in_order(shared_data: Path, tmp_path: Path) -> None:
    from ridescan_ros.core import parallel
    from ridescan_ros.core.parallel import Prefetcher

    paths = _spot_paths(shared_data, tmp_path)
    with Prefetcher(paths) as reads:
        got = list(reads)
    assert [p for p, _ in got] == paths
    for a, (_, b) in zip([_serial(p) for p in paths], got):
        _assert_same(a, b)
    assert not __import__("glob").glob(os.path.join(parallel._pack_dir(), f"{parallel._PACK_PREFIX}{os.getpid()}x*"))
    with Prefetcher(paths) as reads:  # abandoned after one file: worker stopped, nothing left
        next(iter(reads))
    assert not __import__("glob").glob(os.path.join(parallel._pack_dir(), f"{parallel._PACK_PREFIX}{os.getpid()}x*"))


def test_prefetcher_survives_a_file_that_kills_its_reader(shared_data: Path, tmp_path: Path, monkeypatch) -> None:
    import pytest

    from ridescan_ros.core import readers
    from ridescan_ros.core.parallel import CRASH_REASON, Prefetcher, start_method

    if start_method() != "fork":
        pytest.skip("the killer is patched in; only a forked worker inherits the patch")
    paths = _spot_paths(shared_data, tmp_path)
    real = readers.load_recording

    def killer(path, **kw):  # type: ignore[no-untyped-def]
        if str(path) == paths[2]:
            os._exit(3)
        return real(path, **kw)

    monkeypatch.setattr(readers, "load_recording", killer)
    with Prefetcher(paths) as reads:
        got = dict(reads)
    monkeypatch.setattr(readers, "load_recording", real)
    assert isinstance(got[paths[2]], RecordingError) and CRASH_REASON in str(got[paths[2]])
    for p in (paths[0], paths[3], paths[4]):
        _assert_same(_serial(p), got[p])
