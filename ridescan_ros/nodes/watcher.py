"""Find recordings that appear in a folder and report them once they look complete.

Plain Python (no rclpy): the node calls ``poll(now)`` from a timer. A candidate is a
ROS 1 ``.bag``, an ``.mcap``/``.db3`` file, a ``.csv``/``.zip``, or a rosbag2 folder with a
``metadata.yaml`` (``ros2 bag record`` writes it last). It is complete once its size and
modification time have not changed for ``settle_s`` seconds. Hidden and ``.partial``
names are ignored.
"""

from __future__ import annotations

import os

FILE_SUFFIXES = (".bag", ".mcap", ".db3", ".csv", ".zip")


def _signature(path: str) -> tuple[int, float] | None:
    """(total size, newest mtime) of a file or a folder's files; None when unreadable."""
    try:
        if os.path.isfile(path):
            st = os.stat(path)
            return st.st_size, st.st_mtime
        size, mtime = 0, 0.0
        for entry in os.scandir(path):
            if entry.is_file():
                st = entry.stat()
                size += st.st_size
                mtime = max(mtime, st.st_mtime)
        return size, mtime
    except OSError:
        return None


def is_candidate(path: str) -> bool:
    """True for names that may hold a recording (see module doc)."""
    name = os.path.basename(path)
    if name.startswith(".") or name.endswith(".partial"):
        return False
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "metadata.yaml"))
    return name.lower().endswith(FILE_SUFFIXES)


class FolderWatcher:
    """Reports each new complete recording in ``folder`` exactly once."""

    def __init__(self, folder: str, settle_s: float = 2.0, known: set[str] | None = None) -> None:
        self.folder = folder
        self.settle_s = settle_s
        self.seen: set[str] = set(known or ())
        self._pending: dict[str, tuple[tuple[int, float], float]] = {}

    def poll(self, now: float) -> list[str]:
        """Scan once; return recordings that became complete since the last call (sorted)."""
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:
            return []
        done = []
        for name in names:
            path = os.path.join(self.folder, name)
            if path in self.seen or not is_candidate(path):
                continue
            sig = _signature(path)
            if sig is None or sig[0] == 0:
                continue
            prev = self._pending.get(path)
            if prev is None or prev[0] != sig:
                self._pending[path] = (sig, now)
            elif now - prev[1] >= self.settle_s:
                done.append(path)
                self.seen.add(path)
                del self._pending[path]
        return done
