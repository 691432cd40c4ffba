"""The node with stand-in scorers (no training): a scorer that fails gives ERROR on
/diagnostics and no scores; a working one clears it and scores every window."""

from __future__ import annotations

import time

import numpy as np
import pytest

from test_node_harness import UR5E, Harness, ros_env

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402 (after the importorskip)

pytestmark = pytest.mark.ros


class _Scores:
    def __init__(self, n: int, frame) -> None:
        self.risk = np.full(1, 42.0)
        self.raw = np.ones(1)
        self.contributions = np.ones((1, n))
        self.t_start = np.array([frame.t0])
        self.t_end = np.array([frame.t0 + 1.0])


class FakeScorer:
    """Scorer interface of ``model.scorer.Scorer`` (what the node uses of it)."""

    def __init__(self, fail: bool) -> None:
        from ridescan_ros.core.profiles import get_profile

        self.signals = get_profile("UR6").expected_signals()
        self.rate_hz, self.window, self.stride, self.max_gap_s = 125.0, 125, 62, 0.5
        self.model_version = "fake-fail" if fail else "fake-ok"
        self.fail = fail
        self.frames = []

    def score_frame(self, frame):
        self.frames.append(frame)
        if self.fail:
            raise RuntimeError("boom")
        return _Scores(len(self.signals), frame)


def test_failing_scorer_reports_error_then_recovers(shared_data, tmp_path) -> None:
    from ridescan_ros.nodes.player import load_messages

    ros_env(tmp_path)
    msgs = load_messages(shared_data / UR5E / "run_004.bag", start_s=10.0, duration_s=3.0)
    h = Harness({"data_dir": str(tmp_path / "data"), "use_sim_time": True,
                 "diagnostics.period_s": 0.2})
    try:
        bad = FakeScorer(fail=True)
        h.node._use_scorer(bad)
        p = h.player(msgs)
        p.play()
        h.wait_for(lambda: h.diag("scoring").level == DiagnosticStatus.ERROR, 3, "ERROR")
        assert "boom" in h.diag("scoring").message and bad.frames and not h.scores
        assert all(f.X.shape == (125, len(bad.signals)) for f in bad.frames)
        good = FakeScorer(fail=False)
        h.node._use_scorer(good)
        p.play()
        h.wait_for(lambda: len(h.scores) >= 3, 5, "scores")
        time.sleep(0.5)
        assert h.diag("scoring").level != DiagnosticStatus.ERROR
        assert set(h.scores) == {42.0} and h.assessments[0]["model_version"] == "fake-ok"
    finally:
        h.close()
