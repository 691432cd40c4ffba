"""The model manifest: everything about a calibrated model except its weights, as JSON.

Plain data (no torch), so the API and the store can read a model's profile, signals,
thresholds and version without loading the network.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ridescan_ros.core.errors import ModelError

MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "weights.pt"
FORMAT_VERSION = 1
VOLATILE_TRAINING = ("seconds", "stage_seconds")


@dataclass
class Manifest:
    """A calibrated model's description.

    Attributes:
        model_version: content hash of manifest body and weights (stable id of this model).
        profile: robot profile name (``SPOT``, ``UR6``, ``wheeled_mobile``).
        topics: role -> topic the model was calibrated with.
        signals: column order of every frame the model scores.
        rate_hz, window, stride, max_gap_s: grid and windowing (see ``core.frame``).
        layout: residual layout (``model.features.Layout.to_dict``).
        folds: per-fold normalisation arrays (``FoldModel.arrays``).
        hidden: hidden width of each fold's network (0: no network).
        weights: term weights and file aggregation settings.
        file_stats: mean/sd of whole-recording statistics over calibration recordings.
        window_risk, file_risk: ``core.risk.RiskMap.to_dict``.
        holdout: out-of-fold scores of the calibration recordings (per file and windows).
        training: seed, epochs, batch size, device, folds, seconds, losses.
        files: ``[{"path", "sha256", "fold"}]`` of the calibration inputs.
        versions: package, torch, numpy, python versions.
    """

    profile: str
    signals: list[str]
    rate_hz: float
    window: int
    stride: int
    max_gap_s: float
    layout: dict
    folds: list[dict]
    hidden: int
    weights: dict[str, float]
    file_stats: dict[str, list]
    window_risk: dict
    file_risk: dict
    holdout: dict
    training: dict
    files: list[dict]
    versions: dict[str, str]
    topics: dict[str, str] = field(default_factory=dict)
    created: str = ""
    model_version: str = ""
    format_version: int = FORMAT_VERSION

    def body_json(self) -> str:
        """Canonical JSON of everything except ``model_version`` (input of the content hash)."""
        d = asdict(self)
        d.pop("model_version")
        d.pop("created")  # volatile: same data and seed must give the same id
        d["training"] = {k: v for k, v in d["training"].items() if k not in VOLATILE_TRAINING}
        return json.dumps(d, sort_keys=True, allow_nan=False, default=_jsonable)

    def to_json(self) -> str:
        """Full manifest as indented JSON (no NaN/Infinity)."""
        return json.dumps(asdict(self), indent=1, sort_keys=True, allow_nan=False, default=_jsonable)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        """Parse a manifest; raises ``ModelError`` on another format version."""
        d = json.loads(text)
        if d.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"manifest format {d.get('format_version')} is not {FORMAT_VERSION}")
        return cls(**d)


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def finite(x: float | None) -> float | None:
    """A float safe for JSON: NaN/inf -> None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file (or of a folder's files in sorted order, for bag folders)."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for q in files:
        with open(q, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    return h.hexdigest()


def write_model_dir(out_dir: str | os.PathLike, manifest: Manifest, weights: bytes) -> Path:
    """Write ``manifest.json`` and ``weights.pt`` atomically: temp dir, then rename.

    ``model_version`` is set here to a hash of the manifest body and the weights, so the
    same data and seed give the same id. An existing ``out_dir`` is replaced only after
    the new one is complete.
    """
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256(manifest.body_json().encode())
    h.update(weights)
    manifest.model_version = h.hexdigest()[:16]
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    (tmp / WEIGHTS_NAME).write_bytes(weights)
    (tmp / MANIFEST_NAME).write_text(manifest.to_json())
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        for q in sorted(old.rglob("*"), reverse=True):
            q.unlink() if q.is_file() else q.rmdir()
        old.rmdir()
    return out


def read_manifest(model_dir: str | os.PathLike) -> Manifest:
    """Read a model directory's manifest; ``ModelError`` names what is wrong."""
    p = Path(model_dir) / MANIFEST_NAME
    if not p.is_file():
        raise ModelError(f"{model_dir}: no {MANIFEST_NAME} (not a calibrated model directory)")
    try:
        return Manifest.from_json(p.read_text())
    except (ValueError, TypeError, KeyError) as err:
        raise ModelError(f"{model_dir}: unreadable {MANIFEST_NAME}: {err}") from err
