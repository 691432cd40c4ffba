"""Baselines: features, NaN tolerance, and that each one ranks an injected shift above normal."""

from __future__ import annotations

import numpy as np
import pytest

from ridescan_ros.core.baselines import BASELINES, feature_names, file_score, fit_baselines, window_features
from ridescan_ros.core.frame import windows
from ridescan_ros.core.metrics import auroc


def _signal(rng: np.random.Generator, n: int = 2000) -> np.ndarray:
    t = np.arange(n) / 100.0
    a = np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6))
    return np.stack([a, 0.5 * a + 0.05 * rng.normal(size=n), 0.1 * rng.normal(size=n)], axis=1)


def test_window_features_values_and_nan() -> None:
    w = np.array([[[1.0, np.nan], [3.0, np.nan], [2.0, np.nan]]])
    f = window_features(w)
    assert f.shape == (1, 10)
    assert f[0, 0] == pytest.approx(2.0)  # mean
    assert f[0, 2] == pytest.approx(np.std([1, 3, 2]))  # std
    assert (f[0, 4], f[0, 6]) == (1.0, 3.0)  # min, max
    assert f[0, 8] == pytest.approx(1.5)  # mean |diff|
    assert np.isnan(f[0, 1]) and np.isnan(f[0, 9])
    assert feature_names(["a", "b"])[:3] == ["a:mean", "b:mean", "a:std"]


def test_baselines_rank_a_shifted_recording_above_normal() -> None:
    rng = np.random.default_rng(0)
    calib = [windows(_signal(rng), 100, 50) for _ in range(5)]
    base = fit_baselines(calib, ["a", "b", "c"], seed=0)
    normal = [windows(_signal(rng), 100, 50) for _ in range(4)]
    faulty = []
    for _ in range(4):
        x = _signal(rng)
        x[1000:, 1] += 2.0  # after onset b leaves its calibration range...
        x[1000:, 2] *= 5.0  # ...and c gets noisy (IsolationForest needs more than one shift)
        faulty.append(windows(x, 100, 50))
    y = [0] * 4 + [1] * 4
    for name in BASELINES:
        scores = [file_score(base.score_windows(w)[name]) for w in normal + faulty]
        assert auroc(y, scores) == 1.0, name
    err = base.pca_signal_errors(faulty[0])
    assert int(np.argmax(err)) == 1


def test_missing_signal_does_not_break_scoring() -> None:
    rng = np.random.default_rng(1)
    calib = [windows(_signal(rng), 100, 50) for _ in range(3)]
    base = fit_baselines(calib, ["a", "b", "c"], seed=0)
    x = _signal(rng)
    x[:, 2] = np.nan
    out = base.score_windows(windows(x, 100, 50))
    assert all(np.all(np.isfinite(v)) for v in out.values())
    assert set(out) == set(BASELINES)


def test_file_score_top_fraction_and_empty() -> None:
    assert file_score(np.arange(20.0)) == pytest.approx(18.5)
    assert np.isnan(file_score(np.zeros(0)))
    with pytest.raises(ValueError):
        fit_baselines([np.zeros((1, 10, 2))], ["a", "b"])
