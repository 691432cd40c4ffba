"""API keys: a YAML file of key hashes, each with its org and role.

The file never holds a key, only ``sha256`` hashes: keys are 256-bit random strings, so a
plain hash is enough (no password stretching needed) and a leaked file grants nothing. Lookups
hash the presented key and compare it with every entry in constant time. Example file::

    version: 1
    keys:
      - id: k_3f9a1c2e
        org: acme
        role: admin
        hash: sha256:5e88...
        created: "2026-01-07T10:00:00"
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from ridescan_ros.core.errors import RideScanError

PREFIX = "rsk_"
ROLES = ("admin", "user")


class KeysError(RideScanError):
    """The keys file is unreadable or malformed (the message says where)."""


@dataclass(frozen=True)
class KeyEntry:
    """One configured key (its hash, never the key)."""

    id: str
    org: str
    role: str
    hash: str


def hash_key(key: str) -> str:
    """``sha256:<hex>`` of a key, the only form ever written or compared."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: ``rsk_`` + 43 URL-safe characters (256 random bits)."""
    return PREFIX + secrets.token_urlsafe(32)


def load_entries(path: str | Path) -> list[KeyEntry]:
    """Parse a keys file (a missing file has no keys).

    Raises:
        KeysError: not YAML, or an entry without a valid org/role/hash.
    """
    p = Path(path)
    if not p.exists():
        return []
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise KeysError(f"{p}: not a valid keys file ({err})") from None
    items = doc.get("keys") if isinstance(doc, dict) else None
    if items is None:
        return []
    out = []
    for i, item in enumerate(items if isinstance(items, list) else [None]):
        if not isinstance(item, dict):
            raise KeysError(f"{p}: keys[{i}] is not a mapping")
        org, role, h = str(item.get("org") or ""), str(item.get("role") or ""), str(item.get("hash") or "")
        if not org or role not in ROLES or not h.startswith("sha256:") or len(h) != 71:
            raise KeysError(f"{p}: keys[{i}] needs org, role (admin|user) and hash (sha256:<64 hex>)")
        out.append(KeyEntry(id=str(item.get("id") or h[7:19]), org=org, role=role, hash=h))
    return out


def create_key(path: str | Path, org: str, role: str) -> tuple[str, KeyEntry]:
    """Make a key, add only its hash to the file (atomically); return (key, entry).

    Raises:
        KeysError: bad org/role, or an existing file that cannot be parsed.
    """
    if role not in ROLES:
        raise KeysError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not org or not org.strip():
        raise KeysError("org must not be empty")
    p = Path(path)
    load_entries(p)  # refuse to append to a broken file
    doc = (yaml.safe_load(p.read_text(encoding="utf-8")) if p.exists() else None) or {}
    doc.setdefault("version", 1)
    doc.setdefault("keys", [])
    key = new_key()
    entry = KeyEntry(id="k_" + secrets.token_hex(4), org=org.strip(), role=role, hash=hash_key(key))
    doc["keys"].append({
        "id": entry.id, "org": entry.org, "role": entry.role, "hash": entry.hash,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
    })
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    os.replace(tmp, p)
    return key, entry


class KeyRing:
    """Keys of one file, reloaded when the file changes (keys can be added while serving)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: list[KeyEntry] = []
        self._reload()

    def _reload(self) -> None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp != self._stamp:
            entries = load_entries(self.path)
            self._entries, self._stamp = entries, stamp

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str | None) -> KeyEntry | None:
        """The entry of ``key``, or ``None``; compares against every entry in constant time."""
        with self._lock:
            try:
                self._reload()
            except KeysError:
                pass  # keep serving the last good keys while the file is being edited
            entries = self._entries
        if not key:
            return None
        h = hash_key(key).encode()
        found = None
        for e in entries:
            if hmac.compare_digest(h, e.hash.encode()):
                found = e
        return found
