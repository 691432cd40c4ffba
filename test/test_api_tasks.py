"""Calibrate/process through the API with a fake model: statuses, versions, per-file failures,
concurrency (on a live embedded server) and crash recovery."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sidecar_fakes import (FakeExecutor, csv_files, make_client, mission_with_files, robot_and_mission, upload,
                          wait_for)

from ridescan_ros.core.store import now


def _cal(client, h, rid, mid):
    return client.get("/api/calibration/details", headers=h, params={"robot_id": rid, "mission_id": mid}).json()["data"]["calibrations"]


def _inf(client, h, rid, mid):
    return client.get("/api/inference/details", headers=h, params={"robot_id": rid, "mission_id": mid}).json()["data"]["inferences"]


def _done_cal(client, h, rid, mid):
    return wait_for(lambda: (c := _cal(client, h, rid, mid)) and c[0]["status"] != "calibrating" and c)


@pytest.fixture
def api(tmp_path):
    ex = FakeExecutor()
    client, keys = make_client(tmp_path, executor=ex)
    with client:
        rid, mid = robot_and_mission(client, keys["admin"])
        yield client, keys["admin"], rid, mid, tmp_path, ex


def test_calibrate_process_versions_and_statuses(api):
    client, a, rid, mid, tmp, ex = api
    upload(client, a, rid, mid, csv_files(tmp / "c", 14))
    r = client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "robot_type": "wheeled_mobile"})
    assert r.status_code == 400 and r.json()["message"] == "Expected 15 files, but found 14."
    upload(client, a, rid, mid, csv_files(tmp / "c2", 2, "more"))
    procs = upload(client, a, rid, mid, csv_files(tmp / "p", 2, "proc"), "process_file").json()["data"]["uploaded_files"]
    r = client.post("/api/process", headers=a, json={"robot_id": rid, "mission_id": mid})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RS-MOD-001"
    m = client.post("/api/getmission", headers=a, json={"criteria": {"mission_id": mid}}).json()["mission_list"][0]
    assert m["calibration_possible"] is True and m["inference_possible"] is False
    r = client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "epochs1": 3, "batch_size": 64})
    body = r.json()
    assert body["message"] == "Training task queued" and body["data"]["status"] == "calibrating"
    assert body["details"]["task_id"] == body["data"]["task_id"]
    c1 = _done_cal(client, a, rid, mid)[0]
    assert c1["status"] == "calibration_completed" and c1["epochs"] == 3 and c1["batch_size"] == 64
    assert c1["training_time"].endswith(" GMT") and len(c1["files"]) == 16 and c1["progress"]["epoch"] == 3
    r = client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid})
    assert r.status_code == 400 and r.json()["message"] == "Model already exists."
    r = client.post("/api/process", headers=a, json={"robot_id": rid, "mission_id": mid})
    assert r.json()["message"] == "Processing queued" and len(r.json()["file sent"]) == 2
    infer_id = r.json()["data"]["infer_id"]
    wait_for(lambda: _inf(client, a, rid, mid)[0]["inference_status"] == "processed")
    first = _inf(client, a, rid, mid)[0]
    assert first["infer_id"] == infer_id and all(f["model_version"] == c1["model_version"] for f in first["files"])
    assert all(0 <= f["risk_score"] <= 100 for f in first["files"])
    # retrain: a new version; the old scores keep the version that produced them
    client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "retrain": True, "epochs": 1})
    cals = wait_for(lambda: (c := _cal(client, a, rid, mid)) and len(c) == 2 and c[0]["status"] != "calibrating" and c)
    assert cals[0]["version"] == 2 and cals[1]["version"] == 1 and cals[0]["model_version"] != c1["model_version"]
    client.post("/api/process", headers=a, json={"robot_id": rid, "mission_id": mid, "blob_names": [procs[0]["unique_filename"]]})
    infs = wait_for(lambda: (i := _inf(client, a, rid, mid)) and len(i) == 2 and i[0]["status"] == "processed" and i)
    assert infs[0]["files"][0]["model_version"] == cals[0]["model_version"]
    assert {f["model_version"] for f in infs[1]["files"]} == {c1["model_version"]}
    det = client.get("/api/model/mission-details", headers=a, params={"mission_id": mid}).json()
    assert det["message"] == "Model fetched successfully"
    d = det["data"]
    assert d["calibration_status"] == "calibration_completed" and d["inference_status"] == "processing_completed"
    assert d["inference_possible"] is True and d["robot_type"] == "wheeled_mobile" and d["epochs"] == 1
    scored = [f["risk_score"] for f in d["files"] if f["file type"] == "process_file"]
    assert d["mission_avg_risk_score"] == pytest.approx(sum(scored) / 2, abs=1e-3)
    assert d["mission_length"] > 0 and {"event time", "original filename", "unique filename"} <= set(d["files"][0])


def test_calibrate_trains_the_robots_own_type(api):
    client, a, rid, mid, tmp, fake = api
    upload(client, a, rid, mid, csv_files(tmp / "c", 15))
    r = client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "device": "tpu"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RS-VAL-003"
    r = client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "robot_type": "rover"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RS-VAL-003"
    assert _cal(client, a, rid, mid) == []
    # the SDK sends robot_type="SPOT" unless told otherwise: a wheeled robot still trains as itself
    fake.gate.clear()  # hold the training so the second call finds it queued or running
    r = client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "robot_type": "SPOT"})
    assert r.status_code == 200 and r.json()["message"] == "Training task queued"
    data = r.json()["data"]
    assert data["robot_type"] == "wheeled_mobile" and "'SPOT' ignored" in data["warning"]
    again = client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "robot_type": "0"}).json()
    assert again["message"] == "Training task queued" and again["data"]["already_queued"] is True
    assert again["data"]["calib_id"] == data["calib_id"] and data["already_queued"] is False
    fake.gate.set()
    assert _done_cal(client, a, rid, mid)[0]["status"] == "calibration_completed"
    assert [c["robot_type"] for c in fake.calls] == ["wheeled_mobile"]


def test_per_file_failures_are_reported_per_file(api):
    client, a, rid, mid, tmp, _ = api
    upload(client, a, rid, mid, csv_files(tmp / "c", 15) + csv_files(tmp / "b", 1, "bad"))
    client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "epochs": 1})
    c = _done_cal(client, a, rid, mid)[0]
    assert c["status"] == "calibration_completed"
    assert [e["original_filename"] for e in c["file_errors"]] == ["bad_00.csv"]
    upload(client, a, rid, mid, csv_files(tmp / "p", 1, "proc") + csv_files(tmp / "pb", 1, "bad_proc"), "process_file")
    client.post("/api/process", headers=a, json={"robot_id": rid, "mission_id": mid})
    inf = wait_for(lambda: (i := _inf(client, a, rid, mid)) and i[0]["status"] != "processing" and i)[0]
    assert inf["status"] == "processed"
    by = {f["original_filename"]: f for f in inf["files"]}
    assert by["proc_00.csv"]["risk_score"] is not None and by["bad_proc_00.csv"]["risk_score"] is None
    assert "unreadable" in by["bad_proc_00.csv"]["error"]


def test_failed_calibration_has_a_message(api):
    client, a, rid, mid, tmp, _ = api
    upload(client, a, rid, mid, csv_files(tmp / "c", 13) + csv_files(tmp / "b", 2, "bad"))
    client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "epochs": 1})
    c = _done_cal(client, a, rid, mid)[0]
    assert c["status"] == "calibration_failed" and c["message"] == "Expected 15 files, but found 13."
    d = client.get("/model/mission-details", headers=a, params={"mission_id": mid}).json()["data"]
    assert d["calibration_status"] == "calibration_failed" and d["inference_possible"] is False


@pytest.fixture
def live(tmp_path):
    """A live embedded server (real sockets, real threads) with a gated fake model."""
    from ridescan_ros.api.server import EmbeddedServer, free_port

    ex = FakeExecutor()
    client, keys = make_client(tmp_path, executor=ex)
    srv = EmbeddedServer(client.app, port=free_port())
    srv.start()
    try:
        with httpx.Client(base_url=srv.url, headers=keys["admin"], timeout=30) as http:
            rid, mid = robot_and_mission(http, keys["admin"])
            yield http, rid, mid, tmp_path, ex, srv
    finally:
        srv.stop()
    assert not srv.server.started or srv.server.should_exit


def test_concurrency_on_a_live_server(live):
    http, rid, mid, tmp, ex, srv = live
    a = {}
    paths = csv_files(tmp / "c", 16)
    # parallel uploads to one mission: every file lands exactly once
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: upload(http, a, rid, mid, paths[i * 2:(i + 1) * 2]), range(8)))
    assert all(r.status_code == 200 for r in results)
    names = [f["original_filename"] for f in http.get("/api/files/list", params={"robot_id": rid, "mission_id": mid}).json()["data"]["files"]]
    assert sorted(names) == sorted(p.name for p in paths)
    # two calibrate calls at once: one task
    ex.gate.clear()
    body = {"robot_id": rid, "mission_id": mid, "epochs": 2}
    with ThreadPoolExecutor(2) as pool:
        r1, r2 = pool.map(lambda _: http.post("/api/calibrate", json=body), range(2))
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["data"]["calib_id"] == r2.json()["data"]["calib_id"]
    assert ex.started.wait(10)
    # upload while training
    r = upload(http, a, rid, mid, csv_files(tmp / "p", 2, "proc"), "process_file")
    assert r.status_code == 200
    cal = http.get("/api/calibration/details", params={"robot_id": rid, "mission_id": mid}).json()["data"]["calibrations"]
    assert len(cal) == 1 and cal[0]["status"] == "calibrating"
    ex.gate.set()
    wait_for(lambda: http.get("/api/calibration/details", params={"robot_id": rid, "mission_id": mid})
             .json()["data"]["calibrations"][0]["status"] == "calibration_completed")
    assert len(ex.calls) == 1


def test_delete_mission_while_its_task_runs(live):
    http, rid, mid, tmp, ex, srv = live
    upload(http, {}, rid, mid, csv_files(tmp / "c", 15))
    ex.gate.clear()
    http.post("/api/calibrate", json={"robot_id": rid, "mission_id": mid, "epochs": 1})
    assert ex.started.wait(10)
    d = http.request("DELETE", "/api/deletemission", json={"criteria": {"robot_id": rid, "mission_id": mid}})
    assert d.status_code == 200
    svc = srv.server.config.app.state.service
    task = wait_for(lambda: (t := svc.store.one("SELECT * FROM tasks WHERE mission_id=?", (mid,))) and t["state"] == "failed" and t)
    ex.gate.set()
    assert "mission deleted" in task["message"]
    assert not (tmp / "data" / "models" / mid).exists() and not (tmp / "data" / "blobs" / mid).exists()
    assert svc.store.one("SELECT COUNT(*) AS n FROM files WHERE mission_id=?", (mid,))["n"] == 0
    r = http.get("/api/model/mission-details", params={"mission_id": mid})
    assert r.status_code == 404


def test_restart_resumes_running_and_runs_queued_tasks(tmp_path):
    from ridescan_ros.service import RideScanService

    svc = RideScanService(tmp_path / "d", executor=FakeExecutor())
    rid = svc.ensure_robot("acme", "r", "wheeled_mobile")
    mids = [svc.ensure_mission(rid, f"m{i}") for i in range(3)]
    for mid in mids:
        for p in csv_files(tmp_path / mid, 15):
            svc.add_file(rid, mid, p)
        svc.start_calibration(rid, mid, epochs=1)  # worker not started: all queued
    # simulate a kill -9 mid-task: one task left running, one that already used its attempts
    svc.store.run("UPDATE tasks SET state='running', attempts=1, started=? WHERE mission_id=?", (now(), mids[0]))
    svc.store.run("UPDATE tasks SET state='running', attempts=2 WHERE mission_id=?", (mids[1],))
    (tmp_path / "d" / "models" / mids[0] / ".tmp-half").mkdir(parents=True)
    svc.store.close()
    again = RideScanService(tmp_path / "d", executor=FakeExecutor())
    again.start()
    try:
        wait_for(lambda: all(again.calibration_status(m)["status"] != "calibrating" for m in mids))
        st = [again.calibration_status(m) for m in mids]
        assert st[0]["status"] == "calibration_completed" and "resumed" not in st[0]["message"]
        assert st[1]["status"] == "calibration_failed" and "restart" in st[1]["message"]
        assert st[2]["status"] == "calibration_completed"
        assert again.latest_model(mids[0]) is not None and again.latest_model(mids[1]) is None
        assert not list((tmp_path / "d" / "models").glob("*/.tmp-*"))
    finally:
        again.stop()


def test_stop_requeues_a_running_task(tmp_path):
    from ridescan_ros.service import RideScanService

    ex = FakeExecutor()
    ex.gate.clear()
    svc = RideScanService(tmp_path / "d", executor=ex)
    svc.start()
    rid, mid = mission_with_files(svc, tmp_path / "c", org="acme")
    svc.start_calibration(rid, mid, epochs=1)
    assert ex.started.wait(10)
    threading.Timer(0.2, ex.gate.set).start()
    svc.stop()
    again = RideScanService(tmp_path / "d", executor=FakeExecutor())
    assert again.store.one("SELECT state FROM tasks")["state"] in ("queued", "done")
    again.start()
    try:
        wait_for(lambda: again.calibration_status(mid)["status"] == "calibration_completed")
    finally:
        again.stop()


def test_a_zip_of_15_recordings_counts_15(api):
    import zipfile

    client, a, rid, mid, tmp, ex = api
    z = tmp / "runs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in csv_files(tmp / "c", 15):
            zf.write(p, f"export/{p.name}")
        zf.writestr("__MACOSX/export/._run_00.csv", "junk")
    r = upload(client, a, rid, mid, [z])
    assert r.status_code == 200 and r.json()["data"]["details"]["success"] is True
    m = client.post("/api/getmission", headers=a, json={"criteria": {"mission_id": mid}}).json()["mission_list"][0]
    assert m["calibration_possible"] is True
    client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "epochs": 1})
    assert _done_cal(client, a, rid, mid)[0]["status"] == "calibration_completed"
    paths = ex.calls[0]["paths"]
    assert len(paths) == 15 and all(p.endswith(".csv") and "/export/" in p for p in paths)


def test_failed_inference_keeps_the_mission_status_in_the_contracts_vocabulary(api):
    client, a, rid, mid, tmp, _ = api
    upload(client, a, rid, mid, csv_files(tmp / "c", 15))
    client.post("/api/calibrate", headers=a, json={"robot_id": rid, "mission_id": mid, "epochs": 1})
    _done_cal(client, a, rid, mid)
    bad = upload(client, a, rid, mid, csv_files(tmp / "b", 1, "bad_proc"), "process_file").json()["data"]["uploaded_files"]
    client.post("/api/process", headers=a, json={"robot_id": rid, "mission_id": mid})
    inf = wait_for(lambda: (i := _inf(client, a, rid, mid)) and i[0]["status"] != "processing" and i)[0]
    assert inf["status"] == "failed"

    def details():
        return client.get("/api/model/mission-details", headers=a, params={"mission_id": mid}).json()["data"]

    d = details()  # no inference ever completed
    assert d["inference_status"] == "not_processed" and "no file could be scored" in d["inference_error"]
    client.request("DELETE", "/api/blob/delete", headers=a, json={"robot_id": rid, "mission_id": mid,
                                                       "unique_filename": bad[0]["unique_filename"]})
    upload(client, a, rid, mid, csv_files(tmp / "p", 1, "proc"), "process_file")
    client.post("/api/process", headers=a, json={"robot_id": rid, "mission_id": mid})
    wait_for(lambda: _inf(client, a, rid, mid)[0]["status"] == "processed")
    d = details()
    assert d["inference_status"] == "processing_completed" and d["inference_error"] is None


def test_errors_name_the_clients_files_not_server_paths(tmp_path):
    from ridescan_ros.service.worker import _file_error, client_names

    blob = str(tmp_path / "blobs" / "m1" / "9f2c.csv")
    other = str(tmp_path / "blobs" / "m1" / "77aa.zip")
    by_path = {blob: {"unique_name": "u1_Day1.csv", "original_name": "Day1.csv"},
               other + "/run.csv": {"unique_name": "u2_all.zip", "original_name": "all.zip"}}
    e = _file_error(blob, f"same content as {other}/run.csv: counted once", by_path)
    assert e == {"unique_filename": "u1_Day1.csv", "original_filename": "Day1.csv",
                 "error": "same content as all.zip: counted once"}
    assert client_names(f"{blob}: no signal has data for 700.1 s", {blob: "Day1.csv"}) == \
        "Day1.csv: no signal has data for 700.1 s"
