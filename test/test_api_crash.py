"""kill -9 of a live ``ridescan serve`` during a training, then a restart on the same data dir:
the task is resumed to completion and no upload is lost or half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from ridescan_ros.api.server import free_port


def _start(data_dir, port):
    proc = subprocess.Popen([sys.executable, "-m", "ridescan_ros.cli", "serve", "--insecure-local", "--port",
                             str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def _poll(fn, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_kill_9_during_training_then_restart(tmp_path, shared_data):
    calib = sorted((shared_data / "wheeled_davie" / "calibration").glob("*.csv"))
    data_dir, port = tmp_path / "data", free_port()
    proc, base = _start(data_dir, port)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            rid = http.post("/api/robot/create", json={"params": {"robot_name": "w", "robot_type": "wheeled_mobile"}}).json()["robot_id"]
            mid = http.post("/api/createmission", json={"params": {"robot_id": rid, "mission_name": "m"}}).json()["mission_id"]
            handles = [open(p, "rb") for p in calib]
            try:
                r = http.post("/api/file/upload", data={"robot_id": rid, "mission_id": mid, "file_type": "calib_file"},
                              files=[("files", (p.name, f, "text/csv")) for p, f in zip(calib, handles)])
            finally:
                for f in handles:
                    f.close()
            assert r.status_code == 200
            http.post("/api/calibrate", json={"robot_id": rid, "mission_id": mid, "epochs": 400})

            def cal():
                return http.get("/api/calibration/details", params={"robot_id": rid, "mission_id": mid}).json()["data"]["calibrations"][0]

            _poll(lambda: cal()["progress"].get("stage") == "training")
        os.killpg(proc.pid, signal.SIGKILL)  # the server and its reader processes, mid-training
        proc.wait(10)
        proc, base = _start(data_dir, port)
        with httpx.Client(base_url=base, timeout=60) as http:
            files = http.get("/api/files/list", params={"robot_id": rid, "mission_id": mid}).json()["data"]["files"]
            assert len(files) == 15
            assert all(f["file_size"] == p.stat().st_size for f, p in zip(files, calib))
            # the same calibration is running again after the restart (resumed from scratch)
            first = cal()
            assert first["status"] == "calibrating"
            done = _poll(lambda: (c := cal())["status"] != "calibrating" and c, timeout=600)
        assert done["status"] == "calibration_completed", done
        assert done["calib_id"] == first["calib_id"]
        assert not list((data_dir / "models").glob("*/.tmp-*"))
        assert len(list((data_dir / "models" / mid).iterdir())) == 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
