"""Uploads, file listings and file deletion."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ridescan_ros.api.deps import Body, Caller, Svc, merged, ok
from ridescan_ros.api.errors import ApiError
from ridescan_ros.api.multipart import UploadForm, read_upload
from ridescan_ros.service.errors import ServiceError, missing

router = APIRouter(tags=["files"])


async def _upload(request: Request, svc: Any, who: Any) -> dict[str, Any]:
    limits = request.app.state.limits

    def early(form: UploadForm) -> None:  # refuse bad ids before storing a byte
        rid, mid = form.first("robot_id", "robot_pid"), form.first("mission_id", "mission_pid")
        if rid and mid:
            svc.resources.mission(who, rid, mid)

    form = await read_upload(request, svc.blobs, limits["max_request"], limits["max_file"], early)
    try:
        robot_id = form.first("robot_id", "robot_pid")
        mission_id = form.first("mission_id", "mission_pid")
        if not robot_id:
            raise missing("robot_id")
        if not mission_id:
            raise missing("mission_id")
        if not form.parts:
            raise missing("files")
        file_type = form.first("file_type") or "calib_file"
        events = form.fields.get("event_times") or form.fields.get("event_times[]") or []
        if len(events) == 1 and len(form.parts) > 1 and "," in events[0]:
            events = [e.strip() for e in events[0].split(",")]
    except ServiceError:
        form.discard()
        raise
    data = await run_in_threadpool(svc.upload, who, robot_id, mission_id, file_type, form.parts, events)
    det = data["details"]
    if not data["uploaded_files"]:
        reasons = "; ".join(f"{f['original_filename'] or '<no name>'}: {f['error']}" for f in det["failed_files"])
        if any(f["error"].startswith("disk full") for f in det["failed_files"]):
            raise ApiError("RS-SYS-002", "Insufficient storage", reasons)
        raise ApiError("RS-VAL-005", "No file was accepted", reasons)
    message = "Files uploaded successfully" if det["success"] else "Some files were refused"
    return {"success": True, "message": message, "errors": det["failed_files"] or None, "data": data}


@router.post("/file/upload")
async def upload(request: Request, svc: Svc, who: Caller) -> JSONResponse:
    """Multipart upload: robot_id, mission_id, file_type, parts ``files``, optional ``event_times``."""
    return ok(await _upload(request, svc, who))


@router.post("/upload/bulk")
async def upload_bulk(request: Request, svc: Svc, who: Caller) -> JSONResponse:
    """Alias of ``/api/file/upload`` used by older clients."""
    return ok(await _upload(request, svc, who))


def _listing(request: Request, svc: Any, who: Any, body: dict, file_type: str | None) -> dict[str, Any]:
    q = merged(request, body)
    _, mission = svc.resources.mission(who, q.get("robot_id") or q.get("robot_pid"),
                                       q.get("mission_id") or q.get("mission_pid"))
    ftype = file_type or q.get("file_type") or None
    if ftype not in (None, "calib_file", "process_file"):
        raise ServiceError("RS-VAL-005", "Invalid file_type", "expected calib_file or process_file")
    files = svc.files.listing(mission["id"], ftype)
    return {"success": True, "message": "Files fetched", "errors": None, "data": {"files": files}}


@router.get("/files/list")
def list_files(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Files of a mission (query robot_id, mission_id, optional file_type)."""
    return ok(_listing(request, svc, who, body, None))


@router.get("/calibration/files")
def calibration_files(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """The mission's calibration files."""
    return ok(_listing(request, svc, who, body, "calib_file"))


@router.get("/inference/files")
def inference_files(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """The mission's process (inference) files."""
    return ok(_listing(request, svc, who, body, "process_file"))


@router.delete("/blob/delete")
def delete_file(request: Request, svc: Svc, who: Caller, body: Body) -> JSONResponse:
    """Delete one file (JSON robot_pid/robot_id, mission_pid/mission_id, filename/unique_filename)."""
    q = merged(request, body)
    _, mission = svc.resources.mission(who, q.get("robot_pid") or q.get("robot_id"),
                                       q.get("mission_pid") or q.get("mission_id"))
    name = q.get("filename") or q.get("unique_filename")
    if not name:
        raise missing("filename")
    if svc.files.delete(mission["id"], str(name)) is None:
        raise ServiceError("RS-FILE-001", "File not found", f"no file {name!r} in this mission")
    return ok({"data": None, "errors": None, "message": "Blob and DB record deleted successfully", "success": True})
