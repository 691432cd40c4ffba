"""Calibrate a model on normal recordings: k-fold ensemble, held-out risk maps, artifacts.

The calibration recordings are split into folds. Each fold model trains on the other folds'
recordings; the recordings it did not see give the held-out ("out-of-fold") scores from
which term weights, thresholds and the 0-100 maps are set (``core.risk``). The shipped
detector averages all fold models, so every recording scored later is unseen by all of them.

Weights, all from held-out (out-of-fold) normal data only: per signal, so each signal's
window term averages the same (``_signal_weights``); window feat vs residual group by
inverse variance (``_precision_weights``: the window raw score that varies least on normal
windows, which sets how quiet the live score is); file-level parts (feat aggregate,
residual aggregate, whole-file statistics) each averaging 1 on held-out normal recordings.
"""

from __future__ import annotations

import os
import platform
from contextlib import nullcontext
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import torch

from ridescan_ros import __version__
from ridescan_ros.core import risk
from ridescan_ros.core.errors import CalibrationError, RecordingError
from ridescan_ros.core.frame import window_starts
from ridescan_ros.core.manifest import Manifest, sha256_file
from ridescan_ros.core.profiles import get_profile
from ridescan_ros.core.readers import zip_entry
from ridescan_ros.core.readers.archive import entry_digest
from ridescan_ros.model import aggregate, artifacts, dataset
from ridescan_ros.model.detector import (Detector, fit_fold_stats, nan_stats, plausible_bounds,
                                         residual_training_rows, set_residual_scale)
from ridescan_ros.model.features import magnitude_groups, make_layout, unscored
from ridescan_ros.model.network import cpu_threads, pick_device
from ridescan_ros.model.training import train_residual

N_FOLDS = 5
TRAIN_ROW_STEP = 3  # neighbouring rows at 100+ Hz are near copies; every 3rd trains as well
HIDDEN = 64

Progress = Callable[[dict], None]


@dataclass
class CalibrationResult:
    """What a calibration produced (the CLI prints it, the API stores it)."""

    model_dir: str
    model_version: str
    device: str
    files_used: int
    file_errors: dict[str, str]
    seconds: float
    signals: list[str] = field(default_factory=list)
    window_threshold: float = 0.0
    file_threshold: float = 0.0
    holdout_file_risk: dict[str, float] = field(default_factory=dict)
    final_loss: float | None = None
    durations: dict[str, float] = field(default_factory=dict)  # input path -> telemetry seconds
    notes: list[str] = field(default_factory=list)  # what calibration left out, per file


def _emit(progress: Progress | None, stage: str, **kw: object) -> None:
    if progress is not None:
        progress({"stage": stage, "files_done": 0, "files_total": 0, "epoch": 0,
                  "epochs": 0, "loss": None, **kw})


def _read(paths: list[str], profile, progress: Progress | None
          ) -> tuple[list[dataset.Prepared], dict[str, str], dict[str, str]]:
    """(usable recordings, path -> why skipped, path -> sha256 of the files on disk)."""
    files = dataset.expand(paths)
    _emit(progress, "reading", files_done=0, files_total=len(files))
    ok: list[dataset.Prepared] = []
    errors: dict[str, str] = {}
    seen: dict[str, str] = {}  # content hash -> first path: a copy is not another normal run
    hashes: dict[str, str] = {}
    unique = []
    for f in files:
        z = zip_entry(f)
        digest = hashes[f] = entry_digest(*z) if z else sha256_file(f) if os.path.exists(f) else f
        if digest in seen:
            errors[f] = f"same content as {seen[digest]}: counted once"
        else:
            seen[digest] = f
            unique.append(f)
    files = unique
    for i, (path, rec) in enumerate(zip(files, dataset.read_many(files))):
        try:
            if isinstance(rec, RecordingError):
                raise rec
            prep = dataset.prepare(rec, profile)
            span = dataset.span_s(prep.signals)
            win_s = dataset.window_rows(profile.rate_hz)[0] / profile.rate_hz
            if span < win_s:  # no window to learn from: it must not count toward the 15
                raise RecordingError(path, f"{span:.2f} s of data, shorter than one {win_s:g} s window")
            ok.append(prep)
        except RecordingError as err:
            errors[path] = err.reason
        _emit(progress, "reading", files_done=i + 1, files_total=len(files))
    return ok, errors, hashes


def calibrate(paths, robot_type, out_dir, *, epochs=100, batch_size=128, device="auto",
              seed=0, topics=None, progress=None, min_files=15) -> CalibrationResult:
    """Train, hold-out calibrate and save a model; see the module docstring.

    Raises:
        CalibrationError: fewer than ``min_files`` usable recordings (others' errors are
            in the message's ``file_errors`` context), or nothing to learn from.
    """
    t_start = time.perf_counter()
    profile = get_profile(robot_type)
    if topics:
        profile = profile.with_topics(dict(topics))
    dev = pick_device(device)
    prepared, errors, hashes = _read([str(p) for p in paths], profile, progress)
    if len(prepared) < min_files:
        raise CalibrationError(f"Expected {min_files} files, but found {len(prepared)}.",
                               file_errors=errors)
    rate = profile.rate_hz
    cands = dataset.candidate_signals(prepared, profile)
    frames = [dataset.to_frame(p.signals, cands, rate).X for p in prepared]
    keep = dataset.usable_columns(frames)
    if not keep.any():
        raise CalibrationError("no signal of the profile has data in the calibration files")
    signals = [s for s, k in zip(cands, keep) if k]
    frames = [X[:, keep] for X in frames]
    notes = _mask_garbage(frames, signals, [p.path for p in prepared])
    win, stride = dataset.window_rows(rate)
    layout = make_layout(signals)
    n = len(frames)
    k_folds = min(N_FOLDS, n)
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k_folds
    det = Detector(folds=[], layout=layout, dt=1.0 / rate, window=win, stride=stride,
                   unscored=unscored(profile.name, signals))
    oof_feat: list[np.ndarray] = [np.zeros((0, len(signals)))] * n
    oof_res: list[np.ndarray] = [np.zeros((0, len(signals)))] * n
    losses: list[float] = []
    t_train = time.perf_counter()
    for k in range(k_folds):
        train = [frames[i] for i in range(n) if fold_of[i] != k and frames[i].shape[0] >= win]
        if not train:
            raise CalibrationError("calibration recordings are shorter than one window")
        fm = fit_fold_stats(train, win, stride)
        if layout.active and epochs > 0:
            x, y = residual_training_rows(fm, train, layout, det.dt, TRAIN_ROW_STEP)

            def on_epoch(ep: int, loss: float, k: int = k) -> None:
                _emit(progress, "training", epoch=ep, epochs=epochs, loss=loss, fold=k + 1,
                      folds=k_folds, files_done=n, files_total=n)

            with cpu_threads(1) if dev.type == "cpu" else nullcontext():
                net = train_residual(x, y, rows_per_batch=max(1, batch_size * win // TRAIN_ROW_STEP),
                                     epochs=epochs, seed=seed * 1000 + k, device=dev,
                                     hidden=HIDDEN, on_epoch=on_epoch)
                losses.append(set_residual_scale(fm, net, x, y))
        det.folds.append(fm)
        for i in np.flatnonzero(fold_of == k):
            with cpu_threads(1):
                oof_feat[i], oof_res[i] = fm.terms(frames[i], window_starts(frames[i].shape[0], win, stride),
                                                   win, layout, det.dt, det.unscored)
    train_s = time.perf_counter() - t_train
    _emit(progress, "calibrating", files_done=n, files_total=n, epoch=epochs, epochs=epochs)
    wf = _signal_weights(np.concatenate(oof_feat))
    wr = _signal_weights(np.concatenate(oof_res)) if layout.active else np.zeros(len(signals))
    a_f, a_r = _precision_weights([np.concatenate(oof_feat) @ wf, np.concatenate(oof_res) @ wr])
    det.w_feat, det.w_res = a_f * wf, a_r * wr
    oof_fc = [f * det.w_feat for f in oof_feat]
    oof_rc = [r * det.w_res for r in oof_res]
    oof_raw = [f.sum(axis=1) + r.sum(axis=1) for f, r in zip(oof_fc, oof_rc)]
    window_map = risk.fit_quantile(np.concatenate(oof_raw), risk.WINDOW_ALPHA)
    all_rows = np.concatenate(frames)
    sig_mu, sig_sd = nan_stats(all_rows)
    groups = magnitude_groups(signals)
    st = np.stack([aggregate.standardised_file_stats(X, sig_mu, sig_sd, rate, groups) for X in frames])
    loo_mu, loo_sd = aggregate.loo_stats(st)
    stat_raw = np.array([aggregate.stat_terms(st[i], loo_mu[i], loo_sd[i], det.unscored).sum() for i in range(n)])
    feat_agg = np.array([aggregate.window_aggregate(f.sum(axis=1)) for f in oof_fc])
    res_agg = np.array([aggregate.window_aggregate(r.sum(axis=1)) for r in oof_rc])
    terms = [feat_agg, res_agg, stat_raw]
    units = [_unit_weight(t) for t in terms]
    w_fagg, w_ragg, w_stat = units
    file_raw = w_fagg * feat_agg + w_ragg * res_agg + w_stat * stat_raw
    file_map = risk.fit_lognormal(file_raw, risk.FILE_ALPHA)
    file_mu, file_sd = aggregate.mean_sd(st)
    _emit(progress, "saving", files_done=n, files_total=n, epoch=epochs, epochs=epochs)
    names = [p.path for p in prepared]
    man = Manifest(
        profile=profile.name, signals=signals, rate_hz=rate, window=win, stride=stride,
        max_gap_s=dataset.MAX_GAP_S, layout=layout.to_dict(), folds=[f.arrays() for f in det.folds],
        hidden=HIDDEN if layout.active and epochs > 0 else 0,
        weights={"w_feat": np.asarray(det.w_feat).tolist(), "w_res": np.asarray(det.w_res).tolist(),
                 "w_feat_agg": w_fagg, "w_res_agg": w_ragg, "w_stat": w_stat,
                 "top_fraction": aggregate.TOP_FRACTION},
        file_stats={"sig_mu": sig_mu, "sig_sd": sig_sd, "mu": file_mu, "sd": file_sd},
        window_risk=window_map.to_dict(), file_risk=file_map.to_dict(),
        holdout={"file_raw": dict(zip(names, file_raw.tolist())),
                 "file_risk": dict(zip(names, file_map.risk(file_raw).tolist())),
                 "window_raw_quantiles": {str(q): float(np.quantile(np.concatenate(oof_raw), q))
                                          for q in (0.5, 0.9, 0.99, 0.999)}},
        training={"seed": seed, "epochs": epochs, "batch_size": batch_size, "device": str(dev.type),
                  "folds": k_folds, "fold_of": fold_of.tolist(), "losses": losses,
                  "seconds": round(time.perf_counter() - t_start, 3),
                  "stage_seconds": {"train": round(train_s, 3)}},
        files=[{"path": p, "sha256": hashes.get(p) if os.path.exists(p) else sha256_file(_container(p)),
                "fold": int(f)} for p, f in zip(names, fold_of)],
        versions={"ridescan_ros": __version__, "torch": torch.__version__,
                  "numpy": np.__version__, "python": platform.python_version()},
        topics={s.role: s.topic for s in profile.sources},
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    out = artifacts.save(out_dir, man, det)
    return CalibrationResult(
        model_dir=str(out), model_version=man.model_version, device=str(dev.type),
        files_used=n, file_errors=errors, seconds=time.perf_counter() - t_start, signals=signals,
        window_threshold=window_map.threshold, file_threshold=file_map.threshold,
        holdout_file_risk=man.holdout["file_risk"], final_loss=losses[-1] if losses else None,
        durations=_durations([str(p) for p in paths], prepared), notes=notes)


def _mask_garbage(frames: list[np.ndarray], signals: list[str], names: list[str]) -> list[str]:
    """Set values outside ``detector.plausible_bounds`` of all calibration rows to NaN, in
    place, before anything is fitted: one glitch in one file must not set weights, scales or
    thresholds for every later recording (BR-19). Returns a note per file that had any."""
    lo, hi = (b[0] for b in plausible_bounds(np.concatenate(frames)))
    notes = []
    for X, name in zip(frames, names):
        with np.errstate(invalid="ignore"):
            bad = (X < lo) | (X > hi)
        if bad.any():
            X[bad] = np.nan
            cols = [signals[j] for j in np.flatnonzero(bad.any(axis=0))]
            notes.append(f"{name}: {int(bad.sum())} implausible value(s) left out of calibration "
                         f"({', '.join(cols[:4])}{', ...' if len(cols) > 4 else ''})")
    return notes


def _container(path: str) -> str:
    """The file on disk a recording came from (``a.zip!run.csv`` -> ``a.zip``)."""
    z = zip_entry(path)
    return z[0] if z else path


def _durations(roots: list[str], prepared: list[dataset.Prepared]) -> dict[str, float]:
    """Telemetry seconds per input path (a folder or archive sums the recordings in it)."""
    out: dict[str, float] = {}
    for root in roots:
        head = root.rstrip("/\\")
        mine = [p for p in prepared if _container(p.path) == root or p.path.startswith(head + "/")]
        if mine:
            out[root] = float(sum(p.recording.duration_s() for p in mine))
    return out


def _signal_weights(terms: np.ndarray) -> np.ndarray:
    """(n_windows, d) held-out terms -> (d,) weights under which every signal with a
    non-zero term averages ``1 / n_signals`` on held-out normal windows (their sum averages
    1): a signal whose held-out windows routinely sit far from the training windows (run-to-run
    drift, a routine that varies) is scaled down instead of drowning the others. The mean
    is floored at a tenth of the median signal's, so a signal that is near-constant in
    calibration does not get an unbounded weight."""
    m = np.nanmean(terms, axis=0) if terms.size else np.zeros(terms.shape[1])
    active = m > 1e-12
    if not active.any():
        return np.zeros(terms.shape[1])
    floor = 0.1 * float(np.median(m[active]))
    return np.where(active, 1.0 / (active.sum() * np.maximum(m, floor)), 0.0)


def _precision_weights(terms: list[np.ndarray]) -> list[float]:
    """Weights (summing to 1) of terms that each average 1 on held-out normal data:
    inverse-variance, i.e. the combination whose held-out normal scores vary least around
    their mean (terms treated as independent). A term that is noisy on normal recordings
    (a window score that follows the routine) counts less than one that is steady on them
    (a physics residual). All-zero terms get weight 0."""
    inv = []
    for t in terms:
        t = np.asarray(t, dtype=np.float64)
        m = float(np.mean(t)) if t.size else 0.0
        inv.append(0.0 if m <= 1e-12 else 1.0 / max(float(np.var(t / m)), 1e-6))
    tot = sum(inv)
    return [v / tot if tot > 0 else 0.0 for v in inv]


def _unit_weight(terms: np.ndarray) -> float:
    """1 / mean held-out term, so each term averages 1 on normal data (0 if it is all 0)."""
    m = float(np.mean(terms)) if terms.size else 0.0
    return 1.0 / m if m > 1e-12 else 0.0
