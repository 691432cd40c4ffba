"""Play a recording's messages on ROS topics at their recorded rate (tests and benchmarks).

A small stand-in for ``ros2 bag play --clock`` where ``ros2`` is not installed: messages
read with rosbags (ROS 1 or ROS 2) are copied field by field into rclpy messages, and
``/clock`` is published with each message's log time so a node with ``use_sim_time`` sees
the recording's receive times.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rclpy.node import Node
from rosbags.highlevel import AnyReader
from rosgraph_msgs.msg import Clock

from ridescan_ros.core.extract import normalize_type


def to_rclpy(src: Any, cls: Any) -> Any:
    """Copy a rosbags message into a new ``cls`` instance (fields both have, recursively)."""
    dst = cls()
    for name, ftype in cls.get_fields_and_field_types().items():
        if not hasattr(src, name):
            continue
        val = getattr(src, name)
        cur = getattr(dst, name)
        if hasattr(cur, "get_fields_and_field_types"):
            setattr(dst, name, to_rclpy(val, type(cur)))
        elif ftype.startswith("sequence<") and "/" in ftype:
            inner = _msg_class(ftype[len("sequence<"):-1].split(",")[0])
            setattr(dst, name, [to_rclpy(v, inner) for v in val])
        elif hasattr(val, "tolist"):
            setattr(dst, name, val.tolist())
        else:
            setattr(dst, name, val)
    return dst


def _msg_class(name: str) -> Any:
    pkg, _, typ = normalize_type(name.strip()).split("/")
    return getattr(__import__(f"{pkg}.msg", fromlist=[typ]), typ)


def load_messages(
    path: str | Path, topics: Iterable[str] | None = None, start_s: float = 0.0,
    duration_s: float | None = None,
) -> list[tuple[int, str, Any]]:
    """(log time ns, topic, rclpy message) for ``[start_s, start_s + duration_s)`` of a file."""
    out = []
    with AnyReader([Path(path)]) as reader:
        conns = [c for c in reader.connections if topics is None or c.topic in set(topics)]
        t_first = reader.start_time + int(start_s * 1e9)
        t_last = None if duration_s is None else t_first + int(duration_s * 1e9)
        classes = {c.id: _msg_class(c.msgtype) for c in conns}
        for conn, t_ns, raw in reader.messages(connections=conns, start=t_first, stop=t_last):
            msg = reader.deserialize(raw, conn.msgtype)
            out.append((t_ns, conn.topic, to_rclpy(msg, classes[conn.id])))
    out.sort(key=lambda m: m[0])
    return out


class Player:
    """Publishes pre-loaded messages; ``play`` blocks until done (call it from a thread)."""

    def __init__(self, node: Node, messages: list[tuple[int, str, Any]], qos: Any = 200) -> None:
        self.node = node
        self.messages = messages
        self.pubs = {}
        for _, topic, msg in messages:
            if topic not in self.pubs:
                self.pubs[topic] = node.create_publisher(type(msg), topic, qos)
        self.clock = node.create_publisher(Clock, "/clock", 10)
        self.stop = False

    def play(self, rate: float = 1.0, clock: bool = True, messages: list | None = None) -> float:
        """Publish ``messages`` (default: those given at construction; their topics must be
        among those) at ``rate`` x recorded speed; returns the wall seconds it took."""
        messages = self.messages if messages is None else messages
        if not messages:
            return 0.0
        t0_log = messages[0][0]
        t0 = time.perf_counter()
        for t_ns, topic, msg in messages:
            if self.stop:
                break
            due = t0 + (t_ns - t0_log) * 1e-9 / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if clock:
                c = Clock()
                c.clock.sec, c.clock.nanosec = divmod(int(t_ns), 1_000_000_000)
                self.clock.publish(c)
            self.pubs[topic].publish(msg)
        return time.perf_counter() - t0
