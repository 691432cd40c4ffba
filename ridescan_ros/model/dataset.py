"""Recordings -> signal frames on the model's grid (shared by calibration and scoring)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.frame import SignalFrame, grid_problem, resample
from ridescan_ros.core.profiles import Profile, SignalSet, select_signals
from ridescan_ros.core.telemetry import Recording

MAX_GAP_S = 0.5  # core.frame.resample default, which the live node uses too
WINDOW_S = 1.0
MIN_WINDOW_ROWS = 16


def window_rows(rate_hz: float) -> tuple[int, int]:
    """(window, stride) in grid rows: about 1 s (at least 16 rows), half overlapping."""
    w = max(MIN_WINDOW_ROWS, int(round(WINDOW_S * rate_hz)))
    return w, max(1, w // 2)


@dataclass
class Prepared:
    """One recording ready for the model."""

    path: str
    signals: SignalSet
    recording: Recording


def expand(paths: list[str]) -> list[str]:
    """Files and folders -> recordings (a rosbag2 folder counts as one)."""
    from ridescan_ros.core.readers import expand_inputs

    return list(expand_inputs(paths))


def read(path: str) -> Recording:
    """One recording via the shared reader (raises ``RecordingError``)."""
    from ridescan_ros.core.readers import load_recording

    return load_recording(path)


def read_many(paths: list[str]) -> list[Recording | RecordingError]:
    """Read several recordings in parallel (``core.parallel.load_many``), in order."""
    from ridescan_ros.core.parallel import load_many

    return list(load_many(paths))


def prepare(rec: Recording, profile: Profile) -> Prepared:
    """Select the profile's signals and check they fit on the model's grid.

    Raises:
        WrongRobotError: another robot's recording; RecordingError: a span the samples do
        not fill (``core.frame.grid_problem``).
    """
    signals = select_signals(rec, profile)
    why = grid_problem(signals, len(signals.series), profile.rate_hz)
    if why:
        if any("read as the splits of one bag" in w for w in rec.warnings):
            why += ("; this folder was read as one split bag because its files are named "
                    "<bag>_<index>: if they are separate runs, pass the files one by one")
        raise RecordingError(rec.path, why)
    return Prepared(path=rec.path, signals=signals, recording=rec)


def span_s(signals: SignalSet) -> float:
    """Seconds from the first to the last sample of any signal (0 when there are none)."""
    ts = [t for t, _ in signals.series.values() if len(t)]
    return float(max(t[-1] for t in ts) - min(t[0] for t in ts)) if ts else 0.0


def candidate_signals(prepared: list[Prepared], profile: Profile) -> list[str]:
    """Every signal any calibration recording has, the profile's expected ones first."""
    found = {name for p in prepared for name in p.signals.series}
    ordered = [s for s in profile.expected_signals() if s in found]
    return ordered + sorted(found - set(ordered))


def usable_columns(frames: list[np.ndarray]) -> np.ndarray:
    """Column mask: signals with data on at least half the grid rows of at least half the
    calibration recordings (a 1 Hz battery topic is NaN on a 100 Hz grid and is dropped)."""
    good = np.stack([np.isfinite(X).mean(axis=0) >= 0.5 if X.shape[0] else np.zeros(X.shape[1], bool)
                     for X in frames])
    return 2 * good.sum(axis=0) >= len(frames)


def to_frame(signals: SignalSet, names: list[str], rate_hz: float) -> SignalFrame:
    """The model's grid for one recording: anchored at its first sample."""
    return resample(signals, names, rate_hz, max_gap_s=MAX_GAP_S)
