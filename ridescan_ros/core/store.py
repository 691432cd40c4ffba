"""SQLite store of robots, missions, files, tasks, models and scores.

One database file under the data dir, in WAL mode so readers never wait for the worker's
writes. Each thread gets its own connection (``sqlite3`` connections must not be shared
across threads) and the connections belong to this ``Store`` instance, so two apps in one
process never share state by accident. The schema is versioned with ``PRAGMA user_version``
and upgraded by the ordered ``MIGRATIONS`` at open.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MIGRATIONS: tuple[str, ...] = (
    # v1: the resources of the RideScan API, and the tasks the worker runs.
    """
    CREATE TABLE robots (
        id TEXT PRIMARY KEY, org TEXT NOT NULL, owner TEXT NOT NULL, name TEXT NOT NULL,
        robot_type TEXT NOT NULL, created REAL NOT NULL, modified REAL NOT NULL,
        UNIQUE (org, name));
    CREATE TABLE missions (
        id TEXT PRIMARY KEY, robot_id TEXT NOT NULL REFERENCES robots(id) ON DELETE CASCADE,
        name TEXT NOT NULL, created REAL NOT NULL, modified REAL NOT NULL,
        UNIQUE (robot_id, name));
    CREATE TABLE files (
        unique_name TEXT PRIMARY KEY,
        mission_id TEXT NOT NULL REFERENCES missions(id) ON DELETE CASCADE,
        robot_id TEXT NOT NULL, original_name TEXT NOT NULL, file_type TEXT NOT NULL,
        stored_path TEXT NOT NULL, size INTEGER NOT NULL, event_time TEXT,
        upload_time REAL NOT NULL, duration_s REAL, info TEXT);
    CREATE INDEX files_mission ON files(mission_id, file_type);
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY, ref_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        mission_id TEXT NOT NULL, robot_id TEXT NOT NULL, state TEXT NOT NULL,
        params TEXT NOT NULL, progress TEXT, message TEXT, result TEXT,
        attempts INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL,
        started REAL, finished REAL);
    CREATE INDEX tasks_mission ON tasks(mission_id, kind, created);
    CREATE INDEX tasks_state ON tasks(state, kind, created);
    CREATE TABLE models (
        mission_id TEXT NOT NULL, version INTEGER NOT NULL, model_dir TEXT NOT NULL,
        model_version TEXT NOT NULL, calib_id TEXT NOT NULL, created REAL NOT NULL,
        PRIMARY KEY (mission_id, version));
    CREATE TABLE scores (
        infer_id TEXT NOT NULL, unique_name TEXT NOT NULL, mission_id TEXT NOT NULL,
        robot_id TEXT NOT NULL, risk_score REAL, model_version TEXT, detail TEXT,
        error TEXT, created REAL NOT NULL, PRIMARY KEY (infer_id, unique_name));
    CREATE INDEX scores_file ON scores(unique_name, created);
    CREATE INDEX scores_robot ON scores(robot_id);
    """,
)


def now() -> float:
    """Wall-clock epoch seconds (UTC): the store keeps times as numbers."""
    return datetime.now(timezone.utc).timestamp()


def iso(ts: float | None) -> str | None:
    """``2026-01-07T10:00:00``: the API's created/modified format (UTC, no zone)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def rfc1123(ts: float | None) -> str | None:
    """``Wed, 07 Jan 2026 10:00:00 GMT``: the API's training/upload time format."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def dumps(obj: Any) -> str:
    """JSON for a TEXT column (NaN refused: scores must stay valid JSON)."""
    return json.dumps(obj, allow_nan=False, default=str)


def loads(text: str | None) -> Any:
    """Inverse of :func:`dumps`; ``None`` stays ``None``."""
    return None if text is None else json.loads(text)


class Store:
    """The SQLite database of one data dir, with one connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._closed = False
        self._migrate()

    @property
    def schema_version(self) -> int:
        """The applied migration count (``PRAGMA user_version``)."""
        return int(self.conn().execute("PRAGMA user_version").fetchone()[0])

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use, WAL, foreign keys on)."""
        c = getattr(self._local, "conn", None)
        if c is None:
            if self._closed:
                raise RuntimeError("store is closed")
            c = sqlite3.connect(
                str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            c.row_factory = sqlite3.Row
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA busy_timeout=30000")
            self._local.conn = c
            with self._lock:
                self._conns.append(c)
        return c

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (``BEGIN IMMEDIATE``): check-then-insert is atomic."""
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def one(self, sql: str, args: tuple | list = ()) -> dict[str, Any] | None:
        """First row as a dict, or ``None``."""
        row = self.conn().execute(sql, args).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, args: tuple | list = ()) -> list[dict[str, Any]]:
        """All rows as dicts."""
        return [dict(r) for r in self.conn().execute(sql, args).fetchall()]

    def run(self, sql: str, args: tuple | list = ()) -> int:
        """Execute one statement (autocommit); returns the changed row count."""
        return self.conn().execute(sql, args).rowcount

    def close(self) -> None:
        """Close every thread's connection (call once, at shutdown)."""
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(sqlite3.Error):
                c.close()
        self._local = threading.local()

    def _migrate(self) -> None:
        c = self.conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            version = int(c.execute("PRAGMA user_version").fetchone()[0])
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path}: schema version {version} is newer than this ridescan_ros "
                    f"({len(MIGRATIONS)}); upgrade the package"
                )
            for i in range(version, len(MIGRATIONS)):
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute(f"PRAGMA user_version={i + 1}")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")
