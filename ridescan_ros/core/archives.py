"""Zip uploads: judge every entry, refuse bombs before extracting, unpack the rest safely.

Users zip a bag folder in Finder (payload one level down, ``__MACOSX``/``.DS_Store`` junk),
mix notes and nested zips in, or send hostile archives (BR-27 zip-slip, BR-30 bombs). Each
entry gets a verdict; entries that escape the folder, nested archives, empty and unsupported
files are refused one by one, junk is ignored, and the declared ratio/total are checked before
a single byte is written. Extraction counts real bytes too, since declared sizes can lie.
"""

from __future__ import annotations

import posixpath
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ridescan_ros.core.uploads import UploadRefused

RECORDING_EXTS = (".bag", ".bag.active", ".csv", ".mcap", ".db3")
SUPPORT_EXTS = (".yaml", ".yml", ".zstd")  # rosbag2 metadata, compressed splits
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    """Bounds an archive must respect (bytes and the uncompressed/compressed ratio)."""

    max_total: int = 4 << 30
    max_ratio: float = 200.0
    max_entries: int = 10_000


@dataclass
class EntryResult:
    """What happened to one archive entry: ``accepted``, ``ignored`` or ``refused``."""

    name: str
    status: str
    reason: str = ""
    path: str = ""  # sanitized relative path (accepted entries)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "reason": self.reason}


@dataclass
class ZipReport:
    """Verdicts on every entry and the recordings (relative paths) the archive holds."""

    entries: list[EntryResult] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)

    def refused(self) -> list[EntryResult]:
        return [e for e in self.entries if e.status == "refused"]


def _judge(info: zipfile.ZipInfo) -> EntryResult:
    raw = info.filename
    if "\x00" in raw:
        return EntryResult(raw, "refused", "entry name contains a NUL byte")
    name = raw.replace("\\", "/")
    if info.is_dir():
        return EntryResult(raw, "ignored", "folder")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return EntryResult(raw, "refused", "absolute path escapes the archive folder")
    norm = posixpath.normpath("/".join(parts)) if parts else ""
    if ".." in parts or norm.startswith("..") or not norm:
        return EntryResult(raw, "refused", "path escapes the archive folder (zip-slip)")
    base = parts[-1]
    if parts[0] == "__MACOSX" or base.startswith("._") or base.lower() in JUNK_NAMES:
        return EntryResult(raw, "ignored", "operating-system metadata")
    low = base.lower()
    if low.endswith(".zip"):
        return EntryResult(raw, "refused", "nested archives are not unpacked")
    if low.endswith(SUPPORT_EXTS):
        return EntryResult(raw, "accepted", "", norm)
    if not low.endswith(RECORDING_EXTS):
        return EntryResult(raw, "refused", "unsupported file type")
    if info.file_size == 0:
        return EntryResult(raw, "refused", "empty file (0 bytes)")
    return EntryResult(raw, "accepted", "", norm)


def inspect_zip(path: str | Path, limits: ZipLimits = ZipLimits()) -> ZipReport:
    """Judge every entry of a zip without extracting anything.

    Raises:
        UploadRefused: not a readable zip, too many entries, declared total or ratio over the
            limits (a bomb), or no recording inside.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise UploadRefused(f"not a readable zip archive ({err})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise UploadRefused(f"zip has {len(infos)} entries (limit {limits.max_entries})")
        report = ZipReport(entries=[_judge(i) for i in infos])
        seen: set[str] = set()
        for e in report.entries:  # a second entry of one name would overwrite the first
            if e.status == "accepted":
                if e.path in seen:
                    e.status, e.reason = "refused", "duplicate entry name (an earlier entry has it)"
                seen.add(e.path)
        accepted = [(i, e) for i, e in zip(infos, report.entries) if e.status == "accepted"]
        total = sum(i.file_size for i, _ in accepted)
        packed = max(1, sum(i.compress_size for i, _ in accepted))
        if total > limits.max_total:
            raise UploadRefused(
                f"zip expands to {total} bytes, over the {limits.max_total}-byte limit (zip bomb)"
            )
        for info, entry in accepted:
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > (1 << 20) and ratio > limits.max_ratio:
                raise UploadRefused(
                    f"entry {entry.name!r} expands {ratio:.0f}:1, over the "
                    f"{limits.max_ratio:.0f}:1 limit (zip bomb)"
                )
        if total > (1 << 20) and total / packed > limits.max_ratio:
            raise UploadRefused(f"zip expands {total / packed:.0f}:1 overall (zip bomb)")
    report.recordings = _recordings([e.path for _, e in accepted])
    if not report.recordings:
        why = "; ".join(f"{e.name}: {e.reason}" for e in report.refused()) or "no entries"
        raise UploadRefused(f"zip holds no supported recording ({why})")
    return report


def _recordings(paths: list[str]) -> list[str]:
    """Group accepted entries into recordings: a rosbag2 folder is one, other files one each.

    A folder is a rosbag2 bag when it holds ``metadata.yaml`` next to its data files, or
    storage files of one bag (``readers.rosbag2.one_bag``: one file, or split files named
    ``<bag>_<index>``), as for a folder on disk; otherwise each ``.mcap``/``.db3``/``.bag``/
    ``.csv`` is a recording of its own. Metadata without any data file is not a recording.
    """
    from ridescan_ros.core.readers.rosbag2 import STORAGE_SUFFIXES, one_bag

    by_dir: dict[str, list[str]] = {}
    for p in paths:
        by_dir.setdefault(posixpath.dirname(p), []).append(p)
    out: list[str] = []
    for d, files in by_dir.items():
        low = [f.lower() for f in files]
        data = [posixpath.basename(f) for f in low if f.endswith(STORAGE_SUFFIXES)]
        is_bag2 = bool(data) and (any(posixpath.basename(f) == "metadata.yaml" for f in low) or one_bag(data))
        if is_bag2:
            out.append(d or ".")
            out.extend(f for f, lf in zip(files, low) if lf.endswith((".bag", ".bag.active", ".csv")))
        else:
            out.extend(f for f, lf in zip(files, low) if lf.endswith(RECORDING_EXTS + (".db3.zstd", ".mcap.zstd")))
    return sorted(out)


def extract_zip(path: str | Path, dest: Path, report: ZipReport, limits: ZipLimits = ZipLimits()) -> None:
    """Extract the accepted entries under ``dest`` at their sanitized paths.

    Bytes are counted as they are written, so an entry that lies about its size is stopped
    at the limit; on any failure ``dest`` is removed (no half-extracted folder stays).

    Raises:
        UploadRefused: an entry is corrupt or exceeds the limits while being written.
        OSError: the disk is full (the caller reports it).
    """
    dest.mkdir(parents=True, exist_ok=False)
    root = dest.resolve()
    written = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for entry in report.entries:
                if entry.status != "accepted":
                    continue
                target = (root / entry.path).resolve()
                if root not in target.parents:
                    raise UploadRefused(f"entry {entry.name!r} escapes the folder")
                target.parent.mkdir(parents=True, exist_ok=True)
                info = zf.getinfo(entry.name)
                cap = min(limits.max_total - written, max(info.file_size, 0))
                n = 0
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(CHUNK):
                        n += len(chunk)
                        if n > cap:
                            raise UploadRefused(f"entry {entry.name!r} is larger than it declares")
                        out.write(chunk)
                written += n
    except (zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError, ValueError) as err:
        shutil.rmtree(dest, ignore_errors=True)
        raise UploadRefused(f"corrupt zip entry ({err})") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
