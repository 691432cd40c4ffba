"""Calibration runs of the node: its own recordings (start/stop, fixed length) and bags
that appear in the watched folder, all registered through the ``Calibrator``."""

from __future__ import annotations

import os
import time

from ridescan_ros.nodes.calibrator import Calibrator
from ridescan_ros.nodes.recorder import BagRecorder
from ridescan_ros.nodes.watcher import FolderWatcher


class RunCollector:
    """Records subscribed messages into one bag per run and registers finished runs."""

    def __init__(self, calibrator: Calibrator, record_dir: str, storage: str,
                 duration_s: float, watch_dir: str, settle_s: float) -> None:
        self.calibrator = calibrator
        self.record_dir = record_dir
        self.storage = storage
        self.duration_s = duration_s
        self.recorder: BagRecorder | None = None
        self._started = 0.0
        self.watcher = None
        if watch_dir:
            os.makedirs(watch_dir, exist_ok=True)
            self.watcher = FolderWatcher(watch_dir, settle_s, calibrator.known())

    def write(self, topic: str, msgtype: str, data: bytes, t_ns: int) -> None:
        """Append a received serialized message to the open run, if any."""
        rec = self.recorder
        if rec is not None:
            rec.write_raw(topic, msgtype, data, t_ns)

    def start(self) -> tuple[bool, str]:
        """Open a new run bag; (started, path or reason)."""
        if self.recorder is not None:
            return False, f"already recording {self.recorder.path}"
        now = time.time()
        name = time.strftime("run_%Y%m%dT%H%M%S", time.gmtime(now)) + f"_{int(now * 1e3) % 1000:03d}"
        try:
            self.recorder = BagRecorder(os.path.join(self.record_dir, name), self.storage)
        except Exception as err:  # noqa: BLE001 - disk full, permissions: tell the caller
            return False, f"cannot record: {err}"
        self._started = time.monotonic()
        return True, self.recorder.path

    def stop(self) -> tuple[bool, str]:
        """Close the run and register it; (written, path or reason)."""
        if self.recorder is None:
            return False, "not recording"
        rec, self.recorder = self.recorder, None
        path = rec.close()
        if path is None:
            return False, "nothing was received: no bag written"
        self.calibrator.register(path)
        return True, path

    def tick(self) -> None:
        """End a fixed-length run; register bags that became complete in the watched folder."""
        if self.recorder is not None and self.duration_s > 0 \
                and time.monotonic() - self._started >= self.duration_s:
            self.stop()
        if self.watcher is not None:
            for path in self.watcher.poll(time.monotonic()):
                self.calibrator.register(path)
