"""``ridescan inspect PATH...``: what a recording holds before anyone scores it.

Prints per recording: format outcome, messages read/declared, duration, one line per
stream (topic, type, samples, rate, columns) and every warning the reader raised, so a
user sees recovered chunks, masked values and time-base fallbacks up front. Unreadable
files print their error and the run goes on (exit code 1 if any failed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers import expand_inputs, load_all
from ridescan_ros.core.telemetry import Recording


def add_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``ridescan inspect``."""
    p.add_argument("paths", nargs="+", metavar="PATH", help="recordings: files, bag folders, zips or folders of them")
    p.add_argument("--json", action="store_true", help="one JSON object per recording")
    p.add_argument("--columns", action="store_true", help="list every column of every stream")


def summarize(rec: Recording) -> dict:
    """JSON-safe summary of one recording (no NaN: rates of empty streams are null)."""
    streams = []
    for s in rec.streams.values():
        n = len(s)
        span = float(s.t[-1] - s.t[0]) if n > 1 else 0.0
        rate = (n - 1) / span if span > 0 else None
        streams.append({
            "topic": s.topic, "type": s.msgtype, "samples": n,
            "start": float(s.t[0]) if n else None, "duration_s": span,
            "rate_hz": None if rate is None or not math.isfinite(rate) else round(rate, 3),
            "columns": list(s.columns),
        })
    return {
        "file": rec.path, "ok": True, "messages_read": rec.messages_read,
        "messages_declared": rec.messages_declared, "recovered": rec.recovered,
        "duration_s": rec.duration_s(), "streams": streams, "warnings": list(rec.warnings),
    }


def _print_text(d: dict, show_columns: bool) -> None:
    if not d["ok"]:
        print(f"{d['file']}\n  ERROR: {d['error']}\n")
        return
    decl = d["messages_declared"]
    extra = f" of {decl} declared" if decl is not None else ""
    flag = "  [RECOVERED]" if d["recovered"] else ""
    print(f"{d['file']}{flag}\n  messages read: {d['messages_read']}{extra}, duration {d['duration_s']:.3f} s")
    for s in d["streams"]:
        rate = f"{s['rate_hz']:.1f} Hz" if s["rate_hz"] is not None else "-"
        cols = ", ".join(s["columns"]) if show_columns else f"{len(s['columns'])} columns"
        print(f"  {s['topic']:<28} {s['type']:<34} {s['samples']:>8} samples  {rate:>10}  {cols}")
    for w in d["warnings"]:
        print(f"  warning: {w}")
    print()


def run(args: argparse.Namespace) -> int:
    """Inspect every recording under the given paths; 1 if any could not be read."""
    failed = 0
    for path in expand_inputs(args.paths):
        for res in load_all(path):
            if isinstance(res, RecordingError):
                failed += 1
                d = {"file": res.path, "ok": False, "error": res.reason}
            else:
                d = summarize(res)
            if args.json:
                print(json.dumps(d, allow_nan=False))
            else:
                _print_text(d, args.columns)
    sys.stdout.flush()
    return 1 if failed else 0
