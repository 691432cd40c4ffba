"""``create_app(settings)``: the RideScan-compatible ``/api`` as a FastAPI app.

Everything an app needs hangs off ``app.state`` (service, key ring, limits), so two apps in
one process (tests, or a node embedding one) never share state. This module imports no
torch and no rclpy: heavy work is done by the service's worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from ridescan_ros import __version__
from ridescan_ros.api import errors
from ridescan_ros.api.routers import files, missions, models, robots
from ridescan_ros.core.archives import ZipLimits
from ridescan_ros.core.keys import KeyRing
from ridescan_ros.service import Executor, Principal, RideScanService, ServiceSettings


@dataclass
class Settings:
    """How one sidecar app runs.

    Attributes:
        data_dir: database, blobs and models live here.
        keys_file: YAML of key hashes; ``None`` only with ``insecure_local`` (all callers are
            the admin of org ``local_org``).
        local_org: the org of insecure-local callers (the node passes its own ``org``).
        max_upload_mb: per-file limit; a larger file is refused alone.
        max_request_mb: whole-request limit, answered with an early 413 (default 2x + 16).
        service: an existing service to serve (the node shares its own); else one is built.
        start_worker: run the task worker with the app (off for route-only tests).
    """

    data_dir: Path = Path("ridescan_data")
    keys_file: Path | None = None
    insecure_local: bool = False
    local_org: str = "local"
    max_upload_mb: int = 2048
    max_request_mb: int | None = None
    zip_limits: ZipLimits = field(default_factory=ZipLimits)
    executor: Executor | None = None
    service: RideScanService | None = None
    start_worker: bool = True


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the service starts and stops with the app's lifespan."""
    if settings.keys_file is None and not settings.insecure_local:
        raise ValueError("a keys file is required unless insecure_local is set")
    keyring = KeyRing(settings.keys_file) if settings.keys_file is not None else None
    own = settings.service is None
    service = settings.service or RideScanService(
        ServiceSettings(Path(settings.data_dir), zip_limits=settings.zip_limits, executor=settings.executor)
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if own and settings.start_worker:
            service.start()
        try:
            yield
        finally:
            if own:
                service.stop()

    app = FastAPI(title="ridescan_ros sidecar", version=__version__, lifespan=lifespan,
                  description="RideScan-compatible API served from the robot (see docs/api.md).")
    app.state.service = service
    app.state.keyring = keyring
    app.state.local = Principal(org=settings.local_org, role="admin", key_id="local")
    max_file = settings.max_upload_mb << 20
    max_req = (settings.max_request_mb << 20) if settings.max_request_mb else 2 * max_file + (16 << 20)
    app.state.limits = {"max_file": max_file, "max_request": max_req}
    errors.install(app)
    for r in (robots.router, missions.router, files.router, models.router):
        app.include_router(r, prefix="/api")
    app.include_router(models.legacy)

    @app.get("/api/health", tags=["health"])
    def health() -> dict[str, object]:
        """Liveness, without auth (no data in it)."""
        return {"status": "ok", "version": __version__}

    return app
