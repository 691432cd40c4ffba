"""The bulk decoder against the per-message path on every recording of ../shared/data and
../shared/cases: same streams, same columns, same bits, same times, same warnings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers import expand_inputs, load_recording

BAG_KINDS = (".bag", ".mcap", ".db3", ".zstd", ".active", ".zip")


def _bags(root: Path) -> list[str]:
    """Every bag-like input under ``root`` (CSVs have no bulk path)."""
    out = []
    for p in expand_inputs([root]):
        q = Path(p.partition("!")[0])
        if q.is_dir() or q.name.endswith(BAG_KINDS):
            out.append(p)
    return out


def _same(a, b) -> None:
    assert a.warnings == b.warnings and a.messages_read == b.messages_read
    assert list(a.streams) == list(b.streams)
    for topic, sa in a.streams.items():
        sb = b.streams[topic]
        assert sa.msgtype == sb.msgtype and list(sa.columns) == list(sb.columns), topic
        assert np.array_equal(sa.t.view(np.int64), sb.t.view(np.int64)), topic
        for k, col in sa.columns.items():
            assert np.array_equal(np.ascontiguousarray(col).view(np.int64),
                                  np.ascontiguousarray(sb.columns[k]).view(np.int64)), (topic, k)


@pytest.mark.parametrize("where", ["data", "cases"])
def test_fast_and_per_message_paths_identical_everywhere(shared_data: Path, cases_dir: Path, where: str) -> None:
    root = shared_data if where == "data" else cases_dir
    paths = _bags(root)
    assert len(paths) > 10
    compared = 0
    for p in paths:
        try:
            fast = load_recording(p)
        except RecordingError as err:
            with pytest.raises(RecordingError) as slow_err:
                load_recording(p, fast=False)
            assert str(slow_err.value) == str(err), p
            continue
        _same(fast, load_recording(p, fast=False))
        compared += 1
    assert compared > 5
