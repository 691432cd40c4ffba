"""Calibration runs and training for the node, off the executor thread.

Registered runs are checked (readable, right robot) on a worker thread; training runs in a
child process (``nodes.train_job``) watched by a thread; the trained model is loaded on that
thread and handed to the node through ``take_new_scorer``. State is persisted as JSON under
``<data_dir>/node/<robot>/<mission>/`` so a restarted node keeps its runs and model. When the
service layer is available the runs are also registered in the shared store (``mirror``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

NOT_CALIBRATED = "not_calibrated"
CALIBRATING = "calibrating"
COMPLETED = "calibration_completed"
FAILED = "calibration_failed"


def check_recording(path: str, robot_type: str) -> tuple[bool, str]:
    """(usable, reason): the recording reads and holds signals of ``robot_type``."""
    from ridescan_ros.core.errors import RideScanError
    from ridescan_ros.core.profiles import get_profile, select_signals
    from ridescan_ros.core.readers import load_recording

    try:
        rec = load_recording(path)
        select_signals(rec, get_profile(robot_type))
    except RideScanError as err:
        return False, str(err)
    except Exception as err:  # noqa: BLE001 - a broken file must never stop the node
        return False, f"{path}: {type(err).__name__}: {err}"
    return True, f"{rec.duration_s():.1f} s"


class Calibrator:
    """Calibration files, training process and the latest model of one robot/mission."""

    def __init__(
        self,
        data_dir: str,
        robot_type: str,
        robot_name: str,
        mission_name: str,
        log: Callable[[str], None] = print,
        mirror: Callable[[str], None] | None = None,
    ) -> None:
        self.robot_type = robot_type
        self.dir = os.path.join(data_dir, "node", robot_name, mission_name)
        self.models_dir = os.path.join(self.dir, "models")
        os.makedirs(self.models_dir, exist_ok=True)
        self._state_path = os.path.join(self.dir, "state.json")
        self._log = log
        self._mirror = mirror
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ridescan-check")
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._new_scorer: Any = None
        self._closing = False
        st = self._load_state()
        self.files: list[dict] = st.get("files", [])
        self.model_dir: str | None = st.get("model_dir")
        self.model_version: str | None = st.get("model_version")
        self.message = ""
        if self.model_dir and not os.path.isdir(self.model_dir):
            self.model_dir = self.model_version = None
        self.status = COMPLETED if self.model_dir else NOT_CALIBRATED

    # -- state ------------------------------------------------------------------------------
    def _load_state(self) -> dict:
        try:
            with open(self._state_path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        tmp = self._state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"files": self.files, "model_dir": self.model_dir,
                       "model_version": self.model_version}, f, indent=1)
        os.replace(tmp, self._state_path)

    def good_files(self) -> list[str]:
        """Paths of registered runs that passed the check."""
        with self._lock:
            return [f["path"] for f in self.files if f["ok"]]

    def known(self) -> set[str]:
        """Every path ever registered (good or not)."""
        with self._lock:
            return {f["path"] for f in self.files}

    def snapshot(self) -> dict:
        """JSON for /ridescan/calibration_status."""
        with self._lock:
            return {
                "status": self.status,
                "files": sum(1 for f in self.files if f["ok"]),
                "rejected_files": sum(1 for f in self.files if not f["ok"]),
                "model_version": self.model_version,
                "robot_type": self.robot_type,
                "message": self.message,
            }

    # -- registration -----------------------------------------------------------------------
    def register(self, path: str, on_done: Callable[[str, bool, str], None] | None = None) -> None:
        """Check ``path`` on the worker thread, then record it (good or refused)."""

        def job() -> None:
            ok, reason = check_recording(path, self.robot_type)
            with self._lock:
                self.files = [f for f in self.files if f["path"] != path]
                self.files.append({"path": path, "ok": ok, "reason": reason, "added": time.time()})
                self._save_state()
            self._log(f"calibration run {'registered' if ok else 'refused'}: {path} ({reason})")
            if ok and self._mirror is not None:
                try:
                    self._mirror(path)
                except Exception as err:  # noqa: BLE001 - the store is optional for the node
                    self._log(f"could not add {path} to the store: {err}")
            if on_done is not None:
                on_done(path, ok, reason)

        if not self._closing:
            self._pool.submit(job)

    # -- training ---------------------------------------------------------------------------
    def busy(self) -> bool:
        """True while a training process runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, epochs: int, batch_size: int, device: str, min_files: int) -> tuple[bool, str]:
        """Start training on the good runs; (started, message). Never blocks."""
        if self.busy():
            return False, "calibration already running"
        paths = self.good_files()
        if len(paths) < min_files:
            return False, f"{len(paths)} calibration runs, {min_files} needed"
        version = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{len(paths)}"
        args = {"paths": paths, "robot_type": self.robot_type, "epochs": epochs,
                "batch_size": batch_size, "device": device, "min_files": min_files,
                "out_dir": os.path.join(self.models_dir, version)}
        with self._lock:
            self.status, self.message = CALIBRATING, f"training on {len(paths)} runs"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ridescan_ros.nodes.train_job", json.dumps(args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._thread = threading.Thread(target=self._wait, args=(self._proc,), daemon=True,
                                        name="ridescan-train")
        self._thread.start()
        return True, self.message

    def _wait(self, proc: subprocess.Popen) -> None:
        out, err = proc.communicate()
        if self._closing:
            return
        if proc.returncode != 0:
            reason = (err.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            with self._lock:
                self.status, self.message = FAILED, reason
            self._log(f"calibration failed: {reason}")
            return
        summary = json.loads(out.strip().splitlines()[-1])
        try:
            scorer = load_scorer(summary["model_dir"])
        except Exception as e:  # noqa: BLE001
            with self._lock:
                self.status, self.message = FAILED, f"trained model does not load: {e}"
            return
        with self._lock:
            self.model_dir = summary["model_dir"]
            self.model_version = str(getattr(scorer, "model_version", summary["model_version"]))
            self.status, self.message = COMPLETED, "trained"
            self._new_scorer = scorer
            self._save_state()
        self._log(f"calibration completed: model {self.model_version}")

    def take_new_scorer(self) -> Any:
        """The freshly trained scorer once (then None)."""
        with self._lock:
            s, self._new_scorer = self._new_scorer, None
            return s

    def close(self) -> None:
        """Stop the training process (its partial model is removed) and the worker."""
        self._closing = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for name in os.listdir(self.models_dir):
                if name.endswith(".partial"):
                    import shutil

                    shutil.rmtree(os.path.join(self.models_dir, name), ignore_errors=True)
        self._pool.shutdown(wait=True, cancel_futures=True)


def load_scorer(model_dir: str) -> Any:
    """``model.scorer.Scorer.load`` (imports torch on first use)."""
    from ridescan_ros.model.scorer import Scorer

    return Scorer.load(model_dir, device="cpu")
