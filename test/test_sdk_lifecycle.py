"""Acceptance: the official ``ridescanapi`` SDK and a plain-HTTP bridge drive a live
``ridescan serve`` process on loopback through the whole lifecycle, with the real model."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ridescan_ros.api.server import free_port
from ridescan_ros.core.keys import create_key

ridescanapi = pytest.importorskip("ridescanapi")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``ridescan serve`` in a subprocess; yields (base_url, admin_key, data_dir)."""
    tmp = tmp_path_factory.mktemp("serve")
    key, _ = create_key(tmp / "keys.yaml", "acme", "admin")
    port = free_port()
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ridescan_ros.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp / "data"), "--keys", str(tmp / "keys.yaml"), "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + (tmp / "server.log").read_text())
            time.sleep(0.2)
        yield base, key, tmp / "data"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        assert "Traceback" not in (tmp / "server.log").read_text()


def _poll(fn, timeout=240.0, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out")


def test_sdk_lifecycle(server, shared_data):
    base, key, data_dir = server
    calib = sorted((shared_data / "wheeled_davie" / "calibration").glob("*.csv"))
    assert len(calib) == 15
    with ridescanapi.RideScanClient(key, base_url=base + "/api", timeout=60) as c:
        robot = c.create_robot("SDK-Wheeled-01", "wheeled_mobile")
        assert robot["message"] == "Robot created" and robot["robot_type"] == "wheeled_mobile"
        rid = robot["robot_id"]
        assert [r["robot_id"] for r in c.get_robots(name="SDK-Wheeled-01")] == [rid]
        assert c.edit_robot(rid, new_name="SDK-Wheeled-02")["robot_name"] == "SDK-Wheeled-02"
        with pytest.raises(ridescanapi.ConflictError):
            c.create_robot("SDK-Wheeled-02", "wheeled_mobile")
        mission = c.create_mission(rid, "Patrol")
        assert mission["calibration_possible"] is False and mission["message"] == "Mission created"
        mid = mission["mission_id"]
        assert c.get_missions(robot_id=rid)[0]["robot_name"] == "SDK-Wheeled-02"
        assert c.edit_mission(rid, mid, "Patrol-v2")["mission_name"] == "Patrol-v2"

        up = c.upload_files(rid, mid, {str(p): f"2026-06-10T08:{i:02d}:00" for i, p in enumerate(calib)})
        assert up["success"] is True and up["message"] == "Files uploaded successfully"
        assert len(up["data"]["details"]["uploaded_files"]) == 15 and up["data"]["details"]["failed_files"] == []
        proc = c.upload_files(rid, mid, {str(shared_data / "wheeled_davie" / "mission_nine.csv"): "2026-06-12T10:00:00",
                                         str(calib[0]): "2026-06-12T11:00:00"}, file_type="process_file")
        assert len(proc["data"]["uploaded_files"]) == 2
        files = c.list_files(rid, mid)
        assert len(files) == 17 and all(f["risk_score"] is None for f in files)
        assert len(c.list_files(rid, mid, file_type="process_file")) == 2
        assert c.get_missions(mission_id=mid)[0]["calibration_possible"] is True

        with pytest.raises(ridescanapi.ValidationError):
            c.run_inference(rid, mid)  # RS-MOD-001: no model yet
        # the SDK's default robot_type ("SPOT") on a wheeled robot: it trains as what it is
        queued = c.calibrate_model(rid, mid, epochs=2)
        assert queued["message"] == "Training task queued" and queued["details"]["task_id"]
        assert queued["data"]["robot_type"] == "wheeled_mobile"
        status = _poll(lambda: (s := c.get_model_status(mid))["calibration_status"] != "calibrating" and s)
        assert status["calibration_status"] == "calibration_completed", status
        assert status["inference_possible"] is True and status["epochs"] == 2
        calib_length = status["mission_length"]  # the calibration files' telemetry, read by training
        assert calib_length is not None and calib_length > 15 * 10
        with pytest.raises(ridescanapi.ValidationError, match="Model already exists"):
            c.calibrate_model(rid, mid, epochs=2, robot_type="wheeled_mobile")

        sent = c.run_inference(rid, mid, device="cpu")
        assert sent["message"] == "Processing queued" and len(sent["file sent"]) == 2
        def all_scored():
            fs = c.list_files(rid, mid, "process_file")
            return all(f["risk_score"] is not None for f in fs) and fs

        scored = _poll(all_scored)
        assert all(0.0 <= f["risk_score"] <= 100.0 for f in scored)
        status = c.get_model_status(mid)
        assert status["inference_status"] == "processing_completed"
        assert status["mission_avg_risk_score"] is not None and status["mission_length"] > calib_length
        assert status["training_time"].endswith("GMT") and status["upload_time"].endswith("GMT")

        gone = c.delete_file(rid, mid, scored[0]["unique_filename"])
        assert gone["message"] == "Blob and DB record deleted successfully"
        assert len(c.list_files(rid, mid)) == 16
        assert c.delete_mission(rid, mid)["message"] == "Mission deleted"
        with pytest.raises(ridescanapi.ResourceNotFoundError):
            c.get_model_status(mid)
        assert c.delete_robot(rid)["message"] == "Robot deleted"
        assert c.get_robots(robot_id=rid) == []
    with pytest.raises(ridescanapi.AuthenticationError):
        ridescanapi.RideScanClient("rsk_not_a_key", base_url=base + "/api").get_robots()
    assert not (data_dir / "blobs" / mid).exists() and not (data_dir / "models" / mid).exists()


def test_bridge_style_plain_http(server, shared_data):
    base, key, _ = server
    h = {"X-API-KEY": key}
    with httpx.Client(base_url=base, headers=h, timeout=60) as http:
        ids = []
        for i, spelling in enumerate(("SPOT", "spot", "0", "wheeled_mobile")):
            r = http.post("/api/robot/create", json={"params": {"robot_name": f"bridge-{i}", "robot_type": spelling}})
            assert r.status_code == 200 and r.json()["robot_type"] == ("spot" if i < 3 else "wheeled_mobile")
            ids.append(r.json()["robot_id"])
        rid = ids[-1]
        mid = http.post("/api/createmission", json={"params": {"robot_id": rid, "mission_name": "loop"}}).json()["mission_id"]
        calib = sorted((shared_data / "wheeled_davie" / "calibration").glob("*.csv"))
        handles = [open(p, "rb") for p in calib]
        try:
            times = [f"2026-06-10T09:{i:02d}:00" for i in range(len(calib))]
            r = http.post("/api/file/upload", data={"robot_id": rid, "mission_id": mid, "file_type": "calib_file",
                                                    "event_times": times},
                          files=[("files", (p.name, f, "text/csv")) for p, f in zip(calib, handles)])
        finally:
            for f in handles:
                f.close()
        assert r.status_code == 200 and [u["event_time"] for u in r.json()["data"]["uploaded_files"]] == times
        cf = http.get("/api/calibration/files", params={"robot_id": rid, "mission_id": mid}).json()["data"]["files"]
        assert len(cf) == 15 and {f["file_type"] for f in cf} == {"calib_file"}
        with open(shared_data / "wheeled_davie" / "mission_nine.csv", "rb") as f:
            http.post("/api/file/upload", data={"robot_id": rid, "mission_id": mid, "file_type": "process_file",
                                                "event_times": ["2026-06-12T10:00:00"]},
                      files=[("files", ("mission_nine.csv", f, "text/csv"))])
        for epochs in (1, 2):
            r = http.post("/api/calibrate", json={"robot_id": rid, "mission_id": mid, "robot_type": "wheeled_mobile",
                                                  "epochs": epochs, "retrain": epochs == 2})
            assert r.status_code == 200, r.text
            calib_id = r.json()["data"]["calib_id"]

            def details():
                return http.get("/api/calibration/details", params={"robot_id": rid, "mission_id": mid}).json()["data"]["calibrations"]

            _poll(lambda: details()[0]["status"] != "calibrating")
        cals = details()
        assert [c["calib_id"] for c in cals][0] == calib_id and [c["epochs"] for c in cals] == [2, 1]
        assert all(c["status"] == "calibration_completed" for c in cals)
        assert cals[0]["model_version"] != cals[1]["model_version"]
        r = http.post("/api/process", json={"robot_id": rid, "mission_id": mid})
        infer_id = r.json()["data"]["infer_id"]
        inf = _poll(lambda: (i := http.get("/api/inference/details", params={"robot_id": rid, "mission_id": mid})
                             .json()["data"]["inferences"])[0]["inference_status"] != "processing" and i)
        assert inf[0]["infer_id"] == infer_id and inf[0]["inference_status"] == "processed"
        f = inf[0]["files"][0]
        assert f["original_filename"] == "mission_nine.csv" and 0 <= f["risk_score"] <= 100
        assert f["model_version"] == cals[0]["model_version"] and f["top_signals"]
        for r_id in ids:
            assert http.request("DELETE", "/api/deleterobot", json={"criteria": {"robot_id": r_id}}).status_code == 200
