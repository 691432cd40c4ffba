"""``/api/createmission``, ``/api/getmission``, ``/api/editmission``, ``/api/deletemission``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ridescan_ros.api.deps import Body, Caller, Svc, merged, ok, section

router = APIRouter(tags=["missions"])


@router.post("/createmission")
def create_mission(svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Create a mission (``params.robot_id``, ``params.mission_name``)."""
    p = section(body, "params")
    m = svc.resources.create_mission(who, p.get("robot_id"), p.get("mission_name") or p.get("name"))
    return ok({**m, "message": "Mission created"})


@router.post("/getmission", operation_id="get_missions")
@router.get("/getmission", operation_id="get_missions_get", include_in_schema=False)
def get_missions(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Missions filtered by robot, id, name and created window (``start_time``/``end_time``)."""
    return ok({"mission_list": svc.resources.find_missions(who, merged(request, body, "criteria"))})


@router.patch("/editmission")
def edit_mission(svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Rename a mission (``criteria.robot_id`` + ``mission_id``; ``params.mission_name``)."""
    c, p = section(body, "criteria"), section(body, "params")
    m = svc.resources.edit_mission(who, c.get("robot_id"), c.get("mission_id"), p.get("mission_name"))
    return ok({**m, "message": "Mission edited"})


@router.delete("/deletemission")
def delete_mission(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Delete a mission with its files, models and scores (a running task stops)."""
    c = merged(request, body, "criteria")
    return ok({"message": "Mission deleted", **svc.delete_mission(who, c.get("robot_id"), c.get("mission_id"))})
