"""The mission summary ``/api/model/mission-details`` shows (and the SDK's ``get_model_status``).

Definitions (documented for users):
- ``mission_avg_risk_score``: mean of the newest risk score of each scored process file of the
  mission; ``robot_avg_risk_score``: the same over every scored file of the robot; ``None``
  until one exists.
- ``mission_length``: seconds of telemetry (first to last sample) summed over the mission's
  files that a calibration or scoring task has read; ``None`` before any was read.
"""

from __future__ import annotations

import json
from typing import Any

from ridescan_ros.core.store import Store, rfc1123

# the contract's mission-level vocabulary has no failed inference: a failed newest inference
# shows the state before it (see ``_inference_status``) and its reason in ``inference_error``
INFER_MISSION_STATUS = {"queued": "processing", "running": "processing", "done": "processing_completed"}
CALIB_MISSION_STATUS = {"queued": "calibrating", "running": "calibrating", "done": "calibration_completed",
                        "failed": "calibration_failed"}


def _latest_scores(store: Store, where: str, arg: str) -> dict[str, float]:
    rows = store.all(
        f"SELECT s.unique_name, s.risk_score FROM scores s JOIN files f ON f.unique_name=s.unique_name "
        f"WHERE {where}=? AND s.risk_score IS NOT NULL ORDER BY s.created", (arg,))
    return {r["unique_name"]: r["risk_score"] for r in rows}  # later rows win: newest score


def mission_details(store: Store, robot: dict[str, Any], mission: dict[str, Any]) -> dict[str, Any]:
    """Status, files with scores, averages and times of one mission."""
    mid = mission["id"]
    cal = store.one("SELECT * FROM tasks WHERE mission_id=? AND kind='calibrate' "
                    "ORDER BY created DESC, rowid DESC LIMIT 1", (mid,))
    done = store.one("SELECT finished FROM tasks WHERE mission_id=? AND kind='calibrate' AND state='done' "
                     "ORDER BY finished DESC LIMIT 1", (mid,))
    inf = store.one("SELECT state, message FROM tasks WHERE mission_id=? AND kind='process' "
                    "ORDER BY created DESC, rowid DESC LIMIT 1", (mid,))
    any_done = store.one("SELECT 1 FROM tasks WHERE mission_id=? AND kind='process' AND state='done' "
                         "LIMIT 1", (mid,))
    model = store.one("SELECT * FROM models WHERE mission_id=? ORDER BY version DESC LIMIT 1", (mid,))
    files = store.all("SELECT * FROM files WHERE mission_id=? ORDER BY upload_time, rowid", (mid,))
    scores = _latest_scores(store, "f.mission_id", mid)
    robot_scores = _latest_scores(store, "f.robot_id", robot["id"])
    proc = [scores[f["unique_name"]] for f in files
            if f["file_type"] == "process_file" and f["unique_name"] in scores]
    lengths = [f["duration_s"] for f in files if f["duration_s"] is not None]


    epochs = json.loads(cal["params"])["epochs"] if cal else None
    return {
        "calibration_status": CALIB_MISSION_STATUS[cal["state"]] if cal else "not_calibrated",
        "epochs": epochs,
        "files": [{
            "event time": f["event_time"], "file type": f["file_type"],
            "original filename": f["original_name"], "risk_score": scores.get(f["unique_name"]),
            "unique filename": f["unique_name"], "filename": f["original_name"],
        } for f in files],
        "inference_possible": model is not None,
        "inference_status": (INFER_MISSION_STATUS.get(inf["state"]) if inf else None)
                            or ("processing_completed" if any_done else "not_processed"),
        "inference_error": inf["message"] if inf and inf["state"] == "failed" else None,
        "mission_avg_risk_score": round(sum(proc) / len(proc), 3) if proc else None,
        "mission_length": round(sum(lengths), 3) if lengths else None,
        "model_version": model["model_version"] if model else None,
        "robot_avg_risk_score": (round(sum(robot_scores.values()) / len(robot_scores), 3)
                                 if robot_scores else None),
        "robot_type": robot["robot_type"],
        "training_time": rfc1123(done["finished"]) if done else None,
        "upload_time": rfc1123(max(f["upload_time"] for f in files)) if files else None,
    }
