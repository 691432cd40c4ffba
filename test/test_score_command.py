"""``ridescan score`` as users run it (its own process): reading starts in a worker while
the model loads (core.parallel.Prefetcher); the output is what scoring each file gives."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from ridescan_ros.core.samples import generate_samples


@pytest.fixture(scope="module")
def model_and_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    from ridescan_ros.model.calibration import calibrate

    d = tmp_path_factory.mktemp("samples")
    labels = json.loads(generate_samples(d, n_normal=15, n_fault=3, duration_s=10.0, seed=2).read_text())
    normal = sorted(str(d / k) for k, v in labels.items() if v["label"] == "normal")
    out = tmp_path_factory.mktemp("m") / "model"
    calibrate(normal, "ur6", out, epochs=1, device="cpu")
    return out, sorted(str(d / k) for k in labels)


def test_score_command_matches_scoring_each_file(model_and_runs, tmp_path: Path) -> None:
    from ridescan_ros.core.parallel import PREFETCH_MIN_BYTES
    from ridescan_ros.model.scorer import Scorer

    model, runs = model_and_runs
    paths = runs[:3] + [str(tmp_path / "missing.bag")] + runs[3:]
    assert sum(Path(p).stat().st_size for p in runs) >= PREFETCH_MIN_BYTES  # the worker path
    proc = subprocess.run([sys.executable, "-m", "ridescan_ros.cli", "score", "--model", str(model),
                           "--json", *paths], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # the missing file
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["file"] for x in lines] == paths
    assert "error" in lines[3] and "missing.bag" in lines[3]["error"]
    scorer = Scorer.load(model)
    for p, got in zip(paths, lines):
        if p.endswith("missing.bag"):
            continue
        want = scorer.score_path(p).to_dict()
        assert got["windows"] == want["windows"] and got["warnings"] == want["warnings"]
        assert math.isclose(got["risk_score"], want["risk_score"], rel_tol=1e-5, abs_tol=1e-6)
        assert [t["signal"] for t in got["top_signals"][:1]] == [t["signal"] for t in want["top_signals"][:1]]
