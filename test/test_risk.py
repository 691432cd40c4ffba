"""Raw score -> 0-100 risk map (core.risk): anchors, monotonicity, degenerate inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ridescan_ros.core.risk import NORMAL_RISK, RiskMap, fit_lognormal, fit_quantile


def _normal_scores(n: int = 2000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(0.0, 0.5, n)


def test_quantile_map_anchors_median_and_threshold() -> None:
    raw = _normal_scores()
    m = fit_quantile(raw, alpha=0.01)
    assert m.threshold == pytest.approx(np.quantile(raw, 0.99))
    assert float(m.risk(np.median(raw))) == pytest.approx(NORMAL_RISK)
    assert float(m.risk(m.threshold)) == pytest.approx(50.0)
    # the documented false-alarm target holds on the scores it was fitted on
    assert np.mean(m.risk(raw) >= 50.0) == pytest.approx(0.01, abs=0.002)


def test_lognormal_map_threshold_above_most_normals() -> None:
    raw = _normal_scores(15, seed=3)
    m = fit_lognormal(raw, alpha=0.01)
    logs = np.log(raw)
    assert m.threshold == pytest.approx(np.exp(logs.mean() + 2.3263478740 * logs.std(ddof=1)))
    assert m.method == "lognormal" and m.n_holdout == 15


@given(st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=2, max_size=50))
def test_risk_is_monotone_and_bounded(values: list[float]) -> None:
    m = RiskMap(median=1.0, threshold=4.0, alpha=0.001, method="quantile", n_holdout=10)
    x = np.sort(np.asarray(values))
    r = m.risk(x)
    assert np.all(np.diff(r) >= 0)
    assert np.all((r >= 0) & (r <= 100))


def test_risk_extremes_and_nan() -> None:
    m = RiskMap(median=1.0, threshold=4.0, alpha=0.001, method="quantile", n_holdout=10)
    assert float(m.risk(0.0)) == 0.0
    assert float(m.risk(1e300)) == pytest.approx(100.0)
    assert np.isnan(m.risk(np.nan))


def test_degenerate_holdout_still_defines_a_map() -> None:
    m = fit_quantile(np.ones(100))
    assert m.threshold > m.median > 0
    assert float(m.risk(m.threshold)) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        fit_quantile(np.array([np.nan]))


def test_round_trip_through_dict() -> None:
    m = fit_quantile(_normal_scores())
    assert RiskMap.from_dict(m.to_dict()) == m


def test_raw_for_inverts_the_map() -> None:
    m = RiskMap(median=2.0, threshold=9.0, alpha=0.01, method="lognormal", n_holdout=15)
    for r in (1.0, 15.0, 50.0, 73.2, 99.0):
        assert float(m.risk(m.raw_for(r))) == pytest.approx(r, rel=1e-9)
    assert m.raw_for(50.0) == pytest.approx(9.0) and m.raw_for(15.0) == pytest.approx(2.0)


def test_sustained_level_is_the_level_every_window_of_a_run_reached() -> None:
    import numpy as np

    from ridescan_ros.model.scorer import sustained_level

    risk = np.array([10, 80, 12, 55, 60, 71, 58, 20, 90, 10], dtype=float)
    assert sustained_level(risk, 4) == (55.0, 3)  # windows 3-6 all >= 55
    assert sustained_level(risk, 1) == (90.0, 8)
    assert sustained_level(risk[:3], 4) == (0.0, -1)  # shorter than the run: no claim
