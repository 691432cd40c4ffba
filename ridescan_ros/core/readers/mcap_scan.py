"""MCAP read by one linear pass over its records (chunked or not, with or without summary).

rosbags needs the summary section and the end magic, so it refuses files a killed writer
left behind, and it refuses any profile but ``ros2``. A linear scan reads spec-valid files
without summary, recovers every complete record of a cut file (flagged ``recovered``), and
lets the decoder decide per channel (CDR and ROS 1 decoded, json/protobuf/schemaless
skipped with a warning). Record lengths are checked against the file size before
slicing; chunk decompression is capped.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

import lz4.frame
from rosbags.typesys.msg import normalize_msgtype

from ridescan_ros.core.errors import RecordingError
from ridescan_ros.core.readers.raw import RawBag, RawConnection, drop_read_pages
from ridescan_ros.core.readers.zstdio import decompress_capped

MAGIC = b"\x89MCAP0\r\n"
MAX_CHUNK_BYTES = 1 << 30
_OP_HEADER, _OP_FOOTER, _OP_SCHEMA, _OP_CHANNEL, _OP_MESSAGE, _OP_CHUNK = 1, 2, 3, 4, 5, 6
_OP_STATISTICS, _OP_DATA_END = 0x0B, 0x0F
_ENCODINGS = {"cdr": "cdr", "ros1": "ros1"}
_PARSED = (_OP_SCHEMA, _OP_CHANNEL, _OP_CHUNK, _OP_STATISTICS, _OP_DATA_END, _OP_FOOTER)
_LEN = struct.Struct("<Q")
_MSG = struct.Struct("<HIQQ")
_MAX_NS = 1 << 63


class _Cursor:
    """Little-endian field reader over one record's content, bounds-checked."""

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def take(self, fmt: str) -> int:
        val = struct.unpack_from("<" + fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return int(val)

    def blob(self, lenfmt: str = "I") -> bytes:
        n = self.take(lenfmt)
        if self.pos + n > len(self.buf):
            raise ValueError("field runs past its record")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return bytes(out)

    def text(self) -> str:
        return self.blob().decode("utf-8", "replace")


class _State:
    def __init__(self) -> None:
        self.schemas: dict[int, tuple[str, str, str]] = {}
        self.channels: dict[int, RawConnection] = {}
        self.order: list[RawConnection] = []
        self.unknown_channel = 0
        self.bad_time = 0
        self.declared: int | None = None


def _channel(st: _State, c: _Cursor) -> None:
    cid, sid = c.take("H"), c.take("H")
    topic, enc = c.text(), c.text()
    name, senc, sdata = st.schemas.get(sid, ("", "", ""))
    fmt = "idl" if senc == "ros2idl" else "msg"
    conn = RawConnection(topic, normalize_msgtype(name) if name else "", _ENCODINGS.get(enc, enc or "none"), sdata, fmt)
    if sid == 0 or not name:
        conn.encoding = f"{enc or 'none'} without schema"
    elif enc in _ENCODINGS and senc not in ("ros2msg", "ros2idl", "ros1msg", ""):
        conn.encoding = f"{enc} with {senc} schema"
    st.channels.setdefault(cid, conn)
    if st.channels[cid] is conn:
        st.order.append(conn)


def _records(st: _State, buf: bytes | mmap.mmap, pos: int, end: int, bag: RawBag) -> tuple[int, bool]:
    """Walk records in ``buf[pos:end]``; returns (stop position, reached footer/data end).

    A record whose content does not parse is skipped (its length is known) and reported;
    a record whose length runs past ``end`` stops the walk (cut file or chunk).
    """
    data_end = False
    dropped = 0  # file pages handed back so far (drop_read_pages)
    unpack_len, unpack_msg = _LEN.unpack_from, _MSG.unpack_from
    while pos + 9 <= end:
        op = buf[pos]
        (length,) = unpack_len(buf, pos + 1)
        body = pos + 9
        if length > end - body:
            return pos, data_end
        pos = body + length
        if op == _OP_MESSAGE and length >= _MSG.size:
            cid, _seq, log_ns, _pub = unpack_msg(buf, body)
            conn = st.channels.get(cid)
            if conn is None:
                st.unknown_channel += 1
            elif log_ns >= _MAX_NS:
                st.bad_time += 1
            else:
                conn.log_ns.append(log_ns)
                conn.payloads.append(bytes(buf[body + _MSG.size : pos]))
            continue
        if op not in _PARSED:
            continue
        try:
            c = _Cursor(bytes(buf[body:pos]))
            if op == _OP_SCHEMA:
                sid = c.take("H")
                name, senc = c.text(), c.text()
                st.schemas.setdefault(sid, (name, senc, c.blob().decode("utf-8", "replace")))
            elif op == _OP_CHANNEL:
                _channel(st, c)
            elif op == _OP_CHUNK:
                _chunk(st, c, body - 9, bag)
                dropped = drop_read_pages(buf, pos, dropped)
            elif op == _OP_STATISTICS:
                st.declared = c.take("Q")
            elif op == _OP_DATA_END:
                data_end = True
            elif op == _OP_FOOTER:
                return pos, True
        except (struct.error, ValueError) as err:
            bag.recovered = True
            bag.warnings.append(f"recovered: skipped a damaged MCAP record (op {op}) at byte {body - 9} ({err})")
    return pos, data_end


def _chunk(st: _State, c: _Cursor, pos: int, bag: RawBag) -> None:
    c.take("Q"), c.take("Q")
    usize = c.take("Q")
    c.take("I")
    comp = c.text()
    records = c.blob("Q")
    try:
        if usize > MAX_CHUNK_BYTES:
            raise ValueError(f"declared uncompressed size {usize} is over the limit")
        if comp == "":
            data = records
        elif comp == "zstd":
            data = decompress_capped(records, usize)
        elif comp == "lz4":
            data = lz4.frame.LZ4FrameDecompressor().decompress(records, max_length=usize)
        else:
            raise ValueError(f"chunk compression {comp!r} is not supported")
        if len(data) != usize:
            raise ValueError(f"chunk decompressed to {len(data)} bytes, header says {usize}")
    except (ValueError, RuntimeError, OSError) as err:
        bag.recovered = True
        bag.warnings.append(f"recovered: skipped a damaged MCAP chunk at byte {pos} ({err})")
        return
    stop, _ = _records(st, data, 0, len(data), bag)
    if stop != len(data):
        bag.recovered = True
        bag.warnings.append(f"recovered: MCAP chunk at byte {pos} ends in a cut record")


def read_mcap(path: str) -> RawBag:
    """Scan one ``.mcap`` file into raw connections (summary used only for the count)."""
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise RecordingError(path, "0-byte file: not an MCAP file (empty)")
    bag = RawBag()
    st = _State()
    with p.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:8] != MAGIC:
            raise RecordingError(path, "not an MCAP file (magic bytes missing)")
        stop, ended = _records(st, buf, 8, size, bag)
        tail_ok = size >= 16 and buf[size - 8 :] == MAGIC
    if not ended or not tail_ok:
        bag.recovered = True
        cut = "inside a record" if stop < size else "after a complete record"
        bag.warnings.append(
            f"recovered: truncated MCAP (killed writer?): no end magic, file ends {cut} at byte "
            f"{stop} of {size}; complete records kept"
        )
    if st.bad_time:
        bag.warnings.append(f"{st.bad_time} message(s) with a log time beyond year 2262 dropped")
    if st.unknown_channel:
        bag.warnings.append(f"{st.unknown_channel} message(s) on undeclared channels dropped")
    bag.connections = st.order
    bag.declared = st.declared
    return bag
