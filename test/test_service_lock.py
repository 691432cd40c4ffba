"""One task worker per data dir: a second ``ridescan serve`` (or a node) on the same store
is refused instead of training the same task twice; a killed holder frees it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ridescan_ros.service import RideScanService
from ridescan_ros.service.errors import ServiceError


def test_second_worker_on_one_data_dir_is_refused(tmp_path: Path) -> None:
    first = RideScanService(tmp_path / "d")
    first.start()
    second = RideScanService(tmp_path / "d")
    with pytest.raises(ServiceError, match="served by another ridescan process"):
        second.start()
    assert second.worker._threads == []  # nothing of the second one runs
    first.stop()
    second.start()  # free again once the first stopped
    second.stop()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = ("import sys, time; from ridescan_ros.service import RideScanService; "
            f"RideScanService({str(tmp_path / 'd')!r}).start(); print('up', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "up"
        with pytest.raises(ServiceError, match=f"pid {proc.pid}"):
            RideScanService(tmp_path / "d").start()
    finally:
        proc.kill()  # kill -9
        proc.wait()
    svc = RideScanService(tmp_path / "d")
    svc.start()
    svc.stop()


def test_only_the_lock_holder_tidies_staging_and_orphan_blobs(tmp_path: Path) -> None:
    from sidecar_fakes import csv_files

    svc = RideScanService(tmp_path / "d")
    svc.start()
    rid = svc.ensure_robot("local", "r", "wheeled_mobile")
    mid = svc.ensure_mission(rid, "m")
    kept = svc.add_file(rid, mid, csv_files(tmp_path / "c", 1)[0])
    in_flight = svc.blobs.staging_path()
    in_flight.write_bytes(b"an upload streaming in")
    other = RideScanService(tmp_path / "d")  # e.g. a refused second serve: must not touch it
    with pytest.raises(ServiceError):
        other.start()
    assert in_flight.exists()
    svc.stop()
    orphan = svc.blobs.mission_dir(mid) / "0123abcd.csv"  # published, then kill -9 before the row
    orphan.write_text("x")
    again = RideScanService(tmp_path / "d")
    again.start()
    assert not orphan.exists() and not in_flight.exists()
    assert [r["unique_name"] for r in again.files.rows(mid)] == [kept]
    assert again.files.recording_paths(again.files.rows(mid)[0])[0].exists()
    again.stop()
