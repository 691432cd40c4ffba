"""The task worker: runs queued calibrations and inferences off the request thread.

Tasks live in the store, so the worker holds no state a crash could lose. One lane trains
(one training at a time by default: it takes the CPU/GPU), another scores alongside. On start,
tasks a killed process left ``running`` are queued again (resumed from scratch) up to
``max_attempts``, then failed with a message; queued tasks simply run. Models are written to a
temp folder and renamed into ``models/<mission>/v<N>`` only when complete.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ridescan_ros.core.errors import CalibrationError, RideScanError
from ridescan_ros.core.store import Store, dumps, loads, now
from ridescan_ros.service.executor import Executor
from ridescan_ros.service.files import Files

log = logging.getLogger("ridescan_ros.service")


class TaskCancelled(BaseException):
    """Raised inside a task when its mission was deleted or the worker is stopping.

    A ``BaseException`` so that model code catching ``Exception`` cannot swallow it.
    """


class TaskWorker:
    """Threads that claim tasks from the store and run them with an executor."""

    def __init__(self, store: Store, files: Files, models_dir: Path, executor: Executor, *,
                 train_threads: int = 1, score_threads: int = 1, max_attempts: int = 2,
                 poll_s: float = 1.0) -> None:
        self.store, self.files, self.executor = store, files, executor
        self.models_dir = Path(models_dir)
        self.lanes = {"calibrate": train_threads, "process": score_threads}
        self.max_attempts = max_attempts
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wake = {k: threading.Event() for k in self.lanes}
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Recover tasks a previous process left behind, then start the lanes."""
        if self._threads:
            return
        self.recover()
        self._stop.clear()
        for kind, n in self.lanes.items():
            for i in range(n):
                t = threading.Thread(target=self._loop, args=(kind,), name=f"ridescan-{kind}-{i}", daemon=True)
                t.start()
                self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the lanes; a task cut short goes back to ``queued`` and runs on the next start.

        The executor's ``close`` (when it has one: a child-process trainer) runs after the stop
        flag is set, so the task it cuts short is requeued, not failed.
        """
        self._stop.set()
        for e in self._wake.values():
            e.set()
        close = getattr(self.executor, "close", None)
        if close is not None:
            close()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def notify(self, kind: str) -> None:
        """Wake a lane after a task was queued (else it polls every ``poll_s``)."""
        if kind in self._wake:
            self._wake[kind].set()

    def recover(self) -> None:
        """Requeue or fail tasks left ``running``; drop half-written model folders."""
        with self.store.tx() as c:
            c.execute("UPDATE tasks SET state='failed', finished=?, message=? WHERE state='running' "
                      "AND attempts>=?", (now(), f"interrupted by a restart {self.max_attempts} times; "
                      "giving up", self.max_attempts))
            c.execute("UPDATE tasks SET state='queued', message='resumed after a restart', progress=NULL "
                      "WHERE state='running'")
        for tmp in self.models_dir.glob("*/.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)

    # -- loop -----------------------------------------------------------------------------
    def _loop(self, kind: str) -> None:
        while not self._stop.is_set():
            try:
                task = self._claim(kind)
            except Exception:  # noqa: BLE001 - a busy or broken store must not kill the lane
                log.exception("cannot claim a %s task; retrying", kind)
                self._stop.wait(self.poll_s)
                continue
            if task is None:
                self._wake[kind].wait(self.poll_s)
                self._wake[kind].clear()
                continue
            self._run(kind, task)

    def _run(self, kind: str, task: dict[str, Any]) -> None:
        try:
            try:
                if kind == "calibrate":
                    self._calibrate(task)
                else:
                    self._process(task)
            except TaskCancelled:
                if self._stop.is_set() and self._mission_exists(task["mission_id"]):
                    self._requeue(task)
                else:
                    self._finish(task, "failed", "mission deleted while the task ran")
                    self.store.run("DELETE FROM scores WHERE infer_id=?", (task["ref_id"],))
            except RideScanError as err:
                if self._stop.is_set() and self._mission_exists(task["mission_id"]):
                    self._requeue(task)  # e.g. the training child was terminated by stop()
                else:
                    self._finish(task, "failed", str(err))
            except Exception as err:  # noqa: BLE001 - a task must never stay running
                log.exception("task %s failed", task["id"])
                self._finish(task, "failed", f"internal error: {type(err).__name__}: {err}")
        except Exception:  # noqa: BLE001 - recording the outcome failed: recover() retries it
            log.exception("could not record the outcome of task %s", task["id"])

    def _requeue(self, task: dict[str, Any]) -> None:
        """Back to ``queued`` after a clean stop: not an attempt (only crashes count toward
        ``max_attempts``), and no stale progress while it waits."""
        self.store.run("UPDATE tasks SET state='queued', message='resumed after a stop', progress=NULL, "
                       "attempts=MAX(attempts-1, 0) WHERE id=?", (task["id"],))

    def _claim(self, kind: str) -> dict[str, Any] | None:
        with self.store.tx() as c:
            row = c.execute("SELECT * FROM tasks WHERE state='queued' AND kind=? ORDER BY created, rowid "
                            "LIMIT 1", (kind,)).fetchone()
            if row is None:
                return None
            c.execute("UPDATE tasks SET state='running', started=?, attempts=attempts+1 WHERE id=?",
                      (now(), row["id"]))
        return dict(row)

    def _finish(self, task: dict, state: str, message: str, result: dict | None = None) -> None:
        self.store.run("UPDATE tasks SET state=?, message=?, result=COALESCE(?, result), finished=? "
                       "WHERE id=?", (state, message, dumps(result) if result is not None else None,
                                     now(), task["id"]))

    def _mission_exists(self, mission_id: str) -> bool:
        return self.store.one("SELECT 1 AS x FROM missions WHERE id=?", (mission_id,)) is not None

    def _check(self, task: dict) -> None:
        if self._stop.is_set() or not self._mission_exists(task["mission_id"]):
            raise TaskCancelled()

    def _progress(self, task: dict, update: dict[str, Any]) -> None:
        cur = loads(self.store.one("SELECT progress FROM tasks WHERE id=?", (task["id"],))["progress"]) or {}
        cur.update(update)
        self.store.run("UPDATE tasks SET progress=? WHERE id=?", (dumps(cur), task["id"]))

    # -- calibration ----------------------------------------------------------------------
    def _calibrate(self, task: dict) -> None:
        p = loads(task["params"])
        rows = self.files.rows(task["mission_id"], names=p["files"])
        by_path: dict[str, dict] = {}
        for r in rows:
            for path in self.files.recording_paths(r):
                by_path[str(path)] = r
        self._progress(task, {"stage": "training", "epoch": 0, "epochs": p["epochs"]})
        out_dir = self.models_dir / task["mission_id"] / f".tmp-{uuid.uuid4().hex}"
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        last = [0.0]

        def progress(*args: Any, **kwargs: Any) -> None:
            if time.monotonic() - last[0] < 0.5 and not self._stop.is_set():
                return
            last[0] = time.monotonic()
            self._check(task)
            self._progress(task, progress_fields(args, kwargs))

        try:
            try:
                out = self.executor.calibrate(list(by_path), p["robot_type"], out_dir, epochs=p["epochs"],
                                              batch_size=p["batch_size"], device=p["device"], progress=progress,
                                              topics=p.get("topics") or None)
            except CalibrationError as err:  # "found 14": say which file was skipped and why
                if err.file_errors:
                    self.store.run("UPDATE tasks SET result=? WHERE id=?", (dumps({"file_errors": [
                        _file_error(path, reason, by_path) for path, reason in err.file_errors.items()]}),
                        task["id"]))
                raise
            self._check(task)
            errors = [_file_error(path, reason, by_path) for path, reason in out.file_errors.items()]
            for path, secs in out.durations.items():
                if path in by_path:
                    self.store.run("UPDATE files SET duration_s=? WHERE unique_name=?",
                                   (secs, by_path[path]["unique_name"]))
            with self.store.tx() as c:
                v = c.execute("SELECT COALESCE(MAX(version),0)+1 FROM models WHERE mission_id=?",
                              (task["mission_id"],)).fetchone()[0]
                final = self.models_dir / task["mission_id"] / f"v{v}"
                out_dir.replace(final)
                c.execute("INSERT INTO models VALUES (?,?,?,?,?,?)", (task["mission_id"], v,
                          str(final / out.subdir if out.subdir else final),
                          out.model_version, task["ref_id"], now()))
        except BaseException:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise
        result = {"model_version": out.model_version, "version": v, "device": out.device,
                  "files_used": out.files_used, "file_errors": errors, "seconds": out.seconds}
        msg = f"Model v{v} trained on {out.files_used} recordings"
        if errors:
            msg += f"; {len(errors)} file(s) skipped"
        self._progress(task, {"stage": "done", "epoch": p["epochs"], "epochs": p["epochs"]})
        self._finish(task, "done", msg, result)

    # -- scoring --------------------------------------------------------------------------
    def _process(self, task: dict) -> None:
        p = loads(task["params"])
        model_dir = Path(p["model"]["model_dir"])
        if not model_dir.is_dir():
            raise RideScanError(f"model v{p['model']['version']} is gone (mission or model deleted)")
        score = self.executor.scorer(model_dir, p["device"])
        rows = {r["unique_name"]: r for r in self.files.rows(task["mission_id"], names=p["files"])}
        failed = 0
        for i, name in enumerate(p["files"]):
            self._check(task)
            risk, version, detail, error = None, p["model"]["model_version"], None, None
            try:
                row = rows.get(name)
                if row is None:
                    raise RideScanError("file was deleted before it was scored")
                outs = [score(str(path)) for path in self.files.recording_paths(row)]
                risk = max(o.risk_score for o in outs)
                version = outs[0].model_version
                secs = sum(o.duration_s or 0.0 for o in outs)
                detail = {**outs[0].detail, "duration_s": secs}
                if len(outs) > 1:
                    detail["recordings"] = [{"risk_score": o.risk_score, **o.detail} for o in outs]
                self.store.run("UPDATE files SET duration_s=? WHERE unique_name=?", (secs, name))
            except RideScanError as err:
                where = {str(p): row["original_name"] for p in self.files.recording_paths(row)} if row else {}
                if row:
                    where[str(self.files.blobs.absolute(row["stored_path"]))] = row["original_name"]
                error, failed = client_names(str(err), where), failed + 1
            except Exception as err:  # noqa: BLE001 - one file's bug must not fail the others
                log.exception("scoring %s failed", name)
                error, failed = f"internal error: {type(err).__name__}: {err}", failed + 1
            self.store.run("INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?,?)",
                           (task["ref_id"], name, task["mission_id"], task["robot_id"], risk, version,
                            dumps(detail) if detail else None, error, now()))
            self._progress(task, {"stage": "scoring", "files_done": i + 1, "files_total": len(p["files"])})
        self._check(task)
        if failed == len(p["files"]):
            self._finish(task, "failed", f"no file could be scored ({failed} failed)")
        else:
            self._finish(task, "done", f"Scored {len(p['files']) - failed} file(s), {failed} failed")


def progress_fields(args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Accept the model's progress in any shape: a dict, keywords, or (epoch, epochs, loss).

    The model reports ``{stage: reading|training|calibrating|saving, epoch, epochs, files_done,
    files_total, loss}``; ``files_done`` counts recordings read, not uploaded files.
    """
    out: dict[str, Any] = {}
    if args and isinstance(args[0], dict):
        out.update(args[0])
    elif args:
        for k, v in zip(("epoch", "epochs", "loss"), args):
            out[k] = v
    out.update(kwargs)
    clean: dict[str, Any] = {"stage": "training"}
    for k, v in out.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        clean[k] = v if isinstance(v, (int, float, str, bool, type(None))) else str(v)
    return clean


def client_names(text: str, where: dict[str, str]) -> str:
    """``text`` with server paths (blob files of the data dir) replaced by the names the
    client uploaded: an error must say which of *their* files, not where it lives here."""
    for path in sorted(where, key=len, reverse=True):  # longest first: a zip before its entries
        text = text.replace(path, where[path])
    return text


def _file_error(path: str, reason: str, by_path: dict[str, dict]) -> dict[str, str]:
    row = by_path.get(path) or next((r for p, r in by_path.items() if path.startswith(p) or p.startswith(path)), None)
    reason = client_names(reason, {p: r["original_name"] for p, r in by_path.items()})
    if row is None:
        return {"unique_filename": "", "original_filename": Path(path).name, "error": reason}
    return {"unique_filename": row["unique_name"], "original_filename": row["original_name"], "error": reason}
