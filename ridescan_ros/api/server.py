"""Run the app with uvicorn: in the foreground (``ridescan serve``) or in a background
thread that a ROS node starts and stops (``EmbeddedServer``; stop via ``should_exit``,
since signal handlers only work on the main thread).
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI


def _config(app: FastAPI, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          lifespan="on", timeout_graceful_shutdown=5)


def serve_forever(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Serve in this thread until SIGINT/SIGTERM."""
    uvicorn.Server(_config(app, host, port, log_level)).run()


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (tests and benchmarks)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedServer:
    """uvicorn in a daemon thread, stopped cleanly through ``should_exit``."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8000,
                 log_level: str = "warning") -> None:
        self.host, self.port = host, port
        # uvicorn installs signal handlers only on the main thread, so a thread is safe here
        self.server = uvicorn.Server(_config(app, host, port, log_level))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Start serving; returns once the socket accepts connections.

        Raises:
            RuntimeError: the server did not come up (port taken, app failed to start).
        """
        self._thread = threading.Thread(target=self.server.run, name="ridescan-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sidecar did not start on {self.host}:{self.port}")
            time.sleep(0.02)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask uvicorn to exit and wait for the thread (lifespan shutdown stops the worker)."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
