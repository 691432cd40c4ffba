"""Uploads through the API: hostile names (BR-27), user zips (BR-30), bad files, size limits (BR-29)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sidecar_fakes import csv_files, make_client, robot_and_mission, upload

BAG_NAMES = {
    "absolute_unix": "ridescan.bag", "dotdot_unix": "ridescan_escape.bag", "dotdot_windows": "escape.bag",
    "windows_full_path": "ur5e run 3.bag",
}
REFUSED = {"nul_byte": "NUL", "only_dots": "no usable", "empty_name": "no usable"}


@pytest.fixture
def api(tmp_path):
    client, keys = make_client(tmp_path, start_worker=False, max_upload_mb=1, max_request_mb=3)
    with client:
        rid, mid = robot_and_mission(client, keys["admin"], robot_type="UR6")
        yield client, keys["admin"], rid, mid, tmp_path


def _files_outside(data_dir: Path) -> list[str]:
    """Every stored blob must be a generated name under blobs/<mission>/."""
    bad = []
    for p in (data_dir / "blobs").rglob("*"):
        if p.is_file() and not p.relative_to(data_dir / "blobs").parts[1].split(".")[0].isalnum():
            bad.append(str(p))
    return bad


def _raw(body: bytes, rid: str, mid: str) -> bytes:
    return body.replace(b"ROBOT_ID", rid.encode()).replace(b"MISSION_ID", mid.encode())


@pytest.mark.parametrize("case", sorted(BAG_NAMES) + sorted(REFUSED))
def test_br27_raw_bodies(api, cases_dir, case):
    client, a, rid, mid, tmp = api
    before = {p: p.stat().st_mtime for p in Path("/tmp").glob("ridescan_*escape*")}
    body = _raw((cases_dir / "BR-27" / "raw_bodies" / f"{case}.multipart").read_bytes(), rid, mid)
    r = client.post("/api/file/upload", content=body,
                    headers={**a, "Content-Type": "multipart/form-data; boundary=BRBOUNDARY27"})
    if case in BAG_NAMES:
        assert r.status_code == 200, r.text
        up = r.json()["data"]["uploaded_files"][0]
        assert up["original_filename"] == BAG_NAMES[case]
        assert up["unique_filename"].endswith("_" + BAG_NAMES[case])
    else:
        assert r.status_code == 400 and r.json()["error"]["code"] == "RS-VAL-005"
        assert REFUSED[case] in r.json()["error"]["details"]
    after = {p: p.stat().st_mtime for p in Path("/tmp").glob("ridescan_*escape*")}
    assert after == before
    assert not list(Path("/etc/cron.d").glob("ridescan*"))
    assert _files_outside(tmp / "data") == []
    assert list((tmp / "data" / "tmp").iterdir()) == []  # no staged part left behind


def test_good_file_stored_beside_bad_ones(api, cases_dir):
    client, a, rid, mid, tmp = api
    bag = (cases_dir / "BR-27" / "payload_ur5e.bag").read_bytes()
    parts = [(b"robot_id", None, rid.encode()), (b"mission_id", None, mid.encode()),
             (b"file_type", None, b"calib_file"),
             (b"files", b"run\x00.bag.csv", bag), (b"files", b"..", bag), (b"files", b"good.bag", bag),
             (b"files", b"good.bag", bag), (b"files", b"notes.txt", b"hello"), (b"files", b"empty.bag", b""),
             (b"files", b"fake.bag", b"timestamp,x\n1,2\n"), (b"files", b"truncated.zip", b"PK\x03\x04xx")]
    body = b""
    for name, fname, data in parts:
        disp = b'form-data; name="' + name + b'"' + (b'; filename="' + fname + b'"' if fname is not None else b"")
        body += b"--XB\r\nContent-Disposition: " + disp + b"\r\n\r\n" + data + b"\r\n"
    body += b"--XB--\r\n"
    r = client.post("/api/file/upload", content=body, headers={**a, "Content-Type": "multipart/form-data; boundary=XB"})
    assert r.status_code == 200, r.text
    d = r.json()["data"]["details"]
    assert d["success"] is False
    assert [u["original_filename"] for u in d["uploaded_files"]] == ["good.bag"]
    reasons = {f["original_filename"]: f["error"] for f in d["failed_files"]}
    assert len(d["failed_files"]) == 7
    assert "NUL" in reasons["run\\x00.bag.csv"] and "duplicate" in reasons["good.bag"]
    assert "unsupported" in reasons["notes.txt"] and "empty" in reasons["empty.bag"]
    assert "magic" in reasons["fake.bag"] and "zip" in reasons["truncated.zip"]
    listed = client.get("/api/files/list", headers=a, params={"robot_id": rid, "mission_id": mid}).json()
    assert [f["original_filename"] for f in listed["data"]["files"]] == ["good.bag"]
    assert listed["data"]["files"][0]["file_size"] == len(bag)


def test_br30_zips(api, cases_dir):
    client, a, rid, mid, tmp = api
    z = cases_dir / "BR-30"
    escapes = [Path("/tmp/ridescan_zip_escape.bag"), Path("/tmp/ridescan_zip_absolute.bag")]
    before = [p.exists() and p.stat().st_mtime for p in escapes]
    r = upload(client, a, rid, mid, [z / "mac_finder_compressed_run.zip", z / "mixed_contents.zip",
                                     z / "ratio_1000_to_1.zip", cases_dir / "BR-27" / "zip_slip.zip"])
    assert r.status_code == 200, r.text
    d = r.json()["data"]["details"]
    stored = {u["original_filename"]: u for u in d["uploaded_files"]}
    assert set(stored) == {"mac_finder_compressed_run.zip", "mixed_contents.zip"}
    mixed = {e["name"]: e["status"] for e in stored["mixed_contents.zip"]["entries"]}
    assert mixed["day3.bag"] == "accepted" and mixed["day3_notes.txt"] == "refused"
    failed = {f["original_filename"]: f["error"] for f in d["failed_files"]}
    assert "zip bomb" in failed["ratio_1000_to_1.zip"]
    assert "escapes" in failed["zip_slip.zip"]
    total = sum(p.stat().st_size for p in (tmp / "data").rglob("*") if p.is_file())
    assert total < 5 << 20  # the 200 MiB bomb was never extracted
    assert [p.exists() and p.stat().st_mtime for p in escapes] == before
    assert _files_outside(tmp / "data") == []


def test_event_times_in_order_and_aliases(api, tmp_path):
    client, a, rid, mid, _ = api
    paths = csv_files(tmp_path / "c", 3)
    times = ["2026-03-04T10:15:30", "2026-03-04T10:20:00", "2026-03-04T10:25:45"]
    r = upload(client, a, rid, mid, paths, "process_file", event_times=times)
    assert [u["event_time"] for u in r.json()["data"]["uploaded_files"]] == times
    # /api/upload/bulk with robot_pid/mission_pid and a part named "file"
    with open(paths[0], "rb") as f:
        r2 = client.post("/api/upload/bulk", headers=a, data={"robot_pid": rid, "mission_pid": mid,
                         "file_type": "calib_file"}, files=[("file", ("one.csv", f, "text/csv"))])
    assert r2.status_code == 200 and r2.json()["data"]["details"]["file type"] == "calib_file"
    inf = client.get("/api/inference/files", headers=a, params={"robot_id": rid, "mission_id": mid}).json()
    assert [f["event_time"] for f in inf["data"]["files"]] == times
    cal = client.get("/api/calibration/files", headers=a, params={"robot_id": rid, "mission_id": mid}).json()
    assert [f["original_filename"] for f in cal["data"]["files"]] == ["one.csv"]


def test_upload_request_errors(api, tmp_path):
    client, a, rid, mid, _ = api
    p = csv_files(tmp_path / "c", 1)
    r = upload(client, a, rid, mid, p, file_type="training")
    assert r.status_code == 400 and r.json()["error"]["code"] == "RS-VAL-005"
    r = client.post("/api/file/upload", headers=a, data={"robot_id": rid, "mission_id": mid})
    assert r.json()["error"]["code"] == "RS-VAL-001"
    r = client.post("/api/file/upload", headers=a, json={"robot_id": rid})
    assert r.status_code == 400 and r.json()["error"]["code"] == "RS-VAL-001"
    r = upload(client, a, rid, "00000000-0000-4000-8000-000000000000", p)
    assert r.status_code == 404 and r.json()["error"]["code"] == "RS-MSN-002"
    assert list((tmp_path / "data" / "tmp").iterdir()) == []


def test_size_limits(api, tmp_path):
    client, a, rid, mid, _ = api
    # declared too large: refused from the headers, before the body is read (early 413)
    big = b"x" * (4 << 20)
    r = client.post("/api/file/upload", headers={**a, "Content-Type": "multipart/form-data; boundary=X"}, content=big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "RS-REQ-413"

    def chunks():  # chunked body without Content-Length that never ends politely
        yield b"--X\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bag\"\r\n\r\n#ROSBAG V2.0\n"
        for _ in range(64):
            yield b"\0" * (1 << 16)

    r = client.post("/api/file/upload", headers={**a, "Content-Type": "multipart/form-data; boundary=X"},
                    content=chunks())
    assert r.status_code == 413 and r.json()["status"] == "error"
    # one file over the per-file limit is refused alone; the small one is stored
    small = tmp_path / "s.bag"
    small.write_bytes(b"#ROSBAG V2.0\n" + b"\0" * 100)
    large = tmp_path / "l.bag"
    large.write_bytes(b"#ROSBAG V2.0\n" + b"\0" * (1 << 20))
    r = upload(client, a, rid, mid, [large, small])
    d = r.json()["data"]["details"]
    assert [u["original_filename"] for u in d["uploaded_files"]] == ["s.bag"]
    assert "limit" in d["failed_files"][0]["error"]
    assert list((tmp_path / "data" / "tmp").iterdir()) == []


def test_blob_delete(api, tmp_path):
    client, a, rid, mid, tmp = api
    r = upload(client, a, rid, mid, csv_files(tmp_path / "c", 2))
    name = r.json()["data"]["uploaded_files"][0]["unique_filename"]
    before = sum(1 for p in (tmp / "data" / "blobs").rglob("*") if p.is_file())
    d = client.request("DELETE", "/api/blob/delete", headers=a, json={"robot_pid": rid, "mission_pid": mid, "filename": name})
    assert d.json() == {"data": None, "errors": None, "message": "Blob and DB record deleted successfully", "success": True}
    assert sum(1 for p in (tmp / "data" / "blobs").rglob("*") if p.is_file()) == before - 1
    again = client.request("DELETE", "/api/blob/delete", headers=a, json={"robot_id": rid, "mission_id": mid,
                                                                         "unique_filename": name})
    assert again.status_code == 404 and again.json()["error"]["code"] == "RS-FILE-001"
