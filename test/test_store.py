"""The SQLite store: WAL, versioned schema, one connection per thread, no shared state."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from ridescan_ros.core.store import MIGRATIONS, Store, iso, rfc1123


def test_wal_mode_and_schema_version(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    assert s.conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.schema_version == len(MIGRATIONS)
    tables = {r["name"] for r in s.all("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"robots", "missions", "files", "tasks", "models", "scores"} <= tables
    s.close()


def test_reopen_keeps_data_and_does_not_remigrate(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    s.run("INSERT INTO robots VALUES ('r','o','k','n','spot',1,1)")
    s.close()
    s2 = Store(tmp_path / "db.sqlite3")
    assert s2.one("SELECT name FROM robots WHERE id='r'")["name"] == "n"
    assert s2.schema_version == len(MIGRATIONS)
    s2.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "db.sqlite3"
    c = sqlite3.connect(path)
    c.execute(f"PRAGMA user_version={len(MIGRATIONS) + 5}")
    c.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_one_connection_per_thread_and_per_store(tmp_path):
    s = Store(tmp_path / "a.sqlite3")
    other = Store(tmp_path / "b.sqlite3")
    main_conn = s.conn()
    seen = []
    t = threading.Thread(target=lambda: seen.append(s.conn()))
    t.start()
    t.join()
    assert seen[0] is not main_conn
    assert s.conn() is main_conn
    assert other.conn() is not main_conn  # two stores in one thread never share a connection
    s.close()
    other.close()


def test_transaction_rolls_back_on_error(tmp_path):
    s = Store(tmp_path / "db.sqlite3")
    with pytest.raises(ZeroDivisionError):
        with s.tx() as c:
            c.execute("INSERT INTO robots VALUES ('r','o','k','n','spot',1,1)")
            raise ZeroDivisionError
    assert s.one("SELECT * FROM robots") is None
    s.close()


def test_concurrent_writers_do_not_lose_rows(tmp_path):
    s = Store(tmp_path / "db.sqlite3")

    def write(i: int) -> None:
        for j in range(25):
            s.run("INSERT INTO robots VALUES (?,?,?,?,?,?,?)", (f"r{i}-{j}", "o", "k", f"n{i}-{j}", "spot", 1, 1))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert s.one("SELECT COUNT(*) AS n FROM robots")["n"] == 200
    s.close()


def test_time_formats():
    assert iso(1767780000.0) == "2026-01-07T10:00:00"
    assert rfc1123(1767780000.0) == "Wed, 07 Jan 2026 10:00:00 GMT"
    assert iso(None) is None


def test_a_new_migration_upgrades_an_existing_database(tmp_path, monkeypatch):
    import ridescan_ros.core.store as store_mod

    s = Store(tmp_path / "db.sqlite3")
    s.run("INSERT INTO robots VALUES ('r','o','k','n','spot',1,1)")
    s.close()
    extra = "ALTER TABLE robots ADD COLUMN serial TEXT; UPDATE robots SET serial='SN-1'"
    monkeypatch.setattr(store_mod, "MIGRATIONS", MIGRATIONS + (extra,))
    s2 = store_mod.Store(tmp_path / "db.sqlite3")
    assert s2.schema_version == len(MIGRATIONS) + 1
    assert s2.one("SELECT serial, name FROM robots") == {"serial": "SN-1", "name": "n"}
    s2.close()
