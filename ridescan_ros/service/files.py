"""Uploaded files: accept staged parts one by one, list them, delete them.

The transport (HTTP multipart, or the node handing over a path) stages each file's bytes
under the data dir first; this module decides per file whether it is kept, publishes it by
rename under a generated name, and records it. One bad file never sinks the others.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ridescan_ros.core.archives import ZipLimits, extract_zip, inspect_zip
from ridescan_ros.core.store import Store, dumps, loads, now, rfc1123
from ridescan_ros.core.uploads import BlobDir, UploadRefused, display_name, extension, sniff


@dataclass
class StagedPart:
    """One file part as received: the raw client name and where its bytes were staged.

    ``error`` is set by the transport when the bytes could not be taken (over the size
    limit, client disconnect); the part is then refused with that reason.
    """

    raw_name: bytes | str | None
    staged: Path | None
    size: int = 0
    error: str | None = None


class Files:
    """Use cases on a mission's files."""

    def __init__(self, store: Store, blobs: BlobDir, zip_limits: ZipLimits) -> None:
        self.store = store
        self.blobs = blobs
        self.zip_limits = zip_limits

    def accept(
        self, robot: dict, mission: dict, file_type: str, parts: list[StagedPart],
        event_times: list[str],
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """Keep or refuse each staged part; returns (uploaded, failed) in the API's shape."""
        uploaded: list[dict[str, Any]] = []
        failed: list[dict[str, str]] = []
        seen: set[str] = set()
        for i, part in enumerate(parts):
            shown = _shown(part.raw_name)
            try:
                if part.error:
                    raise UploadRefused(part.error)
                name = display_name(part.raw_name)
                shown = name
                if name in seen:
                    raise UploadRefused(f"duplicate file name {name!r} in this request")
                seen.add(name)
                ext = extension(name)
                event = event_times[i] if i < len(event_times) and event_times[i] else None
                uploaded.append(self._keep(robot, mission, file_type, part, name, ext, event))
            except UploadRefused as err:
                failed.append({"original_filename": shown, "error": err.reason})
            except OSError as err:
                failed.append({"original_filename": shown, "error": _os_reason(err)})
            finally:
                if part.staged is not None:
                    part.staged.unlink(missing_ok=True)
        return uploaded, failed

    def _keep(self, robot: dict, mission: dict, file_type: str, part: StagedPart, name: str,
              ext: str, event: str | None) -> dict[str, Any]:
        assert part.staged is not None
        sniff(part.staged, ext)
        info: dict[str, Any] = {}
        if ext == ".zip":
            report = inspect_zip(part.staged, self.zip_limits)
            final = self.blobs.final_path(mission["id"], ".d")
            extract_zip(part.staged, final, report, self.zip_limits)
            info = {"recordings": report.recordings, "entries": [e.to_json() for e in report.entries]}
        else:
            final = self.blobs.final_path(mission["id"], ext)
            part.staged.replace(final)
        unique = f"{uuid.uuid4()}_{name}"
        t = now()
        try:
            self.store.run(
                "INSERT INTO files VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (unique, mission["id"], robot["id"], name, file_type, self.blobs.relative(final),
                 part.size, event, t, None, dumps(info) if info else None),
            )
        except sqlite3.IntegrityError:
            _remove(final)
            raise UploadRefused("mission was deleted during the upload") from None
        out: dict[str, Any] = {"unique_filename": unique, "original_filename": name, "event_time": event}
        if info:
            out["entries"] = info["entries"]
        return out

    def rows(self, mission_id: str, file_type: str | None = None,
             names: list[str] | None = None) -> list[dict[str, Any]]:
        """File rows of a mission (oldest first), optionally of one type or named ones."""
        sql, args = "SELECT * FROM files WHERE mission_id=?", [mission_id]
        if file_type:
            sql, args = sql + " AND file_type=?", args + [file_type]
        rows = self.store.all(sql + " ORDER BY upload_time, rowid", args)
        if names is not None:
            wanted = set(names)
            rows = [r for r in rows if r["unique_name"] in wanted]
        return rows

    def recording_paths(self, row: dict[str, Any]) -> list[Path]:
        """Paths the readers should open for one file row (a zip gives one per recording)."""
        base = self.blobs.absolute(row["stored_path"])
        info = loads(row["info"]) or {}
        recs = info.get("recordings")
        if not recs:
            return [base]
        return [base if r == "." else base / r for r in recs]

    def listing(self, mission_id: str, file_type: str | None = None) -> list[dict[str, Any]]:
        """The API's file objects, each with the latest risk score and its model version."""
        latest = {s["unique_name"]: s for s in self.store.all(
            "SELECT unique_name, risk_score, model_version FROM scores WHERE mission_id=? "
            "AND risk_score IS NOT NULL ORDER BY created", (mission_id,))}  # later rows win
        out = []
        for r in self.rows(mission_id, file_type):
            s = latest.get(r["unique_name"])
            out.append({
                "unique_filename": r["unique_name"],
                "original_filename": r["original_name"],
                "file_type": r["file_type"],
                "file_size": r["size"],
                "event_time": r["event_time"],
                "upload_time": rfc1123(r["upload_time"]),
                "risk_score": s["risk_score"] if s else None,
                "model_version": s["model_version"] if s else None,
            })
        return out

    def latest_score(self, unique_name: str) -> dict[str, Any] | None:
        """The newest successful score of a file, or ``None``."""
        return self.store.one(
            "SELECT * FROM scores WHERE unique_name=? AND risk_score IS NOT NULL "
            "ORDER BY created DESC LIMIT 1", (unique_name,),
        )

    def delete(self, mission_id: str, unique_name: str) -> dict[str, Any] | None:
        """Delete one file's row and blob (its scores stay in past inferences)."""
        row = self.store.one(
            "SELECT * FROM files WHERE mission_id=? AND unique_name=?", (mission_id, unique_name)
        )
        if row is None:
            return None
        self.store.run("DELETE FROM files WHERE unique_name=?", (unique_name,))
        _remove(self.blobs.absolute(row["stored_path"]))
        return row

    def delete_mission_blobs(self, mission_id: str) -> None:
        """Remove a deleted mission's blob folder."""
        _remove(self.blobs.mission_dir(mission_id))


def _shown(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return raw.replace("\x00", "\\x00")


def _os_reason(err: OSError) -> str:
    import errno

    if err.errno == errno.ENOSPC:
        return "disk full: the file was not stored"
    return f"could not store the file ({err.strerror or err})"


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)
