"""Reading several recordings at once on several cores (processes).

Decoding is CPU-bound Python plus numpy, so threads would share one core; independent
files go to a pool of worker processes instead. Results come back in input order and are
the same objects a serial loop over `readers.load_recording` returns. Workers are started
with "spawn" because the node and the calibration process may already run threads (rclpy
executors, torch), which "fork" does not copy safely. A worker that dies (killed for
memory, a crash inside a library) does not take the other files with it: the files it
may have been reading are retried one per fresh process, and a file that kills its own
process becomes a `RecordingError`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.telemetry import Recording

T = TypeVar("T")
R = TypeVar("R")

# Each worker holds one whole recording while it is sent back; more than a few workers
# buys little on robot computers and multiplies peak memory.
MAX_WORKERS = 8
CRASH_REASON = "the reading process died (out of memory, or a crash inside a library)"


def default_workers(n_items: int) -> int:
    """Usable cores (affinity-aware), capped by MAX_WORKERS and the number of items."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS, n_items))


def _load_one(path: str, fast: bool) -> Recording | RecordingError:
    """Worker body: a read failure is a result, not an exception that stops the map."""
    from ridescan_ros.core.readers import load_recording

    try:
        return load_recording(path, fast=fast)
    except RecordingError as err:
        return err


def load_many(
    paths: Iterable[str | Path], *, workers: int | None = None, fast: bool = True
) -> list[Recording | RecordingError]:
    """Read recordings in parallel; results (or the error for that file) in input order.

    Args:
        paths: recordings as `readers.load_recording` accepts them.
        workers: processes to use; ``None`` = usable cores (at most MAX_WORKERS);
            1 reads in this process.
        fast: passed to `load_recording` (bulk decoder on/off; same numbers either way).
    """
    items = [str(p) for p in paths]
    results = map_in_processes(_load_one, items, fast, workers=workers)
    return [
        RecordingError(path, CRASH_REASON) if isinstance(res, BrokenProcessPool) else res
        for path, res in zip(items, results)
    ]


def map_in_processes(
    func: Callable[[T, bool], R],
    items: Sequence[T],
    flag: bool,
    *,
    workers: int | None = None,
) -> list[R | BrokenProcessPool]:
    """``[func(item, flag) for item in items]`` over a process pool, in input order.

    `func` must be a module-level function (it is pickled by name). An item whose process
    died gives a `BrokenProcessPool` instance in its slot instead of a result; any other
    exception from `func` propagates, as it would serially.
    """
    n_workers = default_workers(len(items)) if workers is None else max(1, int(workers))
    n_workers = min(n_workers, max(1, len(items)))
    if n_workers == 1:
        return [func(item, flag) for item in items]
    ctx = multiprocessing.get_context("spawn")
    out: list[R | BrokenProcessPool | None] = [None] * len(items)
    retry: list[int] = []
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
        futures = [pool.submit(func, item, flag) for item in items]
        for i, fut in enumerate(futures):
            try:
                out[i] = fut.result()
            except BrokenProcessPool:
                retry.append(i)
    for i in retry:  # isolate: one process per suspect item, so only the culprit fails
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            try:
                out[i] = pool.submit(func, items[i], flag).result()
            except BrokenProcessPool as err:
                out[i] = err
    return out  # type: ignore[return-value]
