"""decode_batch on real recordings (ROS 1 bag, ROS 2 MCAP) and on damaged payloads.

Real payloads are read raw with rosbags' AnyReader and compared with AnyReader.deserialize +
extract_message, bit for bit. Damaged copies (truncated, length fields pointing past the
end, wrong endianness flag) must never crash decode_batch, and must stay undone wherever
rosbags rejects them, so the per-message path raises its clear error on them.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from ridescan_ros.core.extract import extract_message
from ridescan_ros.core.fastdecode import decode_batch

LIMIT = 1500  # messages per connection: enough shapes, keeps the test to about a second
RECORDINGS = ["sim_ur5e/run_000.bag", "sim_spot/run_000.mcap"]


def connections(reader: AnyReader) -> list[tuple[str, str, list[bytes]]]:
    """(topic, msgtype, first LIMIT raw payloads) per connection of an open reader."""
    out = []
    for conn in reader.connections:
        raws = []
        for _, _, raw in reader.messages(connections=[conn]):
            raws.append(bytes(raw))
            if len(raws) == LIMIT:
                break
        out.append((conn.topic, conn.msgtype, raws))
    return out


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


@pytest.mark.parametrize("name", RECORDINGS)
def test_real_recordings_bit_identical(shared_data: Path, name: str) -> None:
    path = shared_data / name
    encoding = "ros1" if path.suffix == ".bag" else "cdr"
    seen = 0
    with AnyReader([path]) as reader:
        conns = connections(reader)
        refs = [[extract_message(m, reader.deserialize(r, m)) for r in raws]
                for _, m, raws in conns]
    for (topic, msgtype, raws), rows in zip(conns, refs):
        columns, done = decode_batch(msgtype, raws, encoding)
        assert done.all(), topic
        assert list(columns) == list(rows[0]), topic
        for key, col in columns.items():
            ref = np.array([row.get(key, np.nan) for row in rows], dtype=np.float64)
            assert np.array_equal(col, ref, equal_nan=True), (topic, key)
            assert np.array_equal(bits(col), bits(ref)), (topic, key)
        seen += len(raws)
    assert seen > 0


def corrupt(raw: bytes, cdr: bool) -> list[bytes]:
    """Damaged variants of one payload: truncations and absurd length fields."""
    base = 4 if cdr else 0
    out = [raw[:k] for k in (0, 1, 3, 4, 7, len(raw) // 2, len(raw) - 9, len(raw) - 1)]
    out.append(raw + b"\x00" * (4 if cdr else 1))  # trailing bytes rosbags rejects
    fmt = "<I" if not cdr or raw[1] else ">I"
    for off in range(base, min(len(raw) - 4, 160), 4):  # every aligned word as a length
        for value in (0xFFFFFFFF, len(raw), 1):
            b = bytearray(raw)
            struct.pack_into(fmt, b, off, value)
            out.append(bytes(b))
    if cdr:
        out.append(raw[:1] + bytes([1 - raw[1]]) + raw[2:])  # wrong endianness flag
    return out


def check_damaged(reader: AnyReader, topic: str, msgtype: str, raws: list[bytes],
                  cdr: bool) -> int:
    """Decode good + damaged payloads together; return how many rows rosbags rejected."""
    good = raws[:50]
    payloads = good + [v for r in raws[:2] for v in corrupt(r, cdr)]
    columns, done = decode_batch(msgtype, payloads, "cdr" if cdr else "ros1")
    assert done[: len(good)].all(), topic
    rejected = 0
    for i, raw in enumerate(payloads):
        try:
            ref = extract_message(msgtype, reader.deserialize(raw, msgtype))
        except Exception:  # noqa: BLE001 - rosbags rejects it: the fast path must too
            assert not done[i], (topic, i)
            assert all(np.isnan(c[i]) for c in columns.values())
            rejected += 1
            continue
        if done[i]:  # a corruption rosbags still accepts: same numbers
            for key, col in columns.items():
                expect = np.array([ref.get(key, np.nan)], dtype=np.float64)
                assert bits(col[i : i + 1])[0] == bits(expect)[0], (topic, i, key)
    return rejected


@pytest.mark.parametrize("name", RECORDINGS)
def test_damaged_payloads_left_to_slow_path(shared_data: Path, name: str) -> None:
    path = shared_data / name
    rejected = 0
    with AnyReader([path]) as reader:
        for topic, msgtype, raws in connections(reader):
            rejected += check_damaged(reader, topic, msgtype, raws, path.suffix != ".bag")
    assert rejected > 0
