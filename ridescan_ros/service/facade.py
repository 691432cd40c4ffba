"""``RideScanService``: the one object the API and the ROS node share per data dir."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ridescan_ros.core.archives import ZipLimits
from ridescan_ros.core.store import Store
from ridescan_ros.core.uploads import BlobDir, UploadRefused, check_file_type
from ridescan_ros.service.access import Principal
from ridescan_ros.service.errors import ServiceError
from ridescan_ros.service.executor import Executor, ModelExecutor
from ridescan_ros.service.files import Files, StagedPart
from ridescan_ros.service.resources import Resources, robot_type_name
from ridescan_ros.service.tasks import Tasks
from ridescan_ros.service.worker import TaskWorker

log = logging.getLogger("ridescan_ros.service")


@dataclass
class ServiceSettings:
    """Where data lives and how hard the worker may work."""

    data_dir: Path
    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    train_threads: int = 1
    score_threads: int = 1
    executor: Executor | None = None  # None: the real model, imported lazily


class RideScanService:
    """Store, blobs, use cases and the task worker of one data dir.

    Attributes:
        resources: robots and missions; files: uploads; tasks: calibrations/inferences.
    """

    def __init__(self, data_dir: str | Path | ServiceSettings, *, executor: Executor | None = None) -> None:
        s = data_dir if isinstance(data_dir, ServiceSettings) else ServiceSettings(Path(data_dir))
        self.settings = s
        self.data_dir = Path(s.data_dir).resolve()
        self.store = Store(self.data_dir / "ridescan.sqlite3")
        self.blobs = BlobDir(self.data_dir)
        self.resources = Resources(self.store)
        self.files = Files(self.store, self.blobs, s.zip_limits)
        self.tasks = Tasks(self.store)
        self.worker = TaskWorker(self.store, self.files, self.data_dir / "models",
                                 executor or s.executor or ModelExecutor(),
                                 train_threads=s.train_threads, score_threads=s.score_threads)
        self._lock: _WorkerLock | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Take the data dir's worker lock, recover tasks from a previous run, start the worker.

        Raises:
            ServiceError: RS-SYS-001 when another process (a ``ridescan serve`` or a node)
                runs the worker of this data dir: two workers would train the same task twice.
        """
        if self._lock is None:
            self._lock = _WorkerLock(self.data_dir / "worker.lock")
            # only the lock holder tidies: another process's uploads may be in flight otherwise
            self.blobs.clean_staging()
            known = {r["stored_path"] for r in self.store.all("SELECT stored_path FROM files")}
            for rel in self.blobs.sweep_orphans(known):
                log.warning("removed %s: a blob no file refers to (left by a crash)", rel)
        self.worker.start()

    def stop(self) -> None:
        """Stop the worker (a cut-short task is queued again), close the store, drop the lock."""
        self.worker.stop()
        self.store.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- use cases shared by the API ------------------------------------------------------
    def upload(self, p: Principal, robot_id: Any, mission_id: Any, file_type: Any,
               parts: list[StagedPart], event_times: list[str]) -> dict[str, Any]:
        """Keep or refuse each staged part; the API's upload ``data`` object.

        Staged parts are always consumed: published, or removed when refused.
        """
        try:
            robot, mission = self.resources.mission(p, robot_id, mission_id)
            try:
                ftype = check_file_type(file_type)
            except UploadRefused as err:
                raise ServiceError("RS-VAL-005", "Invalid file_type", err.reason) from None
        except ServiceError:
            for part in parts:
                if part.staged is not None:
                    part.staged.unlink(missing_ok=True)
            raise
        uploaded, failed = self.files.accept(robot, mission, ftype, parts, event_times)
        return {
            "robot_id": robot["id"], "mission_id": mission["id"], "org_id": robot["org"],
            "uploaded_files": uploaded,
            "details": {"success": not failed, "file type": ftype, "file_type": ftype,
                        "original_filenames": [u["original_filename"] for u in uploaded],
                        "uploaded_files": uploaded, "failed_files": failed},
        }

    def delete_mission(self, p: Principal, robot_id: Any, mission_id: Any) -> dict[str, Any]:
        """Delete a mission, its files, models and scores; a running task stops and fails."""
        out = self.resources.delete_mission(p, robot_id, mission_id)
        self._purge(out["mission_id"])
        return out

    def delete_robot(self, p: Principal, robot_id: Any) -> dict[str, Any]:
        """Delete a robot and everything under it."""
        out, mids = self.resources.delete_robot(p, robot_id)
        for mid in mids:
            self._purge(mid)
        return out

    def _purge(self, mission_id: str) -> None:
        self.tasks.cancel_mission(mission_id)
        self.files.delete_mission_blobs(mission_id)
        shutil.rmtree(self.data_dir / "models" / mission_id, ignore_errors=True)

    def calibrate(self, p: Principal, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Queue (or join) a calibration; returns (task row, created_now)."""
        robot, mission = self.resources.mission(p, body.get("robot_id"), body.get("mission_id"))
        task, created = self.tasks.queue_calibration(robot, mission, self.files.rows(mission["id"]), body)
        self.worker.notify("calibrate")
        return task, created

    def process(self, p: Principal, body: dict[str, Any]) -> dict[str, Any]:
        """Queue an inference over the mission's process files."""
        robot, mission = self.resources.mission(p, body.get("robot_id"), body.get("mission_id"))
        task = self.tasks.queue_inference(robot, mission, self.files.rows(mission["id"]), body)
        self.worker.notify("process")
        return task

    # -- in-process facade for the ROS node (no auth: the node is the operator) -----------
    def ensure_robot(self, org: str, name: str, robot_type: str) -> str:
        """Id of the robot named ``name`` in ``org``, created if missing.

        Raises:
            ServiceError: RS-VAL-004 when a robot of that name has another type (its files
                and models are of that type; reusing it would mix profiles).
        """
        p = Principal(org=org, role="admin", key_id="node")
        found = self.resources.find_robots(p, {"robot_name": name})
        if found:
            have, want = found[0]["robot_type"], robot_type_name(robot_type)
            if have != want:
                raise ServiceError("RS-VAL-004", "Robot type mismatch",
                                   f"robot {name!r} in org {org!r} is {have!r}, not {want!r}: "
                                   "choose another robot_name or edit that robot's type")
            return found[0]["robot_id"]
        return self.resources.create_robot(p, name, robot_type)["robot_id"]

    def ensure_mission(self, robot_id: str, name: str) -> str:
        """Id of the robot's mission ``name``, created if missing."""
        p = self._owner(robot_id)
        found = self.resources.find_missions(p, {"robot_id": robot_id, "mission_name": name})
        if found:
            return found[0]["mission_id"]
        return self.resources.create_mission(p, robot_id, name)["mission_id"]

    def add_file(self, robot_id: str, mission_id: str, path: str | Path, original_name: str | None = None,
                 file_type: str = "calib_file", event_time: str | None = None) -> str:
        """Copy a local recording into the mission; returns its ``unique_filename``.

        Raises:
            ServiceError: RS-VAL-005 with the reason when the file is refused.
        """
        src = Path(path)
        staged = self.blobs.staging_path()
        shutil.copyfile(src, staged)
        part = StagedPart(original_name or src.name, staged, staged.stat().st_size)
        data = self.upload(self._owner(robot_id), robot_id, mission_id, file_type, [part], [event_time or ""])
        if data["details"]["failed_files"]:
            raise ServiceError("RS-VAL-005", "File refused", data["details"]["failed_files"][0]["error"])
        return data["uploaded_files"][0]["unique_filename"]

    def start_calibration(self, robot_id: str, mission_id: str, epochs: int = 100, batch_size: int = 128,
                          device: str = "auto", retrain: bool = False, robot_type: str | None = None,
                          topics: dict[str, str] | None = None) -> str:
        """Queue a calibration of all the mission's calib files; returns its ``calib_id``."""
        body = {"robot_id": robot_id, "mission_id": mission_id, "epochs": epochs, "topics": topics,
                "batch_size": batch_size, "device": device, "retrain": retrain, "robot_type": robot_type}
        task, _ = self.calibrate(self._owner(robot_id), body)
        return task["ref_id"]

    def calibration_status(self, mission_id: str) -> dict[str, Any]:
        """Newest calibration in API vocabulary: ``{status, progress, message, calib_id, ...}``.

        ``status`` is ``not_calibrated`` when the mission has never been calibrated.
        """
        cals = self.tasks.calibrations(mission_id)
        return cals[0] if cals else {"status": "not_calibrated", "progress": {}, "message": ""}

    def latest_model(self, mission_id: str) -> tuple[str, str] | None:
        """``(model_dir, model_version)`` of the mission's newest model, or ``None``."""
        m = self.tasks.latest_model(mission_id)
        return (m["model_dir"], m["model_version"]) if m else None

    def _owner(self, robot_id: str) -> Principal:
        row = self.store.one("SELECT org, owner FROM robots WHERE id=?", (robot_id,))
        if row is None:
            raise ServiceError("RS-ROBOT-002", "Robot not found", f"no robot with id {robot_id!r}")
        return Principal(org=row["org"], role="admin", key_id=row["owner"])


class _WorkerLock:
    """An exclusive ``flock`` on a file of the data dir, held while the worker runs; the
    kernel drops it when the process dies (kill -9 included), so it never goes stale."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise ServiceError("RS-SYS-001", "Data dir in use",
                               f"{path.parent} is served by another ridescan process (pid {holder}); "
                               "stop it or use another data dir (the node embeds the API: "
                               "api.enabled: true)") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        """Unlock and close (idempotent)."""
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1
