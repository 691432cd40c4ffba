"""Model inputs computed from one window's rows only (numpy, no torch).

Everything a window's score depends on is computed from rows inside that window, so the
live node (sliding buffer) and the offline scorer give window ``k`` the same numbers.
Physics residual inputs: joint position, sin/cos of it, velocity, a smooth velocity sign
(Coulomb friction), acceleration by finite difference, and the body's roll/pitch (gravity
direction of a floating base). Targets: joint effort/current and the tool wrench.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

VEL_SIGN_SCALE = 0.05  # rad/s: below this the friction sign is blended, not switched
WINDOW_STATS = ("mean", "std", "min", "max")
FILE_STATS = ("log_std", "log_range", "log_step", "drift")
LOG_FLOOR = 1e-3  # standardised units: below sensor noise of any signal
STEP_S = 0.05  # peak-step horizon: an impact or release, not a slow motion


@dataclass
class Layout:
    """Which signal columns feed the residual model.

    Attributes:
        joints: (position column, velocity column) per joint that has both.
        attitude: roll/pitch columns (body gravity direction), possibly empty.
        targets: columns the model predicts (effort/current, wrench).
    """

    joints: list[tuple[int, int]] = field(default_factory=list)
    attitude: list[int] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)

    @property
    def n_inputs(self) -> int:
        """Input width of the residual network."""
        return 6 * len(self.joints) + 2 * len(self.attitude)

    @property
    def active(self) -> bool:
        """True when there are kinematics to predict targets from."""
        return bool(self.joints) and bool(self.targets)

    def to_dict(self) -> dict:
        """JSON-able form for the manifest."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        """Inverse of ``to_dict``."""
        return cls(joints=[tuple(j) for j in d["joints"]], attitude=list(d["attitude"]),
                   targets=list(d["targets"]))


def make_layout(signals: list[str]) -> Layout:
    """Derive the residual layout from signal names (joint fields, wrench, attitude)."""
    idx = {s: i for i, s in enumerate(signals)}
    joints = []
    for s in signals:
        if s.endswith(".position"):
            base = s[: -len(".position")]
            if f"{base}.velocity" in idx:
                joints.append((idx[s], idx[f"{base}.velocity"]))
    attitude = []
    for src in ("odom.pose_orientation_", "imu.orientation_"):
        cols = [idx.get(f"{src}{a}") for a in ("roll", "pitch")]
        if all(c is not None for c in cols):
            attitude = [int(c) for c in cols]
            break
    targets = [i for i, s in enumerate(signals)
               if s.endswith((".effort", ".current")) or s.startswith("wrench.")]
    if not joints:
        targets = []
    return Layout(joints=joints, attitude=attitude, targets=targets)


def residual_inputs(X: np.ndarray, layout: Layout, dt: float) -> np.ndarray:
    """(rows, d) imputed physical values -> (rows, n_inputs); first and last row NaN.

    Acceleration is the central difference ``(v[i+1] - v[i-1]) / 2dt``, so row ``i``'s
    inputs depend on rows ``i-1..i+1`` only: a window's interior rows get the same inputs
    whether the frame is a whole recording or just that window (live).
    """
    rows = X.shape[0]
    parts = []
    if layout.joints:
        p = X[:, [j[0] for j in layout.joints]]
        v = X[:, [j[1] for j in layout.joints]]
        a = np.full_like(v, np.nan)
        if rows > 2:
            a[1:-1] = (v[2:] - v[:-2]) / (2.0 * dt)
        parts += [p, np.sin(p), np.cos(p), v, np.tanh(v / VEL_SIGN_SCALE), a]
    if layout.attitude:
        att = X[:, layout.attitude]
        parts += [np.sin(att), np.cos(att)]
    out = np.concatenate(parts, axis=1) if parts else np.zeros((rows, 0))
    if rows:
        out[0] = np.nan
        out[-1] = np.nan
    return out


def unscored(profile: str, signals: list[str]) -> list[int]:
    """Columns kept as context but not scored: commanded state (UR speed scaling) and
    values with an arbitrary per-run origin (Spot odometry x/y and heading)."""
    skip: tuple[str, ...] = ()
    if profile == "UR6":
        skip = ("speed_scaling.",)
    elif profile == "SPOT":
        skip = ("odom.pose_position_x", "odom.pose_position_y", "odom.pose_orientation_yaw",
                "imu.orientation_yaw")
    return [i for i, s in enumerate(signals) if s.startswith(skip)]


def window_stats(Zw: np.ndarray) -> np.ndarray:
    """(n, W, d) standardised values -> (n, d, 4) mean/std/min/max per signal."""
    return np.stack([Zw.mean(axis=1), Zw.std(axis=1), Zw.min(axis=1), Zw.max(axis=1)], axis=2)


MAGNITUDE_GROUPS = ("wrench.force_", "wrench.torque_")


def magnitude_groups(signals: list[str]) -> list[list[int]]:
    """Column triples (x, y, z) whose vector magnitude is a derived file-statistic column.

    A wrench's magnitude does not depend on how the tool is oriented while it grasps, so a
    force transient that is missing (an apple that did not detach) shows in ``|F|`` even
    when it is spread differently over the axes from pick to pick.
    """
    idx = {s: i for i, s in enumerate(signals)}
    out = []
    for pre in MAGNITUDE_GROUPS:
        cols = [idx.get(f"{pre}{a}") for a in "xyz"]
        if all(c is not None for c in cols):
            out.append([int(c) for c in cols])
    return out


def with_magnitudes(X: np.ndarray, sig_sd: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """(rows, d) physical values -> (rows, d + len(groups)): each group's magnitude appended,
    divided by the mean calibration sd of its components (a common unit, not centred)."""
    if not groups:
        return X
    mags = [np.sqrt((X[:, g] ** 2).sum(axis=1)) / float(np.mean(sig_sd[g])) for g in groups]
    return np.concatenate([X, np.stack(mags, axis=1)], axis=1)


def file_stats(Z: np.ndarray, step_rows: int) -> np.ndarray:
    """(rows, d) standardised values of a whole recording -> (d, 4) statistics.

    ``log std``, ``log range`` and ``log peak step`` (largest change over ``step_rows``
    rows) on a log scale, so "far smaller than usual" (a force transient that did not
    happen) weighs like "far larger"; ``drift`` is the mean of the last tenth minus the
    first tenth (a step that should have happened and did not).
    """
    d = Z.shape[1]
    ok = np.isfinite(Z)
    if Z.shape[0] <= step_rows:
        return np.full((d, len(FILE_STATS)), np.nan)
    k = max(1, Z.shape[0] // 10)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        drift = np.nanmean(Z[-k:], axis=0) - np.nanmean(Z[:k], axis=0)
        step = np.nanmax(np.abs(Z[step_rows:] - Z[:-step_rows]), axis=0)
        rng = np.nanmax(Z, axis=0) - np.nanmin(Z, axis=0)
        out = np.stack([np.log(np.nanstd(Z, axis=0) + LOG_FLOOR), np.log(rng + LOG_FLOOR),
                        np.log(step + LOG_FLOOR), drift], axis=1)
    out[~ok.any(axis=0)] = np.nan
    return out
