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
                  batch_size: int, device: str, progress: ProgressFn,
                  topics: dict[str, str] | None = None) -> CalibOutcome:
        """Train on ``paths`` into ``out_dir`` (``topics``: ``{role: topic}`` overrides of the
        profile, a namespaced robot); raise ``CalibrationError`` when it cannot."""

    def scorer(self, model_dir: Path, device: str) -> Callable[[str], ScoreOutcome]:
        """Load a model once; the returned function scores one path (raises ``RecordingError``)."""

    def close(self) -> None:
        """Cut short what is running (the worker has set its stop flag); may do nothing."""


class ModelExecutor:
    """The real executor over ``ridescan_ros.model`` (imported on first use, never at import)."""

    def calibrate(self, paths: list[str], robot_type: str, out_dir: Path, *, epochs: int,
                  batch_size: int, device: str, progress: ProgressFn,
                  topics: dict[str, str] | None = None) -> CalibOutcome:
        from ridescan_ros.model.calibration import calibrate

        res = calibrate(paths, robot_type, str(out_dir), epochs=epochs, batch_size=batch_size,
                        device=device, seed=0, progress=progress, topics=topics)
        model_dir, root = Path(res.model_dir).resolve(), Path(out_dir).resolve()
        return CalibOutcome(
            model_version=res.model_version, device=res.device, files_used=res.files_used,
            file_errors=dict(res.file_errors), seconds=res.seconds, durations=dict(res.durations),
            subdir="" if model_dir == root else str(model_dir.relative_to(root)),
        )

    def scorer(self, model_dir: Path, device: str) -> Callable[[str], ScoreOutcome]:
        from ridescan_ros.model.scorer import Scorer

        scorer = Scorer.load(str(model_dir), device=device)

        def score(path: str) -> ScoreOutcome:
            fs = scorer.score_path(path)
            detail = fs.to_dict()
            keep = {k: detail[k] for k in ("top_signals", "warnings", "missing_signals",
                                           "raw_score", "windows") if k in detail}
            return ScoreOutcome(risk_score=float(fs.risk_score), model_version=str(fs.model_version),
                                duration_s=fs.duration_s, detail=keep)

        return score

    def close(self) -> None:
        """In-process training stops at its next progress report; nothing to do here."""
