"""BR-29: large uploads stream to the data dir with flat memory; over the limit -> early 413;
a full disk is reported and leaves no partial file."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sidecar_fakes import make_client, robot_and_mission

from ridescan_ros.api.server import free_port

BOUNDARY = "BIGBOUNDARY29"


def _hwm_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def insecure_server(tmp_path):
    """``ridescan serve --insecure-local`` (loopback only) with a 1200 MB per-file limit."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ridescan_ros.cli", "serve", "--insecure-local", "--host", "0.0.0.0",
         "--port", str(port), "--data-dir", str(tmp_path / "data"), "--max-upload-mb", "1200",
         "--max-request-mb", "1300", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
        time.sleep(0.2)
    try:
        yield base, proc, tmp_path / "data", port
    finally:
        proc.terminate()
        proc.wait(20)


def _body(rid: str, mid: str, size: int, chunk: int = 1 << 20):
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"robot_id\"\r\n\r\n{rid}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"mission_id\"\r\n\r\n{mid}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.bag\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n#ROSBAG V2.0\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    total = len(head) + (size - 13) + len(tail)

    def gen():
        yield head
        left = size - 13
        block = b"\0" * chunk
        while left > 0:
            yield block[:min(chunk, left)]
            left -= chunk
        yield tail

    return gen(), total


def _stream_upload(base: str, size: int) -> tuple[httpx.Response, float]:
    with httpx.Client(base_url=base, timeout=300) as http:
        r = http.post("/api/robot/create", json={"params": {"robot_name": f"big-{size}", "robot_type": "UR6"}})
        rid = r.json()["robot_id"]
        mid = http.post("/api/createmission", json={"params": {"robot_id": rid, "mission_name": "m"}}).json()["mission_id"]
        gen, total = _body(rid, mid, size)
        t0 = time.perf_counter()
        resp = http.post("/api/file/upload", content=gen, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(total)})
        return resp, time.perf_counter() - t0


def _check_flat_memory(base, proc, data_dir, size):
    before = _hwm_kb(proc.pid)
    resp, _ = _stream_upload(base, size)
    assert resp.status_code == 200, resp.text
    grown_mb = (_hwm_kb(proc.pid) - before) / 1024
    assert grown_mb < 64, f"server peak memory grew {grown_mb:.0f} MB for a {size >> 20} MB upload"
    stored = [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]
    assert [p.stat().st_size for p in stored] == [size]
    assert list((data_dir / "tmp").iterdir()) == []


def test_200mb_upload_streams_with_flat_memory(insecure_server):
    base, proc, data_dir, _ = insecure_server
    _check_flat_memory(base, proc, data_dir, 200 << 20)


@pytest.mark.slow
def test_1gb_upload_streams_with_flat_memory(insecure_server):
    base, proc, data_dir, _ = insecure_server
    _check_flat_memory(base, proc, data_dir, 1 << 30)


def test_declared_oversize_answered_before_the_body(insecure_server):
    """A 6 GiB Content-Length gets its 413 after the headers, with the envelope."""
    base, _, data_dir, port = insecure_server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((f"POST /api/file/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                   f"Content-Length: {6 << 30}\r\n\r\n").encode() + b"--" + BOUNDARY.encode())
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b'"RS-REQ-413"' in body and b'"status":"error"' in body
    assert not any(p.is_file() for p in (data_dir / "blobs").rglob("*"))


def test_insecure_local_binds_loopback_only(insecure_server):
    _, proc, _, port = insecure_server
    addrs = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    outside = [a for a in addrs if ":" not in a and not a.startswith("127.")]
    if not outside:
        pytest.skip("this machine has no non-loopback IPv4 address to probe")
    with pytest.raises(OSError):
        socket.create_connection((outside[0], port), timeout=2).close()
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_disk_full_is_reported_and_leaves_nothing(tmp_path, monkeypatch):
    import ridescan_ros.api.multipart as mp

    real_open = open

    class FullDisk:
        def __init__(self, path):
            self.f = real_open(path, "wb")

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def close(self):
            self.f.close()

    monkeypatch.setattr(mp, "open", lambda path, mode: FullDisk(path), raising=False)
    client, keys = make_client(tmp_path, start_worker=False)
    with client:
        rid, mid = robot_and_mission(client, keys["admin"])
        r = client.post("/api/file/upload", headers=keys["admin"], data={"robot_id": rid, "mission_id": mid},
                        files=[("files", ("a.bag", b"#ROSBAG V2.0\n" + b"\0" * 1000, "application/octet-stream"))])
    assert r.status_code == 507 and r.json()["error"]["code"] == "RS-SYS-002"
    assert "disk full" in r.json()["message"] + r.json()["error"]["details"]
    assert list((tmp_path / "data" / "tmp").iterdir()) == []
    assert not any(p.is_file() for p in (tmp_path / "data" / "blobs").rglob("*"))


def test_bad_ids_refused_before_the_file_is_stored(insecure_server):
    """Ids are checked when the first file part starts: a 1 GB upload to a missing mission is
    answered 404 after a few bytes, and nothing is staged."""
    _, _, data_dir, port = insecure_server
    missing = "00000000-0000-4000-8000-000000000000"
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"robot_id\"\r\n\r\n{missing}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"mission_id\"\r\n\r\n{missing}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bag\"\r\n\r\n"
            "#ROSBAG V2.0\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((f"POST /api/file/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                   f"Content-Length: {1 << 30}\r\n\r\n").encode() + head + b"\0" * 65536)
        data = b""
        while not data.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 404") and b'"RS-ROBOT-002"' in data
    assert list((data_dir / "tmp").iterdir()) == []
