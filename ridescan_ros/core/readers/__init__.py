"""Reading recordings: ROS 1 bags, rosbag2 folders/files (sqlite3, MCAP), CSV, zip.

Public API (ADR 0001):

* `load_recording(path, *, fast=True) -> Recording`: one recording (file, bag folder, or
  a zip holding exactly one); raises only `RecordingError` naming the file and reason.
* `expand_inputs(paths) -> list[str]`: files/folders -> recordings (a rosbag2 folder is
  one recording; other folders give each recording inside).
* `load_all(path) -> list[Recording | RecordingError]`: per-entry results for a zip or a
  folder of several recordings.

The format is decided by magic bytes first, then by name (``.bag.active`` is a ROS 1
bag). The time base and value masking are documented in `readers.timebase`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers.kinds import detect_kind, is_recording_file
from ridescan_ros.core.telemetry import Recording

__all__ = ["expand_inputs", "load_all", "load_recording", "detect_kind", "zip_entry"]


def _load(path: str, fast: bool) -> Recording:
    from ridescan_ros.core.readers.assemble import to_recording

    kind = detect_kind(path)
    if kind == "rosbag2" and Path(path).is_dir():
        from ridescan_ros.core.readers.rosbag2 import is_bag_folder

        if not is_bag_folder(Path(path)):
            inside = len(expand_inputs([path]))
            raise RecordingError(
                path, f"folder is not one rosbag2 recording (no metadata.yaml, and no storage files "
                f"of one bag named <bag>_<index>); it holds {inside} recording(s): pass them one by "
                f"one or use load_all/expand_inputs"
            )
    if kind == "ros1":
        from ridescan_ros.core.readers.ros1 import read_ros1

        return to_recording(path, read_ros1(path), fast=fast)
    if kind in ("rosbag2", "mcap", "db3", "zstd"):
        from ridescan_ros.core.readers.rosbag2 import read_rosbag2

        return to_recording(path, read_rosbag2(path), fast=fast)
    if kind == "csv":
        from ridescan_ros.core.readers.csvfile import read_csv

        return read_csv(path)
    if kind == "zip":
        from ridescan_ros.core.readers.archive import load_single

        return load_single(path, fast=fast)
    raise RecordingError(path, f"unrecognised file format ({kind})")


def zip_entry(p: str) -> tuple[str, str] | None:
    """``archive.zip!inner/run.bag`` -> (archive, entry) when ``p`` names one zip entry (the
    first ``!`` after which the head is a zip file: folders and zips may contain ``!``)."""
    if "!" not in p or Path(p).exists():
        return None
    i = p.find("!")
    while i >= 0:
        head, key = p[:i], p[i + 1:]
        if Path(head).is_file() and detect_kind(head) == "zip":
            return head, key
        i = p.find("!", i + 1)
    return None


def load_recording(path: str | Path, *, fast: bool = True) -> Recording:
    """Read one recording into streams of named float columns.

    Args:
        path: a ``.bag``/``.bag.active``, rosbag2 folder, ``.db3``/``.mcap`` (optionally
            ``.zstd``), ``.csv``, a ``.zip`` holding exactly one recording, or one entry of
            a zip as ``archive.zip!entry`` (what ``expand_inputs`` lists for larger zips).
        fast: use the bulk decoder (`core.fastdecode`) where it handles the type; the
            per-message path gives the same numbers.

    Raises:
        RecordingError: the file cannot be read; the message names it and the reason.
    """
    p = str(path)
    zip_part = zip_entry(p)
    if zip_part is None and not Path(p).exists():
        raise RecordingError(p, "no such file or folder")
    try:
        if zip_part is not None:
            from ridescan_ros.core.readers.archive import load_entry

            return load_entry(zip_part[0], zip_part[1], fast=fast)
        return _load(p, fast)
    except RecordingError as err:
        if err.path == p or err.path.startswith(p + "!"):
            raise
        inner = Path(err.path).name  # a storage file inside a bag folder: name it, keep our path
        raise RecordingError(p, f"{inner}: {err.reason}") from err
    except MemoryError as err:
        raise RecordingError(p, "out of memory while reading") from err
    except Exception as err:  # any library failure on a bad file becomes one error type
        raise RecordingError(p, f"unreadable ({type(err).__name__}: {err})") from err


def expand_inputs(paths: Iterable[str | Path]) -> list[str]:
    """Files and folders -> list of recordings (a rosbag2 folder counts as one; a zip of
    several recordings gives one ``zip!entry`` path each, refused entries included so
    their reasons are reported)."""
    from ridescan_ros.core.readers.rosbag2 import is_bag_folder

    out: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir() and not is_bag_folder(p):
            for child in sorted(p.iterdir()):
                if child.name.startswith(".") or child.name == "__MACOSX":
                    continue
                if child.is_dir() or (is_recording_file(child) and detect_kind(str(child)) == "zip"):
                    out.extend(expand_inputs([child]))
                elif is_recording_file(child):
                    out.append(str(child))
        elif p.is_file() and detect_kind(str(p)) == "zip":
            from ridescan_ros.core.readers.archive import entry_keys

            keys = entry_keys(str(p))
            out.extend([f"{p}!{k}" for k in keys] if len(keys) > 1 else [str(p)])
        else:
            out.append(str(p))
    return out


def load_all(path: str | Path, *, fast: bool = True) -> list[Recording | RecordingError]:
    """Per-entry results for a zip or folder holding several recordings (or one file).

    Zips (given, or found in the folder) contribute one result per entry; one bad entry or
    file never stops the others.
    """
    results: list[Recording | RecordingError] = []
    for item in expand_inputs([path]):
        if Path(item).is_file() and detect_kind(item) == "zip":
            results.extend(_zip_entries(item, fast))
            continue
        try:
            results.append(load_recording(item, fast=fast))
        except RecordingError as err:
            results.append(err)
    return results


def _zip_entries(path: str, fast: bool) -> list[Recording | RecordingError]:
    from ridescan_ros.core.readers.archive import load_zip_entries

    try:
        return load_zip_entries(path, fast=fast)
    except RecordingError as err:
        return [err]
    except Exception as err:  # a damaged archive must not escape as another type
        return [RecordingError(path, f"unreadable zip ({type(err).__name__}: {err})")]
