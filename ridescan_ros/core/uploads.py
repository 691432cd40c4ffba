"""Checks on uploaded files: display names, content sniffing, and where blobs live.

A client's file name is display metadata only: blobs are stored under generated names, so
``../``, absolute, Windows or NUL names can never choose a path (BR-27). Content is checked
against the extension so a mislabelled or empty file is refused alone, at upload time, with a
reason, instead of failing a calibration later. Zip archives are in ``core.archives``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from ridescan_ros.core.errors import RideScanError

#: Extensions accepted as uploads, longest first (``.bag.active`` before ``.bag``).
UPLOAD_EXTS: tuple[str, ...] = (".bag.active", ".bag", ".zip", ".csv", ".mcap", ".db3")
FILE_TYPES: tuple[str, ...] = ("calib_file", "process_file")
MAX_NAME_BYTES = 255

_MAGIC = {
    ".bag": (b"#ROSBAG V2.0\n",),
    ".bag.active": (b"#ROSBAG V2.0\n",),
    ".mcap": (b"\x89MCAP0\r\n",),
    ".db3": (b"SQLite format 3\x00",),
    ".zip": (b"PK\x03\x04", b"PK\x05\x06"),
}


class UploadRefused(RideScanError):
    """One uploaded file (or zip entry) is refused; ``reason`` is shown to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def display_name(raw: bytes | str | None) -> str:
    """The basename a client gave, checked for use as display metadata.

    ``../../x.bag``, ``/etc/x.bag``, ``C:\\dir\\x.bag`` and ``..\\x.bag`` keep only ``x.bag``.

    Raises:
        UploadRefused: empty, ``.``/``..``, NUL or control characters, not UTF-8, too long.
    """
    if raw is None:
        raise UploadRefused("file part has no filename")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadRefused("file name is not valid UTF-8") from None
    if "\x00" in raw:
        raise UploadRefused("file name contains a NUL byte")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise UploadRefused("file name contains control characters")
    base = raw.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip()
    if base in ("", ".", ".."):
        raise UploadRefused(f"file name {raw!r} has no usable base name")
    if len(base.encode("utf-8")) > MAX_NAME_BYTES:
        raise UploadRefused(f"file name longer than {MAX_NAME_BYTES} bytes")
    return base


def extension(name: str) -> str:
    """The accepted extension of ``name`` (lower case), or raise ``UploadRefused``."""
    low = name.lower()
    for ext in UPLOAD_EXTS:
        if low.endswith(ext) and len(low) > len(ext):
            return ext
    raise UploadRefused(
        f"unsupported file extension of {name!r}; accepted: "
        + ", ".join(e for e in UPLOAD_EXTS)
    )


def sniff(path: str | Path, ext: str) -> None:
    """Check that a stored file's first bytes match its extension.

    Raises:
        UploadRefused: 0-byte file, wrong magic bytes, or a binary file named ``.csv``.
    """
    size = os.path.getsize(path)
    if size == 0:
        raise UploadRefused("file is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(4096)
    if ext in _MAGIC:
        if not any(head.startswith(m) for m in _MAGIC[ext]):
            raise UploadRefused(f"content is not a {ext} file (wrong magic bytes)")
        return
    if ext == ".csv":
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return  # UTF-16 text: the CSV reader decides (and explains) what it can read
        if b"\x00" in head:
            raise UploadRefused("content is binary, not a CSV text file")
        for magic in (m for ms in _MAGIC.values() for m in ms):
            if head.startswith(magic):
                raise UploadRefused("content is a binary recording/archive named .csv")


def check_file_type(value: object) -> str:
    """``calib_file`` or ``process_file``; anything else is RS-VAL-005 in the API."""
    text = str(value or "").strip()
    if text not in FILE_TYPES:
        raise UploadRefused(f"invalid file_type {value!r}; expected calib_file or process_file")
    return text


class BlobDir:
    """Where one data dir keeps uploaded blobs: staging under ``tmp/``, final under ``blobs/``.

    Staging lives inside the data dir (same filesystem), so a finished upload is published
    with an atomic rename and never passes through the system temp dir (BR-29).
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir).resolve()
        self.tmp = self.root / "tmp"
        self.blobs = self.root / "blobs"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.blobs.mkdir(parents=True, exist_ok=True)

    def staging_path(self) -> Path:
        """A fresh generated path to stream one part into."""
        return self.tmp / f"{uuid.uuid4().hex}.part"

    def final_path(self, mission_id: str, ext: str) -> Path:
        """A fresh generated blob path for a mission (``<uuid hex><ext>``)."""
        d = self.blobs / _safe_id(mission_id)
        d.mkdir(parents=True, exist_ok=True)
        return d / f"{uuid.uuid4().hex}{ext}"

    def relative(self, path: Path) -> str:
        """Path relative to the data dir (what the store keeps; the dir may move)."""
        return str(path.resolve().relative_to(self.root))

    def absolute(self, rel: str) -> Path:
        """Resolve a stored relative path, refusing anything outside the data dir."""
        p = (self.root / rel).resolve()
        if self.root not in p.parents:
            raise ValueError(f"stored path escapes the data dir: {rel!r}")
        return p

    def mission_dir(self, mission_id: str) -> Path:
        """The folder of one mission's blobs."""
        return self.blobs / _safe_id(mission_id)

    def clean_staging(self, older_than_s: float = 0.0) -> int:
        """Remove staged parts left by a crash; returns how many were removed."""
        import time

        n, limit = 0, time.time() - older_than_s
        for p in self.tmp.glob("*"):
            try:
                if p.stat().st_mtime <= limit:
                    _remove(p)
                    n += 1
            except OSError:
                continue
        return n


    def sweep_orphans(self, known: set[str]) -> list[str]:
        """Remove blobs no file row refers to (a kill -9 between publishing a blob and
        recording it); ``known`` are the stored relative paths. Returns what was removed."""
        gone = []
        for mdir in self.blobs.iterdir():
            entries = list(mdir.iterdir()) if mdir.is_dir() else [mdir]
            for p in entries:
                rel = self.relative(p)
                if rel not in known:
                    _remove(p)
                    gone.append(rel)
            if mdir.is_dir() and not any(mdir.iterdir()):
                mdir.rmdir()
        return gone


def _safe_id(value: str) -> str:
    text = str(value)
    if not text or any(not (ch.isalnum() or ch == "-") for ch in text):
        raise ValueError(f"not an id: {value!r}")
    return text


def _remove(p: Path) -> None:
    import shutil

    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)
