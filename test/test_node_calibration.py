"""Calibration through the node: 14 runs dropped in the watched folder + 1 recorded with
~/start_run / ~/stop_run, auto-calibration (1 epoch) in the background, then live scores."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from test_node_harness import Harness, normal_runs, ros_env

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402 (after the importorskip)

pytestmark = pytest.mark.ros
SLICE_S = 8.0


def _write_slice(src: Path, out: Path, start: float) -> None:
    from ridescan_ros.nodes.player import load_messages
    from ridescan_ros.nodes.recorder import BagRecorder

    rec = BagRecorder(str(out), storage="mcap")
    for t_ns, topic, msg in load_messages(src, start_s=start, duration_s=SLICE_S):
        rec.write(topic, f"{type(msg).__module__.split('.')[0]}/msg/{type(msg).__name__}", msg, t_ns)
    rec.close()


def test_runs_in_watch_dir_and_recorded_run_calibrate_then_score(shared_data, tmp_path) -> None:
    from ridescan_ros.nodes.player import load_messages

    ros_env(tmp_path)
    runs = normal_runs(shared_data, 15)
    staging, watch = tmp_path / "staging", tmp_path / "watch"
    staging.mkdir()
    for i, run in enumerate(runs[:14]):
        _write_slice(run, staging / f"cal_{i:02d}", start=2.0 + i % 3)
    (staging / "notes.txt").write_text("not a recording")
    h = Harness({"data_dir": str(tmp_path / "data"), "calibration.watch_dir": str(watch),
                 "calibration.poll_s": 0.2, "calibration.settle_s": 0.5, "training.epochs": 1,
                 "training.device": "cpu", "diagnostics.period_s": 0.5})
    try:
        h.wait_for(lambda: h.status, 10, "latched calibration status")
        assert h.status[-1]["status"] == "not_calibrated" and h.status[-1]["files"] == 0
        h.wait_for(lambda: h.diag("model") is not None, 5, "diagnostics")
        assert h.diag("model").level == DiagnosticStatus.WARN and "no model" in h.diag("model").message
        # one run recorded by the node itself
        assert h.call("start_run").success
        h.player(load_messages(runs[14], start_s=3.0, duration_s=SLICE_S)).play(clock=False)
        stop = h.call("stop_run")
        assert stop.success and os.path.isfile(os.path.join(stop.message, "metadata.yaml"))
        assert not h.call("stop_run").success
        h.wait_for(lambda: h.status[-1]["files"] == 1, 30, "the recorded run to be registered")
        early = h.call("calibrate")
        assert not early.success and "15 needed" in early.message
        for p in sorted(staging.iterdir()):  # bags appear in the watched folder
            os.replace(p, watch / p.name)
        h.wait_for(lambda: h.status[-1]["status"] == "calibrating", 90, "auto-calibration to start")
        assert h.status[-1]["files"] == 15
        h.wait_for(lambda: h.status[-1]["status"] == "calibration_completed"
                   and h.node.scorer is not None, 300, "training to finish")
        version = h.status[-1]["model_version"]
        assert version and h.node.scorer.model_version == version
        h.player(load_messages(runs[0], start_s=20.0, duration_s=4.0)).play(clock=False)
        h.wait_for(lambda: len(h.assessments) >= 3, 10, "live scores from the new model")
        assert all(a["model_version"] == version for a in h.assessments)
        assert all(0.0 <= s <= 100.0 for s in h.scores)
    finally:
        h.close()
    assert not any(n.endswith(".partial") for n in os.listdir(tmp_path / "data" / "runs"))
