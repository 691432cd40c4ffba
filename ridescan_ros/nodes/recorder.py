"""Record received rclpy messages into a ROS 2 bag (rosbags' rosbag2 Writer, CDR).

The bag is written under a hidden ``.<name>.partial`` folder and renamed when closed, so a
folder watcher or the store never sees a half-written run.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

_TYPESTORE = None


def _typestore():
    global _TYPESTORE
    if _TYPESTORE is None:
        _TYPESTORE = get_typestore(Stores.ROS2_KILTED)
    return _TYPESTORE


class BagRecorder:
    """One run being recorded. Thread-safe ``write``; ``close`` returns the final path.

    Args:
        path: final bag folder (must not exist).
        storage: ``sqlite3`` or ``mcap``.
    """

    def __init__(self, path: str, storage: str = "sqlite3") -> None:
        self.path = os.path.abspath(path)
        if os.path.exists(self.path):
            raise FileExistsError(self.path)
        parent, name = os.path.split(self.path)
        os.makedirs(parent, exist_ok=True)
        self._partial = os.path.join(parent, f".{name}.partial")
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer = Writer(self._partial, version=9, storage_plugin=plugin)
        self._writer.open()
        self._conns: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.messages = 0
        self.closed = False

    def write(self, topic: str, msgtype: str, msg: Any, t_ns: int) -> None:
        """Serialize ``msg`` (an rclpy message) to CDR and append it at log time ``t_ns``."""
        data = serialize_message(msg)
        with self._lock:
            if self.closed:
                return
            conn = self._conns.get(topic)
            if conn is None:
                conn = self._writer.add_connection(topic, msgtype, typestore=_typestore())
                self._conns[topic] = conn
            self._writer.write(conn, int(t_ns), data)
            self.messages += 1

    def close(self) -> str | None:
        """Finish the bag; returns its path, or None (and deletes it) when it holds nothing."""
        with self._lock:
            if self.closed:
                return None
            self.closed = True
            self._writer.close()
            if self.messages == 0:
                _rmtree(self._partial)
                return None
            os.replace(self._partial, self.path)
            return self.path


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
