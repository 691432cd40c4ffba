"""Test doubles and helpers for the sidecar tests (a fast fake model, app/client builders)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from ridescan_ros.core.errors import CalibrationError, RecordingError
from ridescan_ros.service import CalibOutcome, ScoreOutcome


class FakeExecutor:
    """Trains in ``epochs * epoch_s`` seconds; files whose name contains ``bad`` fail alone.

    ``gate`` (cleared) holds training before its first epoch, so tests can act while a
    task is running.
    """

    def __init__(self, epoch_s: float = 0.0) -> None:
        self.epoch_s = epoch_s
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.calls: list[dict] = []

    def calibrate(self, paths, robot_type, out_dir, *, epochs, batch_size, device, progress, topics=None):
        self.calls.append({"paths": list(paths), "robot_type": robot_type, "epochs": epochs, "topics": topics})
        self.started.set()
        while not self.gate.wait(0.05):
            progress(epoch=0, epochs=epochs)
        good = [p for p in paths if not _is_bad(p)]
        errors = {p: "not a recording of this robot" for p in paths if p not in good}
        if len(good) < 15:
            raise CalibrationError(f"Expected 15 files, but found {len(good)}.")
        for e in range(1, epochs + 1):
            time.sleep(self.epoch_s)
            progress(epoch=e, epochs=epochs, loss=1.0 / e)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        version = f"fake-{time.monotonic_ns()}"
        (Path(out_dir) / "manifest.json").write_text(json.dumps({"model_version": version}))
        return CalibOutcome(model_version=version, device="cpu", files_used=len(good), file_errors=errors,
                            seconds=0.01, durations={p: 10.0 for p in good})

    def scorer(self, model_dir, device):
        version = json.loads((Path(model_dir) / "manifest.json").read_text())["model_version"]

        def score(path: str) -> ScoreOutcome:
            if _is_bad(path):
                raise RecordingError(path, "unreadable")
            size = Path(path).stat().st_size if Path(path).is_file() else 1000
            return ScoreOutcome(risk_score=float(size % 90) + 5.0, model_version=version, duration_s=12.5,
                                detail={"top_signals": [{"signal": "a.position", "share": 1.0}]})

        return score


def _is_bad(path) -> bool:
    """Files written by ``csv_files(prefix="bad...")`` start with a marker (stored names are
    generated, so the fake cannot look at the client's file name)."""
    p = Path(path)
    return p.is_file() and p.read_bytes()[:4] == b"#BAD"


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


KEYS: dict[str, str] = {}


def make_client(tmp_path: Path, executor=None, **settings):
    """A ``TestClient`` (use as a context manager) on a fresh data dir with three keys.

    Returns (client, keys) where keys maps ``admin``, ``user``, ``user2``, ``other_org`` to
    header dicts.
    """
    from fastapi.testclient import TestClient

    from ridescan_ros.api import Settings, create_app
    from ridescan_ros.core.keys import create_key

    keys_file = tmp_path / "keys.yaml"
    keys = {}
    for label, org, role in (("admin", "acme", "admin"), ("user", "acme", "user"),
                             ("user2", "acme", "user"), ("other_org", "globex", "admin")):
        key, _ = create_key(keys_file, org, role)
        keys[label] = {"X-API-KEY": key}
    s = Settings(data_dir=tmp_path / "data", keys_file=keys_file,
                 executor=executor if executor is not None else FakeExecutor(), **settings)
    return TestClient(create_app(s), raise_server_exceptions=False), keys


def csv_files(folder: Path, n: int, prefix: str = "run") -> list[Path]:
    """``n`` small distinct wheeled-layout CSV files (enough for the fake model)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"{prefix}_{i:02d}.csv"
        rows = "\n".join(f"{1700000000 + j * 0.1:.1f},{i + j * 0.01:.3f}" for j in range(20 + i))
        marker = "#BAD\n" if prefix.startswith("bad") else ""
        p.write_text(marker + "timestamp,twist_linear_x\n" + rows + "\n")
        out.append(p)
    return out


def mission_with_files(svc, folder: Path, n: int = 15, org: str = "local") -> tuple[str, str]:
    """(robot_id, mission_id) of a new wheeled robot's mission holding ``n`` calibration CSVs."""
    rid = svc.ensure_robot(org, "r", "wheeled_mobile")
    mid = svc.ensure_mission(rid, "m")
    for p in csv_files(folder, n):
        svc.add_file(rid, mid, p)
    return rid, mid


def upload(client, headers, robot_id, mission_id, paths, file_type="calib_file", event_times=None):
    """POST the files as the SDK does (repeated ``files`` and ``event_times`` parts)."""
    files = [("files", (Path(p).name, open(p, "rb"), "application/octet-stream")) for p in paths]
    data = {"robot_id": robot_id, "mission_id": mission_id, "file_type": file_type}
    if event_times is not None:
        data["event_times"] = event_times
    try:
        return client.post("/api/file/upload", headers=headers, data=data, files=files)
    finally:
        for _, (_, f, _) in files:
            f.close()


def robot_and_mission(client, headers, robot_type="wheeled_mobile", name="r1"):
    """Create a robot and a mission; returns their ids."""
    r = client.post("/api/robot/create", headers=headers,
                    json={"params": {"robot_name": name, "robot_type": robot_type}})
    assert r.status_code == 200, r.text
    rid = r.json()["robot_id"]
    m = client.post("/api/createmission", headers=headers,
                    json={"params": {"robot_id": rid, "mission_name": "m1"}})
    assert m.status_code == 200, m.text
    return rid, m.json()["mission_id"]
