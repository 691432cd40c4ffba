"""Inputs from the field beyond the shared cases: clock glitches and gaps in CSVs, a gripper's
joints on the arm's topic, zips of many recordings, duplicated runs, recordings with nothing
the model reads. Each gets the right answer or a specific error, never a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag1 import Writer
from rosbags.typesys import Stores, get_typestore

from ridescan_ros.core.errors import RecordingError, WrongRobotError
from ridescan_ros.core.profiles import UR_JOINTS, get_profile, select_signals
from ridescan_ros.core.readers import expand_inputs, load_recording
from ridescan_ros.model import dataset

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "ridescan_ros.cli"]


def _davie(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "wheeled_davie" / "calibration").glob("*.csv"))


def _shift_rows(src: Path, dst: Path, rows: slice, by: float) -> Path:
    lines = src.read_text().splitlines()
    head, body = lines[0], lines[1:]
    for i in range(len(body))[rows]:
        t, rest = body[i].split(",", 1)
        body[i] = f"{float(t) + by:.6f},{rest}"
    dst.write_text("\n".join([head] + body) + "\n")
    return dst


def test_one_glitched_timestamp_is_dropped_not_a_two_day_grid(shared_data: Path, tmp_path: Path) -> None:
    src = _davie(shared_data)[0]
    p = _shift_rows(src, tmp_path / "glitch.csv", slice(500, 501), 2 * 86400.0)
    rec, ref = load_recording(p), load_recording(src)
    assert rec.duration_s() == pytest.approx(ref.duration_s(), abs=0.2)
    assert any("jumps away from both neighbours" in w and "message 500" in w for w in rec.warnings)
    sig = dataset.prepare(rec, get_profile("wheeled_mobile")).signals
    assert len(next(iter(sig.series.values()))[0]) == len(next(iter(
        dataset.prepare(ref, get_profile("wheeled_mobile")).signals.series.values()))[0]) - 1


def test_two_recordings_in_one_file_are_refused_before_any_grid(shared_data: Path, tmp_path: Path) -> None:
    src = _davie(shared_data)[0]
    n = len(src.read_text().splitlines()) - 1
    p = _shift_rows(src, tmp_path / "two_days.csv", slice(n // 2, n), 2 * 86400.0)  # second half, 2 days later
    rec = load_recording(p)  # reads: the samples are real
    with pytest.raises(RecordingError, match=r"no signal has data for 17\d{4}\.\d s .*split it"):
        dataset.prepare(rec, get_profile("wheeled_mobile"))


def _ur_bag(path: Path, names: list[str], n: int = 300) -> Path:
    store = get_typestore(Stores.ROS1_NOETIC)
    Time, Header = store.types["builtin_interfaces/msg/Time"], store.types["std_msgs/msg/Header"]
    JS = store.types["sensor_msgs/msg/JointState"]
    with Writer(path) as w:
        conn = w.add_connection("/joint_states", "sensor_msgs/msg/JointState", typestore=store)
        for i in range(n):
            t = 1_733_220_000_000_000_000 + i * 8_000_000
            q = np.sin(0.01 * i + np.arange(len(names)))
            msg = JS(header=Header(seq=i, stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id=""),
                     name=names, position=q, velocity=np.cos(q), effort=0.2 * q)
            w.write(conn, t, store.serialize_ros1(msg, conn.msgtype))
    return path


def test_gripper_joints_beside_the_arm_are_ignored_and_said(tmp_path: Path) -> None:
    rec = load_recording(_ur_bag(tmp_path / "arm_gripper.bag", list(UR_JOINTS) + ["finger_joint"]))
    sig = select_signals(rec, get_profile("UR6"))
    assert {s.rsplit(".", 1)[0] for s in sig.series} == set(UR_JOINTS)
    assert any("finger_joint" in n and "ignored" in n for n in sig.notes)
    # a 6-joint arm that is not a UR (no UR names) is still refused, saying what was found
    other = load_recording(_ur_bag(tmp_path / "other.bag", [f"joint{i}" for i in range(1, 7)]))
    with pytest.raises(WrongRobotError, match=r"expected 6 joints .* found 6 \(joint1"):
        select_signals(other, get_profile("UR6"))


def test_nothing_the_profile_reads_names_what_it_expected(shared_data: Path) -> None:
    rec = load_recording(_davie(shared_data)[0])
    with pytest.raises(WrongRobotError, match=r"nothing a UR6 profile reads: expected /joint_states "
                                              r"\[sensor_msgs/msg/JointState\]"):
        select_signals(rec, get_profile("UR6"))


def test_zip_of_many_recordings_expands_to_its_entries(shared_data: Path, tmp_path: Path) -> None:
    z = tmp_path / "runs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in _davie(shared_data)[:3]:
            zf.write(f, f"export/{f.name}")
        zf.writestr("export/notes.txt", "operator notes")
    items = expand_inputs([z])  # refused entries are listed too, so their reasons are reported
    want = [f"{z}!export/{f.name}" for f in _davie(shared_data)[:3]] + [f"{z}!export/notes.txt"]
    assert items == sorted(want)
    recs = [load_recording(i) for i in items if i.endswith(".csv")]
    assert [r.messages_read for r in recs] == [load_recording(f).messages_read for f in _davie(shared_data)[:3]]
    with pytest.raises(RecordingError, match="not a recording"):
        load_recording(f"{z}!export/notes.txt")


@pytest.fixture(scope="module")
def wheeled_model(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("m") / "model"
    r = subprocess.run(CLI + ["calibrate", "--robot-type", "wheeled_mobile", "--out", str(out), "--epochs", "1",
                              *map(str, _davie(shared_data))], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return out


def test_calibration_counts_a_duplicated_run_once(shared_data: Path, tmp_path: Path) -> None:
    runs = _davie(shared_data)[:14]
    dup = tmp_path / "copy_of_first.csv"
    shutil.copyfile(runs[0], dup)
    r = subprocess.run(CLI + ["calibrate", "--robot-type", "wheeled_mobile", "--out", str(tmp_path / "m"),
                              "--epochs", "1", *map(str, runs), str(dup)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1
    assert f"skipped {dup}: same content as {runs[0]}: counted once" in r.stderr
    assert r.stderr.strip().endswith("error: Expected 15 files, but found 14.")
    assert not (tmp_path / "m").exists()


def test_score_goes_on_past_files_it_cannot_score(wheeled_model: Path, shared_data: Path, tmp_path: Path) -> None:
    ur = _ur_bag(tmp_path / "arm.bag", list(UR_JOINTS))
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in _davie(shared_data)[:2]:
            zf.write(f, f.name)
    r = subprocess.run(CLI + ["score", "--model", str(wheeled_model), "--json", str(ur), str(z),
                              str(shared_data / "wheeled_davie" / "mission_nine.csv")],
                       capture_output=True, text=True, cwd=REPO)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 1 and len(lines) == 4, r.stderr
    assert lines[0]["file"] == str(ur) and "nothing a wheeled_mobile profile reads" in lines[0]["error"]
    ok = lines[1:]
    assert all(0 <= x["risk_score"] <= 100 and x["window_scores"] for x in ok)
    w = ok[-1]["window_scores"][0]
    assert set(w) == {"t_start", "t_end", "risk", "top_signals"} and len(w["top_signals"]) == 3
    assert sum(s["contribution"] for s in w["top_signals"]) <= 1.0 + 1e-6


def test_no_recordings_found_is_said(wheeled_model: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("nothing here")
    r = subprocess.run(CLI + ["score", "--model", str(wheeled_model), str(tmp_path / "empty")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 1 and "no recordings found in" in r.stderr


def test_no_model_signal_in_the_recording_is_an_error_not_risk_zero(shared_data: Path, tmp_path: Path) -> None:
    """A wrench-only UR6 model (real pick CSVs) offered a joints-only UR bag: "no data" is
    not "no risk"."""
    picks = sorted((shared_data / "ur5e_pickapp" / "success").glob("*.csv"))[:15]
    model = tmp_path / "wrench_model"
    r = subprocess.run(CLI + ["calibrate", "--robot-type", "UR6", "--out", str(model), "--epochs", "1",
                              *map(str, picks)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    bag = _ur_bag(tmp_path / "joints_only.bag", list(UR_JOINTS))
    r = subprocess.run(CLI + ["score", "--model", str(model), "--json", str(bag)], capture_output=True,
                       text=True, cwd=REPO)
    (line,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 1 and "risk_score" not in line
    assert "none of the model's 6 signals (wrench.force_x" in line["error"]


def test_file_risk_is_at_least_a_sustained_critical_window_level(wheeled_model: Path, shared_data: Path,
                                                                   tmp_path: Path) -> None:
    """A run whose middle 40 s drive 4x too fast: its windows sit critical for tens of seconds,
    and the file may not score below the level they all held for 5 s."""
    from ridescan_ros.model.scorer import SUSTAIN_S, Scorer, sustained_level

    src = _davie(shared_data)[3]
    lines = src.read_text().splitlines()
    head = lines[0].split(",")
    j = head.index("twist_linear_x")
    t0 = float(lines[1].split(",")[0])
    out = [lines[0]]
    for ln in lines[1:]:
        f = ln.split(",")
        if 40.0 <= float(f[0]) - t0 < 80.0:
            f[j] = repr(4.0 * float(f[j]) + 0.5)
        out.append(",".join(f))
    bad = tmp_path / "too_fast.csv"
    bad.write_text("\n".join(out) + "\n")
    sc = Scorer.load(wheeled_model)
    fs = sc.score_path(str(bad))
    risk = np.array([w["risk"] for w in fs.window_scores])
    level, i = sustained_level(risk, int(np.ceil(SUSTAIN_S * sc.rate_hz / sc.stride)))
    assert level >= 50.0  # the fault is plain in the windows
    assert fs.risk_score >= level - 1e-6
    assert fs.risk_basis == "file" or fs.risk_basis.startswith("windows t=")
    assert any(s["signal"].endswith("twist_linear_x") for s in fs.top_signals[:3]), fs.top_signals


def test_one_garbage_value_in_one_calibration_file_does_not_blind_the_model(shared_data: Path,
                                                                            tmp_path: Path) -> None:
    """BR-19 at calibration: a single 1e9 twist in one of 15 files is left out (and said),
    so a run driving 3x too fast still scores as it does with clean calibration data."""
    from ridescan_ros.model.calibration import calibrate
    from ridescan_ros.model.scorer import Scorer

    runs = _davie(shared_data)
    dirty = tmp_path / "dirty"
    dirty.mkdir()
    for k, f in enumerate(runs):
        lines = f.read_text().splitlines()
        if k == 0:
            head = lines[0].split(",")
            row = lines[1000].split(",")
            row[head.index("twist_linear_x")] = "1e9"
            lines[1000] = ",".join(row)
        (dirty / f.name).write_text("\n".join(lines) + "\n")
    fast = tmp_path / "fast.csv"
    lines = runs[3].read_text().splitlines()
    j = lines[0].split(",").index("twist_linear_x")
    fast.write_text("\n".join([lines[0]] + [",".join(
        v if i != j else repr(3.0 * float(v)) for i, v in enumerate(ln.split(","))) for ln in lines[1:]]) + "\n")
    clean = calibrate([str(p) for p in runs], "wheeled_mobile", str(tmp_path / "m_clean"), epochs=1)
    spiked = calibrate(sorted(map(str, dirty.iterdir())), "wheeled_mobile", str(tmp_path / "m_dirty"), epochs=1)
    assert any(runs[0].name in n and "1 implausible value" in n and "twist_linear_x" in n for n in spiked.notes)
    r_clean = Scorer.load(clean.model_dir).score_path(str(fast)).risk_score
    r_dirty = Scorer.load(spiked.model_dir).score_path(str(fast)).risk_score
    assert r_clean >= 50 and r_dirty >= 50 and abs(r_clean - r_dirty) < 5


def test_copies_inside_a_zip_count_once(shared_data: Path, tmp_path: Path) -> None:
    from ridescan_ros.core.errors import CalibrationError
    from ridescan_ros.model.calibration import calibrate

    z = tmp_path / "copies.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for k in range(15):
            zf.write(_davie(shared_data)[0], f"run{k:02d}.csv")
    with pytest.raises(CalibrationError, match="Expected 15 files, but found 1.") as info:
        calibrate([str(z)], "wheeled_mobile", str(tmp_path / "m"), epochs=1)
    assert len(info.value.file_errors) == 14
    assert all("same content as" in r for r in info.value.file_errors.values())


def test_runs_without_a_window_do_not_count_and_gaps_are_not_low_risk(wheeled_model: Path, shared_data: Path,
                                                                       tmp_path: Path) -> None:
    from ridescan_ros.core.errors import CalibrationError
    from ridescan_ros.model.calibration import calibrate
    from ridescan_ros.model.scorer import Scorer

    runs = _davie(shared_data)
    lines = runs[0].read_text().splitlines()
    short = tmp_path / "two_rows.csv"
    short.write_text("\n".join(lines[:3]) + "\n")
    same = tmp_path / "one_instant.csv"
    t = lines[1].split(",")[0]
    same.write_text("\n".join([lines[0]] + [t + "," + ln.split(",", 1)[1] for ln in lines[1:40]]) + "\n")
    with pytest.raises(CalibrationError, match="Expected 15 files, but found 14.") as info:
        calibrate([str(p) for p in runs[:14]] + [str(short)], "wheeled_mobile", str(tmp_path / "m"), epochs=1)
    assert "s of data, shorter than one 1.6 s window" in info.value.file_errors[str(short)]
    sc = Scorer.load(wheeled_model)
    with pytest.raises(RecordingError, match="no time span"):
        sc.score_path(str(same))
    gap = _shift_rows(runs[2], tmp_path / "gap.csv", slice(600, None), 300.0)  # 5 min of silence
    ws = sc.score_path(str(gap)).window_scores
    empty = [w for w in ws if w["risk"] is None]
    assert len(empty) > 350 and all(w["top_signals"] == [] for w in empty)
    assert all(w["risk"] is not None for w in ws[:5])
