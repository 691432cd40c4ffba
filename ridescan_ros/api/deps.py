"""Request dependencies: the caller's key, the tolerant JSON body, the shared service."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from ridescan_ros.api.errors import ApiError
from ridescan_ros.service import Principal, RideScanService


async def get_service(request: Request) -> RideScanService:
    """The app's service (one per app, never a module global)."""
    return request.app.state.service


async def get_principal(request: Request) -> Principal:
    """Authenticate ``X-API-KEY`` (any case) or ``Authorization: Bearer``; 401 RS-AUTH-001 otherwise."""
    keyring = request.app.state.keyring
    if keyring is None:
        return request.app.state.local
    key = request.headers.get("x-api-key")
    if not key:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
    entry = keyring.lookup(key.strip() if key else None)
    if entry is None:
        raise ApiError("RS-AUTH-001", "Invalid or missing API key",
                       "send the key in the X-API-KEY header" if not key else "the API key is not valid")
    return Principal(org=entry.org, role=entry.role, key_id=entry.id)


MAX_JSON_BYTES = 1 << 20


def _json_too_large() -> ApiError:
    return ApiError("RS-REQ-413", "Request body too large",
                    f"JSON bodies are limited to {MAX_JSON_BYTES >> 10} KB", status=413)


async def get_body(request: Request) -> dict[str, Any]:
    """The JSON object of the body on any method, whatever the Content-Type; ``{}`` when empty."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise _json_too_large()
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > MAX_JSON_BYTES:
            raise _json_too_large()
    raw = bytes(buf)
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("RS-VAL-001", "Request body is not valid JSON", "send a JSON object") from None
    if not isinstance(doc, dict):
        raise ApiError("RS-VAL-001", "Request body must be a JSON object", "send a JSON object")
    return doc


def section(body: dict[str, Any], name: str) -> dict[str, Any]:
    """``body[name]`` (``params``/``criteria``) or the flat body when a client sent it flat."""
    val = body.get(name)
    if isinstance(val, dict):
        return val
    return {k: v for k, v in body.items() if k not in ("params", "criteria")}


def merged(request: Request, body: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """Query parameters overlaid on the body (GET routes take either)."""
    out = dict(section(body, name) if name else body)
    for k, v in request.query_params.items():
        out.setdefault(k, v)
    return out


Svc = Annotated[RideScanService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]
Body = Annotated[dict, Depends(get_body)]


def ok(body: dict[str, Any]) -> JSONResponse:
    """A 200 JSON response straight from plain data (no per-field re-encoding: the service
    already returns JSON types)."""
    return JSONResponse(body)
