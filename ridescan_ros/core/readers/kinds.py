"""Which reader a path goes to: magic bytes first, then the name.

Deciding by the last suffix alone sends ``run.bag.active`` nowhere (BR-01) and trusts
whatever a user named a file; the first bytes say what the file is.
"""

from __future__ import annotations

from pathlib import Path

_MAGICS = (
    (b"#ROSBAG", "ros1"),
    (b"\x89MCAP", "mcap"),
    (b"SQLite format 3\x00", "db3"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_SUFFIXES = (
    (".bag.active", "ros1"),
    (".bag", "ros1"),
    (".mcap", "mcap"),
    (".db3", "db3"),
    (".zstd", "zstd"),
    (".zip", "zip"),
    (".csv", "csv"),
    (".txt", "csv"),
    (".tsv", "csv"),
)
RECORDING_SUFFIXES = (".bag", ".bag.active", ".mcap", ".db3", ".db3.zstd", ".mcap.zstd", ".csv", ".zip")


def detect_kind(path: str) -> str:
    """``ros1``, ``rosbag2``, ``mcap``, ``db3``, ``zstd``, ``zip``, ``csv`` or ``unknown``."""
    p = Path(path)
    if p.is_dir():
        return "rosbag2"
    try:
        with p.open("rb") as f:
            head = f.read(16)
    except OSError:
        head = b""
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    name = p.name.lower()
    for suffix, kind in _SUFFIXES:
        if name.endswith(suffix):
            return kind
    return "unknown"


def is_recording_file(p: Path) -> bool:
    """Files a folder walk should offer as recordings (junk like ``._x`` excluded)."""
    if p.name.startswith("._") or p.name == ".DS_Store":
        return False
    return p.name.lower().endswith(RECORDING_SUFFIXES)
