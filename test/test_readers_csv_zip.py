"""CSV dialects and zip archives built here, one fault kind per test."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.profiles import WHEELED_COLUMNS
from ridescan_ros.core.readers import archive, expand_inputs, load_all, load_recording
from ridescan_ros.core.telemetry import Recording

HEADER = ["timestamp", *WHEELED_COLUMNS]


def _wheeled_rows(n: int = 20, t0: float = 1781774372.5) -> list[list[float]]:
    return [[t0 + 0.1 * i, *[0.5 * i + k for k in range(len(WHEELED_COLUMNS))]] for i in range(n)]


def _write(p: Path, header: list[str], rows: list[list[float]], sep: str = ",", enc: str = "utf-8",
           newline: str = "\n", fmt: str = "{}") -> Path:
    lines = [sep.join(header)] + [sep.join(fmt.format(v) for v in r) for r in rows]
    p.write_bytes((newline.join(lines) + newline).encode(enc))
    return p


def test_semicolon_decimal_comma_int_timestamps(tmp_path: Path) -> None:
    rows = [[1781774372 + i, *[0.25 * i] * len(WHEELED_COLUMNS)] for i in range(10)]
    lines = [";".join(HEADER)] + [";".join(str(v).replace(".", ",") for v in r) for r in rows]
    p = tmp_path / "w.csv"
    p.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    rec = load_recording(p)
    s = rec.streams["csv"]
    assert s.msgtype == "csv/wheeled_mobile"
    np.testing.assert_array_equal(s.t, [r[0] for r in rows])
    np.testing.assert_allclose(s.columns["twist_linear_x"], [0.25 * i for i in range(10)])
    assert any("decimal commas" in w for w in rec.warnings)


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be", "utf-8-sig"])
def test_encodings_give_same_numbers(tmp_path: Path, enc: str) -> None:
    ref = load_recording(_write(tmp_path / "ref.csv", HEADER, _wheeled_rows())).streams["csv"]
    s = load_recording(_write(tmp_path / "x.csv", HEADER, _wheeled_rows(), sep="\t", enc=enc)).streams["csv"]
    np.testing.assert_array_equal(s.t, ref.t)
    for k in ref.columns:
        np.testing.assert_array_equal(s.columns[k], ref.columns[k])


def test_binary_posing_as_csv_refused(tmp_path: Path) -> None:
    p = tmp_path / "photo.csv"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    with pytest.raises(RecordingError, match="binary"):
        load_recording(p)


def test_non_numeric_column_reported(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    lines = ["timestamp,value,label"] + [f"{100 + i},{i * 0.5},state_{i}" for i in range(10)]
    p.write_text("\n".join(lines))
    rec = load_recording(p)
    assert set(rec.streams["csv"].columns) == {"value"}
    assert any("non-numeric column(s) ignored: label" in w for w in rec.warnings)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "0-byte"), ("a,b\n1,2\n3,4\n", "no time column"), ("timestamp,x\n", "no data rows"),
     ("timestamp,x\n1,2\n2,3,4\n3,4,5\n4,5,6\n", "do not have the header's 2 fields")],
)
def test_bad_csvs_refused_specifically(tmp_path: Path, text: str, reason: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(RecordingError, match=reason):
        load_recording(p)


def test_few_malformed_rows_dropped_with_warning(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    lines = ["timestamp,x"] + [f"{i},{i}" for i in range(30)] + ["31,1,2"]
    p.write_text("\n".join(lines))
    rec = load_recording(p)
    assert len(rec.streams["csv"]) == 30 and rec.messages_read == 30
    assert any("malformed row" in w for w in rec.warnings)


def test_csv_time_sorted_and_bad_values_masked(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("timestamp,x\n3,1\n1,inf\n2,1e300\n4,nan\n")
    rec = load_recording(p)
    s = rec.streams["csv"]
    np.testing.assert_array_equal(s.t, [1, 2, 3, 4])
    assert np.isnan(s.columns["x"][[0, 1, 3]]).all() and s.columns["x"][2] == 1
    assert any("backward" in w for w in rec.warnings) and any("masked" in w for w in rec.warnings)


def _zip(p: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return p


def test_zip_slip_and_absolute_names_refused_per_entry(tmp_path: Path) -> None:
    good = _write(tmp_path / "g.csv", HEADER, _wheeled_rows()).read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    z = _zip(work / "u.zip", {"../evil.csv": good, "/abs.csv": good, "a/../../b.csv": good, "ok/run.csv": good})
    res = load_all(z)
    recs = [r for r in res if isinstance(r, Recording)]
    errs = [r for r in res if isinstance(r, RecordingError)]
    assert len(recs) == 1 and recs[0].path.endswith("!ok/run.csv")
    assert len(errs) == 3 and all("refused" in e.reason for e in errs)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["g.csv", "work"]
    assert [x.name for x in work.iterdir()] == ["u.zip"]


def test_zip_single_recording_and_nested_bag_folder(tmp_path: Path) -> None:
    csv = _write(tmp_path / "g.csv", HEADER, _wheeled_rows()).read_bytes()
    z = _zip(tmp_path / "one.zip", {"deep/er/run.csv": csv, "__MACOSX/deep/._run.csv": b"junk", "deep/.DS_Store": b"x"})
    rec = load_recording(z)
    assert rec.path == f"{z}!deep/er/run.csv" and len(rec.streams["csv"]) == 20
    assert load_all(z)[0].path == rec.path


def test_zip_total_limit_checked_before_extraction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    csv = _write(tmp_path / "g.csv", HEADER, _wheeled_rows(200)).read_bytes()
    z = _zip(tmp_path / "big.zip", {"a.csv": csv, "b.csv": csv})
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", len(csv))
    res = load_all(z)
    assert len(res) == 1 and isinstance(res[0], RecordingError) and "before extraction" in res[0].reason


def test_not_a_zip_with_zip_name(tmp_path: Path) -> None:
    p = tmp_path / "x.zip"
    p.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    res = load_all(p)
    assert len(res) == 1 and isinstance(res[0], RecordingError)


def test_expand_inputs_folder_walk(tmp_path: Path) -> None:
    (tmp_path / "bagdir").mkdir()
    (tmp_path / "bagdir" / "metadata.yaml").write_text("x")
    (tmp_path / "bagdir" / "bagdir_0.db3").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "a.csv", HEADER, _wheeled_rows())
    (tmp_path / "sub" / "notes.txt").write_text("hello")
    (tmp_path / "sub" / "._a.csv").write_text("junk")
    (tmp_path / "r.bag.active").write_bytes(b"#ROSBAG V2.0\n")
    got = expand_inputs([tmp_path])
    assert got == [str(tmp_path / "bagdir"), str(tmp_path / "r.bag.active"), str(tmp_path / "sub" / "a.csv")]


def test_trailing_delimiter_and_quoted_fields(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text('timestamp,"x",y\n' + "".join(f'{i},"{i}.5",{-i},\n' for i in range(10)))
    rec = load_recording(p)
    s = rec.streams["csv"]
    np.testing.assert_array_equal(s.columns["x"], [i + 0.5 for i in range(10)])
    np.testing.assert_array_equal(s.columns["y"], [-i for i in range(10)])
    assert not rec.warnings


def test_inspect_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ridescan_ros.cli import main

    csv = _write(tmp_path / "w.csv", HEADER, _wheeled_rows())
    bad = tmp_path / "bad.bag"
    bad.write_bytes(b"")
    assert main(["inspect", str(csv), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "csv/wheeled_mobile" in out and "20 samples" in out and "10.0 Hz" in out
    assert f"{bad}\n  ERROR: 0-byte file" in out


def test_comment_lines_above_header(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("# exported by logger v2\n# robot: test\ntimestamp,x\n" + "".join(f"{i},{2 * i}\n" for i in range(5)))
    s = load_recording(p).streams["csv"]
    np.testing.assert_array_equal(s.columns["x"], [0, 2, 4, 6, 8])


def test_load_all_folder_with_zip_and_bad_file(tmp_path: Path) -> None:
    csv = _write(tmp_path / "g.csv", HEADER, _wheeled_rows()).read_bytes()
    d = tmp_path / "inbox"
    d.mkdir()
    _zip(d / "two.zip", {"a/run1.csv": csv, "b/run2.csv": csv})
    (d / "broken.bag").write_bytes(b"#ROSBAG V2.0\n\x01\x02")
    (d / "c.csv").write_bytes(csv)
    res = load_all(d)
    ok = sorted(r.path.rsplit("/", 1)[-1] for r in res if isinstance(r, Recording))
    assert ok == ["c.csv", "run1.csv", "run2.csv"]
    errs = [r for r in res if isinstance(r, RecordingError)]
    assert len(errs) == 1 and errs[0].path.endswith("broken.bag") and "truncated" in errs[0].reason


@pytest.mark.parametrize(("scale", "unit"), [(1e3, "milliseconds"), (1e6, "microseconds"), (1e9, "nanoseconds")])
def test_epoch_subsecond_units_become_seconds(tmp_path: Path, scale: float, unit: str) -> None:
    rows = [[round(r[0] * scale), *r[1:]] for r in _wheeled_rows(30)]
    rec = load_recording(_write(tmp_path / "ms.csv", HEADER, rows, fmt="{:.0f}"))
    assert rec.duration_s() == pytest.approx(2.9, abs=1e-3)
    assert any(f"epoch {unit}: converted to seconds" in w for w in rec.warnings)


def test_iso_times_and_repeated_times(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    rows = _wheeled_rows(10)
    iso = [[datetime.fromtimestamp(r[0], timezone.utc).isoformat().replace("+00:00", "Z"), *r[1:]] for r in rows]
    rec = load_recording(_write(tmp_path / "iso.csv", HEADER, iso))
    np.testing.assert_allclose(rec.streams["csv"].t, [r[0] for r in rows], atol=1e-6)
    assert any("ISO 8601" in w for w in rec.warnings)
    twice = [r for r in rows for _ in range(2)]
    rec = load_recording(_write(tmp_path / "dup.csv", HEADER, twice))
    assert any("10 row(s) repeat the previous row's time" in w for w in rec.warnings)


@pytest.mark.parametrize("name", ["time", "t", "stamp", "elapsed_time"])
def test_every_listed_time_name_works_for_the_known_layouts(tmp_path: Path, name: str) -> None:
    rec = load_recording(_write(tmp_path / "w.csv", [name, *WHEELED_COLUMNS], _wheeled_rows(20)))
    assert rec.streams["csv"].msgtype == "csv/wheeled_mobile" and rec.duration_s() == pytest.approx(1.9)
    wrench = [name, "force_x", "force_y", "force_z", "torque_x", "torque_y", "torque_z"]
    rec = load_recording(_write(tmp_path / "f.csv", wrench, [[0.002 * i, 1, 2, 3, 4, 5, 6] for i in range(50)]))
    assert rec.streams["csv"].msgtype == "csv/wrench" and rec.duration_s() == pytest.approx(0.098)


def test_zip_with_two_entries_of_one_name(tmp_path: Path) -> None:
    """The second entry of a name is refused, in the reader and in the upload check alike."""
    import warnings

    from ridescan_ros.core.archives import inspect_zip
    from ridescan_ros.core.readers import expand_inputs

    a = _write(tmp_path / "a.csv", HEADER, _wheeled_rows(20))
    b = _write(tmp_path / "b.csv", HEADER, _wheeled_rows(30))
    z = tmp_path / "dup.zip"
    with zipfile.ZipFile(z, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        zf.write(a, "a.csv")
        zf.write(b, "a.csv")
    items = expand_inputs([z])
    assert items == [f"{z}!a.csv", f"{z}!a.csv (again)"]
    assert load_recording(items[0]).messages_read == 20
    with pytest.raises(RecordingError, match="duplicate entry name"):
        load_recording(items[1])
    report = inspect_zip(z)
    assert report.recordings == ["a.csv"] and [e.status for e in report.entries] == ["accepted", "refused"]
