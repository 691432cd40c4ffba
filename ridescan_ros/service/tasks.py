"""Calibration and inference tasks: queue them, and show them in the API's vocabulary.

A task row is the single source of truth for a calibration (``calib_id``) or an inference
(``infer_id``): the request thread only inserts it, the worker moves it through
``queued -> running -> done | failed``, and every view below is derived from it.
"""

from __future__ import annotations

import uuid
from typing import Any

from ridescan_ros.core.store import Store, dumps, iso, loads, now, rfc1123
from ridescan_ros.service.errors import ServiceError, bad_enum, missing
from ridescan_ros.service.resources import MIN_CALIB_FILES, recordings_count, robot_type_name

CALIB_STATUS = {"queued": "calibrating", "running": "calibrating", "done": "calibration_completed",
                "failed": "calibration_failed"}
INFER_STATUS = {"queued": "processing", "running": "processing", "done": "processed", "failed": "failed"}
DEVICES = ("auto", "cpu", "cuda")


def _int(body: dict[str, Any], keys: tuple[str, ...], default: int, lo: int, hi: int) -> int:
    for k in keys:
        if body.get(k) not in (None, ""):
            try:
                v = int(body[k])
            except (TypeError, ValueError):
                raise ServiceError("RS-VAL-001", f"Invalid {k}", f"{k} must be an integer") from None
            if not lo <= v <= hi:
                raise ServiceError("RS-VAL-001", f"Invalid {k}", f"{k} must be in {lo}..{hi}")
            return v
    return default


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _device(value: object, default: str) -> str:
    dev = str(value or default).strip().lower()
    if dev not in DEVICES:
        raise bad_enum("device", value, ", ".join(DEVICES))
    return dev


def _names(value: object) -> list[str] | None:
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ServiceError("RS-VAL-001", "Invalid blob_names", "blob_names must be a list of unique filenames")


class Tasks:
    """Queue and describe calibrations and inferences of missions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def active(self, mission_id: str, kind: str) -> dict[str, Any] | None:
        """The queued or running task of a kind for a mission, if any."""
        return self.store.one(
            "SELECT * FROM tasks WHERE mission_id=? AND kind=? AND state IN ('queued','running') "
            "ORDER BY created LIMIT 1", (mission_id, kind),
        )

    def latest_model(self, mission_id: str) -> dict[str, Any] | None:
        """The newest model row of a mission, or ``None``."""
        return self.store.one(
            "SELECT * FROM models WHERE mission_id=? ORDER BY version DESC LIMIT 1", (mission_id,)
        )

    def queue_calibration(self, robot: dict, mission: dict, files: list[dict], body: dict[str, Any]) -> tuple[dict, bool]:
        """Insert a calibration task (atomically); returns (task, created_now).

        A second call while one is queued or running returns that one instead of a second
        training of the same mission.
        """
        names = _names(body.get("blob_names") or body.get("file_names"))
        calib = [f for f in files if f["file_type"] == "calib_file"]
        if names is not None:
            known = {f["unique_name"]: f for f in files}
            bad = [n for n in names if n not in known or known[n]["file_type"] != "calib_file"]
            if bad:
                raise ServiceError("RS-VAL-004", "Files do not belong to this mission's calibration files",
                                   "unknown or non-calibration files: " + ", ".join(bad))
            calib = [known[n] for n in dict.fromkeys(names)]
        rtype = robot["robot_type"]
        warning = None
        asked = body.get("robot_type")
        if asked not in (None, "") and robot_type_name(asked) != rtype:
            # the SDK sends robot_type="SPOT" unless told otherwise: the robot's own type wins
            warning = (f"robot_type {asked!r} ignored: this robot is {rtype!r}, and its files are "
                       "read with that profile (edit the robot to change its type)")
        params = {
            "robot_type": rtype,
            "epochs": _int(body, ("epochs", "epochs1"), 100, 1, 100_000),
            "batch_size": _int(body, ("batch_size",), 128, 1, 1 << 20),
            "device": _device(body.get("device"), "auto"),
            "retrain": _bool(body.get("retrain", False)),
            "files": [f["unique_name"] for f in calib],
            "topics": _topics(body.get("topics")),
        }
        found = recordings_count(calib)
        if found < MIN_CALIB_FILES:
            raise ServiceError("RS-VAL-001", f"Expected {MIN_CALIB_FILES} files, but found {found}.",
                               f"upload at least {MIN_CALIB_FILES} calibration recordings")
        with self.store.tx() as c:
            row = c.execute("SELECT * FROM tasks WHERE mission_id=? AND kind='calibrate' AND state IN "
                            "('queued','running') ORDER BY created LIMIT 1", (mission["id"],)).fetchone()
            if row is not None:
                return dict(row, warning=warning), False
            has_model = c.execute("SELECT 1 FROM models WHERE mission_id=?", (mission["id"],)).fetchone()
            if has_model and not params["retrain"]:
                raise ServiceError("RS-VAL-004", "Model already exists.",
                                   "pass retrain=true to train a new model version")
            task = self._insert(c, "calibrate", robot, mission, params)
        return dict(task, warning=warning), True

    def queue_inference(self, robot: dict, mission: dict, files: list[dict], body: dict[str, Any]) -> dict:
        """Insert an inference task over process files, pinned to the newest model."""
        model = self.latest_model(mission["id"])
        if model is None:
            raise ServiceError("RS-MOD-001", "Model not found",
                               "the mission has no completed calibration; calibrate first")
        names = _names(body.get("blob_names") or body.get("file_names"))
        chosen = [f for f in files if f["file_type"] == "process_file"]
        if names is not None:
            known = {f["unique_name"]: f for f in files}
            bad = [n for n in names if n not in known]
            if bad:
                raise ServiceError("RS-VAL-004", "Files do not belong to this mission",
                                   "unknown files: " + ", ".join(bad))
            chosen = [known[n] for n in dict.fromkeys(names)]
        if not chosen:
            raise missing("process files (upload files with file_type=process_file first)")
        params = {"device": _device(body.get("device"), "cpu"), "files": [f["unique_name"] for f in chosen],
                  "model": {k: model[k] for k in ("version", "model_dir", "model_version")}}
        with self.store.tx() as c:
            return self._insert(c, "process", robot, mission, params)

    def _insert(self, c: Any, kind: str, robot: dict, mission: dict, params: dict) -> dict:
        tid, ref = str(uuid.uuid4()), str(uuid.uuid4())
        c.execute(
            "INSERT INTO tasks (id, ref_id, kind, mission_id, robot_id, state, params, progress, created) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (tid, ref, kind, mission["id"], robot["id"], "queued", dumps(params),
             dumps({"stage": "queued", "files_total": len(params["files"]), "files_done": 0}), now()),
        )
        return dict(c.execute("SELECT * FROM tasks WHERE id=?", (tid,)).fetchone())

    def cancel_mission(self, mission_id: str) -> None:
        """Fail a deleted mission's queued tasks (running ones stop at their next progress)."""
        self.store.run("UPDATE tasks SET state='failed', message='mission deleted', finished=? "
                       "WHERE mission_id=? AND state='queued'", (now(), mission_id))

    # -- views ----------------------------------------------------------------------------
    def calibrations(self, mission_id: str) -> list[dict[str, Any]]:
        """Calibrations of a mission, newest first, as ``/api/calibration/details`` shows them."""
        out = []
        for t in self.store.all("SELECT * FROM tasks WHERE mission_id=? AND kind='calibrate' "
                                "ORDER BY created DESC, rowid DESC", (mission_id,)):
            p, res = loads(t["params"]), loads(t["result"]) or {}
            out.append({
                "calib_id": t["ref_id"], "task_id": t["id"], "status": CALIB_STATUS[t["state"]],
                "created_time": iso(t["created"]),
                "training_time": rfc1123(t["finished"]) if t["state"] == "done" else None,
                "epochs": p["epochs"], "batch_size": p["batch_size"], "device": res.get("device", p["device"]),
                "robot_type": p["robot_type"], "retrain": p["retrain"], "files": p["files"],
                "message": t["message"] or "", "progress": loads(t["progress"]) or {},
                "model_version": res.get("model_version"), "version": res.get("version"),
                "file_errors": res.get("file_errors", []),
            })
        return out

    def inferences(self, mission_id: str) -> list[dict[str, Any]]:
        """Inferences of a mission, newest first, each with per-file results."""
        out = []
        for t in self.store.all("SELECT * FROM tasks WHERE mission_id=? AND kind='process' "
                                "ORDER BY created DESC, rowid DESC", (mission_id,)):
            p = loads(t["params"])
            scores = {s["unique_name"]: s for s in self.store.all(
                "SELECT * FROM scores WHERE infer_id=?", (t["ref_id"],))}
            names = {r["unique_name"]: r["original_name"] for r in self.store.all(
                "SELECT unique_name, original_name FROM files WHERE mission_id=?", (mission_id,))}
            files = []
            for n in p["files"]:
                s = scores.get(n)
                item = {"unique_filename": n, "original_filename": names.get(n, n.split("_", 1)[-1]),
                        "risk_score": s["risk_score"] if s else None,
                        "model_version": s["model_version"] if s else p["model"]["model_version"],
                        "error": s["error"] if s else None}
                if s and s["detail"]:
                    item.update({k: v for k, v in loads(s["detail"]).items() if k not in item})
                files.append(item)
            status = INFER_STATUS[t["state"]]
            out.append({"infer_id": t["ref_id"], "task_id": t["id"], "inference_status": status,
                        "status": status, "created_time": iso(t["created"]),
                        "finished_time": iso(t["finished"]), "device": p["device"],
                        "model_version": p["model"]["model_version"], "files": files,
                        "message": t["message"] or "", "progress": loads(t["progress"]) or {}})
        return out


def _topics(value: Any) -> dict[str, str]:
    """``{role: topic}`` overrides of the profile's topics (the node's namespaced inputs)."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.startswith("/")
                                              for k, v in value.items()):
        raise ServiceError("RS-VAL-003", "Invalid topics",
                           "topics must map input roles to absolute topic names, e.g. "
                           '{"joint_states": "/arm1/joint_states"}')
    return dict(value)
