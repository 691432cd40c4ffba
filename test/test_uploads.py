"""Upload checks without a server: display names, content sniffing, zip verdicts and limits."""

from __future__ import annotations

import zipfile

import pytest

from ridescan_ros.core.archives import ZipLimits, extract_zip, inspect_zip
from ridescan_ros.core.uploads import BlobDir, UploadRefused, display_name, extension, sniff

BAG = b"#ROSBAG V2.0\n" + b"\0" * 100


@pytest.mark.parametrize("raw, shown", [
    ("run.bag", "run.bag"),
    ("../../../../tmp/ridescan_escape.bag", "ridescan_escape.bag"),
    ("/etc/cron.d/ridescan.bag", "ridescan.bag"),
    ("C:\\Users\\operator\\Desktop\\ur5e run 3.bag", "ur5e run 3.bag"),
    ("..\\..\\..\\escape.bag", "escape.bag"),
    ("Fahrt_Übung_3.csv".encode(), "Fahrt_Übung_3.csv"),
])
def test_display_name_keeps_only_the_basename(raw, shown):
    assert display_name(raw) == shown


@pytest.mark.parametrize("raw, reason", [
    ("run\x00.bag.csv", "NUL"), ("", "no usable"), ("..", "no usable"), (".", "no usable"),
    (b"run\xff.bag", "UTF-8"), ("a\nb.bag", "control"), (None, "no filename"), ("x" * 300 + ".bag", "longer"),
])
def test_display_name_refuses_bad_names(raw, reason):
    with pytest.raises(UploadRefused, match=reason):
        display_name(raw)


def test_extension_accepts_the_documented_formats_only():
    assert extension("A.BAG") == ".bag"
    assert extension("x.bag.active") == ".bag.active"
    assert extension("x.mcap") == ".mcap"
    with pytest.raises(UploadRefused, match="unsupported"):
        extension("notes.txt")
    with pytest.raises(UploadRefused, match="unsupported"):
        extension(".bag")


def test_sniff_refuses_empty_mislabelled_and_binary_csv(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"")
    with pytest.raises(UploadRefused, match="empty"):
        sniff(p, ".bag")
    p.write_bytes(b"timestamp,x\n1,2\n")
    with pytest.raises(UploadRefused, match="magic"):
        sniff(p, ".bag")
    sniff(p, ".csv")
    p.write_bytes(BAG)
    sniff(p, ".bag")
    with pytest.raises(UploadRefused, match="binary"):
        sniff(p, ".csv")


def test_blob_paths_stay_inside_the_data_dir(tmp_path):
    b = BlobDir(tmp_path)
    with pytest.raises(ValueError):
        b.absolute("../outside")
    with pytest.raises(ValueError):
        b.final_path("../../x", ".bag")
    p = b.final_path("0b1c-22", ".bag")
    assert b.root in p.parents and p.suffix == ".bag"


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def test_zip_slip_entries_refused_per_entry(cases_dir, tmp_path):
    with pytest.raises(UploadRefused) as err:
        inspect_zip(cases_dir / "BR-27" / "zip_slip.zip")
    assert "escapes" in err.value.reason  # nothing recordable is left once the escapes are refused
    z = _zip(tmp_path / "z.zip", {"ok/run.bag": BAG, "../evil.bag": BAG, "/abs.bag": BAG,
                                  "a/../../b.csv": "t\n1\n"})
    rep = inspect_zip(z)
    verdicts = {e.name: e.status for e in rep.entries}
    assert verdicts == {"ok/run.bag": "accepted", "../evil.bag": "refused", "/abs.bag": "refused",
                        "a/../../b.csv": "refused"}
    dest = tmp_path / "out"
    extract_zip(z, dest, rep)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == ["ok/run.bag"]
    assert not (tmp_path / "evil.bag").exists()


def test_finder_zip_yields_one_recording_junk_ignored(cases_dir, tmp_path):
    rep = inspect_zip(cases_dir / "BR-30" / "mac_finder_compressed_run.zip")
    assert rep.recordings == ["Recordings/run_07"]
    ignored = {e.name for e in rep.entries if e.status == "ignored" and "metadata" in e.reason}
    assert "Recordings/.DS_Store" in ignored and any(n.startswith("__MACOSX/") for n in ignored)
    dest = tmp_path / "d"
    extract_zip(cases_dir / "BR-30" / "mac_finder_compressed_run.zip", dest, rep)
    assert (dest / "Recordings/run_07/run_07_0.db3").is_file()
    assert not list(dest.rglob("._*")) and not list(dest.rglob(".DS_Store"))


def test_mixed_zip_gives_per_entry_results(cases_dir):
    rep = inspect_zip(cases_dir / "BR-30" / "mixed_contents.zip")
    v = {e.name: (e.status, e.reason) for e in rep.entries}
    assert v["day3.bag"][0] == "accepted" and v["day3_rtde.csv"][0] == "accepted"
    assert v["day3_notes.txt"] == ("refused", "unsupported file type")
    assert v["more/day4_inside.zip"][0] == "refused" and "nested" in v["more/day4_inside.zip"][1]
    assert v["zero_bytes.bag"][0] == "refused" and "empty" in v["zero_bytes.bag"][1]
    assert v["empty_dir/"][0] == "ignored"
    assert sorted(rep.recordings) == ["day3.bag", "day3_rtde.csv"]


def test_ratio_bomb_refused_before_extraction(cases_dir, tmp_path):
    with pytest.raises(UploadRefused, match="zip bomb"):
        inspect_zip(cases_dir / "BR-30" / "ratio_1000_to_1.zip")


def test_total_limit_and_lying_sizes(tmp_path):
    z = _zip(tmp_path / "big.zip", {"a.csv": "t,x\n" + "1,2\n" * 300_000})
    with pytest.raises(UploadRefused, match="limit"):
        inspect_zip(z, ZipLimits(max_total=100_000, max_ratio=1e9))
    # an entry that declares fewer bytes than it holds is stopped while extracting
    rep = inspect_zip(z, ZipLimits(max_ratio=1e9))
    rep.entries[0].status = "accepted"
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("a.csv")
    info.file_size = 10
    real = zipfile.ZipFile.getinfo
    zipfile.ZipFile.getinfo = lambda self, name: info  # type: ignore[method-assign]
    try:
        with pytest.raises(UploadRefused):
            extract_zip(z, tmp_path / "x", rep)
    finally:
        zipfile.ZipFile.getinfo = real  # type: ignore[method-assign]
    assert not (tmp_path / "x").exists()


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.zip"
    p.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(UploadRefused, match="not a readable zip"):
        inspect_zip(p)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80)))
def test_display_name_never_returns_a_path(raw):
    try:
        name = display_name(raw)
    except UploadRefused:
        return
    assert name and name not in (".", "..")
    assert not any(ch in name for ch in "/\\\x00") and not any(ord(ch) < 32 for ch in name)
    assert len(name.encode()) <= 255
