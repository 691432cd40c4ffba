"""Score recordings and live frames with a calibrated model directory."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ridescan_ros.core.errors import RecordingError, WrongRobotError
from ridescan_ros.core.frame import SignalFrame, window_starts
from ridescan_ros.core.manifest import finite
from ridescan_ros.core.profiles import Profile, SignalSet, get_profile
from ridescan_ros.core.risk import CRITICAL_RISK, RiskMap
from ridescan_ros.core.telemetry import Recording
from ridescan_ros.model import aggregate, artifacts, dataset
from ridescan_ros.model.features import magnitude_groups

TOP_SIGNALS = 5
SUSTAIN_S = 5.0  # a file whose windows stayed critical this long scores at least that level


@dataclass
class WindowScores:
    """Per-window results of one frame (times on the frame's time base, seconds).

    Attributes:
        risk: (n,) 0-100. raw: (n,) raw score. contributions: (n, n_signals), rows sum to raw.
        t_start, t_end: (n,) time of each window's first row and end (first + window/rate).
    """

    risk: np.ndarray
    raw: np.ndarray
    contributions: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray


@dataclass
class FileScore:
    """One recording's result; ``window_scores`` times are seconds from its first sample."""

    file: str
    risk_score: float
    top_signals: list[dict]
    model_version: str
    windows: int
    window_scores: list[dict] = field(default_factory=list)
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    missing_signals: list[str] = field(default_factory=list)
    raw_score: float = 0.0
    risk_basis: str = "file"  # or "windows t=a-b s": the sustained window level decided it

    def to_dict(self) -> dict:
        """JSON-safe dict (NaN/inf become null)."""
        d = asdict(self)
        d["risk_score"] = finite(self.risk_score)
        d["raw_score"] = finite(self.raw_score)
        d["duration_s"] = finite(self.duration_s)
        return d

    def to_json(self) -> str:
        """One JSON object; never emits NaN or Infinity."""
        return json.dumps(self.to_dict(), allow_nan=False)


class Scorer:
    """A loaded model: ``score_frame`` for live windows, ``score_recording`` for files."""

    def __init__(self, manifest, detector) -> None:
        self.manifest = manifest
        self.detector = detector
        self.model_version: str = manifest.model_version
        self.profile: Profile = get_profile(manifest.profile).with_topics(manifest.topics)
        self.signals: list[str] = list(manifest.signals)
        self.rate_hz: float = float(manifest.rate_hz)
        self.window: int = int(manifest.window)
        self.stride: int = int(manifest.stride)
        self.max_gap_s: float = float(manifest.max_gap_s)
        self.window_map = RiskMap.from_dict(manifest.window_risk)
        self.file_map = RiskMap.from_dict(manifest.file_risk)
        fs = manifest.file_stats
        self._sig_mu, self._sig_sd = np.asarray(fs["sig_mu"]), np.asarray(fs["sig_sd"])
        self._st_mu, self._st_sd = np.asarray(fs["mu"], float), np.asarray(fs["sd"], float)
        self._w = manifest.weights
        groups = magnitude_groups(self.signals)
        # models saved before magnitude columns existed have one statistics row per signal
        self._groups = groups if self._st_mu.shape[0] == len(self.signals) + len(groups) else []

    @classmethod
    def load(cls, model_dir: str | os.PathLike, device: str = "cpu") -> "Scorer":
        """Load a model directory (raises ``ModelError``).

        Scoring runs on the CPU whatever ``device`` says (``auto``/``cpu``/``cuda`` are
        accepted, as the API's ``process`` takes them): the fold networks are folded into two
        small float32 matrix products per batch of rows (``detector._mean_residual``).
        """
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"unknown device {device!r}; expected auto, cpu or cuda")
        man, det = artifacts.load(model_dir, "cpu")
        return cls(man, det)

    def frame(self, signals: SignalSet, t0: float | None = None, t_end: float | None = None) -> SignalFrame:
        """Resample a signal set onto this model's grid (what the live node should call)."""
        from ridescan_ros.core.frame import resample

        return resample(signals, self.signals, self.rate_hz, t0=t0, t_end=t_end, max_gap_s=self.max_gap_s)

    def _matrix(self, frame: SignalFrame) -> np.ndarray:
        if list(frame.names) == self.signals:
            return frame.X
        col = {n: i for i, n in enumerate(frame.names)}
        X = np.full((frame.X.shape[0], len(self.signals)), np.nan)
        for j, s in enumerate(self.signals):
            if s in col:
                X[:, j] = frame.X[:, col[s]]
        return X

    def score_frame(self, frame: SignalFrame) -> WindowScores:
        """Score every complete window of a frame (window k = rows [k*stride, k*stride+window)).

        A window with data in fewer than half its rows (a gap in the recording) has risk NaN:
        no data is not low risk."""
        X = self._matrix(frame)
        return self._window_scores(frame, self.detector.contributions(X), X)

    def _window_scores(self, frame: SignalFrame, contrib: np.ndarray, X: np.ndarray) -> WindowScores:
        raw = contrib.sum(axis=1)
        starts = window_starts(frame.X.shape[0], self.window, self.stride)
        t_start = frame.t0 + starts / frame.rate_hz
        risk = self.window_map.risk(raw)
        if starts.size:
            filled = np.concatenate([[0], np.cumsum(np.isfinite(X).any(axis=1))])
            empty = (filled[starts + self.window] - filled[starts]) * 2 < self.window
            risk = np.where(empty, np.nan, risk)
        return WindowScores(risk=risk, raw=raw, contributions=contrib,
                            t_start=t_start, t_end=t_start + self.window / frame.rate_hz)

    def score_recording(self, rec: Recording) -> FileScore:
        """Score one recording (raises ``WrongRobotError`` for another robot's recording)."""
        prepared = dataset.prepare(rec, self.profile)
        if dataset.span_s(prepared.signals) <= 0.0:  # one instant: no telemetry to judge
            raise RecordingError(rec.path, "every sample has the same time: no time span to score")
        frame = dataset.to_frame(prepared.signals, self.signals, self.rate_hz)
        X = self._matrix(frame)
        fc, rc = self.detector.parts(X)
        ws = self._window_scores(frame, fc + rc, X)
        warnings = list(rec.warnings) + list(prepared.signals.notes)
        missing = [s for j, s in enumerate(self.signals) if not np.isfinite(X[:, j]).any()]
        if len(missing) == len(self.signals):  # nothing to compare: "no data" is not "no risk"
            have = sorted(n for n, (_, v) in prepared.signals.series.items() if np.isfinite(v).any())
            raise WrongRobotError(rec.path, f"none of the model's {len(self.signals)} signals "
                                  f"({', '.join(self.signals[:4])}, ...) has data in this recording "
                                  f"({'it has ' + ', '.join(have[:4]) if have else 'no finite samples at all'})")
        if missing:
            warnings.append(f"{len(missing)} model signal(s) missing ({', '.join(missing[:6])}"
                            f"{', ...' if len(missing) > 6 else ''}): imputed with the calibration"
                            " mean, they contribute 0")
        flat = _flat_signals(X, self._sig_mu, self._sig_sd, self.signals)
        if flat:
            warnings.append(f"{len(flat)} signal(s) constant here but varying in calibration "
                            f"({', '.join(flat[:6])}{', ...' if len(flat) > 6 else ''}): a stopped "
                            "sensor, or a logger writing a fixed value?")
        if ws.raw.size == 0:
            warnings.append(f"shorter than one {self.window / self.rate_hz:.2f} s window: "
                            "only whole-recording statistics scored")
        st = aggregate.standardised_file_stats(X, self._sig_mu, self._sig_sd, self.rate_hz, self._groups)
        stat = aggregate.fold_groups(aggregate.stat_terms(st, self._st_mu, self._st_sd, self.detector.unscored),
                                     len(self.signals), self._groups)
        per_sig = self._w["w_stat"] * stat
        for part, key in ((fc, "w_feat_agg"), (rc, "w_res_agg")):
            top = aggregate.top_index(part.sum(axis=1), self._w["top_fraction"])
            if top.size:
                per_sig = per_sig + self._w.get(key, self._w.get("w_agg", 0.0)) * part[top].mean(axis=0)
        raw = float(per_sig.sum())
        rel = ws.t_start - frame.t0
        file_risk, basis = float(self.file_map.risk(raw)), "file"
        m = max(1, math.ceil(SUSTAIN_S * self.rate_hz / self.stride))
        level, i = sustained_level(np.nan_to_num(ws.risk, nan=0.0), m)
        if level >= CRITICAL_RISK and level > file_risk:  # windows critical for 45 s: not a "40" file
            file_risk, raw = level, self.file_map.raw_for(level)
            basis = f"windows t={rel[i]:.1f}-{rel[i + m - 1] + self.window / self.rate_hz:.1f} s"
            span = ws.contributions[i:i + m].mean(axis=0)
            if span.sum() > 0:
                per_sig = span / span.sum() * raw
        return FileScore(
            file=rec.path, risk_score=file_risk, raw_score=raw, risk_basis=basis,
            top_signals=_top_signals(self.signals, per_sig), model_version=self.model_version,
            windows=int(ws.raw.size), duration_s=rec.duration_s(), warnings=warnings,
            missing_signals=missing,
            window_scores=_window_rows(rel, ws, self.window / self.rate_hz, self.signals),
        )

    def score_path(self, path: str) -> FileScore:
        """Read and score one file (raises ``RecordingError`` naming it)."""
        return self.score_recording(dataset.read(path))


def _flat_signals(X: np.ndarray, mu: np.ndarray, sd: np.ndarray, names: list[str]) -> list[str]:
    """Signals with data that never change, whose calibration spread is well above its floor."""
    out = []
    for j, name in enumerate(names):
        col = X[:, j][np.isfinite(X[:, j])]
        if col.size > 1 and col.min() == col.max() and sd[j] > 10e-3 * (abs(mu[j]) + 1.0):
            out.append(name)
    return out


def sustained_level(risk: np.ndarray, m: int) -> tuple[float, int]:
    """The highest risk that ``m`` consecutive windows all reached, and the first of them
    (0.0, -1 when there are fewer than ``m`` windows)."""
    if m < 1 or risk.size < m:
        return 0.0, -1
    lows = np.lib.stride_tricks.sliding_window_view(risk, m).min(axis=1)
    i = int(np.argmax(lows))
    return float(lows[i]), i


def _window_rows(rel: np.ndarray, ws: WindowScores, length_s: float, names: list[str],
                 k: int = 3) -> list[dict]:
    """Per window: times from the first sample, risk, and its ``k`` top signals (shares)."""
    C = ws.contributions
    tot = C.sum(axis=1) if C.size else np.zeros(0)
    order = np.argsort(-C, axis=1, kind="stable")[:, :k] if C.size else np.zeros((0, k), dtype=int)
    return [{"t_start": round(float(a), 3), "t_end": round(float(a) + length_s, 3),
             "risk": round(float(r), 3) if math.isfinite(r) else None,  # None: no data in the window
             "top_signals": [{"signal": names[j], "contribution": round(float(C[i, j] / tot[i]), 4)
                              if tot[i] > 0 else 0.0} for j in order[i]] if math.isfinite(r) else []}
            for i, (a, r) in enumerate(zip(rel, ws.risk))]


def _top_signals(names: list[str], per_sig: np.ndarray, k: int = TOP_SIGNALS) -> list[dict]:
    """Signals with the largest share of the file score (shares of the total, 0-1)."""
    total = float(per_sig.sum())
    order = np.argsort(-per_sig, kind="stable")[:k]
    return [{"signal": names[i], "contribution": round(float(per_sig[i]) / total, 4) if total > 0 else 0.0}
            for i in order]
