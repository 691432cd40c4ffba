"""evaluate/demo: labels, calibration-file exclusion, summary figures, and both commands end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ridescan_ros import evaluation as ev
from ridescan_ros.cli import main
from ridescan_ros.core.metrics import auroc


def _labels(tmp_path: Path) -> Path:
    data = {
        "a.bag": {"label": "normal", "fault": None, "onset_s": None, "params": {}},
        "b.bag": {"label": "fault", "fault": "weak_actuator", "onset_s": 3.0, "params": {"joint": "elbow_joint"}},
        "c.bag": {"label": "fault", "fault": "foot_slip", "onset_s": 2.0, "params": {"foot": "front_right"}},
    }
    for name in data:
        (tmp_path / name).write_bytes(name.encode())
    lp = tmp_path / "labels.json"
    lp.write_text(json.dumps(data))
    return lp


def test_read_labels_and_exclude_calibration_files(tmp_path: Path) -> None:
    items = ev.read_labels(_labels(tmp_path))
    assert [(Path(i.path).name, i.positive, i.fault, i.targets) for i in items] == [
        ("a.bag", False, None, ()), ("b.bag", True, "weak_actuator", ("elbow_joint",)),
        ("c.bag", True, "foot_slip", ("front_right",))]
    copy = tmp_path / "copy_of_a.bag"
    copy.write_bytes(b"a.bag")
    items.append(ev.LabelledFile(path=str(copy), positive=False))
    from ridescan_ros.core.manifest import sha256_file

    calib = [{"path": str(tmp_path / "a.bag"), "sha256": sha256_file(tmp_path / "a.bag")}]
    kept, dropped = ev.split_calibration(items, calib)
    assert sorted(Path(d.path).name for d in dropped) == ["a.bag", "copy_of_a.bag"]  # by path, and by hash
    assert [Path(k.path).name for k in kept] == ["b.bag", "c.bag"]


def _result(pos: bool, risk: float, fault: str | None, top: list[str], targets: tuple[str, ...] = ()) -> ev.FileResult:
    rng = np.random.default_rng(int(risk))
    t = np.arange(20, dtype=float)
    wr = np.full(20, 10.0)
    if pos:
        wr[12:] = risk
    r = ev.FileResult(item=ev.LabelledFile(path=f"{fault}_{risk}.bag", positive=pos, fault=fault, onset_s=10.0 if pos else None,
                                           targets=targets), risk=risk, top_signals=top, pca_top=top[::-1])
    r.model_windows = {"t_start": t, "t_end": t + 1, "risk": wr}
    r.baseline = {b: float(risk + rng.normal()) for b in ("pca", "mahalanobis", "iforest")}
    r.baseline_windows = {"t_start": t, "t_end": t + 1, **{b: wr.copy() for b in ("pca", "mahalanobis", "iforest")}}
    return r


def test_summarize_figures_follow_the_metrics() -> None:
    res = [_result(False, r, None, ["x.effort"]) for r in (10.0, 20.0, 30.0)]
    res += [_result(True, 80.0, "friction", ["elbow_joint.effort", "b"], ("elbow_joint",)),
            _result(True, 25.0, "friction", ["a", "b", "elbow_joint.effort"], ("elbow_joint",)),
            _result(True, 90.0, "payload", ["wrench.force_z"])]
    res.append(ev.FileResult(item=ev.LabelledFile(path="bad.bag", positive=True), error="bad.bag: truncated"))
    s = ev.summarize(res)
    assert (s["n_normal"], s["n_anomalous"], s["n_errors"]) == (3, 3, 1)
    y = [0, 0, 0, 1, 1, 1]
    assert s["overall"]["model"]["auroc"] == pytest.approx(auroc(y, [10, 20, 30, 80, 25, 90]))
    assert s["per_fault"]["friction"]["model"] == pytest.approx(auroc([0, 0, 0, 1, 1], [10, 20, 30, 80, 25]))
    assert s["per_fault"]["payload"]["model"] == 1.0
    assert s["attribution"] == {"n": 2, "model_top1": 0.5, "model_top3": 1.0, "pca_top1": 0.5, "pca_top3": 1.0}
    w = s["window"]
    assert w["event_recall"] == pytest.approx(2 / 3)  # the 25-risk fault never crosses 50
    assert w["false_alarms_per_hour"] == 0.0 and w["median_delay_s"] == pytest.approx(3.0)
    assert s["files"][-1]["error"] == "bad.bag: truncated"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tiny demo on generated samples (no reference data): 1 epoch, 8 s runs."""
    import os

    out = tmp_path_factory.mktemp("demo")
    old = os.environ.pop("RIDESCAN_SAMPLE_DATA", None)
    try:
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = main(["demo", "--out", str(out), "--epochs", "1", "--sample-seconds", "8"])
    finally:
        if old is not None:
            os.environ["RIDESCAN_SAMPLE_DATA"] = old
    assert rc == 0
    return out, buf.getvalue()


def test_demo_on_generated_samples_says_so_and_writes_outputs(demo_run: tuple[Path, str]) -> None:
    out, text = demo_run
    assert "GENERATES synthetic sample recordings" in text
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["n_normal"], summary["n_anomalous"], summary["n_errors"]) == (5, 6, 0)
    assert len(summary["calibration_files"]) == 15
    assert set(summary["overall"]) == set(ev.METHODS)
    for f in summary["files"]:
        assert Path(f["file"]).name in text and 0.0 <= f["risk"] <= 100.0
        assert (out / "plots" / (Path(f["file"]).stem + ".png")).stat().st_size > 1000
    assert (out / "plots" / "summary.png").is_file()
    assert math.isfinite(summary["overall"]["model"]["auroc"])


def test_evaluate_command_excludes_calibration_files(demo_run: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    out, _ = demo_run
    rc = main(["evaluate", "--model", str(out / "model"), "--labels", str(out / "sample_data" / "labels.json"), "--json"])
    assert rc == 0
    cap = capsys.readouterr()
    s = json.loads(cap.out)
    assert len(s["excluded_calibration_files"]) == 15
    assert s["n_normal"] == 5 and s["n_anomalous"] == 6
    assert "excluded (model calibrated on it)" in cap.err
    rc = main(["evaluate", "--model", str(out / "model"), "--normal", str(out / "sample_data" / "run_000.bag")])
    assert rc == 2  # no anomalous files: refused with a message
    assert "need held-out normal and anomalous files" in capsys.readouterr().err


def test_plots_accept_dicts_and_empty_recordings(tmp_path: Path) -> None:
    from ridescan_ros.plots import plot_risk, plot_summary

    ws = [{"t_start": 100.0 + k, "t_end": 101.0 + k, "risk": float(10 + 5 * k)} for k in range(12)]
    score = {"file": "x.bag", "risk_score": 70.0, "window_scores": ws,
             "top_signals": [{"signal": "elbow_joint.effort", "contribution": 0.6}]}
    a = plot_risk(score, tmp_path / "a.png", onset_s=4.0, label="fault")
    b = plot_risk({"file": "empty.bag", "risk_score": None, "window_scores": []}, tmp_path / "b.png")
    c = plot_summary([{"file": "x.bag", "risk": 70.0, "label": "fault"}, {"file": "y.bag", "risk": None}], tmp_path / "s.png")
    for p in (a, b, c):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
