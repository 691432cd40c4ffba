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
