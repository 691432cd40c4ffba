"""Calibration, inference and their details; the mission summary the SDK polls."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ridescan_ros.api.deps import Body, Caller, Svc, merged, ok
from ridescan_ros.service.details import mission_details

router = APIRouter(tags=["models"])


@router.post("/calibrate")
def calibrate(svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Queue a training on the mission's calibration files; answers at once with the ids."""
    task, created = svc.calibrate(who, body)
    data = {"calib_id": task["ref_id"], "task_id": task["id"], "status": "calibrating",
            "robot_type": json.loads(task["params"])["robot_type"], "already_queued": not created}
    if task.get("warning"):
        data["warning"] = task["warning"]
    return ok({"success": True, "details": {"task_id": task["id"]}, "message": "Training task queued",
               "data": data})


@router.get("/calibration/details")
def calibration_details(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Calibrations of a mission, newest first, with status, progress and per-file errors."""
    q = merged(request, body)
    _, m = svc.resources.mission(who, q.get("robot_id"), q.get("mission_id"))
    return ok({"success": True, "message": "Calibration details fetched",
            "data": {"calibrations": svc.tasks.calibrations(m["id"])}})


@router.post("/process")
def process(svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Queue scoring of the mission's process files with its newest model."""
    task = svc.process(who, body)


    files = json.loads(task["params"])["files"]
    return ok({"success": True, "file sent": files, "message": "Processing queued",
            "details": {"task_id": task["id"]},
            "data": {"infer_id": task["ref_id"], "task_id": task["id"], "files": files, "status": "processing"}})


@router.get("/inference/details")
def inference_details(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Inferences of a mission, newest first, each file with its risk score and model version."""
    q = merged(request, body)
    _, m = svc.resources.mission(who, q.get("robot_id"), q.get("mission_id"))
    return ok({"success": True, "message": "Inference details fetched",
            "data": {"inferences": svc.tasks.inferences(m["id"])}})


def _mission_details(request: Request, svc: Any, who: Any, body: dict) -> dict[str, Any]:
    q = merged(request, body)
    robot, m = svc.resources.mission_only(who, q.get("mission_id") or q.get("mission_pid"))
    return {"success": True, "message": "Model fetched successfully",
            "data": mission_details(svc.store, robot, m)}


@router.get("/model/mission-details")
def model_mission_details(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Calibration/inference status, files with scores, averages (``get_model_status``)."""
    return ok(_mission_details(request, svc, who, body))


legacy = APIRouter(tags=["models"])


@legacy.get("/model/mission-details", include_in_schema=False)
def legacy_mission_details(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Same as ``/api/model/mission-details``, at the root for old SDKs."""
    return ok(_mission_details(request, svc, who, body))
