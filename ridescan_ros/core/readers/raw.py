"""What every container scanner hands to the decoder: raw payloads grouped by connection.

Keeping container parsing (ROS 1 chunks, sqlite rows, MCAP records) apart from decoding
means every format shares one decode/time-base path, and the bulk decoder
(`core.fastdecode`) sees the same per-connection batches whatever the file was.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field

DROP_STEP = 16 << 20


def drop_read_pages(buf: object, upto: int, done: int) -> int:
    """Let the kernel take back the pages of a read-only file mapping before ``upto``
    (their bytes were already copied out), 16 MB at a time, so a scan's resident memory
    holds a window of the file rather than all of it (the pages stay in the page cache).
    ``done`` is the previous return value (start with 0); returns the new one."""
    if upto - done < DROP_STEP or not isinstance(buf, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED"):
        return done
    end = upto - upto % mmap.PAGESIZE
    try:
        buf.madvise(mmap.MADV_DONTNEED, done, end - done)
    except (OSError, ValueError):
        return upto  # not supported here: stop trying for this window
    return end


@dataclass
class RawConnection:
    """One connection (topic + type + encoding) and its raw messages in file order.

    Attributes:
        topic: topic name.
        msgtype: normalised ``pkg/msg/Type``.
        encoding: ``ros1``, ``cdr`` or whatever the container declared (others are skipped).
        msgdef: message definition text stored in the container ('' when absent).
        msgdef_format: ``msg`` or ``idl`` (how ``msgdef`` is written).
        log_ns: receive/log time of each message, integer nanoseconds.
        payloads: serialized message bytes, same order as ``log_ns``.
    """

    topic: str
    msgtype: str
    encoding: str
    msgdef: str = ""
    msgdef_format: str = "msg"
    log_ns: list[int] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)


@dataclass
class RawBag:
    """A scanned container before decoding.

    Attributes:
        connections: every connection found, including ones without messages.
        declared: message count the container declares (index, metadata, MCAP statistics).
        warnings: findings made while scanning (recovered chunks, sidecars, ...).
        recovered: True when the container was damaged and only part could be read.
        search_dirs: folders where ``<Type>.msg`` files may complete missing definitions.
    """

    connections: list[RawConnection] = field(default_factory=list)
    declared: int | None = None
    warnings: list[str] = field(default_factory=list)
    recovered: bool = False
    search_dirs: list[str] = field(default_factory=list)

    def message_total(self) -> int:
        """Messages scanned over all connections."""
        return sum(len(c.payloads) for c in self.connections)
