"""Byte layout of one serialized message, found by walking a template payload.

`core.fastdecode` decodes many payloads at once by assuming they share the layout of a
template message: where each value sits and which bytes (length fields, strings) must be
identical for that to hold. This module walks one payload with the same rules and checks
as rosbags' deserializers (ROS 1: packed little endian; CDR: XCDR1 alignment relative to
the byte after the 4-byte encapsulation header, either endianness), so a payload accepted
here is one rosbags would accept, and a rejected one is left to the per-message path.
Every length field is checked against the bytes left before it is used; nothing is
allocated from a length field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# Column kinds: float64 / float32 value, header stamp (int32 sec + uint32 nanosec),
# and the three Euler angles computed from a quaternion (x, y, z, w float64).
F8, F4, STAMP, ROLL, PITCH, YAW = "f8", "f4", "stamp", "roll", "pitch", "yaw"

# Field programs per message type. Ops:
#   ("header",)            std_msgs/Header (ROS 1 has a leading uint32 seq)
#   ("str",)               string whose bytes must match the template
#   ("f8", key) / ("f4", key)
#   ("vec3", prefix)       three float64 -> prefix + x, y, z
#   ("quat", prefix)       four float64 -> prefix + roll, pitch, yaw
#   ("skip8", n)           fixed float64[n] we do not read (covariances)
#   ("skip1", n)           n single bytes (uint8 / bool) we do not read
#   ("seq4",)              float32[] we do not read; its count must match the template
#   ("names",), ("jsarr", field)   JointState name[] and float64[] position/velocity/effort
_TWIST = (("vec3", "linear."), ("vec3", "angular."))
_WRENCH = (("vec3", "force."), ("vec3", "torque."))
PROGRAMS: dict[str, tuple[tuple, ...]] = {
    "sensor_msgs/msg/JointState": (
        ("header",), ("names",), ("jsarr", "position"), ("jsarr", "velocity"),
        ("jsarr", "effort"),
    ),
    "nav_msgs/msg/Odometry": (
        ("header",), ("str",), ("vec3", "pose.position."), ("quat", "pose.orientation."),
        ("skip8", 36), ("vec3", "twist.linear."), ("vec3", "twist.angular."), ("skip8", 36),
    ),
    "sensor_msgs/msg/Imu": (
        ("header",), ("quat", "orientation."), ("skip8", 9), ("vec3", "angular_velocity."),
        ("skip8", 9), ("vec3", "linear_acceleration."), ("skip8", 9),
    ),
    "geometry_msgs/msg/WrenchStamped": (("header",), *_WRENCH),
    "geometry_msgs/msg/Wrench": _WRENCH,
    "geometry_msgs/msg/TwistStamped": (("header",), *_TWIST),
    "geometry_msgs/msg/Twist": _TWIST,
    "sensor_msgs/msg/BatteryState": (
        ("header",), ("f4", "voltage"), ("f4", "temperature"), ("f4", "current"),
        ("f4", "charge"), ("skip4", 2), ("f4", "percentage"), ("skip1", 4), ("seq4",),
        ("seq4",), ("str",), ("str",),
    ),
    "std_msgs/msg/Float64": (("f8", "data"),),
    "std_msgs/msg/Float32": (("f4", "data"),),
}

# Column order of `extract.extract_message` where it differs from the byte order.
KEY_ORDER: dict[str, tuple[str, ...]] = {
    "sensor_msgs/msg/BatteryState": (
        "header.stamp", "voltage", "current", "charge", "percentage", "temperature",
    ),
}

# ROS 1 BatteryState gained `temperature` in Noetic; the type name does not tell which
# definition a bag carries, so those payloads always take the per-message path.
ROS1_UNSUPPORTED = frozenset({"sensor_msgs/msg/BatteryState"})


class LayoutError(Exception):
    """The template payload does not parse (rosbags would reject it too)."""


@dataclass
class Layout:
    """Where the values of one payload shape sit and which bytes must match.

    Attributes:
        size: total payload length in bytes.
        order: '<' or '>' byte order of the numbers.
        columns: column key -> (absolute byte offset, kind), in extract_message order.
        checks: merged (start, end) byte ranges that must equal the template's bytes.
        template: the template payload.
    """

    size: int
    order: str
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)
    checks: list[tuple[int, int]] = field(default_factory=list)
    template: bytes = b""


class _Walker:
    """Cursor over one payload with rosbags' bounds, alignment and string rules."""

    def __init__(self, data: bytes, cdr: bool) -> None:
        self.data = data
        self.cdr = cdr
        self.base = 4 if cdr else 0
        self.pos = self.base
        self.order = "<"
        self.columns: dict[str, tuple[int, str]] = {}
        self.checks: list[tuple[int, int]] = []
        if cdr:
            if len(data) < 4 or data[:2] not in (b"\x00\x00", b"\x00\x01"):
                raise LayoutError("bad CDR encapsulation")
            self.order = "<" if data[1] else ">"
            self.checks.append((0, 2))

    def align(self, n: int) -> None:
        if self.cdr:
            rel = self.pos - self.base
            self.pos = self.base + ((rel + n - 1) & -n)

    def take(self, n: int, align: int) -> int:
        """Reserve n bytes after aligning; return their offset."""
        self.align(align)
        start = self.pos
        if n < 0 or start + n > len(self.data):
            raise LayoutError("field past the end")
        self.pos = start + n
        return start

    def count(self) -> int:
        """A uint32 length/count field; its bytes become a template check."""
        at = self.take(4, 4)
        self.checks.append((at, at + 4))
        return int(struct.unpack_from(self.order + "I", self.data, at)[0])

    def string(self) -> str:
        length = self.count()
        start = self.pos
        if self.cdr:
            if length < 1 or start + length > len(self.data) or self.data[start + length - 1]:
                raise LayoutError("bad CDR string")
            raw = self.data[start:start + length - 1]
        else:
            if start + length > len(self.data):
                raise LayoutError("bad string")
            raw = self.data[start:start + length]
        self.pos = start + length
        self.checks.append((start, start + length))
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise LayoutError("string is not UTF-8") from exc

    def header(self) -> None:
        if not self.cdr:
            self.take(4, 4)  # seq
        sec = self.take(8, 4)
        self.columns["header.stamp"] = (sec, STAMP)
        self.string()

    def f64s(self, keys: list[str]) -> None:
        start = self.take(8 * len(keys), 8)
        for i, key in enumerate(keys):
            self.columns[key] = (start + 8 * i, F8)

    def joint_state(self, prog: tuple[tuple, ...]) -> None:
        names: list[str] = []
        for op in prog:
            if op[0] == "header":
                self.header()
            elif op[0] == "names":
                n = self.count()
                if n * (5 if self.cdr else 4) > len(self.data) - self.pos:
                    raise LayoutError("name count past the end")
                names = [self.string() for _ in range(n)]
            else:
                n = self.count()
                if n * 8 > len(self.data) - self.pos:
                    raise LayoutError("array count past the end")
                if n:
                    start = self.take(8 * n, 8)
                    for i, name in enumerate(names[:n]):
                        self.columns[f"{name}.{op[1]}"] = (start + 8 * i, F8)

    def run(self, prog: tuple[tuple, ...]) -> None:
        for op in prog:
            kind = op[0]
            if kind == "header":
                self.header()
            elif kind == "str":
                self.string()
            elif kind == "f8":
                self.f64s([op[1]])
            elif kind == "f4":
                self.columns[op[1]] = (self.take(4, 4), F4)
            elif kind == "vec3":
                self.f64s([f"{op[1]}{a}" for a in "xyz"])
            elif kind == "quat":
                start = self.take(32, 8)
                for name in (ROLL, PITCH, YAW):
                    self.columns[f"{op[1]}{name}"] = (start, name)
            elif kind == "skip8":
                self.take(8 * op[1], 8)
            elif kind == "skip4":
                self.take(4 * op[1], 4)
            elif kind == "skip1":
                self.take(op[1], 1)
            elif kind == "seq4":
                n = self.count()
                if n * 4 > len(self.data) - self.pos:
                    raise LayoutError("array count past the end")
                if n:
                    self.take(4 * n, 4)
            else:  # pragma: no cover - programs are static
                raise AssertionError(kind)

    def finish(self) -> None:
        left = len(self.data) - self.pos
        if (self.cdr and left > 3) or (not self.cdr and left != 0):
            raise LayoutError("trailing bytes")


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def walk(msgtype: str, payload: bytes, cdr: bool) -> Layout:
    """Layout of `payload` (a normalized, supported msgtype); raises LayoutError."""
    prog = PROGRAMS[msgtype]
    w = _Walker(payload, cdr)
    if msgtype == "sensor_msgs/msg/JointState":
        w.joint_state(prog)
    else:
        w.run(prog)
    w.finish()
    columns = w.columns
    order = KEY_ORDER.get(msgtype)
    if order is not None:
        columns = {k: columns[k] for k in order if k in columns}
    return Layout(
        size=len(payload), order=w.order, columns=columns, checks=_merge(w.checks),
        template=payload,
    )
