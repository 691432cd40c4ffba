"""Resampling named signals onto one grid, and cutting that grid into windows.

Offline scoring and the live node both call these two functions, so a recording scored
by the CLI and the same data played on topics give the same windows: the grid starts at
the first sample of the recording (``t0``) and steps by ``1/rate_hz``; window ``k`` covers
grid rows ``[k*stride, k*stride + window)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ridescan_ros.core.profiles import SignalSet

MAX_GRID_BYTES = 2 << 30  # refuse absurd spans (a 1970 stamp) before allocating
MAX_DATA_GAP_S = 600.0  # a longer silence of every signal: two recordings in one, or a clock jump


@dataclass
class SignalFrame:
    """Signals on a common grid.

    Attributes:
        t0: time of grid row 0 (seconds on the recording's time base).
        rate_hz: grid rate.
        X: (n_rows, n_signals) float64; NaN where a signal has no data (missing or masked).
        names: signal names, column order of ``X``.
    """

    t0: float
    rate_hz: float
    X: np.ndarray
    names: list[str]

    @property
    def t(self) -> np.ndarray:
        """(n_rows,) grid times."""
        return self.t0 + np.arange(self.X.shape[0]) / self.rate_hz


def _interp_finite(grid: np.ndarray, t: np.ndarray, v: np.ndarray, max_gap: float) -> np.ndarray:
    """Linear interpolation over finite samples; NaN outside their span or across gaps."""
    ok = np.isfinite(v) & np.isfinite(t)
    out = np.full(grid.shape, np.nan)
    if ok.sum() < 2:
        return out
    tt, vv = t[ok], v[ok]
    inside = (grid >= tt[0]) & (grid <= tt[-1])
    out[inside] = np.interp(grid[inside], tt, vv)
    if max_gap > 0 and tt.size > 1:
        idx = np.searchsorted(tt, grid[inside], side="right")
        idx = np.clip(idx, 1, tt.size - 1)
        gap = tt[idx] - tt[idx - 1]
        vals = out[inside]
        vals[gap > max_gap] = np.nan
        out[inside] = vals
    return out


def resample(
    signals: SignalSet,
    names: list[str],
    rate_hz: float,
    t0: float | None = None,
    t_end: float | None = None,
    max_gap_s: float = 0.5,
) -> SignalFrame:
    """Put ``names`` onto a grid at ``rate_hz`` from ``t0`` (default: first sample).

    Signals absent from ``signals`` become NaN columns, so every frame of one model has
    the same layout (BR-17). Samples must already be sorted by time (readers do this).
    """
    spans = [(t[0], t[-1]) for t, _ in signals.series.values() if len(t)]
    if not spans:
        return SignalFrame(t0=0.0, rate_hz=rate_hz, X=np.zeros((0, len(names))), names=list(names))
    start = min(s for s, _ in spans) if t0 is None else t0
    end = max(e for _, e in spans) if t_end is None else t_end
    n = int(np.floor((end - start) * rate_hz + 1e-9)) + 1 if end >= start else 0
    if n * max(len(names), 1) * 8 > MAX_GRID_BYTES:
        raise ValueError(
            f"time span {end - start:.3g} s at {rate_hz} Hz is {n} rows x {len(names)} signals; "
            "refusing (broken stamps?)"
        )
    grid = start + np.arange(n) / rate_hz
    X = np.full((n, len(names)), np.nan)
    for j, name in enumerate(names):
        s = signals.series.get(name)
        if s is not None:
            X[:, j] = _interp_finite(grid, s[0], s[1], max_gap_s)
    return SignalFrame(t0=float(start), rate_hz=rate_hz, X=X, names=list(names))


def grid_problem(signals: SignalSet, n_signals: int, rate_hz: float) -> str | None:
    """Why this recording cannot go on a grid at ``rate_hz`` (None when it can).

    The grid is sized by the time span, so a span the samples do not fill (every signal
    silent for ``MAX_DATA_GAP_S``, or more than ``MAX_GRID_BYTES``) is refused before any
    allocation instead of scoring an empty grid.
    """
    times = list({id(t): t for t, _ in signals.series.values() if len(t)}.values())  # a topic's signals share t
    if not times:
        return None
    start, end = min(float(t[0]) for t in times), max(float(t[-1]) for t in times)
    rows = int((end - start) * rate_hz) + 1
    if rows * max(n_signals, 1) * 8 > MAX_GRID_BYTES:
        return (f"time span {end - start:.1f} s at {rate_hz:g} Hz would be {rows} rows x {n_signals} "
                f"signals (over {MAX_GRID_BYTES >> 30} GB); broken stamps?")
    gap = _longest_silence(times)
    if gap is not None and gap[1] - gap[0] > MAX_DATA_GAP_S:
        return (f"no signal has data for {gap[1] - gap[0]:.1f} s (t={gap[0]:.3f} to {gap[1]:.3f} s, "
                f"longer than {MAX_DATA_GAP_S:g} s): a clock jump, or two recordings in one file; "
                "split it")
    return None


def _longest_silence(times: list[np.ndarray]) -> tuple[float, float] | None:
    """(from, to) of the longest stretch over ``MAX_DATA_GAP_S`` (None if none) in which no
    array has a sample. Each sorted array is cut
    into runs at its own gaps longer than ``MAX_DATA_GAP_S``; only those few runs are merged,
    so an hour at 500 Hz is never concatenated or sorted as a whole."""
    runs = []
    for t in times:
        cut = np.flatnonzero(np.diff(t) > MAX_DATA_GAP_S)
        starts = np.concatenate([[0], cut + 1])
        ends = np.concatenate([cut, [t.size - 1]])
        runs += [(float(t[a]), float(t[b])) for a, b in zip(starts, ends)]
    runs.sort()
    best, end = None, runs[0][1]
    for a, b in runs[1:]:
        if a > end and (best is None or a - end > best[1] - best[0]):
            best = (end, a)
        end = max(end, b)
    return best


def window_starts(n_rows: int, window: int, stride: int) -> np.ndarray:
    """Row index of each complete window's first row: 0, stride, 2*stride, ..."""
    if n_rows < window:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_rows - window + 1, stride, dtype=np.int64)


def windows(X: np.ndarray, window: int, stride: int) -> np.ndarray:
    """(n_windows, window, n_signals) strided view of ``X`` (no copy)."""
    starts = window_starts(X.shape[0], window, stride)
    if starts.size == 0:
        return np.zeros((0, window, X.shape[1]), dtype=X.dtype)
    view = np.lib.stride_tricks.sliding_window_view(X, window, axis=0)  # (n-w+1, d, w)
    return view[starts].transpose(0, 2, 1)
