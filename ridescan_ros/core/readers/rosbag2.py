"""ROS 2 bags: folders (sqlite3 / MCAP, split files, metadata v4..v9) and bare storage files.

Read with our own sqlite3 queries rather than rosbags' reader because rosbags (0.11.9)
opens databases ``immutable=1`` (ignoring an uncheckpointed ``-wal``: silently half the
messages), matches connections on QoS text (metadata regenerated elsewhere -> 0 messages,
no error) and refuses folders without ``metadata.yaml``. Here metadata only supplies the
declared count and the file list; topics, types and definitions come from the storage
files themselves. A ``-wal`` sidecar is applied by opening a private copy; ``.zstd``
files (file compression) are decompressed to a temp dir; zstd-compressed payloads
(message compression) are recognised by their magic bytes.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers.kinds import detect_kind
from ridescan_ros.core.readers.mcap_scan import read_mcap
from ridescan_ros.core.readers.raw import RawBag, RawConnection
from ridescan_ros.core.readers.zstdio import decompress_file, maybe_decompress_payload

STORAGE_SUFFIXES = (".db3", ".mcap", ".db3.zstd", ".mcap.zstd")
SQLITE_MAGIC = b"SQLite format 3\x00"


def is_storage_file(p: Path) -> bool:
    """True for rosbag2 storage files (not sidecars like ``-wal``)."""
    return p.is_file() and p.name.endswith(STORAGE_SUFFIXES)


_SPLIT_NAME = re.compile(r"^(?P<stem>.+)_(?:0|[1-9][0-9]*)\.(?:db3|mcap)(?:\.zstd)?$")


def one_bag(names: list[str]) -> bool:
    """Do these storage file names (one folder without metadata.yaml) form ONE bag?

    One file does. Several do when they follow rosbag2's split naming, ``<stem>_<index>``
    with one stem and unpadded indices (``run_0.mcap``, ``run_1.mcap``); a folder of
    independent runs (``run_000.mcap``, ``run_001.mcap``, or unrelated names) does not.
    """
    names = [n for n in names if n.endswith(STORAGE_SUFFIXES)]
    if len(names) <= 1:
        return len(names) == 1
    stems = set()
    for n in names:
        m = _SPLIT_NAME.match(n)
        if m is None:
            return False
        stems.add(m["stem"])
    return len(stems) == 1


def is_bag_folder(p: Path) -> bool:
    """A folder holding ``metadata.yaml``, or storage files of one bag (``one_bag``)."""
    if not p.is_dir():
        return False
    if (p / "metadata.yaml").is_file():
        return True
    return one_bag([c.name for c in p.iterdir() if is_storage_file(c)])


def _natural(p: Path) -> tuple[Any, ...]:
    return tuple(int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name))


def _metadata(folder: Path, warnings: list[str]) -> dict[str, Any] | None:
    meta = folder / "metadata.yaml"
    if not meta.is_file():
        return None
    try:
        doc = yaml.safe_load(meta.read_text(encoding="utf-8", errors="replace"))
        info = doc["rosbag2_bagfile_information"]
        if not isinstance(info, dict):
            raise TypeError("rosbag2_bagfile_information is not a mapping")
        return info
    except (yaml.YAMLError, KeyError, TypeError) as err:
        warnings.append(f"metadata.yaml unreadable ({type(err).__name__}); storage files read directly")
        return None


def _declared(info: dict[str, Any]) -> int | None:
    n = info.get("message_count")
    return n if isinstance(n, int) and n >= 0 else None


def _sqlite_rows(db: Path, conns: dict[tuple[str, str, str], RawConnection]) -> None:
    wal = Path(f"{db}-wal")
    live = wal.is_file() and wal.stat().st_size > 0
    uri = f"file:{db}?mode=ro" + ("" if live else "&immutable=1")
    con = sqlite3.connect(uri, uri=True)
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"topics", "messages"} <= tables:
            raise RecordingError(str(db), "not a rosbag2 database (no topics/messages tables)")
        defs: dict[str, tuple[str, str]] = {}
        if "message_definitions" in tables:
            for typ, enc, text in con.execute(
                "SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"
            ):
                defs[typ] = ("idl" if enc == "ros2idl" else "msg", text or "")
        by_id: dict[int, RawConnection] = {}
        for tid, name, typ, fmt in con.execute(
            "SELECT id, name, type, serialization_format FROM topics"
        ):
            key = (name, typ, fmt)
            if key not in conns:
                dfmt, text = defs.get(typ, ("msg", ""))
                conns[key] = RawConnection(name, typ, fmt, text, dfmt)
            by_id[tid] = conns[key]
        for tid, ts, data in con.execute(
            "SELECT topic_id, timestamp, data FROM messages ORDER BY id"
        ):
            conn = by_id.get(tid)
            if conn is not None and data is not None:
                conn.log_ns.append(int(ts))
                conn.payloads.append(maybe_decompress_payload(bytes(data)))
    finally:
        con.close()


def _count(uri: str) -> int:
    con = sqlite3.connect(uri, uri=True)
    try:
        return int(con.execute("SELECT count(*) FROM messages").fetchone()[0])
    finally:
        con.close()


def _read_db3(db: Path, conns: dict[tuple[str, str, str], RawConnection], bag: RawBag) -> None:
    if db.stat().st_size == 0:
        raise RecordingError(str(db), "0-byte database file (empty)")
    with db.open("rb") as f:
        if f.read(16) != SQLITE_MAGIC:
            raise RecordingError(str(db), "not a SQLite database (bad header)")
    wal = Path(f"{db}-wal")
    try:
        if wal.is_file() and wal.stat().st_size > 0:
            with tempfile.TemporaryDirectory(prefix="ridescan_wal_") as tmp:
                copy = Path(tmp) / db.name
                shutil.copyfile(db, copy)
                shutil.copyfile(wal, Path(f"{copy}-wal"))
                main_only = _count(f"file:{db}?mode=ro&immutable=1")
                con = sqlite3.connect(str(copy))  # a normal open applies the WAL
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                con.close()
                total = _count(f"file:{copy}?mode=ro&immutable=1")
                _sqlite_rows(copy, conns)
                bag.warnings.append(
                    f"{db.name}: applied the -wal sidecar on a private copy; "
                    f"{total - main_only} of {total} messages were only in the WAL"
                )
        else:
            _sqlite_rows(db, conns)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as err:  # SQLite's message may be garbage
        raise RecordingError(str(db), f"SQLite database is damaged or truncated ({err})") from err


def _read_storage(
    f: Path, conns: dict[tuple[str, str, str], RawConnection], bag: RawBag, counts: list[int | None]
) -> None:
    """Append one storage file's connections; ``counts`` collects MCAP statistics counts."""
    kind = detect_kind(str(f))
    if kind == "zstd" or (kind == "unknown" and f.name.endswith(".zstd")):
        with tempfile.TemporaryDirectory(prefix="ridescan_zstd_") as tmp:
            out = Path(tmp) / f.name[: -len(".zstd")]
            try:
                decompress_file(f, out)
            except ValueError as err:
                raise RecordingError(str(f), str(err)) from err
            bag.warnings.append(f"{f.name}: zstd file compression, decompressed to a temp dir")
            _read_storage(out, conns, bag, counts)
        return
    if kind == "mcap" or (kind == "unknown" and f.suffix == ".mcap"):
        part = read_mcap(str(f))
        counts.append(part.declared)
        bag.warnings.extend(part.warnings)
        bag.recovered |= part.recovered
        for c in part.connections:
            c.payloads = [maybe_decompress_payload(p) for p in c.payloads]
            key = (c.topic, c.msgtype, c.encoding)
            if key in conns:
                conns[key].log_ns.extend(c.log_ns)
                conns[key].payloads.extend(c.payloads)
            else:
                conns[key] = c
        return
    _read_db3(f, conns, bag)


def _listed_files(folder: Path, info: dict[str, Any], found: list[Path], warnings: list[str]) -> list[Path]:
    """Files metadata.yaml lists (``x`` or its ``x.zstd``); all storage files if none exist."""
    listed = [str(x) for x in info.get("relative_file_paths") or []]
    listed += [str(f.get("path")) for f in info.get("files") or [] if isinstance(f, dict)]
    chosen: list[Path] = []
    missing = []
    for name in dict.fromkeys(listed):
        cand = [folder / name, folder / f"{name}.zstd"]
        hit = next((c for c in cand if c.is_file()), None)
        if hit is None:
            missing.append(name)
        elif hit not in chosen:
            chosen.append(hit)
    if missing:
        warnings.append(f"metadata.yaml lists missing file(s): {', '.join(missing)}")
    extra = [f for f in found if f not in chosen]
    if chosen and extra:
        warnings.append(f"storage file(s) not listed in metadata.yaml ignored: {', '.join(f.name for f in extra)}")
    return chosen or found


def read_rosbag2(path: str) -> RawBag:
    """Read a rosbag2 folder, or one bare ``.db3``/``.mcap``(``.zstd``) storage file."""
    p = Path(path)
    home = p if p.is_dir() else p.parent
    bag = RawBag(search_dirs=[str(home), str(home.parent)])
    if p.is_dir():
        info = _metadata(p, bag.warnings)
        files = sorted((c for c in p.iterdir() if is_storage_file(c)), key=_natural)
        if info is None:
            if not files:
                raise RecordingError(path, "folder has no metadata.yaml and no .db3/.mcap files")
            if not (p / "metadata.yaml").exists():
                bag.warnings.append("no metadata.yaml: read the storage files directly"
                                    + (f" ({len(files)} files named <bag>_<index>, read as the splits "
                                       "of one bag)" if len(files) > 1 else ""))
        else:
            bag.declared = _declared(info)
            files = _listed_files(p, info, files, bag.warnings)
            if not files:
                raise RecordingError(path, "metadata.yaml present but no storage file found")
    else:
        files = [p]
    conns: dict[tuple[str, str, str], RawConnection] = {}
    counts: list[int | None] = []
    for f in files:
        _read_storage(f, conns, bag, counts)
    if bag.declared is None and len(counts) == len(files) and None not in counts:
        bag.declared = sum(c for c in counts if c is not None)  # MCAP statistics records
    for c in conns.values():
        c.msgtype = c.msgtype.strip()
    bag.connections = list(conns.values())
    return bag
