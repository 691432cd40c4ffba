"""A scanned container (`RawBag`) -> `Recording`: decode, choose time base, report.

``messages_read`` counts messages retrieved from the container and not lost to a
decoding error (topics deliberately not decoded because their type is not used for
scoring still count as read); when it is below the declared count the warning says
"read N of M declared", so a partial read is never silent.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np
from rosbags.typesys.store import Typestore

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers.decode import (
    decode_connection,
    is_supported,
    new_typestore,
    register_custom,
)
from ridescan_ros.core.readers.raw import RawBag, RawConnection
from ridescan_ros.core.readers.timebase import build_stream, ns_to_seconds, reference_time
from ridescan_ros.core.telemetry import Recording

ENCODINGS = ("ros1", "cdr")


@lru_cache(maxsize=2)
def _builtin_names(encoding: str) -> frozenset[str]:
    return frozenset(new_typestore(encoding).fielddefs)


def _store(stores: dict[str, Typestore], encoding: str) -> Typestore:
    """The recording's own typestore for ``encoding`` (custom types get registered in it)."""
    if encoding not in stores:
        stores[encoding] = new_typestore(encoding)
    return stores[encoding]


def _decide(
    conn: RawConnection, stores: dict[str, Typestore], search_dirs: list[str]
) -> tuple[str, str]:
    """('decode'|'generic'|'skip'|'refuse', reason) for one connection."""
    if conn.encoding not in ENCODINGS:
        return "refuse", f"serialization format {conn.encoding!r} is not supported (only ros1, cdr)"
    if is_supported(conn.msgtype):
        return "decode", ""
    if conn.msgtype in _builtin_names(conn.encoding):
        return "skip", ""
    store = _store(stores, conn.encoding)
    if conn.msgtype in store.fielddefs:
        return "generic", ""
    reason = register_custom(store, conn, search_dirs)
    return ("refuse", reason) if reason else ("generic", "")


def _no_numeric_fields(conn: RawConnection, store: Typestore) -> bool:
    """Probe one message of a custom type: skip the topic cheaply if nothing is numeric."""
    probe = RawConnection(conn.topic, conn.msgtype, conn.encoding, log_ns=conn.log_ns[:1],
                          payloads=conn.payloads[:1])
    cols, ok, _ = decode_connection(probe, store, generic=True)
    return bool(ok.all()) and not any(k != "header.stamp" for k in cols)


def to_recording(path: str, raw: RawBag, *, fast: bool = True) -> Recording:
    """Decode every usable connection of ``raw`` into streams of one `Recording`.

    Consumes ``raw``: each connection's payloads are released once decoded, so the raw
    bytes and the decoded columns of the whole file are never all held at once.

    Raises:
        RecordingError: no messages at all, or none of them could be read.
    """
    total = raw.message_total()
    declared = raw.declared
    if total == 0:
        what = f" (the container declares {declared})" if declared else ""
        why = f": {'; '.join(raw.warnings[:3])}" if raw.recovered and raw.warnings else ""
        raise RecordingError(path, f"empty recording: no complete messages{what}{why}")
    warnings = list(raw.warnings)
    stores: dict[str, Typestore] = {}
    skipped: Counter[str] = Counter()
    refused: list[str] = []
    failed = 0
    parts: dict[str, list[tuple[str, np.ndarray, dict[str, np.ndarray]]]] = {}
    for conn in raw.connections:
        n = len(conn.payloads)
        if not n:
            continue
        action, reason = _decide(conn, stores, raw.search_dirs)
        if action == "skip":
            skipped[f"{conn.topic} [{conn.msgtype}]"] += n
            continue
        if action == "refuse":
            refused.append(f"{conn.topic}: {reason}")
            warnings.append(f"{conn.topic}: {n} messages skipped: {reason}")
            continue
        store = _store(stores, conn.encoding)
        if action == "generic" and _no_numeric_fields(conn, store):
            skipped[f"{conn.topic} [{conn.msgtype}, no numeric fields]"] += n
            continue
        cols, ok, err = decode_connection(conn, store, generic=action == "generic", fast=fast)
        nfail = int((~ok).sum())
        if nfail:
            failed += nfail
            warnings.append(f"{conn.topic}: {nfail} of {n} messages could not be decoded ({err})")
        if not ok.any():
            continue
        if action == "generic" and not any(k != "header.stamp" for k in cols):
            skipped[f"{conn.topic} [{conn.msgtype}, no numeric fields]"] += n
            continue
        log_s = ns_to_seconds(np.asarray(conn.log_ns, dtype=np.int64))
        conn.payloads, conn.log_ns = [], []  # decoded: free the raw bytes before the next one
        if nfail:
            log_s = log_s[ok]
            cols = {k: v[ok] for k, v in cols.items()}
        parts.setdefault(conn.topic, []).append((conn.msgtype, log_s, cols))
    if skipped:
        listing = ", ".join(f"{k} {v}" for k, v in sorted(skipped.items()))
        warnings.append(f"not decoded (type not used for scoring): {listing}")
    read = total - failed
    if not parts and not skipped:
        why = "; ".join(refused) or "every message failed to decode"
        raise RecordingError(path, f"no readable messages: {why}")
    ref = reference_time([p[1] for plist in parts.values() for p in plist])
    rec = Recording(path=path, warnings=warnings, recovered=raw.recovered)
    for topic, plist in parts.items():
        msgtype = plist[0][0]
        if len({p[0] for p in plist}) > 1:
            warnings.append(f"{topic}: several message types on one topic; keeping {msgtype}")
            plist = [p for p in plist if p[0] == msgtype]
        if len(plist) == 1:  # one connection per topic (the usual case): no copy
            log_s, cols = plist[0][1], dict(plist[0][2])
        else:
            log_s = np.concatenate([p[1] for p in plist])
            keys = list(dict.fromkeys(k for p in plist for k in p[2]))
            cols = {
                k: np.concatenate([p[2].get(k, np.full(p[1].shape[0], np.nan)) for p in plist])
                for k in keys
            }
        rec.streams[topic] = build_stream(topic, msgtype, log_s, cols, ref, warnings)
    rec.messages_read = read
    rec.messages_declared = declared
    if declared is not None and read < declared:
        warnings.append(f"read {read} of {declared} declared messages")
    return rec
