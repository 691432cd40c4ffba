"""Simple anomaly baselines on window features: PCA, Mahalanobis, IsolationForest.

docs/evaluation.md asks that every quality figure of the shipped model stands next to
these on the same windows and split, because published benchmarks find they tie or beat
most deep models. They are fitted on calibration windows only; features are standardised
with calibration statistics; a signal missing in a recording becomes the calibration mean
(0 after standardising) so a missing sensor never crashes a baseline.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest

FEATURES = ("mean", "std", "min", "max", "absdiff")
BASELINES = ("pca", "mahalanobis", "iforest")
TOP_FRACTION = 0.1  # file score = mean of its highest 10% window scores (fixed a priori)


def window_features(win: np.ndarray) -> np.ndarray:
    """(n, window, d) windows -> (n, 5*d) features: mean, std, min, max, mean |diff| per signal.

    Mean/min/max see level shifts (load, bias), std and mean |diff| see vibration and
    friction; NaN stays NaN where a signal has no data in the window.
    """
    w = np.asarray(win, dtype=np.float64)
    if w.ndim != 3:
        raise ValueError(f"expected (n, window, d) windows, got shape {w.shape}")
    n, _, d = w.shape
    if n == 0:
        return np.zeros((0, len(FEATURES) * d))
    finite = np.isfinite(w)
    cnt = finite.sum(axis=1)
    safe = np.where(finite, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = safe.sum(axis=1) / cnt
        var = np.where(finite, (w - mean[:, None, :]) ** 2, 0.0).sum(axis=1) / cnt
        mn = np.where(finite, w, np.inf).min(axis=1)
        mx = np.where(finite, w, -np.inf).max(axis=1)
        dif = np.abs(np.diff(w, axis=1))
        dfin = np.isfinite(dif)
        absdiff = np.where(dfin, dif, 0.0).sum(axis=1) / dfin.sum(axis=1)
    empty = cnt == 0
    for a in (mean, var, mn, mx):
        a[empty] = np.nan
    return np.concatenate([mean, np.sqrt(var), mn, mx, absdiff], axis=1)


def feature_names(signals: list[str]) -> list[str]:
    """Column names of ``window_features`` output, in its order."""
    return [f"{s}:{f}" for f in FEATURES for s in signals]


@dataclass
class Standardizer:
    """Calibration mean/scale per feature; zero-variance features keep scale 1 (as sklearn)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, F: np.ndarray) -> "Standardizer":
        G = np.where(np.isfinite(F), F, np.nan)
        with warnings.catch_warnings():  # all-NaN columns (a signal never present) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(G, axis=0)
            std = np.nanstd(G, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return cls(mean=mean, scale=std)

    def transform(self, F: np.ndarray) -> np.ndarray:
        Z = (F - self.mean) / self.scale
        return np.where(np.isfinite(Z), Z, 0.0)


@dataclass
class BaselineSet:
    """The three baselines fitted on one set of calibration windows.

    Attributes:
        signals: signal names of the windows' columns (for PCA attribution).
        std: feature standardiser.
        models: name -> fitted estimator.
    """

    signals: list[str]
    std: Standardizer
    models: dict[str, object] = field(default_factory=dict)

    def score_windows(self, win: np.ndarray) -> dict[str, np.ndarray]:
        """Per-window anomaly score of each baseline (higher = more anomalous)."""
        Z = self.std.transform(window_features(win))
        out: dict[str, np.ndarray] = {}
        if len(Z) == 0:
            return {b: np.zeros(0) for b in self.models}
        pca: PCA = self.models["pca"]  # type: ignore[assignment]
        rec = pca.inverse_transform(pca.transform(Z))
        out["pca"] = np.sum((Z - rec) ** 2, axis=1)
        lw: LedoitWolf = self.models["mahalanobis"]  # type: ignore[assignment]
        out["mahalanobis"] = lw.mahalanobis(Z)
        iso: IsolationForest = self.models["iforest"]  # type: ignore[assignment]
        out["iforest"] = -iso.score_samples(Z)
        return out

    def pca_signal_errors(self, win: np.ndarray) -> np.ndarray:
        """(d,) PCA reconstruction error per signal summed over windows and features."""
        Z = self.std.transform(window_features(win))
        if len(Z) == 0:
            return np.zeros(len(self.signals))
        pca: PCA = self.models["pca"]  # type: ignore[assignment]
        err = (Z - pca.inverse_transform(pca.transform(Z))) ** 2
        d = len(self.signals)
        return err.reshape(len(Z), len(FEATURES), d).sum(axis=(0, 1))


def fit_baselines(
    windows_list: list[np.ndarray],
    signals: list[str],
    *,
    seed: int = 0,
    pca_variance: float = 0.9,
    max_windows: int = 20000,
) -> BaselineSet:
    """Fit PCA (components for ``pca_variance`` of the variance), Ledoit-Wolf Mahalanobis
    and a 200-tree IsolationForest on the calibration recordings' windows.

    ``max_windows`` caps the fit set (seeded subsample) so evaluation stays fast on long data.
    """
    F = np.concatenate([window_features(w) for w in windows_list if len(w)], axis=0) if windows_list else np.zeros((0, 0))
    if len(F) < 3:
        raise ValueError(f"need at least 3 calibration windows for the baselines, got {len(F)}")
    rng = np.random.default_rng(seed)
    if len(F) > max_windows:
        F = F[np.sort(rng.choice(len(F), max_windows, replace=False))]
    std = Standardizer.fit(F)
    Z = std.transform(F)
    n_comp = max(1, min(Z.shape[0] - 1, Z.shape[1]))
    pca_full = PCA(n_components=n_comp, random_state=seed).fit(Z)
    cum = np.cumsum(pca_full.explained_variance_ratio_)
    k = int(np.searchsorted(cum, pca_variance) + 1)
    pca = PCA(n_components=min(k, n_comp), random_state=seed).fit(Z)
    lw = LedoitWolf().fit(Z)
    iso = IsolationForest(n_estimators=200, random_state=seed).fit(Z)
    return BaselineSet(signals=list(signals), std=std, models={"pca": pca, "mahalanobis": lw, "iforest": iso})


def file_score(window_scores: np.ndarray, top_fraction: float = TOP_FRACTION) -> float:
    """One number per recording: mean of its highest ``top_fraction`` window scores.

    A fault that lasts a while moves it, one noisy window barely does; NaN with no windows.
    """
    s = np.sort(np.asarray(window_scores, dtype=np.float64))[::-1]
    if s.size == 0:
        return float("nan")
    k = max(1, int(np.ceil(top_fraction * s.size)))
    return float(np.mean(s[:k]))
