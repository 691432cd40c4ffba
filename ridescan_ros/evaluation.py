"""Scoring a labelled split with the model and the three baselines, on the same windows.

Shared by ``ridescan evaluate``, ``ridescan demo`` and ``bench/quality.py`` so every reported
figure is computed one way. The baselines are fitted on the windows of the model's own
calibration recordings (same signals, grid, window and stride), so the comparison differs
only in the detector. Needs no torch itself: the scorer is passed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ridescan_ros.core.baselines import BASELINES, BaselineSet, file_score, fit_baselines
from ridescan_ros.core.errors import ModelError, RideScanError
from ridescan_ros.core.manifest import sha256_file
from ridescan_ros.core.frame import resample, windows
from ridescan_ros.core.metrics import auprc, auroc, detection_delay, false_alarms_per_hour, topk_hit
from ridescan_ros.core.profiles import select_signals
from ridescan_ros.core.telemetry import Recording

Progress = Callable[[str], None]
METHODS = ("model", *BASELINES, *(f"{b}_file" for b in BASELINES))
MAX_GAP_S = 1.5  # the model's grid (model.dataset.MAX_GAP_S) when a scorer does not say


@dataclass
class LabelledFile:
    """One file to score and what is known about it.

    Attributes:
        path: recording path.
        positive: faulty/failed (True) or normal (False).
        fault: fault type from labels (``None`` for normal or unknown kind).
        onset_s: fault onset in seconds from the first message, when labelled.
        targets: joint (or Spot leg) names the fault sits on, for attribution.
    """

    path: str
    positive: bool
    fault: str | None = None
    onset_s: float | None = None
    targets: tuple[str, ...] = ()


@dataclass
class FileResult:
    """Scores of one file by the model and each baseline (``error`` when it could not be scored)."""

    item: LabelledFile
    risk: float | None = None
    top_signals: list[str] = field(default_factory=list)
    baseline: dict[str, float] = field(default_factory=dict)
    pca_top: list[str] = field(default_factory=list)
    model_windows: dict[str, np.ndarray] = field(default_factory=dict)
    baseline_windows: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None


def _targets(params: dict) -> tuple[str, ...]:
    if params.get("joint"):
        return (str(params["joint"]),)
    if params.get("foot"):
        return (str(params["foot"]),)
    return ()


def read_labels(labels_path: str | Path) -> list[LabelledFile]:
    """``labels.json`` as in ``../shared/data/sim_*`` -> files beside it, sorted by name."""
    lp = Path(labels_path)
    data = json.loads(lp.read_text())
    out = []
    for name in sorted(data):
        lab = data[name]
        pos = str(lab.get("label", "normal")).lower() not in ("normal", "success", "ok")
        out.append(LabelledFile(path=str(lp.parent / name), positive=pos, fault=lab.get("fault") if pos else None,
                                onset_s=lab.get("onset_s") if pos else None, targets=_targets(lab.get("params") or {}) if pos else ()))
    return out


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


def model_grid(scorer: Any, rec: Recording) -> np.ndarray:
    """(rows, d) signal matrix of a recording on the scorer's grid and signals."""
    return resample(select_signals(rec, scorer.profile), list(scorer.signals), scorer.rate_hz,
                    max_gap_s=float(getattr(scorer, "max_gap_s", MAX_GAP_S))).X


def model_windows(scorer: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, window, d) windows of a grid, and their start times in seconds from the first
    sample (the time base of ``FileScore.window_scores``)."""
    W = windows(X, scorer.window, scorer.stride)
    return W, np.arange(len(W)) * scorer.stride / scorer.rate_hz


@dataclass
class Reference:
    """Baselines fitted on calibration data: on windows, and on whole-file statistics.

    The file variants see one feature vector per recording (the same five statistics over
    the whole file): two-sided by construction, so an expected event that did not happen
    moves them, which no rare-window score can see.
    """

    windows: BaselineSet
    files: BaselineSet


def _load(path: str) -> Recording:
    from ridescan_ros.core.readers import load_recording

    return load_recording(path)


def fit_reference(scorer: Any, calib_paths: list[str], *, seed: int = 0, progress: Progress | None = None) -> Reference:
    """Baselines fitted on the model's calibration recordings (their windows; their files)."""
    wins, whole = [], []
    for p in calib_paths:
        if progress:
            progress(f"baseline calibration: reading {Path(p).name}")
        X = model_grid(scorer, _load(p))
        wins.append(model_windows(scorer, X)[0])
        whole.append(X[None])
    sig = list(scorer.signals)
    return Reference(windows=fit_baselines(wins, sig, seed=seed), files=fit_baselines(whole, sig, seed=seed))


def score_file(scorer: Any, ref: Reference, item: LabelledFile) -> FileResult:
    """Model and baseline scores of one file; read/robot errors become ``error``."""
    res = FileResult(item=item)
    try:
        rec = _load(item.path)
        fs = scorer.score_recording(rec)
        X = model_grid(scorer, rec)
        W, starts = model_windows(scorer, X)
    except (RideScanError, ValueError) as err:
        res.error = str(err)
        return res
    res.risk = float(_get(fs, "risk_score"))
    res.top_signals = [str(_get(s, "signal", s)) for s in (_get(fs, "top_signals") or [])]
    ws = _get(fs, "window_scores") or []
    res.model_windows = {k: np.array([np.nan if _get(w, k) is None else float(_get(w, k)) for w in ws])
                         for k in ("t_start", "t_end", "risk")}  # risk None: a window without data
    bw = ref.windows.score_windows(W)
    res.baseline = {b: file_score(bw[b]) for b in BASELINES}
    if len(X):
        res.baseline.update({f"{b}_file": float(v[0]) for b, v in ref.files.score_windows(X[None]).items()})
    res.baseline_windows = {**bw, "t_start": starts, "t_end": starts + scorer.window / scorer.rate_hz}
    err = ref.windows.pca_signal_errors(W)
    res.pca_top = [ref.windows.signals[i] for i in np.argsort(-err)[:3]]
    return res


def evaluate_files(
    scorer: Any, calib_paths: list[str], items: list[LabelledFile], *, seed: int = 0, progress: Progress | None = None
) -> list[FileResult]:
    """Fit baselines on the calibration files, then score every item with all methods."""
    ref = fit_reference(scorer, calib_paths, seed=seed, progress=progress)
    out = []
    for i, item in enumerate(items, 1):
        r = score_file(scorer, ref, item)
        if progress:
            msg = f"error: {r.error}" if r.error else f"risk {r.risk:.1f}"
            progress(f"[{i}/{len(items)}] {Path(item.path).name}: {msg}")
        out.append(r)
    return out


def manifest_inputs(model_dir: str | Path) -> list[dict]:
    """``[{path, sha256}]`` of the calibration inputs listed in the model manifest."""
    mp = Path(model_dir) / "manifest.json"
    if not mp.is_file():
        raise ModelError(f"{mp}: model manifest not found")
    man = json.loads(mp.read_text())
    for key in ("inputs", "input_files", "files", "calibration_files"):
        val = man.get(key) or (man.get("calibration") or {}).get(key)
        if isinstance(val, list) and val:
            return [v if isinstance(v, dict) else {"path": str(v)} for v in val]
    return []


def split_calibration(items: list[LabelledFile], calib: list[dict]) -> tuple[list[LabelledFile], list[LabelledFile]]:
    """(kept, excluded): normal files the model calibrated on are excluded (path or hash)."""
    paths = {str(Path(c["path"]).resolve()) for c in calib if c.get("path")}
    hashes = {c.get("sha256") for c in calib} - {None}
    kept, dropped = [], []
    for it in items:
        same = str(Path(it.path).resolve()) in paths or bool(hashes and sha256_file(it.path) in hashes)
        (dropped if same and not it.positive else kept).append(it)
    return kept, dropped


def _window_auroc(ok: list[FileResult], key: str, src: str) -> float:
    """Normal files' windows against windows that start after a labelled onset."""
    ys, ss = [], []
    for r in ok:
        w = r.model_windows if src == "model" else r.baseline_windows
        if not len(w.get(key, [])):
            continue
        has = np.isfinite(np.asarray(w[key], dtype=np.float64))  # windows without data: no vote
        if not r.item.positive:
            ys += [0] * int(has.sum())
            ss += list(np.asarray(w[key])[has])
        elif r.item.onset_s is not None:
            after = (w["t_start"] >= r.item.onset_s) & has
            ys += [1] * int(after.sum())
            ss += list(np.asarray(w[key])[after])
    return auroc(ys, ss) if ys else float("nan")


def summarize(results: list[FileResult], threshold: float = 50.0) -> dict:
    """All figures of docs/evaluation.md for one split, as a JSON-able dict."""
    ok = [r for r in results if r.error is None]
    y = [r.item.positive for r in ok]
    names = [m for m in METHODS[1:] if all(m in r.baseline for r in ok)]
    scores = {"model": [r.risk for r in ok], **{b: [r.baseline[b] for r in ok] for b in names}}
    overall = {m: {"auroc": auroc(y, s), "auprc": auprc(y, s)} for m, s in scores.items()} if ok else {}
    faults = sorted({r.item.fault or "anomalous" for r in ok if r.item.positive})
    per_fault: dict[str, dict] = {}
    for f in faults:
        keep = [i for i, r in enumerate(ok) if not r.item.positive or (r.item.fault or "anomalous") == f]
        yy = [y[i] for i in keep]
        per_fault[f] = {"n": int(sum(yy)), **{m: auroc(yy, [s[i] for i in keep]) for m, s in scores.items()}}
    mean_fault = {m: float(np.nanmean([per_fault[f][m] for f in faults])) for m in scores} if faults else {}
    named = [r for r in ok if r.item.positive and r.item.targets]
    attribution = {"n": len(named)}
    for m, get in (("model", lambda r: r.top_signals), ("pca", lambda r: r.pca_top)):
        for k in (1, 3):
            hits = [topk_hit(get(r), r.item.targets, k) for r in named]
            attribution[f"{m}_top{k}"] = float(np.mean(hits)) if hits else float("nan")
    normals = [r for r in ok if not r.item.positive and len(r.model_windows.get("risk", []))]
    events = sum(false_alarms_per_hour(r.model_windows["risk"], r.model_windows["t_start"], r.model_windows["t_end"], threshold)[0] for r in normals)
    hours = sum(float(r.model_windows["t_end"][-1] - r.model_windows["t_start"][0]) for r in normals) / 3600.0
    onset = [r for r in ok if r.item.positive and r.item.onset_s is not None and len(r.model_windows.get("risk", []))]
    delays = [detection_delay(r.model_windows["risk"], r.model_windows["t_start"], r.model_windows["t_end"],
                              r.item.onset_s, threshold) for r in onset]
    found = [d for d in delays if d is not None]
    window = {
        "false_alarms_per_hour": events / hours if hours > 0 else float("nan"),
        "normal_hours": hours,
        "event_recall": len(found) / len(onset) if onset else float("nan"),
        "median_delay_s": float(np.median(found)) if found else float("nan"),
        "auroc": {"model": _window_auroc(ok, "risk", "model"), **{b: _window_auroc(ok, b, "base") for b in BASELINES}},
    }
    files = [{"file": r.item.path, "label": "fault" if r.item.positive else "normal", "fault": r.item.fault,
              "risk": r.risk, "top_signals": r.top_signals[:3], "baselines": r.baseline, "error": r.error} for r in results]
    return {"n_normal": int(len(y) - sum(y)), "n_anomalous": int(sum(y)), "n_errors": len(results) - len(ok),
            "threshold": threshold, "overall": overall, "per_fault": per_fault, "mean_fault_auroc": mean_fault,
            "attribution": attribution, "window": window, "files": files}
