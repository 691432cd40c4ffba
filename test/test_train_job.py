"""The node's child-process trainer: progress reaches the store, a stop requeues the task."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from sidecar_fakes import mission_with_files, wait_for

from ridescan_ros.nodes import train_job
from ridescan_ros.nodes.train_job import ProcessExecutor
from ridescan_ros.service import CalibOutcome, RideScanService
from ridescan_ros.service.facade import ServiceSettings

SLOW_CHILD = ("import json, time\n"
              "for i in range(600):\n"
              "    print(json.dumps({'progress': {'stage': 'training', 'epoch': i, 'epochs': 600}}), flush=True)\n"
              "    time.sleep(0.05)\n")


def test_child_relays_the_models_dict_progress(monkeypatch) -> None:
    """The model reports progress as one dict; the child must pass every field on."""

    def fake_calibrate(self, paths, robot_type, out_dir, **kw):
        kw["progress"]({"stage": "training", "epoch": 3, "epochs": 10, "files_done": 15,
                        "files_total": 15, "loss": float("nan")})
        return CalibOutcome(model_version="v", device="cpu", files_used=15)

    monkeypatch.setattr(train_job.ModelExecutor, "calibrate", fake_calibrate)
    out = io.StringIO()
    with redirect_stdout(out):
        train_job.run({"paths": [], "robot_type": "UR6", "out_dir": "/nonexistent", "epochs": 10,
                       "batch_size": 8, "device": "cpu"})
    first = json.loads(out.getvalue().splitlines()[0])["progress"]
    assert first == {"stage": "training", "epoch": 3, "epochs": 10, "files_done": 15,
                     "files_total": 15, "loss": None}


def test_stopping_the_service_mid_training_requeues_the_task(monkeypatch, tmp_path: Path) -> None:
    """Node shutdown (service.stop terminates the training child) must not fail the
    calibration: the task is queued again and runs after the restart."""
    real_popen = subprocess.Popen
    monkeypatch.setattr(train_job.subprocess, "Popen",
                        lambda cmd, **kw: real_popen([sys.executable, "-c", SLOW_CHILD], **kw))
    svc = RideScanService(ServiceSettings(tmp_path / "d", executor=ProcessExecutor()))
    svc.start()
    rid, mid = mission_with_files(svc, tmp_path / "c")
    svc.start_calibration(rid, mid, epochs=1)
    wait_for(lambda: (svc.calibration_status(mid).get("progress") or {}).get("epoch", 0) >= 2)
    svc.stop()
    again = RideScanService(tmp_path / "d", executor=ProcessExecutor())
    row = again.store.one("SELECT state, message FROM tasks")
    assert (row["state"], row["message"]) == ("queued", "resumed after a stop")
    attempts = again.store.one("SELECT attempts, progress FROM tasks")
    assert attempts["attempts"] == 0 and attempts["progress"] is None  # a clean stop is no attempt
    assert again.calibration_status(mid)["status"] == "calibrating"
    assert not list((tmp_path / "d" / "models").glob("*/.tmp-*"))
    again.store.close()


def test_child_failure_keeps_the_message_and_skipped_files(shared_data: Path, tmp_path: Path) -> None:
    """'Expected 15 files, but found 14.' arrives verbatim, with the reason for the 15th."""
    from ridescan_ros.core.errors import CalibrationError

    good = sorted((shared_data / "wheeled_davie" / "calibration").glob("*.csv"))[:14]
    paths = [str(p) for p in good] + [str(tmp_path / "junk.csv")]
    (tmp_path / "junk.csv").write_text("not,a\nrecording,at all\n")
    with pytest.raises(CalibrationError) as info:
        ProcessExecutor().calibrate(paths, "wheeled_mobile", tmp_path / "out", epochs=1, batch_size=8,
                                    device="cpu", progress=lambda *a, **k: None)
    assert str(info.value) == "Expected 15 files, but found 14."
    assert list(info.value.file_errors) == [str(tmp_path / "junk.csv")]
