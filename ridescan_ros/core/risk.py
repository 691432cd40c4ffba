"""Raw anomaly score -> 0-100 risk, defined from normal recordings the model did not train on.

Definition (this docstring is the README's text):

Let ``m`` be the median and ``T`` the threshold of the raw scores that *held-out* normal
calibration data received (out-of-fold: each calibration recording is scored by the part of
the ensemble that never trained on it). The threshold is ``T = quantile(raw, 1 - alpha)``
for the documented false-alarm target ``alpha`` (windows: ``alpha = 0.001``, one normal window
in a thousand at or above 50; files: a log-normal fit to the held-out file scores,
``T = exp(mu + z_{1-alpha} * sigma)`` with ``alpha = 0.01``, because 15 files are too few for
an empirical 99th percentile). Then

    risk(raw) = 100 * raw**k / (raw**k + T**k),   k = ln(85/15) / ln(T/m)

so ``risk(m) = 15`` (a typical normal recording), ``risk(T) = 50`` (the critical threshold),
risk is 0 at raw 0, tends to 100, and is strictly increasing in ``raw``. The map is stored
in the model manifest, so it is stable across restarts and tied to one model version.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

NORMAL_RISK = 15.0
CRITICAL_RISK = 50.0
WINDOW_ALPHA = 0.001
FILE_ALPHA = 0.01
_EPS = 1e-12


@dataclass(frozen=True)
class RiskMap:
    """Monotone raw -> risk map: ``median`` maps to 15, ``threshold`` to 50."""

    median: float
    threshold: float
    alpha: float
    method: str
    n_holdout: int

    @property
    def exponent(self) -> float:
        """``k`` of the formula; > 0 because threshold > median."""
        return math.log((100.0 - NORMAL_RISK) / NORMAL_RISK) / math.log(self.threshold / self.median)

    def risk(self, raw: np.ndarray | float) -> np.ndarray:
        """Risk 0-100 for raw scores (NaN raw -> NaN risk, callers report it)."""
        r = np.maximum(np.asarray(raw, dtype=np.float64), 0.0)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            # the same formula as a logistic in log(raw): monotone in floating point too
            return 100.0 / (1.0 + np.exp(-self.exponent * (np.log(r) - math.log(self.threshold))))

    def raw_for(self, risk: float) -> float:
        """Inverse of ``risk``: the raw score that maps to ``risk`` (0 < risk < 100)."""
        r = min(max(float(risk), 1e-9), 100.0 - 1e-9)
        return math.exp(math.log(self.threshold) - math.log(100.0 / r - 1.0) / self.exponent)

    def to_dict(self) -> dict:
        """JSON-able form stored in the manifest."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RiskMap":
        """Inverse of ``to_dict``."""
        return cls(**{k: d[k] for k in ("median", "threshold", "alpha", "method", "n_holdout")})


def _guard(median: float, threshold: float) -> tuple[float, float]:
    """Keep the map defined when held-out scores are degenerate (all equal, zeros)."""
    median = max(float(median), _EPS)
    threshold = max(float(threshold), median * 1.5)
    return median, threshold


def fit_quantile(raw: np.ndarray, alpha: float = WINDOW_ALPHA) -> RiskMap:
    """Empirical map: threshold = (1 - alpha) quantile of held-out normal raw scores."""
    x = np.asarray(raw, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no finite held-out scores to calibrate the risk map")
    m, t = _guard(np.median(x), np.quantile(x, 1.0 - alpha))
    return RiskMap(median=m, threshold=t, alpha=alpha, method="quantile", n_holdout=int(x.size))


def fit_lognormal(raw: np.ndarray, alpha: float = FILE_ALPHA) -> RiskMap:
    """Parametric map for few scores: log-normal fit, threshold at its (1 - alpha) quantile."""
    x = np.asarray(raw, dtype=np.float64)
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        raise ValueError("no positive held-out scores to calibrate the risk map")
    logs = np.log(x)
    mu = float(np.mean(logs))
    sd = float(np.std(logs, ddof=1)) if x.size > 1 else 0.0
    z = NormalDist().inv_cdf(1.0 - alpha)
    m, t = _guard(math.exp(float(np.median(logs))), math.exp(mu + z * sd))
    return RiskMap(median=m, threshold=t, alpha=alpha, method="lognormal", n_holdout=int(x.size))
