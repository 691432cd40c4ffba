"""Live scoring logic without ROS: sample buffers, window scheduling, safety stop.

The node feeds every received message here as ``(role, msgtype, t, columns)`` (columns
from ``core.extract.extract_message``) and asks which windows are ready. A window is cut
with the same functions offline scoring uses (``select_signals`` + ``resample``) on a grid
anchored at the earliest received sample, window ``k`` = grid rows
``[k*stride, k*stride + window)``, so a recording played on topics yields the windows the
CLI scores offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ridescan_ros.core.errors import WrongRobotError
from ridescan_ros.core.frame import SignalFrame, resample
from ridescan_ros.core.profiles import Profile, select_signals
from ridescan_ros.core.telemetry import Recording, Stream

ABSURD_MAGNITUDE = 1e12
PLAUSIBLE_S = 30 * 86400.0
_TINY = float(np.finfo(np.float64).tiny)


@dataclass
class _RoleBuffer:
    """Growing per-role sample store with a fixed column layout (learned from message 1)."""

    topic: str
    msgtype: str
    keys: list[str]
    t: np.ndarray = field(default_factory=lambda: np.zeros(1024))
    v: np.ndarray | None = None
    n: int = 0
    last_wall: float = -math.inf
    use_stamp: bool = True

    def append(self, t: float, cols: dict[str, float]) -> None:
        if self.v is None:
            self.v = np.full((self.t.size, len(self.keys)), np.nan)
        if self.n == self.t.size:
            self.t = np.concatenate([self.t, np.zeros(self.t.size)])
            self.v = np.concatenate([self.v, np.full_like(self.v, np.nan)])
        self.t[self.n] = t
        row = self.v[self.n]
        for j, k in enumerate(self.keys):
            x = cols.get(k)
            # as offline (readers.timebase): inf, absurd magnitudes, denormals -> missing
            ok = x is not None and abs(x) <= ABSURD_MAGNITUDE and not (0 < abs(x) < _TINY)
            row[j] = x if ok else np.nan
        self.n += 1

    @property
    def last_t(self) -> float:
        return float(self.t[self.n - 1]) if self.n else -math.inf

    def trim_before(self, t_keep: float) -> None:
        """Drop samples older than ``t_keep`` but keep one before it (interpolation)."""
        i = int(np.searchsorted(self.t[: self.n], t_keep)) - 1
        if i <= 0:
            return
        m = self.n - i
        self.t[:m] = self.t[i : self.n]
        assert self.v is not None
        self.v[:m] = self.v[i : self.n]
        self.n = m

    def stream(self, t_from: float) -> Stream:
        i = max(int(np.searchsorted(self.t[: self.n], t_from)) - 1, 0)
        assert self.v is not None
        cols = {k: self.v[i : self.n, j].copy() for j, k in enumerate(self.keys)}
        return Stream(self.topic, self.msgtype, self.t[i : self.n].copy(), cols)


@dataclass
class ReadyWindow:
    """A window cut from live data: index ``k`` on the current grid and its frame."""

    k: int
    frame: SignalFrame
    stale_roles: list[str]


class LiveWindows:
    """Buffers live samples per role and hands out complete windows in order.

    Args:
        profile: robot profile (its sources name the roles).
        signals: model signal order (columns of every frame).
        rate_hz, window, stride: the model's grid rate, window and stride in rows.
        stale_after_s: wall seconds without a message before a role stops being waited for.
        jump_s: a stamp this far before/after the newest one restarts the grid (time jump).
        max_backlog: at most this many pending windows are scored; older ones are skipped.
        max_gap_s: interpolation gap limit, as offline (the model's ``max_gap_s``).
    """

    def __init__(
        self,
        profile: Profile,
        signals: list[str],
        rate_hz: float,
        window: int,
        stride: int,
        stale_after_s: float = 1.0,
        jump_s: float = 2.0,
        max_backlog: int = 4,
        max_gap_s: float = 0.5,
    ) -> None:
        self.profile = profile
        self.signals = list(signals)
        self.rate_hz = float(rate_hz)
        self.window = int(window)
        self.stride = int(stride)
        self.stale_after_s = stale_after_s
        self.jump_s = jump_s
        self.max_backlog = max_backlog
        self.max_gap_s = max_gap_s
        self.buffers: dict[str, _RoleBuffer] = {}
        self.t0: float | None = None
        self.next_k = 0
        self.resets = 0
        self.dropped = 0
        self.skipped = 0
        self.rejected: dict[str, str] = {}
        self._accepted_keys: dict[str, tuple[str, ...]] = {}

    def reset(self) -> None:
        """Forget all samples; the next sample anchors a new grid."""
        self.buffers.clear()
        self.t0 = None
        self.next_k = 0
        self.resets += 1

    def _accepts(self, role: str, topic: str, msgtype: str, cols: dict[str, float]) -> bool:
        """Check a new column layout once against the profile (joint count/names)."""
        keys = tuple(sorted(k for k in cols if k != "header.stamp"))
        if self._accepted_keys.get(role) == keys:
            return True
        one = {k: np.array([cols[k]]) for k in keys}
        rec = Recording(path=topic, streams={topic: Stream(topic, msgtype, np.zeros(1), one)})
        try:
            ss = select_signals(rec, self.profile)
        except WrongRobotError as err:
            self.rejected[role] = err.reason
            return False
        if not ss.series:
            self.rejected[role] = f"{topic}: no signal of the {self.profile.name} profile"
            return False
        self.rejected.pop(role, None)
        self._accepted_keys[role] = keys
        buf = self.buffers.get(role)
        if buf is not None and buf.keys != list(keys):
            del self.buffers[role]  # layout changed: start this role afresh
        return True

    def add(
        self, role: str, topic: str, msgtype: str, t_rx: float, cols: dict[str, float], wall: float
    ) -> bool:
        """Buffer one sample; False when it was refused (bad layout, out of order, NaN time).

        Time base as offline: ``header.stamp`` when the role's first message has a non-zero
        stamp within 30 days of the receive time ``t_rx``, else ``t_rx`` for the role.
        """
        stamp = cols.get("header.stamp", 0.0)
        buf = self.buffers.get(role)
        use_stamp = buf.use_stamp if buf is not None else (
            stamp != 0.0 and abs(stamp - t_rx) <= PLAUSIBLE_S)
        t = stamp if use_stamp else t_rx
        if not (math.isfinite(t) and t > 0) or not self._accepts(role, topic, msgtype, cols):
            self.dropped += 1
            return False
        newest = max((b.last_t for b in self.buffers.values()), default=-math.inf)
        if self.buffers and (t > newest + self.jump_s or t < newest - self.jump_s):
            self.reset()
        buf = self.buffers.get(role)
        if buf is None:
            keys = sorted(k for k in cols if k != "header.stamp")
            buf = self.buffers[role] = _RoleBuffer(topic, msgtype, keys, use_stamp=use_stamp)
        if t <= buf.last_t:
            self.dropped += 1
            return False
        buf.append(t, cols)
        buf.last_wall = wall
        return True

    def _anchor(self) -> bool:
        """Fix the grid origin once a window's span of data is in: the earliest first sample
        of all roles, as offline (``resample`` starts at the first sample of any stream)."""
        if self.t0 is None:
            firsts = [float(b.t[0]) for b in self.buffers.values() if b.n]
            lasts = [b.last_t for b in self.buffers.values() if b.n]
            if not firsts or max(lasts) - min(firsts) < self.window / self.rate_hz:
                return False
            self.t0 = min(firsts)
        return True

    def window_bounds(self, k: int) -> tuple[float, float]:
        """Grid times of window ``k``'s first and last row."""
        assert self.t0 is not None
        r0 = k * self.stride
        return self.t0 + r0 / self.rate_hz, self.t0 + (r0 + self.window - 1) / self.rate_hz

    def stale_roles(self, wall: float) -> list[str]:
        """Roles whose last message is older than ``stale_after_s`` wall seconds."""
        return [r for r, b in self.buffers.items() if wall - b.last_wall > self.stale_after_s]

    def ready(self, wall: float) -> list[ReadyWindow]:
        """Windows whose last row every live role has passed, oldest first."""
        if not self._anchor():
            return []
        # cheap exit for most messages: no role has reached the next window's last row yet
        assert self.t0 is not None
        need = self.t0 + (self.next_k * self.stride + self.window - 1 - 1e-6) / self.rate_hz
        if max(b.last_t for b in self.buffers.values()) < need:
            return []
        stale = set(self.stale_roles(wall))
        live = [b for r, b in self.buffers.items() if r not in stale]
        if not live:
            return []
        newest = max(b.last_t for b in live)
        # a role whose data lags far behind the others (other clock) is not waited for
        live = [b for b in live if b.last_t >= newest - self.stale_after_s]
        reach = min(b.last_t for b in live)
        last_k = math.floor(((reach - self.t0) * self.rate_hz - self.window + 1 + 1e-6) / self.stride)
        if last_k < self.next_k:
            return []
        if last_k - self.next_k + 1 > self.max_backlog:
            self.skipped += last_k - self.max_backlog + 1 - self.next_k
            self.next_k = last_k - self.max_backlog + 1
        out = [ReadyWindow(k, self.cut(k), sorted(stale)) for k in range(self.next_k, last_k + 1)]
        self.next_k = last_k + 1
        t_keep = self.window_bounds(self.next_k)[0] - 1.0
        for b in self.buffers.values():
            b.trim_before(t_keep)
        return out

    def cut(self, k: int) -> SignalFrame:
        """Resample window ``k`` from the buffers (exactly ``window`` rows)."""
        ws, we = self.window_bounds(k)
        streams = {b.topic: b.stream(ws) for b in self.buffers.values() if b.n}
        ss = select_signals(Recording(path="live", streams=streams), self.profile)
        frame = resample(ss, self.signals, self.rate_hz, t0=ws, t_end=we + 0.5 / self.rate_hz,
                         max_gap_s=self.max_gap_s)
        frame.X = frame.X[: self.window]
        return frame


class SafetyStop:
    """Latching stop signal: on after ``min_duration_s`` at/above threshold, off below
    ``threshold - hysteresis``."""

    def __init__(self, threshold: float, hysteresis: float, min_duration_s: float) -> None:
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.min_duration_s = min_duration_s
        self.active = False
        self._above_since: float | None = None

    def reset(self) -> None:
        """Back to inactive (new model, time jump)."""
        self.active = False
        self._above_since = None

    def update(self, score: float, t: float) -> bool:
        """Feed one window score at time ``t`` (window end); returns the stop state."""
        if not math.isfinite(score):
            return self.active
        if score >= self.threshold:
            if self._above_since is None or t < self._above_since:
                self._above_since = t
            if t - self._above_since >= self.min_duration_s - 1e-9:
                self.active = True
        else:
            self._above_since = None
            if score < self.threshold - self.hysteresis:
                self.active = False
        return self.active


def risk_level(score: float, threshold: float) -> str:
    """``low`` below half the threshold, ``medium`` below it, ``critical`` at/above it."""
    if not math.isfinite(score):
        return "unknown"
    if score >= threshold:
        return "critical"
    return "medium" if score >= threshold / 2 else "low"


def assessment(
    score: float,
    contributions: np.ndarray,
    signals: list[str],
    t_start: float,
    t_end: float,
    model_version: str,
    threshold: float,
    top_k: int = 5,
) -> dict:
    """JSON-ready assessment of one window.

    Args:
        contributions: (n_signals,) per-signal contribution to the window's score.
    """
    c = np.nan_to_num(np.asarray(contributions, dtype=float), nan=0.0)
    total = float(np.sum(np.abs(c))) or 1.0
    order = np.argsort(-np.abs(c))[:top_k]
    top = [
        {"signal": signals[i], "contribution": float(c[i]), "share": float(abs(c[i]) / total)}
        for i in order
    ]
    return {
        "score": float(score),
        "level": risk_level(score, threshold),
        "threshold": float(threshold),
        "top_signals": top,
        "window_start": float(t_start),
        "window_end": float(t_end),
        "model_version": model_version,
    }
