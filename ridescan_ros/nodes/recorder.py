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
        self._cut: dict[tuple[str, int], int] = {}
        self.messages = 0
        self.closed = False

    def write(self, topic: str, msgtype: str, msg: Any, t_ns: int) -> None:
        """Serialize ``msg`` (an rclpy message) to CDR and append it at log time ``t_ns``.

        ``serialize_message`` may append up to 8 bytes of padding that the DDS wire format
        (what ``ros2 bag record`` stores) does not have and rosbags refuses; they are cut.
        """
        data = serialize_message(msg)
        key = (topic, len(data))
        cut = self._cut.get(key)
        if cut is None:
            cut = self._cut[key] = _padding(data, msgtype)
        self.write_raw(topic, msgtype, data[: len(data) - cut] if cut else data, t_ns)

    def write_raw(self, topic: str, msgtype: str, data: bytes, t_ns: int) -> None:
        """Append one serialized CDR message (as received, ``raw=True``) at log time ``t_ns``."""
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
            _rename_storage(self._partial, os.path.basename(self.path))
            os.replace(self._partial, self.path)
            return self.path


def _rename_storage(folder: str, name: str) -> None:
    """rosbags names the storage file after the (hidden, partial) folder: give it the final
    name (``<name>.mcap``), as ``ros2 bag record`` would, and update metadata.yaml, so no
    tool that skips dot-files (zips, uploads, file browsers) loses the data."""
    old = os.path.basename(folder)
    for f in os.listdir(folder):
        if f.startswith(old):
            os.replace(os.path.join(folder, f), os.path.join(folder, name + f[len(old):]))
    meta = os.path.join(folder, "metadata.yaml")
    if os.path.isfile(meta):
        with open(meta, encoding="utf-8") as fh:
            text = fh.read()
        with open(meta + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(text.replace(old, name))
        os.replace(meta + ".tmp", meta)


def _padding(data: bytes, msgtype: str) -> int:
    """Trailing bytes rosbags does not consume (0, 4 or 8); 0 when it reads none of the cuts."""
    ts = _typestore()
    for cut in (0, 4, 8):
        try:
            ts.deserialize_cdr(data[: len(data) - cut], msgtype)
            return cut
        except Exception:  # noqa: BLE001 - try the next cut
            continue
    return 0


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
