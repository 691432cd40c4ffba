"""``/api/robot/create``, ``/api/getrobot``, ``/api/editrobot``, ``/api/deleterobot``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ridescan_ros.api.deps import Body, Caller, Svc, merged, ok, section

router = APIRouter(tags=["robots"])


@router.post("/robot/create")
def create_robot(svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Register a robot (``params.robot_name``, ``params.robot_type``)."""
    p = section(body, "params")
    robot = svc.resources.create_robot(who, p.get("robot_name") or p.get("name"), p.get("robot_type"))
    return ok({**robot, "message": "Robot created"})


@router.post("/getrobot", operation_id="get_robots")
@router.get("/getrobot", operation_id="get_robots_get", include_in_schema=False)
def get_robots(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Robots the key may see, filtered by ``criteria`` (or query parameters)."""
    return ok({"robot_list": svc.resources.find_robots(who, merged(request, body, "criteria"))})


@router.patch("/editrobot")
def edit_robot(svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Rename or retype a robot (``criteria.robot_id``; ``params.robot_name``/``robot_type``)."""
    c, p = section(body, "criteria"), section(body, "params")
    return ok({**svc.resources.edit_robot(who, c.get("robot_id"), p), "message": "Robot edited"})


@router.delete("/deleterobot")
def delete_robot(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Delete a robot with its missions, files, models and scores."""
    c = merged(request, body, "criteria")
    return ok({"message": "Robot deleted", **svc.delete_robot(who, c.get("robot_id"))})
