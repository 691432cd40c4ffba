"""ROS 1 ``.bag`` (v2.0; none/bz2/lz4 chunks), including bags a killed recorder left behind.

Every bag is read by one pass over its records in file order (chunks, then the index's
connection and chunk-info records, which give the declared count). rosbags' reader
refuses unindexed bags (``.bag.active``, ``index_pos=0``), asserts on a damaged index and
merges per message through a heap (slower than this scan, measured in bench/); here a
killed recording keeps every complete chunk, a chunk cut by power loss is dropped, and
the recording is flagged ``recovered``, as ``rosbag reindex`` would. Record lengths are
checked against the file size before anything is sliced and chunk decompression is
capped, so a broken length field never decides an allocation. rosbags still deserializes
every message (`readers.decode`), and `read_ros1_rosbags` is kept as the tests' oracle.
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
from ridescan_ros.core.readers.raw import RawBag, RawConnection, drop_read_pages

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


def _op(fields: dict[str, bytes]) -> int:
    """Record opcode (0 when the field is missing or empty)."""
    return (fields.get("op") or b"\0")[0]


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


class _MsgHeaders:
    """Struct layouts of MSGDATA headers seen so far, keyed by header length.

    A writer emits the same three fields (op, conn, time) in the same order for every
    message, so after one generic parse each further header is one ``unpack_from`` plus a
    check that lengths and names sit where the layout says; anything else is parsed
    generically. This is what makes the scan faster than a per-field parse.
    """

    _VALUE = {"op": ("B", 1), "conn": ("I", 4), "time": ("II", 8)}

    def __init__(self) -> None:
        self.layouts: dict[int, tuple[struct.Struct, tuple[int, ...], tuple[object, ...], int, int, int]] = {}

    def learn(self, hlen: int, fields: dict[str, bytes]) -> None:
        """Remember the layout of a plain MSGDATA header of length ``hlen``."""
        if set(fields) != {"op", "conn", "time"} or any(
            len(fields[k]) != self._VALUE[k][1] for k in fields
        ):
            return
        fmt, check_idx, check_val, idx = "<", [], [], 0
        where: dict[str, int] = {}
        for name, value in fields.items():
            vfmt = self._VALUE[name][0]
            fmt += f"I{len(name) + 1}s{vfmt}"
            check_idx += [idx, idx + 1]
            check_val += [len(name) + 1 + len(value), f"{name}=".encode()]
            where[name] = idx + 2
            idx += 2 + len(vfmt)
        st = struct.Struct(fmt)
        if st.size == hlen:
            self.layouts[hlen] = (
                st, tuple(check_idx), tuple(check_val), where["op"], where["conn"], where["time"]
            )


def _messages(
    data: bytes, conns: dict[int, RawConnection], hdrs: _MsgHeaders, orphans: dict[int, RawConnection]
) -> None:
    """Append the MSGDATA records of one decompressed chunk to their connections.

    Messages whose connection record has not been seen yet are parked in ``orphans``
    and matched against the index's connection records at the end of the scan.
    """
    pos, end = 0, len(data)
    unpack_u32 = _U32.unpack_from
    while pos + 8 <= end:
        (hlen,) = unpack_u32(data, pos)
        lay = hdrs.layouts.get(hlen)
        hend = pos + 4 + hlen
        if lay is not None and hend + 4 <= end:
            st, cidx, cval, iop, iconn, itime = lay
            vals = st.unpack_from(data, pos + 4)
            if tuple(vals[i] for i in cidx) == cval and vals[iop] == _OP_MSG:
                (dlen,) = unpack_u32(data, hend)
                dstart = hend + 4
                if dstart + dlen > end:
                    raise ValueError("record inside chunk is cut off")
                conn = conns.get(vals[iconn]) or orphans.setdefault(vals[iconn], RawConnection("", "", "ros1"))
                conn.log_ns.append(vals[itime] * 1_000_000_000 + vals[itime + 1])
                conn.payloads.append(data[dstart : dstart + dlen])
                pos = dstart + dlen
                continue
        rec = _record(data, pos, end)
        if rec is None:
            raise ValueError("record inside chunk is cut off")
        fields, dstart, dend = rec
        op = _op(fields)
        if op == _OP_MSG:
            hdrs.learn(hlen, fields)
            sec, nsec = struct.unpack("<II", fields["time"][:8])
            cid = _U32.unpack(fields["conn"][:4])[0]
            conn = conns.get(cid) or orphans.setdefault(cid, RawConnection("", "", "ros1"))
            conn.log_ns.append(sec * 1_000_000_000 + nsec)
            conn.payloads.append(data[dstart:dend])
        elif op == _OP_CONN:
            cid, conn = _connection(fields, data[dstart:dend])
            conns.setdefault(cid, conn)
        pos = dend
    if pos != end:
        raise ValueError("record inside chunk is cut off")


def scan_chunks(buf: bytes | mmap.mmap, start: int, indexed: bool) -> RawBag:
    """Walk records from ``start`` in file order: chunks, connections, chunk infos.

    Stops at the first record that runs past the end of the file (a cut recording).
    The declared count is the sum of CHUNK_INFO counts when the index was reached.
    """
    end = len(buf)
    conns: dict[int, RawConnection] = {}
    hdrs = _MsgHeaders()
    bag = RawBag()
    orphans: dict[int, RawConnection] = {}
    pos, chunks, declared = start, 0, 0
    dropped = 0
    infos: list[tuple[int, int, int]] = []
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
        op = _op(fields)
        try:
            if op == _OP_CONN:
                cid, conn = _connection(fields, bytes(buf[dstart:dend]))
                conns.setdefault(cid, conn)
            elif op == _OP_CHUNK:
                size = _U32.unpack(fields["size"][:4])[0]
                data = _decompress(fields["compression"].decode(), bytes(buf[dstart:dend]), size)
                _messages(data, conns, hdrs, orphans)
                chunks += 1
            elif op == _OP_CHUNK_INFO:
                counts = bytes(buf[dstart:dend])
                declared += sum(_U32.unpack_from(counts, i + 4)[0] for i in range(0, len(counts) - 7, 8))
                cpos = struct.unpack("<Q", fields["chunk_pos"][:8])[0]
                t0, t1 = (struct.unpack("<II", fields[k][:8]) for k in ("start_time", "end_time"))
                infos.append((cpos, t0[0] * 10**9 + t0[1], t1[0] * 10**9 + t1[1]))
        except (KeyError, ValueError, OSError, RuntimeError, struct.error) as err:
            bag.recovered = True
            what = "chunk" if op == _OP_CHUNK else f"record (op {op})"
            bag.warnings.append(
                f"recovered: damaged {what} at byte {pos} ({err}); complete records before it kept"
            )
        pos = dend
        dropped = drop_read_pages(buf, pos, dropped)
    lost = 0
    for cid, orphan in orphans.items():
        if cid in conns:
            conns[cid].log_ns[:0] = orphan.log_ns
            conns[cid].payloads[:0] = orphan.payloads
        else:
            lost += len(orphan.payloads)
    if lost:
        bag.warnings.append(f"{lost} message(s) refer to unknown connections and were dropped")
    if indexed and infos:
        bag.declared = declared
        infos.sort()
        late = sum(1 for a, b in zip(infos, infos[1:]) if b[1] < a[2])
        if late:
            bag.warnings.append(
                f"{late} chunk(s) are out of time order in the file; samples are sorted on time"
            )
    bag.connections = list(conns.values())
    return bag


def read_ros1_rosbags(path: str) -> RawBag:
    """The same raw data through rosbags' reader (indexed bags only): a cross-check for tests."""
    bag = RawBag()
    with Ros1Reader(Path(path)) as reader:
        conns: dict[int, RawConnection] = {}
        for c in reader.connections:
            conns[c.id] = RawConnection(c.topic, c.msgtype, "ros1", c.msgdef.data)
        for c, t, data in reader.messages():
            conns[c.id].log_ns.append(t)
            conns[c.id].payloads.append(data)
        bag.declared = reader.message_count
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
        bag = scan_chunks(buf, hdr_end, indexed=bool(index_pos))
    if not index_pos:
        bag.recovered = True
        bag.warnings.insert(
            0, "recovered: bag is not indexed (recording was not closed); messages recovered by scanning chunks"
        )
    elif bag.declared is None and bag.message_total():
        bag.recovered = True
        bag.warnings.insert(0, "recovered: bag index missing or cut off; messages recovered by scanning chunks")
    if bag.recovered and not bag.message_total():
        raise RecordingError(path, "no complete chunk could be recovered: " + "; ".join(bag.warnings))
    return bag
