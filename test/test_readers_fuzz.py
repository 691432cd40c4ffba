"""Corrupted inputs: whatever bytes are flipped, the readers answer a Recording or a RecordingError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rosbags.rosbag2 import StoragePlugin

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers import load_recording
from ridescan_ros.core.telemetry import Recording

from test_readers_generated import _rows, write_ros1, write_ros2  # noqa: E402

_FLIPS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6)


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("orig")
    rows = _rows(120)
    mcap = next(write_ros2(d / "m", rows, StoragePlugin.MCAP).glob("*.mcap"))
    db3 = next(write_ros2(d / "s", rows, StoragePlugin.SQLITE3).glob("*.db3"))
    csv = d / "w.csv"
    csv.write_text("timestamp,x,y\n" + "".join(f"{1.7e9 + i * 0.1},{i},{-i}\n" for i in range(120)))
    return {
        ".bag": write_ros1(d / "a.bag", rows, "lz4", chunk=2048).read_bytes(),
        ".mcap": mcap.read_bytes(),
        ".db3": db3.read_bytes(),
        ".csv": csv.read_bytes(),
    }


@pytest.mark.parametrize("suffix", [".bag", ".mcap", ".db3", ".csv"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=_FLIPS, cut=st.floats(0.05, 1.0))
def test_corrupted_bytes_only_recording_error(
    originals: dict[str, bytes], tmp_path: Path, suffix: str, flips: list[tuple[float, int]], cut: float
) -> None:
    data = bytearray(originals[suffix])
    for where, value in flips:
        data[int(where * len(data))] = value
    data = data[: max(1, int(cut * len(data)))]
    p = tmp_path / f"x{suffix}"
    p.write_bytes(bytes(data))
    try:
        rec = load_recording(p)
    except RecordingError as err:
        assert err.path == str(p) and err.reason
        return
    assert isinstance(rec, Recording)
    assert rec.messages_read <= 120 * (3 if suffix == ".csv" else 1)
