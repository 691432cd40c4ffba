"""Calibration and scoring end to end on small synthetic UR6 bags (core.samples)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ridescan_ros.core.errors import CalibrationError
from ridescan_ros.core.frame import resample
from ridescan_ros.core.manifest import read_manifest
from ridescan_ros.core.profiles import select_signals
from ridescan_ros.core.samples import generate_samples
from ridescan_ros.core.telemetry import Recording
from ridescan_ros.model.calibration import calibrate
from ridescan_ros.model.scorer import Scorer

EPOCHS = 3


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("samples")
    labels = json.loads(generate_samples(d, n_normal=17, n_fault=3, duration_s=10.0, seed=1).read_text())
    normal = sorted(str(d / k) for k, v in labels.items() if v["label"] == "normal")
    fault = sorted(str(d / k) for k, v in labels.items() if v["label"] == "fault")
    return {"dir": d, "normal": normal, "fault": fault}


@pytest.fixture(scope="module")
def model(samples: dict, tmp_path_factory: pytest.TempPathFactory):
    bad = tmp_path_factory.mktemp("bad") / "broken.bag"
    bad.write_bytes(b"not a bag at all")
    seen: list[dict] = []
    out = tmp_path_factory.mktemp("m") / "model"
    res = calibrate(samples["normal"][:15] + [str(bad)], "ur6", out, epochs=EPOCHS, device="cpu",
                    seed=7, progress=seen.append)
    return res, seen, samples


def test_result_counts_files_and_errors(model) -> None:
    res, seen, _ = model
    assert res.files_used == 15
    assert list(res.file_errors) == [str(Path(res.file_errors and next(iter(res.file_errors))))]
    assert next(iter(res.file_errors)).endswith("broken.bag")
    assert res.device == "cpu" and res.seconds > 0


def test_progress_reports_every_stage(model) -> None:
    _, seen, _ = model
    stages = [p["stage"] for p in seen]
    for s in ("reading", "training", "calibrating", "saving"):
        assert s in stages
    train = [p for p in seen if p["stage"] == "training"]
    assert train[-1]["epoch"] == EPOCHS and train[-1]["epochs"] == EPOCHS
    assert all(math.isfinite(p["loss"]) for p in train)
    assert set(seen[0]) >= {"stage", "files_done", "files_total", "epoch", "epochs", "loss"}


def test_too_few_files_message(samples: dict, tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match=r"^Expected 15 files, but found 14\.$"):
        calibrate(samples["normal"][:14], "UR6", tmp_path / "m", epochs=1)
    assert not (tmp_path / "m").exists()


def test_manifest_and_weights(model) -> None:
    res, _, _ = model
    man = read_manifest(res.model_dir)
    assert man.model_version == res.model_version and man.profile == "UR6"
    assert len(man.files) == 15 and all(len(f["sha256"]) == 64 for f in man.files)
    assert man.window_risk["threshold"] > man.window_risk["median"]
    assert len(man.holdout["file_raw"]) == 15 and man.training["seed"] == 7
    state = torch.load(Path(res.model_dir) / "weights.pt", weights_only=True)
    assert any(k.startswith("fold0.") for k in state)
    assert not list(Path(res.model_dir).parent.glob(".model.*"))  # temp dir renamed away


def test_same_data_and_seed_same_model(model, tmp_path: Path) -> None:
    res, _, samples = model
    again = calibrate(samples["normal"][:15], "UR6", tmp_path / "again", epochs=EPOCHS, device="cpu", seed=7)
    assert again.model_version == res.model_version
    a = Scorer.load(res.model_dir).score_path(samples["fault"][0])
    b = Scorer.load(again.model_dir).score_path(samples["fault"][0])
    assert a.risk_score == b.risk_score and a.top_signals == b.top_signals


def test_file_score_shape_and_json(model) -> None:
    res, _, samples = model
    sc = Scorer.load(res.model_dir)
    fs = sc.score_path(samples["normal"][-1])
    assert 0.0 <= fs.risk_score <= 100.0 and fs.model_version == res.model_version
    assert fs.windows == len(fs.window_scores) > 0
    assert {"signal", "contribution"} <= set(fs.top_signals[0])
    d = json.loads(fs.to_json())
    assert {"file", "risk_score", "top_signals", "model_version", "windows"} <= set(d)


def test_faults_score_above_held_out_normals(model) -> None:
    res, _, samples = model
    sc = Scorer.load(res.model_dir)
    normal = [sc.score_path(p).risk_score for p in samples["normal"][15:]]
    fault = [sc.score_path(p).risk_score for p in samples["fault"]]
    assert np.mean(fault) > np.mean(normal)


def test_window_k_same_offline_and_live(model) -> None:
    """The live node resamples one window's span from t0 + k*stride/rate; same numbers."""
    res, _, samples = model
    sc = Scorer.load(res.model_dir)
    from ridescan_ros.model import dataset

    rec = dataset.read(samples["fault"][0])
    ss = select_signals(rec, sc.profile)
    whole = sc.score_frame(sc.frame(ss))
    k = 7
    t0 = whole.t_start[0] + k * sc.stride / sc.rate_hz
    live = resample(ss, sc.signals, sc.rate_hz, t0=t0, t_end=t0 + (sc.window - 0.5) / sc.rate_hz)
    one = sc.score_frame(live)
    assert one.raw.shape == (1,)
    # float32 inference: a batch of 1 and a batch of many take different GEMM blockings,
    # so sums differ in the last bits (measured up to 7.5e-5 relative); nothing larger.
    np.testing.assert_allclose(one.contributions[0], whole.contributions[k], rtol=5e-4, atol=1e-7)
    assert one.raw[0] == pytest.approx(whole.raw[k], rel=5e-4)
    assert one.t_start[0] == pytest.approx(whole.t_start[k])


def test_missing_signals_contribute_nothing_and_are_reported(model) -> None:
    res, _, samples = model
    sc = Scorer.load(res.model_dir)
    from ridescan_ros.model import dataset

    rec = dataset.read(samples["normal"][-1])
    no_wrench = Recording(path=rec.path, streams={k: v for k, v in rec.streams.items() if k != "/wrench"})
    fs = sc.score_recording(no_wrench)
    assert any(s.startswith("wrench.") for s in fs.missing_signals)
    assert any("missing" in w for w in fs.warnings)
    assert all(not t["signal"].startswith("wrench.") or t["contribution"] == 0 for t in fs.top_signals)
    assert math.isfinite(fs.risk_score)
