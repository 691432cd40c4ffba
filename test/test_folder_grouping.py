"""One rule for "is this folder one bag?", on disk and inside zips: metadata.yaml, or split
files named ``<bag>_<index>``; a folder of independent runs is several recordings."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from test_calibrator import _bag

from ridescan_ros.core.archives import inspect_zip
from ridescan_ros.core.readers import expand_inputs, load_all, load_recording
from ridescan_ros.core.readers.rosbag2 import one_bag


@pytest.mark.parametrize(("names", "one"), [
    (["a.mcap"], True),
    (["bag_0.mcap", "bag_1.mcap", "bag_10.mcap"], True),
    (["bag_0.db3.zstd", "bag_1.db3.zstd"], True),
    (["run_000.mcap", "run_001.mcap"], False),  # zero-padded: numbered runs, not splits
    (["a_0.mcap", "b_0.mcap"], False),
    (["left.db3", "right.db3"], False),
    ([], False),
])
def test_one_bag_rule(names: list[str], one: bool) -> None:
    assert one_bag(names) is one


def _runs_folder(tmp: Path, names: list[str]) -> Path:
    d = tmp / "runs"
    d.mkdir()
    for k, n in enumerate(names):
        part = _bag(tmp / f"p{k}", 50, start=100 * k)
        shutil.move(str(next(part.glob("*.mcap"))), d / n)
    return d


def test_folder_of_numbered_runs_is_one_recording_per_file(tmp_path: Path) -> None:
    d = _runs_folder(tmp_path, ["run_000.mcap", "run_001.mcap", "run_002.mcap"])
    assert [Path(p).name for p in expand_inputs([d])] == ["run_000.mcap", "run_001.mcap", "run_002.mcap"]
    z = tmp_path / "runs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(d.iterdir()):
            zf.write(f, f"runs/{f.name}")
    assert [r.messages_read for r in load_all(z)] == [50, 50, 50]
    assert inspect_zip(z).recordings == ["runs/run_000.mcap", "runs/run_001.mcap", "runs/run_002.mcap"]


def test_split_files_without_metadata_are_one_recording(tmp_path: Path) -> None:
    d = _runs_folder(tmp_path, ["cut_0.mcap", "cut_1.mcap"])
    assert expand_inputs([d]) == [str(d)]
    z = tmp_path / "cut.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(d.iterdir()):
            zf.write(f, f"cut/{f.name}")
    assert [r.messages_read for r in load_all(z)] == [100]
    assert inspect_zip(z).recordings == ["cut"]


def test_zips_inside_folders_and_bangs_in_paths(tmp_path: Path) -> None:
    """A multi-recording zip found while walking a folder expands like a zip given directly,
    and '!' in folder or zip names does not confuse 'zip!entry' paths."""
    d = _runs_folder(tmp_path, ["run_000.mcap", "run_001.mcap"])
    odd = tmp_path / "a!b"
    odd.mkdir()
    z = odd / "two!runs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(d.iterdir()):
            zf.write(f, f.name)
    items = expand_inputs([odd])
    assert items == [f"{z}!run_000.mcap", f"{z}!run_001.mcap"]
    assert [load_recording(i).messages_read for i in items] == [50, 50]


def test_node_check_accepts_a_zip_of_runs(tmp_path: Path) -> None:
    from ridescan_ros.nodes.calibrator import check_recording

    d = _runs_folder(tmp_path, ["run_000.mcap", "run_001.mcap"])
    z = tmp_path / "runs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(d.iterdir()):
            zf.write(f, f.name)
        zf.writestr("notes.txt", "x")
    ok, reason = check_recording(str(z), "UR6")
    assert ok and reason.startswith("2 of 3 recordings usable")
