"""Window scores -> one score per recording (numpy only).

File raw score = ``w_feat_agg * mean(top 5 % windows' feat part) + w_res_agg * mean(top 5 %
windows' residual part) + w_stat * sum_s stat[s]``. The top windows are picked per part, so
a physics residual is not hidden by windows that are merely unusual in the routine.
``stat[s]`` is the mean ``z**2`` of the recording's whole-file statistics of signal ``s``
(log std, log range, log peak step, first-to-last drift) against the calibration recordings:
two-sided, so an expected event that did not happen (a missing force transient) raises the
score. Wrench force and torque also get a magnitude column (``features.magnitude_groups``)
whose term is shared by its components. Each of the three weights makes its part average 1
on held-out normal recordings (``calibration``), so none dominates by its units.
"""

from __future__ import annotations

import math

import numpy as np

from ridescan_ros.model.features import STEP_S, file_stats, with_magnitudes

TOP_FRACTION = 0.05


def top_index(raw: np.ndarray, frac: float = TOP_FRACTION) -> np.ndarray:
    """Indices of the highest ``ceil(frac * n)`` windows (at least one), highest first."""
    n = raw.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k = max(1, int(math.ceil(frac * n)))
    return np.argsort(-raw, kind="stable")[:k]


def window_aggregate(raw: np.ndarray) -> float:
    """Mean raw score of the top windows (0 when there is no complete window)."""
    idx = top_index(raw)
    return float(raw[idx].mean()) if idx.size else 0.0


def standardised_file_stats(X: np.ndarray, sig_mu: np.ndarray, sig_sd: np.ndarray,
                            rate_hz: float, groups: list[list[int]] | None = None) -> np.ndarray:
    """(rows, d) raw grid -> (d + g, 4) file statistics on calibration-standardised values;
    the ``g`` extra rows are the magnitudes of ``groups`` (``features.magnitude_groups``)."""
    Z = (X - sig_mu) / sig_sd
    if groups:
        Z = np.concatenate([Z, with_magnitudes(X, sig_sd, groups)[:, X.shape[1]:]], axis=1)
    return file_stats(Z, max(1, int(round(STEP_S * rate_hz))))


def fold_groups(terms: np.ndarray, d: int, groups: list[list[int]] | None) -> np.ndarray:
    """(d + g,) per-column terms -> (d,) per-signal terms: a magnitude's term is shared
    equally by its components (so per-signal shares still sum to the file score)."""
    out = terms[:d].copy()
    for k, g in enumerate(groups or []):
        out[g] += terms[d + k] / len(g)
    return out


def stat_terms(st: np.ndarray, mu: np.ndarray, sd: np.ndarray, unscored: list[int]) -> np.ndarray:
    """(d, 4) file statistics -> (d,) mean z**2 per signal (NaN statistics and context
    signals count 0)."""
    z = (st - mu) / sd
    out = np.nan_to_num(np.minimum(z * z, 1e4), nan=0.0).mean(axis=1)
    out[unscored] = 0.0
    return out


def loo_stats(all_st: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out mean/sd of (n_files, d, 4) statistics -> two (n_files, d, 4) arrays."""
    n = all_st.shape[0]
    mus, sds = np.empty_like(all_st), np.empty_like(all_st)
    for i in range(n):
        mus[i], sds[i] = mean_sd(np.delete(all_st, i, axis=0))
    return mus, sds


def mean_sd(st: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware mean and floored sd over recordings of (n, d, 4) statistics."""
    from ridescan_ros.model.detector import nan_stats

    return nan_stats(st, axis=0)
