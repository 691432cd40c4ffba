"""Raw payloads -> named float columns, one connection at a time.

Each connection's payloads go first to the bulk decoder (`core.fastdecode.decode_batch`);
rows it leaves undone are deserialized one by one with rosbags and turned into columns
by `core.extract.extract_message`, so both paths give the same keys and numbers.
Topics whose type is standard but not used for scoring (strings, images, tf...) are not
decoded at all, only counted. Custom types (not in rosbags' built-in stores) are
registered from the definition stored in the container, or from a ``<Type>.msg`` file
beside the recording, and their numeric scalar fields become columns.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from ridescan_ros.core import fastdecode
from ridescan_ros.core.extract import SUPPORTED_TYPES, extract_message, stamp_seconds
from ridescan_ros.core.readers.raw import RawConnection

_GENERIC_MAX_KEYS = 256
_GENERIC_MAX_ARRAY = 16
_GENERIC_MAX_DEPTH = 4


def new_typestore(encoding: str) -> Typestore:
    """A fresh built-in store (registration mutates it, so one per recording)."""
    return get_typestore(Stores.ROS1_NOETIC if encoding == "ros1" else Stores.ROS2_HUMBLE)


def _parse_definition(conn: RawConnection, search_dirs: Sequence[str]) -> dict[str, Any]:
    """Type definitions for ``conn`` from the container, else from ``<Type>.msg`` beside it."""
    text, fmt = conn.msgdef, conn.msgdef_format
    if not text.strip():
        name = conn.msgtype.rsplit("/", 1)[-1]
        for d in search_dirs:
            cand = Path(d) / f"{name}.msg"
            if cand.is_file() and cand.stat().st_size < 1_000_000:
                text, fmt = cand.read_text(encoding="utf-8", errors="replace"), "msg"
                break
    if not text.strip():
        return {}
    if fmt == "idl":
        sep = "=" * 80 + "\n"
        typs: dict[str, Any] = {}
        if text.startswith(sep + "IDL: "):
            for part in text.split(sep)[1:]:
                typs.update(get_types_from_idl(part.split("\n", 1)[1]))
        else:
            typs.update(get_types_from_idl(text))
        return typs
    return dict(get_types_from_msg(text, conn.msgtype))


def register_custom(store: Typestore, conn: RawConnection, search_dirs: Sequence[str]) -> str:
    """Register a non-built-in type; returns '' on success or the reason it failed."""
    try:
        typs = _parse_definition(conn, search_dirs)
    except Exception as err:  # rosbags parser errors have no common base
        return f"definition of {conn.msgtype} cannot be parsed ({type(err).__name__}: {err})"
    if conn.msgtype not in typs:
        return f"unknown message type {conn.msgtype} (no definition in the recording)"
    try:
        store.register({k: v for k, v in typs.items() if k not in store.fielddefs})
    except Exception as err:
        return f"definition of {conn.msgtype} cannot be registered ({type(err).__name__}: {err})"
    return ""


def generic_columns(msg: Any) -> dict[str, float]:
    """Numeric scalar fields of any message (custom types), keyed by dotted field path."""
    out: dict[str, float] = {}

    def walk(obj: Any, prefix: str, depth: int) -> None:
        if depth > _GENERIC_MAX_DEPTH or len(out) >= _GENERIC_MAX_KEYS:
            return
        for f in dataclasses.fields(obj):
            if f.name.startswith("__"):
                continue
            val = getattr(obj, f.name)
            key = f"{prefix}{f.name}"
            if f.name == "header" and prefix == "" and hasattr(val, "stamp"):
                continue
            if isinstance(val, (bool, int, float, np.number)):
                out[key] = float(val)
            elif isinstance(val, np.ndarray) and val.dtype.kind in "biuf":
                if 0 < val.size <= _GENERIC_MAX_ARRAY:
                    for i, v in enumerate(val.ravel()):
                        out[f"{key}.{i}"] = float(v)
            elif dataclasses.is_dataclass(val):
                walk(val, key + ".", depth + 1)

    walk(msg, "", 0)
    return out


def decode_connection(
    conn: RawConnection,
    store: Typestore,
    generic: bool,
    fast: bool = True,
) -> tuple[dict[str, np.ndarray], np.ndarray, str]:
    """Decode all payloads of one connection.

    Returns:
        (columns (n,) float64 each, ok (n,) bool rows decoded, first error text or '').
    """
    n = len(conn.payloads)
    cols: dict[str, np.ndarray] = {}
    done = np.zeros(n, dtype=bool)
    if fast and not generic:
        res = fastdecode.decode_batch(conn.msgtype, conn.payloads, conn.encoding)
        if res is not None:
            fcols, fdone = res
            cols = {k: np.asarray(v, dtype=np.float64) for k, v in fcols.items()}
            done = np.asarray(fdone, dtype=bool).copy()
    ok = done.copy()
    first_err = ""
    deser: Callable[[bytes, str], Any] = (
        store.deserialize_ros1 if conn.encoding == "ros1" else store.deserialize_cdr
    )
    for i in np.flatnonzero(~done):
        try:
            msg = deser(conn.payloads[i], conn.msgtype)
            row = _generic_row(msg) if generic else extract_message(conn.msgtype, msg)
        except Exception as err:  # corrupt payloads raise many kinds; count, never crash
            if not first_err:  # message index in the connection's recorded order
                first_err = f"first at message {i}: {type(err).__name__}: {err}"
            continue
        ok[i] = True
        for k, v in row.items():
            col = cols.get(k)
            if col is None:
                col = cols[k] = np.full(n, math.nan)
            col[i] = v
    return cols, ok, first_err


def _generic_row(msg: Any) -> dict[str, float]:
    """Custom message -> ``header.stamp`` (same scheme as `extract_message`) + numeric fields."""
    row: dict[str, float] = {}
    header = getattr(msg, "header", None)
    if header is not None and hasattr(header, "stamp"):
        row["header.stamp"] = stamp_seconds(header)
    row.update(generic_columns(msg))
    return row


def is_supported(msgtype: str) -> bool:
    """Types `extract_message` knows how to turn into columns."""
    return msgtype in SUPPORTED_TYPES
