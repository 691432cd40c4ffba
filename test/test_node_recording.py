"""A run recorded by the node (raw subscriptions: the wire bytes as received) reads back
through ``core.readers.load_recording`` with the values that were published."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from test_node_harness import UR5E, Harness, ros_env

pytestmark = pytest.mark.ros


def _rows(stream) -> list[tuple]:
    """Rows of a stream as tuples over its sorted columns (NaN as a marker, exact floats)."""
    keys = sorted(stream.columns)
    cols = [stream.columns[k] for k in keys]
    return [tuple("nan" if math.isnan(c[i]) else float(c[i]) for c in cols) for i in range(len(stream))]


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_recorded_run_reads_back_with_the_published_values(shared_data, tmp_path, storage) -> None:
    from ridescan_ros.core.readers import load_recording
    from ridescan_ros.nodes.player import load_messages
    from ridescan_ros.nodes.recorder import BagRecorder

    ros_env(tmp_path)
    msgs = load_messages(shared_data / UR5E / "run_001.bag", start_s=4.0, duration_s=3.0)
    ref = BagRecorder(str(tmp_path / "reference"), storage="mcap")  # serialize_message path
    for t_ns, topic, msg in msgs:
        ref.write(topic, f"{type(msg).__module__.split('.')[0]}/msg/{type(msg).__name__}", msg, t_ns)
    expected = load_recording(ref.close())
    h = Harness({"data_dir": str(tmp_path / "data"), "use_sim_time": True,
                 "record.storage": storage, "calibration.auto": False})
    try:
        player = h.player(msgs)
        assert h.call("start_run").success
        player.play()
        h.wait_for(lambda: h.node.runs.recorder.messages >= len(msgs), 5, "every message recorded")
        stop = h.call("stop_run")
        assert stop.success
    finally:
        h.close()
    got = load_recording(stop.message)
    run = Path(stop.message)  # named as ros2 bag record names it: no hidden partial name left
    stem = run.name
    assert sorted(f.name for f in run.iterdir()) == sorted(["metadata.yaml", f"{stem}.{'mcap' if storage == 'mcap' else 'db3'}"])
    assert ".partial" not in (run / "metadata.yaml").read_text()
    assert sorted(got.streams) == sorted(expected.streams) == ["/joint_states", "/speed_scaling_factor", "/wrench"]
    for topic, exp in expected.streams.items():
        rec = got.streams[topic]
        assert rec.msgtype == exp.msgtype and sorted(rec.columns) == sorted(exp.columns), topic
        assert _rows(rec) == _rows(exp), topic  # every message, same values, same order
        if topic != "/speed_scaling_factor":  # stamped: same header-stamp time base
            np.testing.assert_array_equal(rec.t, exp.t)
