"""The RideScan /api sidecar inside the node's process, sharing the node's service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Sidecar:
    """FastAPI app (``api.app.create_app``) on uvicorn in a background thread.

    Without ``api.keys_file`` it serves loopback only, every caller being the admin of the
    node's ``org`` (where the node creates its robot); on any other host a keys file is
    required, and its keys see the node's robot when they belong to that org.
    """

    def __init__(self, cfg: Any, service: Any) -> None:
        from ridescan_ros.api.app import Settings, create_app
        from ridescan_ros.api.server import EmbeddedServer

        keys = Path(cfg.api_keys_file) if cfg.api_keys_file else None
        if keys is None and cfg.api_host not in LOOPBACK:
            raise ValueError(f"api.keys_file is required to serve on {cfg.api_host} (not loopback)")
        if keys is not None and not keys.is_file():
            raise ValueError(f"api.keys_file {keys} not found")
        app = create_app(Settings(data_dir=Path(cfg.data_dir), keys_file=keys,
                                  insecure_local=keys is None, local_org=cfg.org, service=service))
        self.server = EmbeddedServer(app, cfg.api_host, cfg.api_port)

    @property
    def url(self) -> str:
        """Base URL of the sidecar."""
        return self.server.url

    def start(self) -> None:
        """Serve; returns once the port accepts connections (raises ``RuntimeError``)."""
        self.server.start()

    def stop(self) -> None:
        """Stop uvicorn and join its thread (the node's service is stopped by the node)."""
        self.server.stop()
