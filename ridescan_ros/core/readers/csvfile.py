"""CSV recordings: RideScan wheeled layout, UR RTDE ``record.py`` logs, wrench CSVs.

Dialects seen in the field (BR-23, BR-25) are recognised rather than guessed by a
library: the encoding from the BOM (UTF-8 BOM, UTF-16 LE/BE; UTF-16 without BOM by its
NUL pattern), the delimiter from the header line (TAB, ``,``, ``;`` or runs of spaces,
which also absorbs RTDE's trailing delimiter), decimal commas when the delimiter is not a
comma, a ``# elapsed time, ...`` header line, duplicated columns (first kept, warned),
non-numeric columns (dropped, warned). Files with NUL/control bytes are refused as binary.

Layouts (``Stream.msgtype``; columns keep the file's names, profiles map them):
``csv/wheeled_mobile`` (``timestamp`` epoch s + pose/twist/acceleration),
``csv/rtde`` (RTDE names; ``timestamp`` is controller uptime; without it, time is taken
from the 125 Hz RTDE rate with a warning), ``csv/wrench`` (``elapsed time`` + force/torque),
``csv/generic`` (any other numeric table with a time column).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.profiles import WHEELED_COLUMNS
from ridescan_ros.core.readers.timebase import build_stream
from ridescan_ros.core.telemetry import Recording

MAX_CSV_BYTES = 2 << 30
RTDE_RATE_HZ = 125.0
TIME_NAMES = ("timestamp", "elapsed time", "elapsed_time", "time", "t", "stamp")
_WRENCH = tuple(f"{k}_{a}" for k in ("force", "torque") for a in "xyz")
_RTDE = re.compile(r"^(actual|target)_[A-Za-z]+(_\d+)?$")


def _decode(path: str, raw: bytes) -> tuple[str, str]:
    """Bytes -> (text, encoding name); refuses binary content."""
    if raw.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    elif len(raw) > 3 and raw[1:200:2].count(0) > 0.9 * len(raw[1:200:2]):
        enc = "utf-16-le"
    elif len(raw) > 3 and raw[0:200:2].count(0) > 0.9 * len(raw[0:200:2]):
        enc = "utf-16-be"
    else:
        enc = "utf-8"
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError:
        if b"\x00" in raw[:65536]:
            raise RecordingError(path, "binary file, not a CSV (NUL bytes)") from None
        text, enc = raw.decode("latin-1"), "latin-1"
    head = text[:65536]
    bad = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\r\n")
    if bad > max(2, len(head) // 1000):
        raise RecordingError(path, f"binary file, not a CSV ({bad} control bytes in the first 64 KiB)")
    return text, enc


def _splitter(header: str) -> tuple[str, Callable[[list[str]], list[list[str]]]]:
    """Delimiter from the header line; quoted fields handled by the csv module."""
    for kind, delim in (("tab", "\t"), ("comma", ","), ("semicolon", ";")):
        if delim in header:
            return kind, lambda lines, d=delim: [
                [f.strip() for f in row] for row in csv.reader(lines, delimiter=d)
            ]
    return "space", lambda lines: [ln.split() for ln in lines]


def _numeric(line: str) -> bool:
    """True when every field of ``line`` parses as a number (a data row, not a header)."""
    fields = [f for f in re.split(r"[,;\t ]+", line.strip()) if f]
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return bool(fields)


def _to_float(values: list[str], decimal_comma: bool) -> np.ndarray:
    if decimal_comma:
        values = [v.replace(",", ".") for v in values]
    try:
        return np.asarray(values, dtype=np.float64)
    except ValueError:
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            try:
                out[i] = float(v)
            except ValueError:
                pass
        return out


def _layout(names: list[str]) -> tuple[str, str | None]:
    """(layout, time column): the layout's own time name first, then any of ``TIME_NAMES``
    (the error for a missing one lists them all, so every one of them must work)."""
    low = [n.lower() for n in names]
    tcol = next((n for n in TIME_NAMES if n in low), None)
    if all(c in low for c in WHEELED_COLUMNS[:6]):
        return "csv/wheeled_mobile", tcol
    if any(_RTDE.match(n) for n in names):
        return "csv/rtde", tcol
    if all(c in low for c in _WRENCH):
        return "csv/wrench", tcol
    return "csv/generic", tcol


def _iso_seconds(values: list[str]) -> np.ndarray | None:
    """ISO 8601 strings -> epoch seconds (NaN where one does not parse); None when most
    do not parse (then the column is not a time column)."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        v = v.strip().strip('"')
        try:
            d = datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith("Z") else v)
        except ValueError:
            continue
        out[i] = (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp()
    return out if np.isfinite(out).sum() * 2 > len(values) else None


def _epoch_units(t: np.ndarray, label: str, warnings: list[str]) -> np.ndarray:
    """Epoch milli/micro/nanoseconds -> seconds (no clock in seconds reads above 1e11)."""
    fin = t[np.isfinite(t)]
    if not fin.size:
        return t
    med = float(np.median(np.abs(fin)))
    for lim, scale, unit in ((1e17, 1e-9, "nanoseconds"), (1e14, 1e-6, "microseconds"),
                             (1e11, 1e-3, "milliseconds")):
        if med > lim:
            warnings.append(f"{label} is in epoch {unit}: converted to seconds")
            return t * scale
    return t


def read_csv(path: str) -> Recording:
    """Read one CSV into a `Recording` with a single ``csv`` stream.

    Raises:
        RecordingError: empty, binary, no header/rows, no time column (other than RTDE).
    """
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise RecordingError(path, "0-byte file: empty CSV")
    if size > MAX_CSV_BYTES:
        raise RecordingError(path, f"CSV larger than {MAX_CSV_BYTES} bytes")
    text, enc = _decode(path, p.read_bytes())
    warnings: list[str] = []
    if enc.startswith("utf-16"):
        warnings.append(f"CSV encoded as {enc.upper()} (decoded)")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise RecordingError(path, "CSV has no lines")
    while len(lines) > 1 and lines[0].lstrip("\ufeff").lstrip().startswith("#") and not _numeric(lines[1]):
        lines = lines[1:]  # a comment above the real header line
    header = lines[0].lstrip("\ufeff").lstrip()
    if header.startswith("#"):
        header = header[1:]
    body = [ln for ln in lines[1:] if not ln.lstrip().startswith("#")]
    kind, split = _splitter(header)
    names = [n.strip().strip('"').strip() for n in split([header])[0]]
    rows = split(body)
    if names and names[-1] == "":
        names = names[:-1]
    if rows and all(len(r) == len(names) + 1 and r[-1] == "" for r in rows[:50]):
        rows = [r[:-1] if len(r) == len(names) + 1 and r[-1] == "" else r for r in rows]
    if not rows:
        raise RecordingError(path, "CSV has a header but no data rows")
    ncol = len(names)
    good = [r for r in rows if len(r) == ncol]
    if len(good) < len(rows):
        nbad = len(rows) - len(good)
        if nbad * 10 > len(rows):
            raise RecordingError(
                path, f"{nbad} of {len(rows)} rows do not have the header's {ncol} fields "
                f"({kind}-separated); wrong delimiter or shifted columns"
            )
        warnings.append(f"{nbad} malformed row(s) with a field count other than {ncol} dropped")
    decimal_comma = kind != "comma" and any("," in f for f in good[0])
    if decimal_comma:
        warnings.append("decimal commas converted")
    seen: dict[str, int] = {}
    cols: dict[str, np.ndarray] = {}
    non_numeric = []
    for j, name in enumerate(names):
        key = name.lower() if name.lower() in TIME_NAMES else name
        if key in seen:
            seen[key] += 1
            continue
        seen[key] = 1
        arr = _to_float([r[j] for r in good], decimal_comma)
        if key in TIME_NAMES and np.isnan(arr).all():
            iso = _iso_seconds([r[j] for r in good])
            if iso is not None:
                arr = iso
                warnings.append(f"'{name}' holds ISO 8601 times: converted to epoch seconds "
                                "(times without a zone taken as UTC)")
        if np.isnan(arr).all() and any(r[j] not in ("", "nan", "NaN") for r in good[:50]):
            non_numeric.append(name)
            continue
        cols[key] = arr
    dups = {k: n for k, n in seen.items() if n > 1}
    if dups:
        warnings.append(
            "duplicated column(s), first kept: " + ", ".join(f"{k} (x{n})" for k, n in dups.items())
        )
    if non_numeric:
        warnings.append(f"non-numeric column(s) ignored: {', '.join(non_numeric)}")
    layout, tcol = _layout(list(cols))
    if tcol is None:
        if layout != "csv/rtde":
            raise RecordingError(path, f"CSV has no time column (expected one of: {', '.join(TIME_NAMES)})")
        t = np.arange(len(good), dtype=np.float64) / RTDE_RATE_HZ
        warnings.append(f"RTDE log without timestamp column: time taken from the {RTDE_RATE_HZ:g} Hz rate")
        label = f"{RTDE_RATE_HZ:g} Hz row index"
    else:
        t = cols.pop(tcol)
        label = f"'{tcol}' column"
    if not any("ISO 8601" in w for w in warnings):  # parsed ISO times are seconds already
        t = _epoch_units(t, label, warnings)
    finite = np.isfinite(t)
    if not finite.all():
        warnings.append(f"{int((~finite).sum())} row(s) without a valid time dropped")
        t = t[finite]
        cols = {k: v[finite] for k, v in cols.items()}
    if not cols or not t.size:
        raise RecordingError(path, "CSV has no numeric data columns")
    ref = float(np.median(t))
    stream = build_stream("csv", layout, t, cols, ref, warnings, time_label=label)
    same = int(np.count_nonzero(np.diff(stream.t) == 0)) if stream.t.size > 1 else 0
    if same:
        warnings.append(f"{same} row(s) repeat the previous row's time ({label}); kept in file order")
    rec = Recording(path=path, streams={"csv": stream}, warnings=warnings)
    rec.messages_read = len(good)
    return rec
