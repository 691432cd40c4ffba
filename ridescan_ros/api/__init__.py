"""The HTTP sidecar: FastAPI app factory, routers, auth, error envelope, embedded server."""

from ridescan_ros.api.app import Settings, create_app

__all__ = ["Settings", "create_app"]
