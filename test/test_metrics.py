"""Metrics against scikit-learn on random data, plus the edge cases that matter in reports."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ridescan_ros.core.metrics import auprc, auroc, detection_delay, false_alarms_per_hour, topk_hit


@pytest.mark.parametrize("seed", range(5))
def test_auroc_auprc_match_sklearn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    y[:2] = [0, 1]
    s = np.round(rng.normal(size=60) + y, 1)  # rounding makes ties
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert auprc(y, s) == pytest.approx(average_precision_score(y, s))


def test_perfect_inverted_and_constant_scores() -> None:
    y = [0, 0, 1, 1]
    assert auroc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auroc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert auroc(y, [1, 1, 1, 1]) == 0.5
    assert auprc(y, [1, 1, 1, 1]) == pytest.approx(0.5)
    assert np.isnan(auroc([1, 1], [0.3, 0.4]))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        auroc([0, 1], [0.1])
    with pytest.raises(ValueError):
        auroc([0, 1], [0.1, np.nan])


def test_false_alarms_count_runs_of_windows() -> None:
    r = np.array([10, 60, 70, 10, 55, 10.0])
    t0 = np.arange(6) * 1800.0
    events, per_h = false_alarms_per_hour(r, t0, t0 + 1800.0)
    assert events == 2
    assert per_h == pytest.approx(2 / 3.0)


def test_detection_delay_from_onset() -> None:
    t0 = np.arange(10, dtype=float)
    r = np.array([0, 80, 0, 0, 0, 0, 60, 90, 0, 0.0])  # the early alarm precedes onset
    assert detection_delay(r, t0, t0 + 2.0, onset=5.5) == pytest.approx(2.5)
    assert detection_delay(np.zeros(10), t0, t0 + 2, onset=5.5) is None


def test_topk_hit_matches_joint_and_leg() -> None:
    sig = ["wrench.force_z", "elbow_joint.effort", "front_right_knee.effort"]
    assert not topk_hit(sig, ["elbow_joint"], 1)
    assert topk_hit(sig, ["elbow_joint"], 3)
    assert topk_hit(sig, ["front_right"], 3)
    assert not topk_hit(sig, ["front_left"], 3)
