"""Model directory <-> detector: state_dict weights (never pickle) plus the JSON manifest."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from ridescan_ros.core.errors import ModelError
from ridescan_ros.core.manifest import WEIGHTS_NAME, Manifest, read_manifest, write_model_dir
from ridescan_ros.model.detector import Detector, FoldModel
from ridescan_ros.model.features import Layout, unscored
from ridescan_ros.model.network import ResidualNet


def weights_bytes(det: Detector) -> bytes:
    """``torch.save`` of the ensemble's state_dict, as bytes."""
    buf = io.BytesIO()
    torch.save(det.state_dict(), buf)
    return buf.getvalue()


def save(out_dir: str | os.PathLike, manifest: Manifest, det: Detector) -> Path:
    """Write the model directory atomically; sets ``manifest.model_version``."""
    return write_model_dir(out_dir, manifest, weights_bytes(det))


def load(model_dir: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Manifest, Detector]:
    """Read a model directory; weights with ``weights_only=True``. Raises ``ModelError``."""
    man = read_manifest(model_dir)
    wpath = Path(model_dir) / WEIGHTS_NAME
    if not wpath.is_file():
        raise ModelError(f"{model_dir}: no {WEIGHTS_NAME}")
    try:
        state = torch.load(wpath, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a damaged file
        raise ModelError(f"{model_dir}: unreadable {WEIGHTS_NAME}: {err}") from err
    layout = Layout.from_dict(man.layout)
    folds = []
    for i, arrays in enumerate(man.folds):
        prefix = f"fold{i}."
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        net = None
        if sub:
            net = ResidualNet(layout.n_inputs, len(layout.targets), man.hidden)
            try:
                net.load_state_dict(sub)
            except RuntimeError as err:
                raise ModelError(f"{model_dir}: weights do not fit the manifest: {err}") from err
            net.eval().to(device)
        folds.append(FoldModel.from_arrays(arrays, net))
    det = Detector(folds=folds, layout=layout, dt=1.0 / man.rate_hz, window=man.window,
                   stride=man.stride, unscored=unscored(man.profile, man.signals),
                   w_feat=np.asarray(man.weights["w_feat"], dtype=np.float64),
                   w_res=np.asarray(man.weights["w_res"], dtype=np.float64))
    return man, det
