"""Detection-quality metrics in plain numpy (no scikit-learn needed at run time).

File-level AUROC/AUPRC are what docs/evaluation.md asks for (fault = positive, never
point-adjusted); the window-level helpers give false alarms per robot-hour at the shipped
threshold and detection delay from a known fault onset.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels ({y.size}) and scores ({s.size}) differ in length")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    return y, s


def _average_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their mean rank (as the Mann-Whitney U statistic needs)."""
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # boundaries of runs of equal values
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = 0.5 * (a + 1 + b)
    return ranks


def auroc(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve; ties count one half. NaN when one class is absent."""
    y, s = _check(y_true, scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def auprc(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Average precision (step-wise area under precision-recall, no interpolation).

    Tied scores are one threshold, as in scikit-learn's ``average_precision_score``.
    Its chance level is the positive rate, so report that beside it.
    """
    y, s = _check(y_true, scores)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    last_of_tie = np.r_[ss[1:] != ss[:-1], True]
    tp = np.cumsum(ys)[last_of_tie]
    fp = np.cumsum(~ys)[last_of_tie]
    precision = tp / (tp + fp)
    recall = tp / n_pos
    d_recall = np.diff(np.r_[0.0, recall])
    return float(np.sum(d_recall * precision))


def false_alarms_per_hour(
    risks: np.ndarray, t_start: np.ndarray, t_end: np.ndarray, threshold: float = 50.0
) -> tuple[int, float]:
    """Alarm events (runs of windows at/above threshold) on normal data, and events per hour.

    Consecutive alarming windows are one event, so overlapping windows are not over-counted.
    """
    r = np.asarray(risks, dtype=np.float64)
    if r.size == 0:
        return 0, 0.0
    hot = r >= threshold
    events = int(np.sum(hot & ~np.r_[False, hot[:-1]]))
    hours = max(float(np.max(t_end) - np.min(t_start)), 1e-9) / 3600.0
    return events, events / hours


def detection_delay(
    risks: np.ndarray, t_start: np.ndarray, t_end: np.ndarray, onset: float, threshold: float = 50.0
) -> float | None:
    """Seconds from fault onset to the end of the first alarming window that reaches past it.

    ``None`` when no window after the onset alarms (the event was missed). ``onset`` is on
    the same time base as the window times.
    """
    r = np.asarray(risks, dtype=np.float64)
    te = np.asarray(t_end, dtype=np.float64)
    hit = np.flatnonzero((r >= threshold) & (te > onset))
    if hit.size == 0:
        return None
    return float(te[hit[0]] - onset)


def topk_hit(signals: Sequence[str], target_prefixes: Sequence[str], k: int) -> bool:
    """True when one of the first ``k`` signals names the target (``elbow_joint.effort``
    matches ``elbow_joint``; a Spot foot ``front_right`` matches all its leg's joints)."""
    for name in list(signals)[:k]:
        base = name.split(".", 1)[0]
        if any(base == p or base.startswith(p + "_") for p in target_prefixes):
            return True
    return False
