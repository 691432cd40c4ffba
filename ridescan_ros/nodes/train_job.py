"""Training in a child process, as a ``service.executor.Executor`` for the node's service.

The node's scoring callbacks and the training loop then never share a GIL: the service's
worker thread calls ``ProcessExecutor.calibrate``, which runs
``python -m ridescan_ros.nodes.train_job '<json>'`` and relays its progress lines. If the
worker stops (node shutdown) the child is terminated; the service removes the partial
model folder. The child prints JSON lines: ``{"progress": {...}}`` then ``{"result": {...}}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from ridescan_ros.core.errors import RideScanError
from ridescan_ros.service.executor import CalibOutcome, ModelExecutor, ProgressFn
from ridescan_ros.service.worker import progress_fields


class ProcessExecutor(ModelExecutor):
    """``ModelExecutor`` whose ``calibrate`` runs in a child process (scoring stays in-process)."""

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def calibrate(self, paths: list[str], robot_type: str, out_dir: Path, *, epochs: int,
                  batch_size: int, device: str, progress: ProgressFn,
                  topics: dict[str, str] | None = None) -> CalibOutcome:
        args = {"paths": paths, "robot_type": robot_type, "out_dir": str(out_dir),
                "epochs": epochs, "batch_size": batch_size, "device": device, "topics": topics}
        errf = tempfile.TemporaryFile("w+")  # a file, so a chatty child never blocks on stderr
        proc = subprocess.Popen([sys.executable, "-m", "ridescan_ros.nodes.train_job", json.dumps(args)],
                                stdout=subprocess.PIPE, stderr=errf, text=True)
        with self._lock:
            self._procs.add(proc)
        result, failure = None, None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "progress" in msg:
                    progress(**msg["progress"])
                elif "result" in msg:
                    result = msg["result"]
                elif "error" in msg:
                    failure = msg
            proc.wait()
        finally:
            _terminate(proc)
            errf.seek(0)
            err = errf.read()
            errf.close()
            with self._lock:
                self._procs.discard(proc)
        if proc.returncode != 0 or result is None:
            from ridescan_ros.core.errors import CalibrationError

            if failure is not None:
                raise CalibrationError(str(failure["error"]), failure.get("file_errors"))
            lines = err.strip().splitlines()
            raise CalibrationError(lines[-1] if lines else f"training exited with {proc.returncode}")
        return CalibOutcome(**result)

    def close(self) -> None:
        """Terminate running trainings (the service then discards their output)."""
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            _terminate(p)


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args: dict) -> dict[str, Any]:
    """Child side: the real executor's calibrate, progress relayed as JSON lines."""

    def progress(*a: Any, **kw: Any) -> None:
        print(json.dumps({"progress": progress_fields(a, kw)}), flush=True)

    out = ModelExecutor().calibrate(args["paths"], args["robot_type"], Path(args["out_dir"]),
                                    epochs=int(args["epochs"]), batch_size=int(args["batch_size"]),
                                    device=args["device"], progress=progress,
                                    topics=args.get("topics"))
    return {"model_version": out.model_version, "device": out.device, "files_used": out.files_used,
            "file_errors": out.file_errors, "seconds": out.seconds, "durations": out.durations}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        result = run(json.loads(argv[0]))
    except RideScanError as err:  # the user's words, and which files were skipped and why
        print(json.dumps({"error": str(err), "file_errors": getattr(err, "file_errors", {})}), flush=True)
        return 1
    except Exception as err:  # noqa: BLE001 - the parent shows the reason to the user
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps({"result": result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
