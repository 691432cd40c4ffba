"""Reading several recordings at once on several cores (processes).

Decoding is CPU-bound Python plus numpy, so threads would share one core; independent
files go to a pool of worker processes instead. Results come back in input order and are
the same objects a serial loop over `readers.load_recording` returns (same bits, same
order). A worker that dies (killed for memory, a crash inside a library) does not take
the other files with it: the files it may have been reading are retried one per fresh
process, and a file that kills its own process becomes a `RecordingError`.

What makes the pool pay on two cores (bench/results/ingest.md, "load_many" section):

* Start method: ``fork`` while this process runs no other Python thread and has not
  loaded torch or rclpy (the CLI, a script): a worker starts in milliseconds with every
  module already imported. Once such threads may exist (rclpy executors, torch, a web
  server), ``fork`` is unsafe, so workers come from a ``forkserver`` that has imported
  the readers once (its first start costs about 0.3 s); ``spawn`` only where neither
  exists.
* Results: a recording's arrays (tens of MB for a 10-minute 500 Hz bag) do not travel
  through the result pipe as pickles; the worker writes them into one file in
  ``/dev/shm`` (memory, not disk) and sends only the layout; the parent reads each array
  straight into its own buffer and deletes the file.
* Largest files are handed out first, so a big file last in the list does not run alone.
* With ``workers=None`` inputs too small to repay a process start (under
  PARALLEL_MIN_BYTES of file in all) are read in this process.
"""

from __future__ import annotations

import glob
import itertools
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.telemetry import Recording, Stream

T = TypeVar("T")
R = TypeVar("R")

# Each worker holds one whole recording while it is sent back; more than a few workers
# buys little on robot computers and multiplies peak memory.
MAX_WORKERS = 8
CRASH_REASON = "the reading process died (out of memory, or a crash inside a library)"
# Below this much file in all, starting processes costs more than it saves (15 bags of
# 13 MB: 0.13 s serial, 0.14 s forked, 0.23 s from a forkserver); only applies when the
# caller leaves ``workers`` to us.
PARALLEL_MIN_BYTES = 16 << 20
# Results with less array data than this go through the pipe as they are.
PACK_MIN_BYTES = 1 << 20
_PACK_PREFIX = "ridescan-load-"
_PRELOAD = ["__main__", "ridescan_ros.core.readers", "ridescan_ros.core.parallel"]
_CALLS = itertools.count()


def default_workers(n_items: int) -> int:
    """Usable cores (affinity-aware), capped by MAX_WORKERS and the number of items."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS, n_items))


# Modules that run native thread pools or executors which a forked child could inherit
# mid-operation (locks held, OpenMP state); with any of them loaded, workers are not forked.
_FORK_HAZARDS = ("torch", "rclpy", "tensorflow", "jax")


def start_method() -> str:
    """``fork`` when that is safe, else ``forkserver``, else ``spawn``.

    Safe = Linux, no Python thread but this one, and none of _FORK_HAZARDS imported.
    numpy's own BLAS thread pool does not count: OpenBLAS parks it around ``fork``
    (pthread_atfork), and the readers do no BLAS work.
    """
    import threading

    methods = multiprocessing.get_all_start_methods()
    if (sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1
            and not any(m in sys.modules for m in _FORK_HAZARDS)):
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _context() -> multiprocessing.context.BaseContext:
    method = start_method()
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(_PRELOAD)  # no effect once its server runs
    return ctx


# --- compact results -------------------------------------------------------------------


def _pack_dir() -> str:
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


@dataclass
class _Packed:
    """A recording whose arrays wait in ``file``. ``layout`` has one entry per array slot
    (streams in order, each stream's ``t`` then its columns in order): (dtype, shape) of
    the next array in the file, or the int index of an earlier slot holding the same
    array object (a stream's ``t`` is often also its ``header.stamp`` column)."""

    shell: Recording
    file: str
    layout: list[tuple[str, tuple[int, ...]] | int]


def _arrays(rec: Recording) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for s in rec.streams.values():
        out.append(s.t)
        out.extend(s.columns.values())
    return out


def _pack(rec: Recording, owner: str) -> Recording | _Packed:
    """Worker side: arrays into one file named after the parent call's ``owner`` token;
    small or object-typed results are returned as they are."""
    slots = _arrays(rec)
    first: dict[int, int] = {}
    layout: list[tuple[str, tuple[int, ...]] | int] = []
    arrays: list[np.ndarray] = []
    for i, a in enumerate(slots):
        if id(a) in first:
            layout.append(first[id(a)])
            continue
        first[id(a)] = i
        a = np.asarray(a)
        layout.append((a.dtype.str, a.shape))
        arrays.append(a)
    if sum(a.nbytes for a in arrays) < PACK_MIN_BYTES or any(a.dtype.hasobject for a in arrays):
        return rec
    fd, name = tempfile.mkstemp(prefix=f"{_PACK_PREFIX}{owner}-", dir=_pack_dir())
    try:
        with os.fdopen(fd, "wb", buffering=0) as f:
            for a in arrays:
                f.write(np.ascontiguousarray(a).data.cast("B") if a.size else b"")
    except BaseException:
        os.unlink(name)
        raise
    shell = Recording(
        path=rec.path,
        streams={k: Stream(s.topic, s.msgtype, np.empty(0), dict.fromkeys(s.columns, np.empty(0)))
                 for k, s in rec.streams.items()},
        warnings=rec.warnings, messages_read=rec.messages_read,
        messages_declared=rec.messages_declared, recovered=rec.recovered,
    )
    return _Packed(shell, name, layout)


def _unpack(res: object) -> object:
    """Parent side: each array read straight into its own buffer; the file is removed."""
    if not isinstance(res, _Packed):
        return res
    try:
        with open(res.file, "rb", buffering=0) as f:
            arrays: list[np.ndarray] = []
            for entry in res.layout:
                if isinstance(entry, int):  # the same object as an earlier slot
                    arrays.append(arrays[entry])
                    continue
                a = np.empty(entry[1], dtype=np.dtype(entry[0]))
                view = a.data.cast("B") if a.size else memoryview(b"")
                got = 0
                while got < len(view):
                    n = f.readinto(view[got:])
                    if not n:
                        raise OSError(f"{res.file} ends early")
                    got += n
                arrays.append(a)
    finally:
        os.unlink(res.file)
    it = iter(arrays)
    for s in res.shell.streams.values():
        s.t = next(it)
        s.columns = {k: next(it) for k in s.columns}
    return res.shell


def _owner() -> str:
    """Token naming one call's result files: process id and call number, so concurrent
    calls (threads of a server) never sweep each other's files."""
    return f"{os.getpid()}x{next(_CALLS)}"


def _sweep(owner: str) -> None:
    """Remove files of results that never reached this process (a worker died after
    writing, an exception stopped the collection)."""
    for name in glob.glob(os.path.join(_pack_dir(), f"{_PACK_PREFIX}{owner}-*")):
        try:
            os.unlink(name)
        except OSError:
            pass


# --- reading ---------------------------------------------------------------------------


def _load_one(path: str, opts: tuple[bool, str]) -> Recording | RecordingError | _Packed:
    """Worker body: a read failure is a result, not an exception that stops the map."""
    from ridescan_ros.core.readers import load_recording

    fast, owner = opts
    try:
        rec = load_recording(path, fast=fast)
    except RecordingError as err:
        return err
    in_worker = owner.split("x", 1)[0] != str(os.getpid())
    return _pack(rec, owner) if in_worker else rec


def _input_bytes(path: str) -> int:
    try:
        p = Path(path)
        if p.is_dir():
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        return p.stat().st_size
    except OSError:
        return 0


def load_many(
    paths: Iterable[str | Path], *, workers: int | None = None, fast: bool = True
) -> list[Recording | RecordingError]:
    """Read recordings in parallel; results (or the error for that file) in input order.

    Args:
        paths: recordings as `readers.load_recording` accepts them.
        workers: processes to use; ``None`` = usable cores (at most MAX_WORKERS), or this
            process alone when the files total under PARALLEL_MIN_BYTES; 1 reads in this
            process.
        fast: passed to `load_recording` (bulk decoder on/off; same numbers either way).
    """
    items = [str(p) for p in paths]
    sizes = [_input_bytes(p) for p in items]
    if workers is None and sum(sizes) < PARALLEL_MIN_BYTES:
        workers = 1
    owner = _owner()
    out: list[Recording | RecordingError] = []
    try:
        results = map_in_processes(_load_one, items, (fast, owner), workers=workers,
                                   costs=sizes)
        for path, res in zip(items, results):
            if isinstance(res, BrokenProcessPool):
                out.append(RecordingError(path, CRASH_REASON))
            else:
                out.append(_unpack(res))  # type: ignore[arg-type]
    finally:
        _sweep(owner)
    return out


def map_in_processes(
    func: Callable[[T, object], R],
    items: Sequence[T],
    flag: object,
    *,
    workers: int | None = None,
    costs: Sequence[float] | None = None,
) -> list[R | BrokenProcessPool]:
    """``[func(item, flag) for item in items]`` over a process pool, in input order.

    `func` must be a module-level function (it is pickled by name). Items are handed out
    most costly first when ``costs`` are given. An item whose process died gives a
    `BrokenProcessPool` instance in its slot instead of a result; any other exception
    from `func` propagates, as it would serially.
    """
    n_workers = default_workers(len(items)) if workers is None else max(1, int(workers))
    n_workers = min(n_workers, max(1, len(items)))
    if n_workers == 1:
        return [func(item, flag) for item in items]
    ctx = _context()
    order = sorted(range(len(items)), key=lambda i: -costs[i]) if costs else range(len(items))
    out: list[R | BrokenProcessPool | None] = [None] * len(items)
    retry: list[int] = []
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
        futures = {i: pool.submit(func, items[i], flag) for i in order}
        for i in range(len(items)):
            try:
                out[i] = futures[i].result()
            except BrokenProcessPool:
                retry.append(i)
    for i in retry:  # isolate: one process per suspect item, so only the culprit fails
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            try:
                out[i] = pool.submit(func, items[i], flag).result()
            except BrokenProcessPool as err:
                out[i] = err
    return out  # type: ignore[return-value]


# --- reading ahead ---------------------------------------------------------------------

PREFETCH_MIN_BYTES = 4 << 20


class Prefetcher:
    """``(path, Recording | RecordingError)`` for each path, in order, each read in one
    worker process while the caller works on the one before; the first starts reading at
    construction, so a caller that then imports torch and loads a model (``ridescan
    score``) does both at once on two cores.

    Only used where workers can be forked (see `start_method`) and the files are at least
    PREFETCH_MIN_BYTES in all; otherwise each file is read in this process when its turn
    comes, as a plain loop would. A file whose reading kills the worker becomes a
    `RecordingError`; the files after it are then read in this process. Use as a context
    manager (or iterate to the end) so the worker is stopped.
    """

    def __init__(self, paths: Iterable[str | Path], *, fast: bool = True, ahead: int = 1) -> None:
        self.items = [str(p) for p in paths]
        self._fast, self._ahead = fast, max(1, int(ahead))
        self._owner = _owner()
        self._futures: dict[int, object] = {}
        self._submitted = 0
        self._pool: ProcessPoolExecutor | None = None
        if (self.items and start_method() == "fork"
                and sum(_input_bytes(p) for p in self.items) >= PREFETCH_MIN_BYTES):
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self._top_up(0)

    def _top_up(self, current: int) -> None:
        while self._pool is not None and self._submitted < len(self.items) \
                and self._submitted <= current + self._ahead:
            i = self._submitted
            self._futures[i] = self._pool.submit(_load_one, self.items[i], (self._fast, self._owner))
            self._submitted += 1

    def _get(self, i: int) -> Recording | RecordingError:
        fut = self._futures.pop(i, None)
        if fut is None:
            res = _load_one(self.items[i], (self._fast, self._owner))
        else:
            try:
                res = fut.result()  # type: ignore[attr-defined]
            except BrokenProcessPool:  # the worker reads in order: it died on this file
                self._stop()
                return RecordingError(self.items[i], CRASH_REASON)
            self._top_up(i)
        return _unpack(res)  # type: ignore[return-value]

    def __iter__(self):  # type: ignore[no-untyped-def]
        try:
            for i, path in enumerate(self.items):
                yield path, self._get(i)
        finally:
            self.close()

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()

    def close(self) -> None:
        """Stop the worker and remove results nobody collected."""
        self._stop()
        _sweep(self._owner)

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
