"""ROS 1 ``.bag`` (v2.0; none/bz2/lz4 chunks), including bags a killed recorder left behind.

Indexed bags are read with rosbags' reader. rosbags refuses unindexed bags (``.bag.active``,
``index_pos=0``) and asserts on a damaged index, so those are recovered here by scanning
the chunks in file order, as ``rosbag reindex`` does: every complete chunk is kept, a
chunk cut by power loss is dropped, and the recording is flagged ``recovered``. Record
lengths are checked against the file size before anything is sliced, and chunk
decompression is capped, so a broken length field never decides an allocation.
"""

from __future__ import annotations

import bz2
import mmap
import struct
from pathlib import Path

import lz4.frame
from rosbags.rosbag1 import Reader as Ros1Reader
from rosbags.typesys.msg import normalize_msgtype

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers.raw import RawBag, RawConnection

MAGIC = b"#ROSBAG V2.0\n"
MAX_CHUNK_BYTES = 1 << 30
_U32 = struct.Struct("<I")
_OP_MSG, _OP_HEADER, _OP_INDEX, _OP_CHUNK, _OP_CHUNK_INFO, _OP_CONN = 2, 3, 4, 5, 6, 7


def _fields(buf: bytes | mmap.mmap, start: int, end: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    pos = start
    while pos + 4 <= end:
        (size,) = _U32.unpack_from(buf, pos)
        pos += 4
        if pos + size > end:
            raise ValueError("header field runs past its record")
        name, sep, value = bytes(buf[pos : pos + size]).partition(b"=")
        if not sep:
            raise ValueError("header field without '='")
        out[name.decode("ascii", "replace")] = value
        pos += size
    return out


def _record(buf: bytes | mmap.mmap, pos: int, end: int) -> tuple[dict[str, bytes], int, int] | None:
    """(header fields, data start, data end) of the record at ``pos``; None if cut off."""
    if pos + 4 > end:
        return None
    (hlen,) = _U32.unpack_from(buf, pos)
    hend = pos + 4 + hlen
    if hend + 4 > end:
        return None
    (dlen,) = _U32.unpack_from(buf, hend)
    dstart = hend + 4
    if dstart + dlen > end:
        return None
    return _fields(buf, pos + 4, hend), dstart, dstart + dlen


def _connection(fields: dict[str, bytes], data: bytes) -> tuple[int, RawConnection]:
    inner = _fields(data, 0, len(data))
    conn_id = _U32.unpack(fields["conn"][:4])[0]
    return conn_id, RawConnection(
        topic=fields.get("topic", b"").decode("utf-8", "replace"),
        msgtype=normalize_msgtype(inner.get("type", b"").decode("utf-8", "replace")),
        encoding="ros1",
        msgdef=inner.get("message_definition", b"").decode("utf-8", "replace"),
    )


def _decompress(kind: str, data: bytes, size: int) -> bytes:
    limit = min(max(size, 0), MAX_CHUNK_BYTES)
    if kind == "none":
        return data
    if kind == "bz2":
        out = bz2.BZ2Decompressor().decompress(data, max_length=limit)
    elif kind == "lz4":
        out = lz4.frame.LZ4FrameDecompressor().decompress(data, max_length=limit)
    else:
        raise ValueError(f"chunk compression {kind!r} is not supported")
    if len(out) != size:
        raise ValueError(f"chunk decompressed to {len(out)} bytes, header says {size}")
    return out


def scan_chunks(path: str, buf: bytes | mmap.mmap, start: int) -> RawBag:
    """Recover messages by walking records from ``start``; stops at the first cut record."""
    end = len(buf)
    conns: dict[int, RawConnection] = {}
    bag = RawBag()
    pos, chunks, lost = start, 0, 0
    while pos < end:
        try:
            rec = _record(buf, pos, end)
        except ValueError:
            rec = None
        if rec is None:
            bag.recovered = True
            bag.warnings.append(
                f"recovered: file ends in an incomplete record at byte {pos} of {end} "
                f"(recording was not closed); kept {chunks} complete chunk(s)"
            )
            break
        fields, dstart, dend = rec
        op = fields.get("op", b"\0")[0]
        if op == _OP_CONN:
            cid, conn = _connection(fields, bytes(buf[dstart:dend]))
            conns.setdefault(cid, conn)
        elif op == _OP_CHUNK:
            try:
                size = _U32.unpack(fields["size"][:4])[0]
                data = _decompress(fields["compression"].decode(), bytes(buf[dstart:dend]), size)
            except (KeyError, ValueError, OSError, RuntimeError, struct.error) as err:
                bag.recovered = True
                bag.warnings.append(f"recovered: skipped a damaged chunk at byte {pos} ({err})")
                pos = dend
                continue
            lost += _chunk_messages(data, conns)
            chunks += 1
        pos = dend
    if lost:
        bag.warnings.append(f"{lost} message(s) refer to unknown connections and were dropped")
    bag.connections = list(conns.values())
    return bag


def _chunk_messages(data: bytes, conns: dict[int, RawConnection]) -> int:
    pos, end, lost = 0, len(data), 0
    while pos < end:
        try:
            rec = _record(data, pos, end)
        except ValueError:
            rec = None
        if rec is None:
            raise ValueError("record inside chunk is cut off")
        fields, dstart, dend = rec
        op = fields.get("op", b"\0")[0]
        if op == _OP_MSG:
            cid = _U32.unpack(fields["conn"][:4])[0]
            sec, nsec = struct.unpack("<II", fields["time"][:8])
            conn = conns.get(cid)
            if conn is None:
                lost += 1
            else:
                conn.log_ns.append(sec * 1_000_000_000 + nsec)
                conn.payloads.append(data[dstart:dend])
        elif op == _OP_CONN:
            cid, conn = _connection(fields, data[dstart:dend])
            conns.setdefault(cid, conn)
        pos = dend
    return lost


def _read_indexed(path: str) -> RawBag:
    """Indexed bag through rosbags; raises whatever rosbags raises on a damaged index."""
    bag = RawBag()
    with Ros1Reader(Path(path)) as reader:
        conns: dict[int, RawConnection] = {}
        for c in reader.connections:
            conns[c.id] = RawConnection(c.topic, c.msgtype, "ros1", c.msgdef.data)
        for c, t, data in reader.messages():
            rc = conns[c.id]
            rc.log_ns.append(t)
            rc.payloads.append(data)
        bag.declared = reader.message_count
        infos = sorted(reader.chunk_infos, key=lambda ci: ci.pos)
        late = sum(1 for a, b in zip(infos, infos[1:]) if b.start_time < a.end_time - 1)
        if late:
            bag.warnings.append(
                f"{late} chunk(s) are out of time order in the file; messages taken in time order"
            )
    bag.connections = list(conns.values())
    return bag


def read_ros1(path: str) -> RawBag:
    """Scan a ROS 1 bag (indexed, unindexed, ``.active`` or cut) into raw connections."""
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise RecordingError(path, "0-byte file: not a ROS 1 bag (empty)")
    with p.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[: len(MAGIC)] != MAGIC:
            head = bytes(buf[:13])
            if head.startswith(b"#ROSBAG V"):
                raise RecordingError(path, f"unsupported ROS bag version {head[9:12]!r}")
            raise RecordingError(path, "not a ROS 1 bag (file magic '#ROSBAG V2.0' missing)")
        try:
            rec = _record(buf, len(MAGIC), size)
        except ValueError:
            rec = None
        if rec is None or rec[0].get("op", b"\0")[0] != _OP_HEADER:
            raise RecordingError(path, "truncated ROS 1 bag: bag header record is incomplete")
        fields, _, hdr_end = rec
        index_pos = struct.unpack("<Q", fields.get("index_pos", b"\0" * 8)[:8])[0]
        if index_pos:
            try:
                return _read_indexed(path)
            except Exception as err:  # rosbags asserts/raises on damaged indexes
                reason = f"index unusable ({type(err).__name__}: {err})"
        else:
            reason = "bag is not indexed (recording was not closed)"
        bag = scan_chunks(path, buf, hdr_end)
    bag.recovered = True
    bag.warnings.insert(0, f"recovered: {reason}; messages recovered by scanning chunks")
    if not bag.message_total():
        raise RecordingError(path, f"{reason}; no complete chunk could be recovered")
    return bag
