"""Field cases (../shared/cases/BR-*): each README's "correct behaviour" as the expected value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers import load_all, load_recording
from ridescan_ros.core.telemetry import Recording

UR = ("shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint", "wrist_1_joint", "wrist_2_joint", "wrist_3_joint")


def _has(rec: Recording, text: str) -> bool:
    return any(text in w for w in rec.warnings)


def _monotonic(rec: Recording) -> None:
    for s in rec.streams.values():
        assert np.all(np.diff(s.t) >= 0), s.topic


# BR-01: killed recorder -> .bag.active / power-loss bag: recover complete chunks, flagged
def test_br01_active_bag_recovered(cases_dir: Path) -> None:
    rec = load_recording(cases_dir / "BR-01" / "ur5e_pick_2024-12-03-10-00-00.bag.active")
    assert rec.recovered and _has(rec, "not indexed")
    js, wr = rec.streams["/joint_states"], rec.streams["/wrench"]
    assert len(js) == 750 and len(wr) == 750  # 21 chunks of 125 Hz data, about 5.9 s
    assert 5.8 < rec.duration_s() < 6.1
    _monotonic(rec)


def test_br01_powerloss_drops_partial_chunk(cases_dir: Path) -> None:
    full = load_recording(cases_dir / "BR-01" / "ur5e_pick_2024-12-03-10-00-00.bag.active")
    rec = load_recording(cases_dir / "BR-01" / "ur5e_pick_2024-12-03-10-05-00_powerloss.bag")
    assert rec.recovered and _has(rec, "incomplete record")
    assert 0 < rec.messages_read < full.messages_read
    js = rec.streams["/joint_states"]
    ref = full.streams["/joint_states"]
    n = len(js)
    np.testing.assert_array_equal(js.t, ref.t[:n])  # what is kept is exactly the complete chunks


# BR-03: empty message definition -> built-in WrenchStamped, all 375 read
def test_br03_empty_definition_uses_builtin(cases_dir: Path) -> None:
    rec = load_recording(cases_dir / "BR-03" / "ur5e_wrench_no_msgdef.bag")
    wr = rec.streams["/wrench"]
    assert len(wr) == 375
    assert np.isfinite(wr.columns["force.z"]).all()
    assert len(rec.streams["/joint_states"]) == 375
    assert not _has(rec, "could not be decoded")


# BR-05: chunks out of order / stamps backwards -> sorted, reported
@pytest.mark.parametrize("name", ["ur5e_chunks_out_of_order_lz4.bag", "ur5e_header_stamps_out_of_order_bz2.bag"])
def test_br05_sorted_on_one_time_base(cases_dir: Path, name: str) -> None:
    rec = load_recording(cases_dir / "BR-05" / name)
    js = rec.streams["/joint_states"]
    assert len(js) == 750
    assert np.all(np.diff(js.t) > 0)  # no negative dt, no duplicates
    assert 5.9 < rec.duration_s() < 6.1
    if "bz2" in name:
        assert _has(rec, "backward time step")


def test_br05_chunk_order_reported(cases_dir: Path) -> None:
    rec = load_recording(cases_dir / "BR-05" / "ur5e_chunks_out_of_order_lz4.bag")
    assert _has(rec, "out of time order")


# BR-06: no metadata.yaml (plain and .db3.zstd) -> read the storage file directly
@pytest.mark.parametrize("folder", ["ur5e_2024_12_03-10_00_00", "ur5e_2024_12_03-10_10_00"])
def test_br06_folder_without_metadata(cases_dir: Path, folder: str) -> None:
    rec = load_recording(cases_dir / "BR-06" / folder)
    assert rec.messages_read == 750
    assert len(rec.streams["/joint_states"]) == 375 and len(rec.streams["/wrench"]) == 375
    assert _has(rec, "no metadata.yaml")


def test_br06_bare_zstd_file(cases_dir: Path) -> None:
    f = cases_dir / "BR-06" / "ur5e_2024_12_03-10_10_00" / "ur5e_2024_12_03-10_10_00_0.db3.zstd"
    assert load_recording(f).messages_read == 750


# BR-09: metadata v4/v5/v9 and QoS differing from the db3 -> 500 each, checked against declared
@pytest.mark.parametrize(
    "folder",
    ["ur5e_foxy_v4", "ur5e_galactic_v5", "ur5e_jazzy_v9_history_unknown", "ur5e_metadata_qos_differs_from_db3"],
)
def test_br09_metadata_versions(cases_dir: Path, folder: str) -> None:
    rec = load_recording(cases_dir / "BR-09" / folder)
    assert rec.messages_declared == 500
    assert rec.messages_read == 500
    assert not _has(rec, "declared")


# BR-10: WAL sidecar applied on a private copy; without it "read 250 of 500 declared"
def test_br10_wal_applied(cases_dir: Path) -> None:
    src = cases_dir / "BR-10" / "ur5e_wal_2024_12_03-10_20_00"
    rec = load_recording(src)
    assert rec.messages_read == 500 and rec.messages_declared == 500
    assert len(rec.streams["/joint_states"]) == 500
    assert _has(rec, "250 of 500 messages were only in the WAL")


def test_br10_without_wal_says_partial(cases_dir: Path, tmp_path: Path) -> None:
    src = cases_dir / "BR-10" / "ur5e_wal_2024_12_03-10_20_00"
    dst = tmp_path / src.name
    dst.mkdir()
    for f in src.iterdir():
        if not f.name.endswith("-wal"):
            shutil.copyfile(f, dst / f.name)
    rec = load_recording(dst)
    assert rec.messages_read == 250
    assert _has(rec, "read 250 of 500 declared")


# BR-13: MCAP without summary; killed writer (no footer / half a record)
@pytest.mark.parametrize(
    ("name", "count", "recovered"),
    [("spot_no_summary.mcap", 600, False), ("spot_killed_no_footer.mcap", 600, True),
     ("spot_killed_partial_record.mcap", 599, True)],
)
def test_br13_mcap_linear_scan(cases_dir: Path, name: str, count: int, recovered: bool) -> None:
    rec = load_recording(cases_dir / "BR-13" / name)
    assert len(rec.streams["/joint_states"]) == count
    assert rec.recovered is recovered
    assert _has(rec, "truncated MCAP") is recovered


# BR-15: mixed encodings: CDR channels read, others skipped per topic; ros1 profile decoded
@pytest.mark.parametrize("name", ["spot_mixed_encodings_no_profile.mcap", "spot_mixed_encodings_ros2_profile.mcap"])
def test_br15_mixed_encodings(cases_dir: Path, name: str) -> None:
    rec = load_recording(cases_dir / "BR-15" / name)
    assert len(rec.streams["/joint_states"]) == 300
    for topic in ("/spot/status/battery_json", "/spot/robot_state_proto"):
        assert _has(rec, f"{topic}: 30 messages skipped")
    assert any("without schema" in w for w in rec.warnings)
    assert "/spot/status/feet" in rec.streams  # IDL custom type decoded from its schema


def test_br15_ros1_profile_mcap_decoded(cases_dir: Path) -> None:
    rec = load_recording(cases_dir / "BR-15" / "ur5e_converted_from_ros1.mcap")
    js = rec.streams["/joint_states"]
    assert js.msgtype == "sensor_msgs/msg/JointState" and len(js) > 0
    assert all(f"{j}.position" in js.columns for j in UR)


# BR-17: empty velocity/effort arrays -> positions used, missing marked, stable layout
@pytest.mark.parametrize("name", ["ur5e_position_only", "ur5e_position_only_ros1.bag"])
def test_br17_empty_arrays(cases_dir: Path, name: str) -> None:
    rec = load_recording(cases_dir / "BR-17" / name)
    js = rec.streams["/joint_states"]
    assert len(js) == 500
    for j in UR:
        assert np.isfinite(js.columns[f"{j}.position"]).all()
        vel = js.columns[f"{j}.velocity"]
        assert np.isnan(vel[:250]).all() and np.isfinite(vel[250:]).all()
        assert f"{j}.effort" not in js.columns
    assert _has(rec, "missing values")


# BR-19: NaN/inf/1e226/denormal -> masked, reported with time and joint
def test_br19_bad_values_masked(cases_dir: Path) -> None:
    rec = load_recording(cases_dir / "BR-19" / "spot_nan_inf_spikes")
    js = rec.streams["/joint_states"]
    for col in js.columns.values():
        finite = col[np.isfinite(col)]
        assert np.all(np.abs(finite) < 1e12)
        assert not np.any((finite != 0) & (np.abs(finite) < np.finfo(float).tiny))
    assert np.isinf(np.concatenate(list(js.columns.values()))).sum() == 0
    masked = next(w for w in rec.warnings if "masked as missing" in w)
    assert "velocity" in masked and "t=" in masked
    missing = next(w for w in rec.warnings if "missing values" in w)
    assert "rear_left_knee.position (5," in missing


# BR-20: zero stamps -> log time; 1970 log time dropped; duration about 4 s
@pytest.mark.parametrize("folder", ["ur5e_zero_header_stamps", "ur5e_zero_stamps_and_1970_log_time"])
def test_br20_time_base(cases_dir: Path, folder: str) -> None:
    rec = load_recording(cases_dir / "BR-20" / folder)
    assert 3.5 < rec.duration_s() < 4.5
    assert _has(rec, "header.stamp is 0")
    assert rec.streams["/joint_states"].t[0] > 1.6e9
    if "1970" in folder:
        assert _has(rec, "implausible")
        assert len(rec.streams["/joint_states"]) == 500


# BR-23: Excel CSVs (UTF-8 BOM + CRLF; UTF-16 TAB) -> timestamp recognised, same data
def test_br23_excel_csvs(cases_dir: Path) -> None:
    a = load_recording(cases_dir / "BR-23" / "wheeled_patrol_excel_utf8_bom.csv").streams["csv"]
    b = load_recording(cases_dir / "BR-23" / "wheeled_patrol_excel_utf16.csv").streams["csv"]
    assert a.msgtype == b.msgtype == "csv/wheeled_mobile"
    assert len(a) == len(b) == 300
    assert "timestamp" not in a.columns and "\ufefftimestamp" not in a.columns
    np.testing.assert_allclose(a.t, b.t)
    assert a.t[0] > 1e9  # epoch seconds from the timestamp column
    for k in a.columns:
        np.testing.assert_allclose(a.columns[k], b.columns[k])


# BR-25: RTDE dialects
def test_br25_rtde_space_and_trailing_identical(cases_dir: Path) -> None:
    a = load_recording(cases_dir / "BR-25" / "rtde_robot_data_space.csv").streams["csv"]
    b = load_recording(cases_dir / "BR-25" / "rtde_trailing_delimiter.csv").streams["csv"]
    assert a.msgtype == "csv/rtde" and len(a.columns) + 1 == 27  # 26 values + timestamp
    assert list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(a.t, b.t)
    for k in a.columns:
        np.testing.assert_array_equal(a.columns[k], b.columns[k])
    assert a.t[0] == pytest.approx(152.512)  # uptime kept as relative time
    assert 4.9 < a.t[-1] - a.t[0] < 5.1


def test_br25_no_timestamp_timed_from_rate(cases_dir: Path) -> None:
    rec = load_recording(cases_dir / "BR-25" / "rtde_no_timestamp.csv")
    s = rec.streams["csv"]
    assert _has(rec, "125 Hz")
    np.testing.assert_allclose(np.diff(s.t), 1 / 125)


def test_br25_duplicates_deduped(cases_dir: Path) -> None:
    ref = load_recording(cases_dir / "BR-25" / "rtde_robot_data_space.csv").streams["csv"]
    rec = load_recording(cases_dir / "BR-25" / "rtde_duplicate_columns.csv")
    assert _has(rec, "duplicated column")
    s = rec.streams["csv"]
    assert list(s.columns) == list(ref.columns)
    np.testing.assert_array_equal(s.columns["actual_q_3"], ref.columns["actual_q_3"])


# BR-30: zips as users make them
def test_br30_finder_zip_one_recording(cases_dir: Path) -> None:
    z = cases_dir / "BR-30" / "mac_finder_compressed_run.zip"
    res = load_all(z)
    recs = [r for r in res if isinstance(r, Recording)]
    assert len(recs) == 1 and not [r for r in res if isinstance(r, RecordingError)]
    assert recs[0].path.endswith("Recordings/run_07")
    single = load_recording(z)
    assert single.messages_read == recs[0].messages_read > 0


def test_br30_mixed_contents_per_entry(cases_dir: Path) -> None:
    res = load_all(cases_dir / "BR-30" / "mixed_contents.zip")
    ok = {Path(r.path.split("!")[1]).name: r for r in res if isinstance(r, Recording)}
    bad = {r.path.split("!")[1]: r.reason for r in res if isinstance(r, RecordingError)}
    assert set(ok) == {"day3.bag", "day3_rtde.csv"}
    assert "0-byte" in bad["zero_bytes.bag"]
    assert "not a recording" in bad["day3_notes.txt"]
    assert "nested zip" in bad["more/day4_inside.zip"]
    with pytest.raises(RecordingError, match="recordings"):
        load_recording(cases_dir / "BR-30" / "mixed_contents.zip")


def test_br30_ratio_bomb_refused_before_extraction(cases_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    res = load_all(cases_dir / "BR-30" / "ratio_1000_to_1.zip")
    assert len(res) == 1 and isinstance(res[0], RecordingError)
    assert "before extraction" in res[0].reason and "ratio" in res[0].reason
    assert not any(tmp_path.iterdir())  # nothing was extracted


def test_inspect_json_has_no_nan(cases_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ridescan_ros.cli import main

    rc = main(["inspect", "--json", str(cases_dir / "BR-19" / "spot_nan_inf_spikes"),
               str(cases_dir / "BR-30" / "mixed_contents.zip")])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 1  # some entries of the mixed zip are refused
    assert out[0]["ok"] and out[0]["streams"][0]["samples"] == 600
    assert any(not d["ok"] and "0-byte" in d["error"] for d in out)


@pytest.mark.parametrize(
    ("case", "folder", "count"),
    [("BR-10", "ur5e_wal_2024_12_03-10_20_00", 500), ("BR-06", "ur5e_2024_12_03-10_10_00", 750)],
)
def test_bag_folders_zipped_by_users(cases_dir: Path, tmp_path: Path, case: str, folder: str, count: int) -> None:
    """A user zipping the folder gets the same read (WAL sidecar and .db3.zstd travel along)."""
    import zipfile

    z = tmp_path / "upload.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted((cases_dir / case / folder).iterdir()):
            zf.write(f, f"Desktop/{folder}/{f.name}")
    rec = load_recording(z)
    assert rec.messages_read == count
    assert rec.path == f"{z}!Desktop/{folder}"
