"""What the worker calls to train and score: an injectable executor.

The worker only needs two operations; putting them behind this small interface keeps the
service free of torch (the real one imports the model lazily, inside the worker thread) and
lets tests drive every task path with a fast fake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ProgressFn = Callable[..., None]


@dataclass
class CalibOutcome:
    """A finished training: the artifact is already written in ``out_dir``."""

    model_version: str
    device: str
    files_used: int
    file_errors: dict[str, str] = field(default_factory=dict)  # path -> reason
    seconds: float = 0.0
    durations: dict[str, float] = field(default_factory=dict)  # path -> telemetry seconds
    subdir: str = ""  # where in out_dir the artifact is, when not out_dir itself


@dataclass
class ScoreOutcome:
    """One file's score (``risk_score`` 0-100) and what to show beside it."""

    risk_score: float
    model_version: str
    duration_s: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class Executor(Protocol):
    """Training and scoring as the worker sees them."""

    def calibrate(self, paths: list[str], robot_type: str, out_dir: Path, *, epochs: int,
                  batch_size: int, device: str, progress: ProgressFn) -> CalibOutcome:
        """Train on ``paths`` into ``out_dir``; raise ``CalibrationError`` when it cannot."""

    def scorer(self, model_dir: Path, device: str) -> Callable[[str], ScoreOutcome]:
        """Load a model once; the returned function scores one path (raises ``RecordingError``)."""


class ModelExecutor:
    """The real executor over ``ridescan_ros.model`` (imported on first use, never at import)."""

    def calibrate(self, paths: list[str], robot_type: str, out_dir: Path, *, epochs: int,
                  batch_size: int, device: str, progress: ProgressFn) -> CalibOutcome:
        from ridescan_ros.model.calibration import calibrate

        res = calibrate(paths, robot_type, str(out_dir), epochs=epochs, batch_size=batch_size,
                        device=device, seed=0, progress=progress)
        used = getattr(res, "files_used", 0)
        model_dir = Path(getattr(res, "model_dir", out_dir)).resolve()
        root = Path(out_dir).resolve()
        sub = "" if model_dir == root else str(model_dir.relative_to(root))
        return CalibOutcome(
            model_version=str(res.model_version), device=str(getattr(res, "device", device)),
            files_used=used if isinstance(used, int) else len(used),
            file_errors=normalize_errors(getattr(res, "file_errors", None)),
            seconds=float(getattr(res, "seconds", 0.0) or 0.0), subdir=sub,
        )

    def scorer(self, model_dir: Path, device: str) -> Callable[[str], ScoreOutcome]:
        from ridescan_ros.model.scorer import Scorer

        try:
            scorer = Scorer.load(str(model_dir), device=device)
        except TypeError:
            scorer = Scorer.load(str(model_dir))

        def score(path: str) -> ScoreOutcome:
            fs = scorer.score_path(path)
            detail = fs.to_dict() if hasattr(fs, "to_dict") else {}
            keep = {k: detail[k] for k in ("top_signals", "warnings", "missing_signals",
                                           "raw_score", "windows") if k in detail}
            if "top_signals" not in keep and getattr(fs, "top_signals", None) is not None:
                keep["top_signals"] = fs.top_signals
            return ScoreOutcome(risk_score=float(fs.risk_score), model_version=str(fs.model_version),
                                duration_s=getattr(fs, "duration_s", None), detail=keep)

        return score


def normalize_errors(errors: Any) -> dict[str, str]:
    """Per-file errors in whatever shape the model returns them, as ``{path: reason}``."""
    out: dict[str, str] = {}
    if not errors:
        return out
    items = errors.items() if isinstance(errors, dict) else errors
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            path, reason = item
        elif isinstance(item, dict):
            path = item.get("path") or item.get("file") or ""
            reason = item.get("reason") or item.get("error") or item.get("message") or ""
        else:
            path = getattr(item, "path", "")
            reason = getattr(item, "reason", None) or str(item)
        out[str(path)] = str(reason)
    return out
