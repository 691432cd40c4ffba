"""Zip archives as users make them (BR-30): nested folders, Finder junk, bombs, zip-slip.

Every limit is checked from the central directory before a byte is extracted: per-entry
compression ratio, total uncompressed size, free space in the temp dir. Extraction is
streamed and stops if an entry produces more bytes than its directory entry declared.
Names with ``..``, absolute paths, drive letters or NUL are refused per entry (zip-slip),
``__MACOSX/``, ``._*`` AppleDouble files and ``.DS_Store`` are ignored. Entries are
grouped into recordings: a folder with ``metadata.yaml`` or ``.db3`` files is one rosbag2
recording; ``.bag``/``.mcap``/``.csv`` files are one each; nested zips are refused.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers.rosbag2 import one_bag
from ridescan_ros.core.telemetry import Recording

MAX_RATIO = 100.0
RATIO_MIN_BYTES = 1 << 20
MAX_TOTAL_BYTES = 4 << 30
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_BAG_FOLDER_PARTS = ("metadata.yaml", ".db3", ".db3.zstd", ".db3-wal", ".db3-shm", ".mcap", ".mcap.zstd")
_SINGLE = (".bag", ".bag.active", ".mcap", ".mcap.zstd", ".db3", ".db3.zstd", ".csv")


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        not parts
        or parts[0] == "__MACOSX"
        or parts[-1] in _JUNK_NAMES
        or parts[-1].startswith("._")
    )


def _unsafe(name: str) -> str:
    if "\x00" in name:
        return "NUL byte in entry name"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path in entry name"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "'..' in entry name (zip-slip)"
    return ""


def _open(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise RecordingError(path, f"not a readable zip archive ({err})") from err


def _plan(path: str, zf: zipfile.ZipFile) -> tuple[dict[str, list[zipfile.ZipInfo]], list[RecordingError]]:
    """Group entries into recordings; refusals per entry. Raises on archive-wide limits."""
    refused: list[RecordingError] = []
    files: list[zipfile.ZipInfo] = []
    total = 0
    names: set[str] = set()
    parents = {str(q) + "/" for i in zf.infolist() for q in PurePosixPath(i.filename).parents}
    for info in zf.infolist():
        name = info.filename
        if _is_junk(name):
            continue
        reason = _unsafe(name)
        if reason:
            refused.append(RecordingError(f"{path}!{name!r}", f"refused: {reason}"))
            continue
        if not info.is_dir() and name in names:
            refused.append(RecordingError(f"{path}!{name} (again)", "duplicate entry name: only the first is read"))
            continue
        names.add(name)
        if info.is_dir():
            if name not in parents:
                refused.append(RecordingError(f"{path}!{name}", "empty folder, no recording"))
            continue
        if info.file_size >= RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise RecordingError(
                path, f"refused before extraction: entry {name} expands {info.file_size} bytes from "
                f"{info.compress_size} (ratio over {MAX_RATIO:g}:1, zip bomb?)"
            )
        total += info.file_size
        files.append(info)
    if total > MAX_TOTAL_BYTES:
        raise RecordingError(path, f"refused before extraction: {total} bytes uncompressed (limit {MAX_TOTAL_BYTES})")
    by_dir: dict[str, list[str]] = {}
    for i in files:
        pp = PurePosixPath(i.filename)
        by_dir.setdefault(str(pp.parent), []).append(pp.name)
    bag_dirs = {d for d, names in by_dir.items()  # the same rule as a folder on disk
                if "metadata.yaml" in names or one_bag(names)}
    groups: dict[str, list[zipfile.ZipInfo]] = {}
    for info in files:
        name = info.filename
        parent = str(PurePosixPath(name).parent)
        low = name.lower()
        if parent in bag_dirs and low.endswith(_BAG_FOLDER_PARTS):
            groups.setdefault(parent + "/", []).append(info)
        elif low.endswith(".zip"):
            refused.append(RecordingError(f"{path}!{name}", "nested zip archives are not opened"))
        elif low.endswith(_SINGLE):
            groups[name] = [info] + [j for j in files if j.filename in (name + "-wal", name + "-shm")]
        elif low.endswith((".db3-wal", ".db3-shm")) and name[:-4] in {j.filename for j in files}:
            continue  # grouped with its database above
        elif parent not in bag_dirs:
            refused.append(RecordingError(f"{path}!{name}", f"not a recording ({PurePosixPath(name).suffix or 'no extension'})"))
    return groups, refused


def _extract(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], dest: Path) -> None:
    free = shutil.disk_usage(dest).free
    need = sum(i.file_size for i in infos)
    if need > free:
        raise OSError(f"needs {need} bytes, {free} free in the temp dir")
    for info in infos:
        out = dest / info.filename
        out.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as src, out.open("wb") as dst:
            while block := src.read(1 << 20):
                written += len(block)
                if written > info.file_size:
                    raise OSError(f"entry {info.filename} is larger than its directory entry says")
                dst.write(block)


def _load_group(path: str, zf: zipfile.ZipFile, key: str, infos: list[zipfile.ZipInfo], fast: bool) -> Recording:
    from ridescan_ros.core.readers import load_recording

    inner = key.rstrip("/")
    label = path if inner in ("", ".") else f"{path}!{inner}"
    with tempfile.TemporaryDirectory(prefix="ridescan_zip_") as tmp:
        try:
            _extract(zf, infos, Path(tmp))
        except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as err:
            raise RecordingError(label, f"cannot extract from zip ({err})") from err
        target = Path(tmp) / inner
        try:
            rec = load_recording(target, fast=fast)
        except RecordingError as err:
            raise RecordingError(label, err.reason) from err
    rec.path = label
    return rec


def load_zip_entries(path: str, *, fast: bool = True) -> list[Recording | RecordingError]:
    """Per-entry results: each recording in the zip read, each bad entry refused."""
    with _open(path) as zf:
        groups, results = _plan(path, zf)
        out: list[Recording | RecordingError] = list(results)
        for key, infos in groups.items():
            try:
                out.append(_load_group(path, zf, key, infos, fast))
            except RecordingError as err:
                out.append(err)
    return out


def entry_keys(path: str) -> list[str]:
    """Names of the recordings in a zip (and of its refused entries), as ``load_entry``
    takes them; reads the central directory only. Empty when the zip cannot be planned."""
    try:
        with _open(path) as zf:
            groups, refused = _plan(path, zf)
    except RecordingError:
        return []
    keys = [k.rstrip("/") for k in groups]
    keys += [e.path[len(path) + 1:] for e in refused if e.path.startswith(path + "!")]
    return sorted(keys)


def entry_digest(path: str, key: str) -> str:
    """A content id of one zip recording from the central directory (CRC-32 and size of its
    members, names left out): byte-identical copies under other names get the same id."""
    import hashlib

    with _open(path) as zf:
        groups, _ = _plan(path, zf)
    for k, infos in groups.items():
        if k.rstrip("/") == key:
            h = hashlib.sha256()
            for i in sorted(infos, key=lambda i: (i.CRC, i.file_size)):
                h.update(f"{i.CRC}:{i.file_size};".encode())
            return "zip:" + h.hexdigest()
    return f"{path}!{key}"


def load_entry(path: str, key: str, *, fast: bool = True) -> Recording:
    """One recording of a zip by its ``entry_keys`` name (a refused entry raises its refusal)."""
    with _open(path) as zf:
        groups, refused = _plan(path, zf)
        for k, infos in groups.items():
            if k.rstrip("/") == key:
                return _load_group(path, zf, k, infos, fast)
    for err in refused:
        if err.path == f"{path}!{key}":
            raise err
    raise RecordingError(f"{path}!{key}", "no such recording in the zip")


def load_single(path: str, *, fast: bool = True) -> Recording:
    """The one recording of a zip; refuses zips holding none or several."""
    with _open(path) as zf:
        groups, refused = _plan(path, zf)
        if len(groups) != 1:
            why = "; ".join(e.reason for e in refused[:3])
            raise RecordingError(
                path, f"zip holds {len(groups)} recordings, not one: pass the zip itself to "
                "calibrate/score (its recordings are expanded), or one entry as 'file.zip!entry'"
                + (f"; refused entries: {why}" if why else "")
            )
        (key, infos), = groups.items()
        return _load_group(path, zf, key, infos, fast)
