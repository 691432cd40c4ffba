"""Bulk decoding of raw message payloads with numpy, bit-identical to the per-message path.

Contract: ``decode_batch(msgtype, payloads, encoding)`` returns ``(columns, done)`` where
``columns`` has the keys ``core.extract.extract_message`` would give (values NaN in rows
not decoded) and ``done`` is a (n,) bool mask of rows decoded here; or ``None`` when this
type/encoding is not handled at all. Readers decode the remaining rows one by one.

Why it is fast: per-message Python deserialization is what limits rosbags (~90k msgs/s).
Payloads of one connection almost always share one shape, so we group them by length,
walk one template payload (`core.msg_layout`), check in bulk that every row has the same
length fields and strings as the template, and read each value for all rows at once
through a strided numpy view. Rows that differ get their own template (a bounded number
of times); whatever is left, including malformed payloads, stays ``done=False`` so the
per-message path decodes it, or raises its clear error on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ridescan_ros.core.extract import normalize_type, quat_to_rpy
from ridescan_ros.core.msg_layout import (
    F4,
    F8,
    PITCH,
    PROGRAMS,
    ROLL,
    ROS1_UNSUPPORTED,
    STAMP,
    YAW,
    Layout,
    LayoutError,
    walk,
)

# Rows joined into one byte matrix at a time (at most CHUNK_ROWS rows and about
# CHUNK_BYTES bytes): bounds the extra memory independent of the recording length.
CHUNK_ROWS = 65536
CHUNK_BYTES = 16 << 20
# Template walks allowed per call beyond this floor: n // WALKS_PER_ROWS. Keeps the cost
# bounded when nothing is regular (every row its own shape): those go the slow way.
MIN_WALKS = 64
WALKS_PER_ROWS = 32


def decode_batch(
    msgtype: str, payloads: Sequence[bytes], encoding: str
) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """Decode many payloads of one connection at once; ``None`` = use the per-message path.

    Args:
        msgtype: ROS 2 or ROS 1 type name (``sensor_msgs/JointState`` is normalized).
        payloads: raw serialized messages (CDR ones with their 4-byte header).
        encoding: ``'ros1'`` or ``'cdr'``.
    """
    mtype = normalize_type(msgtype)
    if mtype not in PROGRAMS or encoding not in ("ros1", "cdr"):
        return None
    cdr = encoding == "cdr"
    if not cdr and mtype in ROS1_UNSUPPORTED:
        return None
    n = len(payloads)
    done = np.zeros(n, dtype=bool)
    columns: dict[str, np.ndarray] = {}
    if n == 0:
        return columns, done
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=n)
    order = np.argsort(lengths, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1)
    groups.sort(key=lambda g: int(g[0]))  # first-seen shape first: key order follows data
    budget = [max(MIN_WALKS, n // WALKS_PER_ROWS)]
    first: dict[str, tuple[int, int]] = {}
    for rows in groups:
        size = int(lengths[rows[0]])
        if size == 0:
            continue
        step = max(1, min(CHUNK_ROWS, CHUNK_BYTES // size))
        for start in range(0, len(rows), step):
            _decode_group(mtype, cdr, payloads, rows[start:start + step], columns, done,
                          budget, first)
    # Keys in the order a row-by-row pass (extract_message per row) would first meet them.
    ordered = sorted(columns, key=first.__getitem__)
    return {key: columns[key] for key in ordered}, done


def _decode_group(
    mtype: str,
    cdr: bool,
    payloads: Sequence[bytes],
    rows: np.ndarray,
    columns: dict[str, np.ndarray],
    done: np.ndarray,
    budget: list[int],
    first: dict[str, tuple[int, int]],
) -> None:
    """Decode rows (ascending indices, all of one length) template by template."""
    index = rows.tolist()
    m = len(index)
    if index[-1] - index[0] == m - 1:  # consecutive rows (the usual case): slice, no gather
        buf = b"".join(payloads[index[0]:index[-1] + 1])
    else:
        buf = b"".join([payloads[i] for i in index])
    mat = np.frombuffer(buf, dtype=np.uint8).reshape(m, -1)
    pending = np.ones(m, dtype=bool)
    while budget[0] > 0:
        head = int(np.argmax(pending))
        if not pending[head]:
            return
        budget[0] -= 1
        try:
            layout = walk(mtype, bytes(payloads[index[head]]), cdr)
        except LayoutError:
            pending[head] = False  # every row with its bytes fails the same way
            continue
        ok = _matching(mat, layout) & pending
        pending &= ~ok
        _fill(layout, buf, m, ok, rows, columns, done, first)


def _matching(mat: np.ndarray, layout: Layout) -> np.ndarray:
    """Rows whose length fields and strings equal the template's: same layout for sure.

    The checked bytes are gathered into one contiguous block and compared 8 at a time
    (about 2.5x faster than comparing each range byte by byte).
    """
    if not layout.checks:
        return np.ones(mat.shape[0], dtype=bool)
    cols = np.concatenate([np.arange(a, b) for a, b in layout.checks])
    cols = np.concatenate([cols, np.full((-cols.size) % 8, cols[0])])  # pad to whole words
    words = np.frombuffer(layout.template, dtype=np.uint8)[cols].view(np.uint64)
    return (np.take(mat, cols, axis=1).view(np.uint64) == words).all(axis=1)


def _strided(buf: bytes, m: int, size: int, offset: int, dtype: str) -> np.ndarray:
    """(m,) view of the value at `offset` in each of m rows of `size` bytes."""
    return np.ndarray(shape=(m,), dtype=np.dtype(dtype), buffer=buf, offset=offset,
                      strides=(size,))


def _fill(
    layout: Layout,
    buf: bytes,
    m: int,
    ok: np.ndarray,
    rows: np.ndarray,
    columns: dict[str, np.ndarray],
    done: np.ndarray,
    first: dict[str, tuple[int, int]],
) -> None:
    """Write the values of the rows `ok` (of this group chunk) into `columns`."""
    n = done.shape[0]
    every = bool(ok.all())
    target = rows if every else rows[ok]
    size, order = layout.size, layout.order

    def read(offset: int, dtype: str) -> np.ndarray:
        view = _strided(buf, m, size, offset, order + dtype)
        if not every:
            view = view[ok]
        return view.astype(np.float64)

    rpy_cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    row0 = int(target[0])
    for pos, (key, (offset, kind)) in enumerate(layout.columns.items()):
        if kind == F8 or kind == F4:
            values = read(offset, kind)
        elif kind == STAMP:
            sec = read(offset, "i4")
            nsec = read(offset + 4, "u4")
            values = sec + nsec * 1e-9  # float(sec) + float(nsec) * 1e-9, as stamp_seconds
        else:
            if offset not in rpy_cache:
                rpy_cache[offset] = quat_to_rpy_arrays(
                    *(read(offset + 8 * i, "f8") for i in range(4))
                )
            values = rpy_cache[offset][(ROLL, PITCH, YAW).index(kind)]
        col = columns.get(key)
        if col is None:
            col = columns[key] = np.full(n, np.nan)
        col[target] = values
        first[key] = min(first.get(key, (n, 0)), (row0, pos))
    done[target] = True


def quat_to_rpy_arrays(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`extract.quat_to_rpy` over arrays, bit for bit.

    The products and sums are the same IEEE operations in the same order as the scalar
    code; atan2/asin come from `math` (numpy's SIMD versions may differ in the last bit).
    Rows with a NaN input go through the scalar function itself, because which NaN
    payload survives an operation on two NaNs depends on operand order.
    """
    with np.errstate(all="ignore"):
        sinr = 2.0 * (w * x + y * z)
        cosr = 1.0 - 2.0 * (x * x + y * y)
        sinp = 2.0 * (w * y - z * x)
        siny = 2.0 * (w * z + x * y)
        cosy = 1.0 - 2.0 * (y * y + z * z)
        roll = np.array(list(map(math.atan2, sinr.tolist(), cosr.tolist())), dtype=np.float64)
        yaw = np.array(list(map(math.atan2, siny.tolist(), cosy.tolist())), dtype=np.float64)
        pitch = np.copysign(math.pi / 2, sinp)
        small = ~(np.abs(sinp) >= 1)
        pitch[small] = list(map(math.asin, sinp[small].tolist()))
        has_nan = np.isnan(x) | np.isnan(y) | np.isnan(z) | np.isnan(w)
    for i in np.flatnonzero(has_nan).tolist():
        roll[i], pitch[i], yaw[i] = quat_to_rpy(float(x[i]), float(y[i]), float(z[i]),
                                                float(w[i]))
    return roll, pitch, yaw
