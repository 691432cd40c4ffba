"""Sidecar benchmark on loopback: read routes under 50 concurrent clients, upload throughput.

Usage: .venv/bin/python bench/bench_api.py [--requests 2000] [--clients 50] [--big-mb 500]
                                           [--out bench/results/api.md]

The server runs in its own process (``--serve`` mode of this script: the real app plus a
trivial ``/bench/noop`` route, the framework's own ceiling on the same server). Everything is
bounded: a fixed number of requests per route and two uploads, only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BOUNDARY = "BENCHBOUNDARY"


def serve(data_dir: str, port: int) -> None:
    """Server process: the sidecar app (insecure-local) plus a trivial route."""
    from ridescan_ros.api import Settings, create_app
    from ridescan_ros.api.server import serve_forever

    app = create_app(Settings(data_dir=Path(data_dir), insecure_local=True, max_upload_mb=1024))

    @app.get("/bench/noop")
    def noop() -> dict[str, bool]:
        return {"ok": True}

    serve_forever(app, "127.0.0.1", port, "warning")


def hwm_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _request_bytes(method: str, path: str, params: dict | None = None, json_body: dict | None = None) -> bytes:
    import json as _json
    from urllib.parse import urlencode

    target = path + ("?" + urlencode(params) if params else "")
    body = _json.dumps(json_body).encode() if json_body is not None else b""
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += "Content-Type: application/json\r\n"
    return (head + "\r\n").encode() + body


async def hammer(port: int, method: str, path: str, n: int, clients: int, params: dict | None = None,
                 json: dict | None = None) -> dict[str, float]:
    """``n`` requests over ``clients`` keep-alive connections; req/s and latency percentiles.

    A minimal HTTP/1.1 client on asyncio streams: httpx's own overhead would otherwise be
    what is measured on a small machine.
    """
    req = _request_bytes(method, path, params, json)
    lat: list[float] = []
    left = [n]
    errors = [0]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while left[0] > 0:
                left[0] -= 1
                t = time.perf_counter()
                writer.write(req)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                lat.append(time.perf_counter() - t)
                errors[0] += not head.startswith(b"HTTP/1.1 200")
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {"rps": len(lat) / wall, "p50": lat[len(lat) // 2] * 1e3,
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
            "mean": statistics.fmean(lat) * 1e3, "errors": errors[0]}


def upload_body(rid: str, mid: str, src: Path):
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"robot_id\"\r\n\r\n{rid}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"mission_id\"\r\n\r\n{mid}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{src.name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def gen():
        yield head
        with open(src, "rb") as f:
            while chunk := f.read(1 << 20):
                yield chunk
        yield tail

    return gen(), len(head) + src.stat().st_size + len(tail)


def upload_files(http: httpx.Client, base: str, rid: str, mid: str, src: Path, times: int) -> None:
    """``times`` uploads of ``src`` over one kept-alive connection; with curl when present
    (a Python client would be what is measured)."""
    if shutil.which("curl"):
        cmd = ["curl", "-sS", "-H", "Expect:"]
        for i in range(times):
            if i:
                cmd.append("--next")
            cmd += ["-o", "/dev/null", "-w", "%{http_code}\n", "-X", "POST", f"{base}/api/file/upload",
                    "-H", "Expect:", "-F", f"robot_id={rid}", "-F", f"mission_id={mid}", "-F", f"files=@{src}"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["200"] * times, out
        return
    for _ in range(times):
        gen, n = upload_body(rid, mid, src)
        r = http.post("/api/file/upload", content=gen, headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(n)})
        assert r.status_code == 200, r.text


def make_file(path: Path, size: int) -> Path:
    """A ROS 1 magic line then random-ish bytes (written, not sparse: a fair disk copy)."""
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        f.write(b"#ROSBAG V2.0\n")
        left = size - 13
        while left > 0:
            f.write(block[:min(left, len(block))])
            left -= len(block)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--big-mb", type=int, default=500)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    if a.serve:
        serve(a.serve[0], int(a.serve[1]))
        return 0
    from ridescan_ros.api.server import free_port

    work = Path(tempfile.mkdtemp(prefix="ridescan_bench_"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(work / "data"), str(port)])
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        http = httpx.Client(base_url=base, timeout=600)
        rid = http.post("/api/robot/create", json={"params": {"robot_name": "bench", "robot_type": "UR6"}}).json()["robot_id"]
        mid = http.post("/api/createmission", json={"params": {"robot_id": rid, "mission_name": "m"}}).json()["mission_id"]
        for i in range(20):  # a realistic listing: 20 robots, 20 files
            http.post("/api/robot/create", json={"params": {"robot_name": f"r{i}", "robot_type": "SPOT"}})
        small = make_file(work / "small.bag", 1 << 20)
        for _ in range(20):
            gen, n = upload_body(rid, mid, small)
            http.post("/api/file/upload", content=gen, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                                                                "Content-Length": str(n)})
        routes = [
            ("trivial FastAPI route (ceiling)", "GET", "/bench/noop", {}),
            ("POST /api/getrobot (21 robots)", "POST", "/api/getrobot", {"json": {"criteria": {}}}),
            ("POST /api/getmission", "POST", "/api/getmission", {"json": {"criteria": {"robot_id": rid}}}),
            ("GET /api/files/list (20 files)", "GET", "/api/files/list", {"params": {"robot_id": rid, "mission_id": mid}}),
            ("GET /api/model/mission-details", "GET", "/api/model/mission-details", {"params": {"mission_id": mid}}),
        ]
        asyncio.run(hammer(port, "GET", "/bench/noop", 200, a.clients))  # warm-up
        res = {name: asyncio.run(hammer(port, m, p, a.requests, a.clients, **kw)) for name, m, p, kw in routes}
        ceiling = res[routes[0][0]]["rps"]
        lines += [f"## Read routes: {a.requests} requests each, {a.clients} concurrent clients", "",
                  "| route | req/s | vs trivial | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
        for name, r in res.items():
            lines.append(f"| {name} | {r['rps']:.0f} | {r['rps'] / ceiling:.2f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} |")
        lines += ["", "## Uploads (one file per request, streamed; server peak memory from VmHWM)", "",
                  "One curl process sends the repetitions over one connection. Neither side fsyncs.", "",
                  "| file | upload MB/s (curl client) | raw disk copy MB/s | ratio | server RSS before MB | server peak MB |",
                  "|---|---|---|---|---|---|"]
        for size_mb in (1, a.big_mb):
            src = make_file(work / f"f{size_mb}.bag", size_mb << 20)
            reps = 20 if size_mb == 1 else 1
            t0 = time.perf_counter()
            for _ in range(reps):
                shutil.copyfile(src, work / "copy.bin")  # no fsync on either side: page cache
            copy_s = (time.perf_counter() - t0) / reps
            before = rss_mb(proc.pid)
            t0 = time.perf_counter()
            upload_files(http, base, rid, mid, src, reps)
            up_s = (time.perf_counter() - t0) / reps
            lines.append(f"| {size_mb} MB | {size_mb / up_s:.0f} | {size_mb / copy_s:.0f} | {copy_s / up_s:.2f} | "
                         f"{before:.0f} | {hwm_mb(proc.pid):.0f} |")
            (work / "copy.bin").unlink(missing_ok=True)
            src.unlink()
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    head = [f"# Sidecar API benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
            f"Loopback, server and load generator on one machine ({os.cpu_count()} cores, "
            f"{platform.python_implementation()} {platform.python_version()}), one uvicorn worker; "
            f"load average at the end {os.getloadavg()[0]:.1f} (other jobs share the machine: compare "
            "the ratios within this run, not the absolute figures across runs).", ""]
    text = "\n".join(head + lines) + "\n"
    print(text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
