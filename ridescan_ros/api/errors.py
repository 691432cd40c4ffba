"""The contract's error envelope, for every error the API can return.

Domain code raises ``ServiceError`` with an RS-* code; this module is the only place that
turns codes into HTTP statuses. Anything unexpected becomes RS-SYS-001 with a generic
message: the traceback goes to the server log, never into a response body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ridescan_ros.service.errors import ServiceError

log = logging.getLogger("ridescan_ros.api")
HELP_URL = "/docs"  # the server's own OpenAPI page; docs/sidecar.md lists the codes
STATUS = {
    "RS-AUTH-001": 401, "RS-AUTH-002": 403, "RS-VAL-001": 400, "RS-VAL-003": 400,
    "RS-VAL-004": 400, "RS-VAL-005": 400, "RS-ROBOT-001": 409, "RS-ROBOT-002": 404,
    "RS-ROBOT-004": 404, "RS-MSN-001": 409, "RS-MSN-002": 404, "RS-MOD-001": 400,
    "RS-FILE-001": 404, "RS-REQ-404": 404, "RS-REQ-405": 405, "RS-REQ-413": 413,
    "RS-SYS-001": 500, "RS-SYS-002": 507,
}


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error body every client reads (``error.code`` for the SDK, ``message`` for bridges)."""
    det = message if details is None else details
    return {
        "status": "error", "success": False, "message": message, "errors": det, "data": None,
        "error": {"code": code, "message": message, "details": det, "help_url": HELP_URL},
    }


def error_response(code: str, message: str, details: Any = None, status: int | None = None) -> JSONResponse:
    """A ``JSONResponse`` with the envelope and the code's HTTP status."""
    return JSONResponse(envelope(code, message, details), status_code=status or STATUS.get(code, 400))


class ApiError(Exception):
    """An HTTP-level refusal raised by the API layer itself (auth, body, size)."""

    def __init__(self, code: str, message: str, details: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details, self.status = code, message, details, status


def install(app: FastAPI) -> None:
    """Register handlers so no error leaves without the envelope."""

    @app.exception_handler(ServiceError)
    async def _service(_: Request, err: ServiceError) -> JSONResponse:
        return error_response(err.code, err.message, err.details)

    @app.exception_handler(ApiError)
    async def _api(_: Request, err: ApiError) -> JSONResponse:
        resp = error_response(err.code, err.message, err.details, err.status)
        if err.status == 413:
            resp.headers["Connection"] = "close"
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, err: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(x) for x in e.get("loc", ())[1:]) or "body" for e in err.errors())
        return error_response("RS-VAL-001", f"Invalid or missing field: {fields}", fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        code = {401: "RS-AUTH-001", 403: "RS-AUTH-002", 404: "RS-REQ-404", 405: "RS-REQ-405",
                413: "RS-REQ-413"}.get(err.status_code, "RS-VAL-001")
        return error_response(code, str(err.detail), str(err.detail), err.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response("RS-SYS-001", "Internal server error",
                              "unexpected failure; the server log has the details")
