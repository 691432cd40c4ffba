"""Robots, missions and the contract's shapes, spellings and error envelope (TestClient)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sidecar_fakes import make_client, robot_and_mission

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


@pytest.fixture
def api(tmp_path):
    client, keys = make_client(tmp_path, start_worker=False)
    with client:
        yield client, keys


def _err(resp, status, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == "error" and body["success"] is False and body["data"] is None
    assert body["error"]["code"] == code and body["error"]["help_url"]
    assert "Traceback" not in resp.text
    return body


def test_robot_crud_shapes(api):
    client, keys = api
    a = keys["admin"]
    r = client.post("/api/robot/create", headers=a, json={"params": {"robot_name": "spot-1", "robot_type": "SPOT"}})
    body = r.json()
    assert r.status_code == 200 and body["message"] == "Robot created" and body["robot_type"] == "spot"
    assert set(body) == {"created_time", "message", "modified_time", "robot_id", "robot_name", "robot_type"}
    assert ISO.match(body["created_time"]) and ISO.match(body["modified_time"])
    rid = body["robot_id"]
    _err(client.post("/api/robot/create", headers=a, json={"params": {"robot_name": "spot-1", "robot_type": "0"}}),
         409, "RS-ROBOT-001")
    lst = client.post("/api/getrobot", headers=a, json={"criteria": {"robot_type": "SPOT"}}).json()["robot_list"]
    assert [x["robot_id"] for x in lst] == [rid]
    # old SDKs send GET with a JSON body and no content type
    got = client.request("GET", "/api/getrobot", headers=a, content=b'{"criteria": {"robot_name": "spot-1"}}')
    assert got.json()["robot_list"][0]["robot_id"] == rid
    ed = client.patch("/api/editrobot", headers=a,
                      json={"criteria": {"robot_id": rid}, "params": {"robot_name": "spot-2", "robot_type": "ur6"}})
    assert ed.json()["message"] == "Robot edited" and ed.json()["robot_name"] == "spot-2"
    assert ed.json()["robot_type"] == "ur6"
    d = client.request("DELETE", "/api/deleterobot", headers=a, json={"criteria": {"robot_id": rid}})
    assert d.json() == {"message": "Robot deleted", "robot_id": rid, "robot_name": "spot-2", "robot_type": "ur6"}
    _err(client.request("DELETE", "/api/deleterobot", headers=a, json={"criteria": {"robot_id": rid}}),
         404, "RS-ROBOT-002")


@pytest.mark.parametrize("given, stored", [("SPOT", "spot"), ("spot", "spot"), ("0", "spot"), (0, "spot"),
                                           ("UR6", "ur6"), ("1", "ur6"), ("wheeled_mobile", "wheeled_mobile")])
def test_robot_type_spellings(api, given, stored):
    client, keys = api
    r = client.post("/api/robot/create", headers=keys["admin"], json={"params": {"robot_name": "x", "robot_type": given}})
    assert r.json()["robot_type"] == stored


def test_validation_errors(api):
    client, keys = api
    a = keys["admin"]
    body = _err(client.post("/api/robot/create", headers=a, json={"params": {"robot_type": "SPOT"}}), 400, "RS-VAL-001")
    assert "robot_name" in body["message"]
    _err(client.post("/api/robot/create", headers=a, json={"params": {"robot_name": "x", "robot_type": "tank"}}),
         400, "RS-VAL-003")
    _err(client.post("/api/robot/create", headers=a, content=b"{not json"), 400, "RS-VAL-001")
    _err(client.get("/api/nothing", headers=a), 404, "RS-REQ-404")


def test_mission_crud_and_ids_that_do_not_belong(api):
    client, keys = api
    a = keys["admin"]
    rid, mid = robot_and_mission(client, a)
    other, _ = robot_and_mission(client, a, name="r2")
    m = client.post("/api/getmission", headers=a, json={"criteria": {"robot_id": rid}}).json()["mission_list"]
    assert len(m) == 1 and m[0]["mission_id"] == mid and m[0]["robot_name"] == "r1"
    assert m[0]["robot_type"] == "wheeled_mobile" and m[0]["calibration_possible"] is False
    assert m[0]["inference_possible"] is False
    _err(client.post("/api/createmission", headers=a, json={"params": {"robot_id": rid, "mission_name": "m1"}}),
         409, "RS-MSN-001")
    e = client.patch("/api/editmission", headers=a,
                     json={"criteria": {"robot_id": rid, "mission_id": mid}, "params": {"mission_name": "m9"}})
    assert e.json()["message"] == "Mission edited" and e.json()["mission_name"] == "m9"
    _err(client.patch("/api/editmission", headers=a,
                      json={"criteria": {"robot_id": other, "mission_id": mid}, "params": {"mission_name": "z"}}),
         400, "RS-VAL-004")
    late = client.post("/api/getmission", headers=a, json={"criteria": {"start_time": "2999-01-01T00:00:00"}})
    assert late.json()["mission_list"] == []
    d = client.request("DELETE", "/api/deletemission", headers=a, json={"criteria": {"robot_id": rid, "mission_id": mid}})
    assert d.json() == {"message": "Mission deleted", "mission_id": mid, "mission_name": "m9", "robot_id": rid}
    _err(client.get("/api/model/mission-details", headers=a, params={"mission_id": mid}), 404, "RS-MSN-002")


def test_auth_keys_roles_and_orgs(api):
    client, keys = api
    _err(client.post("/api/getrobot", json={}), 401, "RS-AUTH-001")
    _err(client.post("/api/getrobot", headers={"X-API-KEY": "rsk_wrong"}, json={}), 401, "RS-AUTH-001")
    key = keys["user"]["X-API-KEY"]
    assert client.post("/api/getrobot", headers={"x-api-key": key}, json={}).status_code == 200
    assert client.post("/api/getrobot", headers={"Authorization": f"Bearer {key}"}, json={}).status_code == 200
    rid, mid = robot_and_mission(client, keys["user"])
    # the admin of the org sees it, another user of the org neither sees nor changes it
    assert len(client.post("/api/getrobot", headers=keys["admin"], json={}).json()["robot_list"]) == 1
    assert client.post("/api/getrobot", headers=keys["user2"], json={}).json()["robot_list"] == []
    _err(client.patch("/api/editrobot", headers=keys["user2"],
                      json={"criteria": {"robot_id": rid}, "params": {"robot_name": "stolen"}}), 403, "RS-AUTH-002")
    _err(client.get("/api/files/list", headers=keys["user2"], params={"robot_id": rid, "mission_id": mid}),
         403, "RS-AUTH-002")
    # another org cannot even learn that it exists
    _err(client.request("DELETE", "/api/deleterobot", headers=keys["other_org"], json={"criteria": {"robot_id": rid}}),
         404, "RS-ROBOT-002")
    # robot names are unique per org, not across orgs
    r = client.post("/api/robot/create", headers=keys["other_org"], json={"params": {"robot_name": "r1", "robot_type": 2}})
    assert r.status_code == 200


def test_keys_file_holds_only_hashes_and_cli_prints_key_once(tmp_path):
    keys = tmp_path / "k.yaml"
    out = subprocess.run([sys.executable, "-m", "ridescan_ros.cli", "keys", "create", "--keys", str(keys),
                          "--org", "acme", "--role", "user"], capture_output=True, text=True, check=True)
    key = out.stdout.strip()
    assert key.startswith("rsk_") and len(key) > 40
    text = keys.read_text()
    assert key not in text and key[4:] not in text and "sha256:" in text
    from ridescan_ros.core.keys import KeyRing

    entry = KeyRing(keys).lookup(key)
    assert entry is not None and entry.org == "acme" and entry.role == "user"
    assert KeyRing(keys).lookup(key + "x") is None


def test_serve_refuses_without_keys(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ridescan_ros.cli", "serve", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--insecure-local" in out.stderr


def test_building_the_app_imports_neither_rclpy_nor_torch(tmp_path):
    code = (
        "import sys\n"
        "from ridescan_ros.api import Settings, create_app\n"
        f"app = create_app(Settings(data_dir={str(tmp_path)!r}, insecure_local=True))\n"
        "from fastapi.testclient import TestClient\n"
        "with TestClient(app) as c:\n"
        "    assert c.post('/api/getrobot', json={}).status_code == 200\n"
        "print(sorted(m for m in ('rclpy', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_openapi_docs_and_oversized_json(api):
    client, keys = api
    spec = client.get("/openapi.json").json()
    assert "/api/file/upload" in spec["paths"] and "/api/model/mission-details" in spec["paths"]
    assert client.get("/docs").status_code == 200
    r = client.post("/api/getrobot", headers=keys["admin"], content=b"{" + b" " * (2 << 20) + b"}")
    assert r.status_code == 413 and r.json()["error"]["code"] == "RS-REQ-413"
    r = client.post("/api/getrobot", headers=keys["admin"], content=b"[1, 2]")
    assert r.status_code == 400 and r.json()["error"]["code"] == "RS-VAL-001"
    r = client.put("/api/getrobot", headers=keys["admin"], json={})
    assert r.status_code == 405 and r.json()["status"] == "error"
