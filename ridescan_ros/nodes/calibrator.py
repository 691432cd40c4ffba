"""The node's calibration runs and models, through the shared ``RideScanService``.

Runs are checked (readable, right robot) and copied into the store on a worker thread;
training is the service's task (its worker thread, training itself in a child process via
``ProcessExecutor``), so the API sidecar sees the same files, status and models. A new
model is loaded on a thread and handed to the node through ``take_new_scorer``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ridescan_ros.service import RideScanService
from ridescan_ros.service.errors import ServiceError
from ridescan_ros.service.resources import recordings_count

NOT_CALIBRATED = "not_calibrated"
CALIBRATING = "calibrating"
COMPLETED = "calibration_completed"
FAILED = "calibration_failed"


def check_recording(path: str, robot_type: str, topics: dict[str, str] | None = None) -> tuple[bool, str]:
    """(usable, reason): the recording reads and holds signals of ``robot_type`` (on the
    node's ``topics``); a zip of several recordings is usable when one of them is."""
    from ridescan_ros.core.errors import RideScanError
    from ridescan_ros.core.profiles import get_profile, select_signals
    from ridescan_ros.core.readers import expand_inputs, load_recording

    profile = get_profile(robot_type).with_topics(topics or {})
    items = expand_inputs([path]) or [path]
    good, seconds, why = 0, 0.0, ""
    for item in items:
        try:
            rec = load_recording(item)
            select_signals(rec, profile)
        except RideScanError as err:
            why = why or str(err)
            continue
        except Exception as err:  # noqa: BLE001 - a broken file must never stop the node
            why = why or f"{item}: {type(err).__name__}: {err}"
            continue
        good, seconds = good + 1, seconds + rec.duration_s()
    if not good:
        return False, why
    if len(items) == 1:
        return True, f"{seconds:.1f} s"
    return True, f"{good} of {len(items)} recordings usable, {seconds:.1f} s" + (f"; first refusal: {why}" if why else "")


def packed(path: str, work_dir: str) -> tuple[str, str]:
    """(file to store, its name): a file as it is; a rosbag2 folder (one or several split
    storage files, compressed or not, with or without metadata.yaml) zipped whole, so the
    store keeps it as ONE recording, as an uploaded zipped bag folder."""
    if not os.path.isdir(path):
        return path, os.path.basename(path)
    folder = os.path.basename(path.rstrip("/"))
    zpath = os.path.join(work_dir, folder + ".zip")
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if os.path.isfile(full) and not name.startswith("."):
                zf.write(full, arcname=f"{folder}/{name}")
    return zpath, folder + ".zip"


def load_scorer(model_dir: str) -> Any:
    """``model.scorer.Scorer.load`` (imports torch on first use), warmed up on one window
    so the first live window does not pay for torch's first call."""
    import numpy as np

    from ridescan_ros.core.frame import SignalFrame
    from ridescan_ros.model.scorer import Scorer

    scorer = Scorer.load(model_dir, device="cpu")
    n = len(scorer.signals)
    scorer.score_frame(SignalFrame(0.0, scorer.rate_hz, np.zeros((scorer.window, n)), list(scorer.signals)))
    return scorer


class Calibrator:
    """Calibration files, status and newest model of one robot/mission of the store."""

    def __init__(self, service: RideScanService, robot_type: str, robot_name: str,
                 mission_name: str, log: Callable[[str], None] = print, org: str = "local",
                 topics: dict[str, str] | None = None) -> None:
        self.service = service
        self.robot_type = robot_type
        self.topics = dict(topics or {})
        self.robot_id = service.ensure_robot(org, robot_name, robot_type)
        self.mission_id = service.ensure_mission(self.robot_id, mission_name)
        self._log = log
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ridescan-register")
        state_dir = os.path.join(service.data_dir, "node", self.mission_id)
        os.makedirs(state_dir, exist_ok=True)
        self._state_path = os.path.join(state_dir, "registered.json")
        self.files: list[dict] = self._load_state()
        self.message = ""
        self.status = NOT_CALIBRATED
        self.model_version: str | None = None
        self.model_dir: str | None = None
        self._new_scorer: Any = None
        self._loading: str | None = None
        self._closing = False
        self.stored = 0
        self.refresh()
        latest = service.latest_model(self.mission_id)
        if latest:
            self.model_dir, self.model_version = str(latest[0]), str(latest[1])

    def _load_state(self) -> list[dict]:
        try:
            with open(self._state_path, encoding="utf-8") as f:
                return list(json.load(f))
        except (OSError, ValueError):
            return []

    def _save_state(self) -> None:
        tmp = self._state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.files, f, indent=1)
        os.replace(tmp, self._state_path)

    def known(self) -> set[str]:
        """Every path ever offered (registered or refused), so restarts skip them."""
        with self._lock:
            return {f["path"] for f in self.files}

    def good_count(self) -> int:
        """Calibration runs this node registered (watched folder, recorded runs)."""
        with self._lock:
            return sum(1 for f in self.files if f["ok"])

    def stored_count(self) -> int:
        """Calibration recordings of the mission in the store: the node's runs and files
        uploaded through the sidecar alike (what a calibration would train on)."""
        rows = [r for r in self.service.files.rows(self.mission_id) if r["file_type"] == "calib_file"]
        return recordings_count(rows)

    def retry_worth_it(self) -> bool:
        """After a failed calibration: only once the mission has more calibration files than
        the failed one used (the same files would fail the same way)."""
        st = self.service.calibration_status(self.mission_id)
        used = [r for r in self.service.files.rows(self.mission_id) if r["unique_name"] in set(st.get("files") or [])]
        return self.stored_count() > recordings_count(used)  # recordings against recordings

    def snapshot(self) -> dict:
        """JSON for /ridescan/calibration_status (``files`` as of the last ``refresh``)."""
        stored = self.stored
        with self._lock:
            return {"status": self.status, "files": stored,
                    "registered_runs": sum(1 for f in self.files if f["ok"]),
                    "rejected_files": sum(1 for f in self.files if not f["ok"]),
                    "model_version": self.model_version, "robot_type": self.robot_type,
                    "mission_id": self.mission_id, "message": self.message}

    def register(self, path: str, on_done: Callable[[], None] | None = None) -> None:
        """Check ``path`` and add it to the store as a calibration file (worker thread)."""

        def job() -> None:
            ok, reason = check_recording(path, self.robot_type, self.topics)
            if ok:
                try:
                    with tempfile.TemporaryDirectory(dir=self.service.data_dir) as work:
                        src, name = packed(path, work)
                        self.service.add_file(self.robot_id, self.mission_id, src, original_name=name)
                except (ServiceError, OSError) as err:
                    ok, reason = False, str(err)
            with self._lock:
                self.files = [f for f in self.files if f["path"] != path]
                self.files.append({"path": path, "ok": ok, "reason": reason, "added": time.time()})
                self._save_state()
            self._log(f"calibration run {'registered' if ok else 'refused'}: {path} ({reason})")
            if on_done is not None:
                on_done()

        if not self._closing:
            self._pool.submit(job)

    def start(self, epochs: int, batch_size: int, device: str) -> tuple[bool, str]:
        """Queue a calibration in the service; (queued, message). Never blocks on training."""
        try:
            cid = self.service.start_calibration(
                self.robot_id, self.mission_id, epochs=epochs, batch_size=batch_size,
                device=device, retrain=self.model_dir is not None, robot_type=self.robot_type,
                topics=self.topics)
        except ServiceError as err:
            return False, str(err)
        self.refresh()
        return True, f"calibration {cid} queued"

    def refresh(self) -> None:
        """Read the newest calibration's status; start loading a newly finished model."""
        st = self.service.calibration_status(self.mission_id)
        self.stored = self.stored_count()
        with self._lock:
            self.status = str(st.get("status", NOT_CALIBRATED))
            self.message = str(st.get("message", ""))
        if self.status != COMPLETED or self._closing:
            return
        latest = self.service.latest_model(self.mission_id)
        if latest is None or str(latest[0]) in (self.model_dir, self._loading):
            return
        self._loading = str(latest[0])
        threading.Thread(target=self._load, args=(str(latest[0]), str(latest[1])), daemon=True,
                         name="ridescan-load-model").start()

    def _load(self, model_dir: str, version: str) -> None:
        try:
            scorer = load_scorer(model_dir)
        except Exception as err:  # noqa: BLE001 - keep the old model, say why
            with self._lock:
                self.message = f"new model {version} does not load: {err}"
            self._log(self.message)
            return
        with self._lock:
            self.model_dir, self.model_version = model_dir, str(scorer.model_version or version)
            self._new_scorer = scorer

    def take_new_scorer(self) -> Any:
        """The freshly trained scorer once (then None)."""
        with self._lock:
            s, self._new_scorer = self._new_scorer, None
            return s

    def close(self) -> None:
        """Stop registering: the check under way finishes, queued ones are dropped (and offered
        again by the watcher after a restart, as they are not in the registered list)."""
        self._closing = True
        self._pool.shutdown(wait=True, cancel_futures=True)
