"""decode_batch against the per-message path (rosbags deserialize + extract_message).

Messages are generated with hypothesis (fixed seed), serialized by rosbags' own typestore
(ROS 1, CDR little and big endian) and must decode to the same bits, NaN payloads
included; rows decode_batch leaves undone must be exactly those it cannot prove regular.
"""

from __future__ import annotations

import dataclasses
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_typestore

from ridescan_ros.core import fastdecode
from ridescan_ros.core.extract import extract_message
from ridescan_ros.core.fastdecode import decode_batch

ROS2 = get_typestore(Stores.ROS2_KILTED)
ROS1 = get_typestore(Stores.ROS1_NOETIC)
_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]
SETTINGS = settings(derandomize=True, max_examples=40, deadline=None,
                    suppress_health_check=_CHECKS)
FEW = settings(derandomize=True, max_examples=12, deadline=None, suppress_health_check=_CHECKS)

FLOATS = st.one_of(st.floats(), st.floats(-1.0, 1.0), st.sampled_from([0.0, -0.0, 1.0]))
F32 = st.floats(width=32)
INTS = {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1), "uint8": (0, 255)}
NAMES = st.text(max_size=10)
ENCODINGS = [("ros1", None), ("cdr", True), ("cdr", False)]


def build(draw: st.DrawFn, store, typename: str):
    """A random message of `typename` from the typestore's own field list."""
    values = []
    for _, desc in store.get_msgdef(typename).fields:
        if desc[0] == Nodetype.NAME:
            values.append(build(draw, store, desc[1]))
        elif desc[0] == Nodetype.BASE:
            base = desc[1][0]
            if base == "float64":
                values.append(draw(FLOATS))
            elif base == "float32":
                values.append(draw(F32))
            elif base == "string":
                values.append(draw(NAMES))
            elif base == "bool":
                values.append(draw(st.booleans()))
            else:
                values.append(draw(st.integers(*INTS[base])))
        elif desc[0] == Nodetype.ARRAY:
            values.append(np.array(draw(st.lists(FLOATS, min_size=desc[1][1],
                                                 max_size=desc[1][1]))))
        else:
            elem = desc[1][0][1][0]
            values.append(np.array(draw(st.lists(F32 if elem == "float32" else FLOATS,
                                                 max_size=3)),
                                   dtype=np.float32 if elem == "float32" else np.float64))
    return store.types[typename](*values)


def serialize(msg, typename: str, encoding: str, little: bool | None) -> bytes:
    if encoding == "ros1":
        return bytes(ROS1.serialize_ros1(msg, typename))
    return bytes(ROS2.serialize_cdr(msg, typename, little_endian=bool(little)))


def reference(typename: str, payload: bytes, encoding: str) -> dict[str, float] | None:
    """extract_message of rosbags' deserialization; None where rosbags rejects it."""
    try:
        if encoding == "ros1":
            msg = ROS1.deserialize_ros1(payload, typename)
        else:
            msg = ROS2.deserialize_cdr(payload, typename)
    except Exception:  # noqa: BLE001 - any rejection means: must not be decoded fast
        return None
    return extract_message(typename, msg)


def bits(v: float) -> int:
    return int(np.array([v], dtype=np.float64).view(np.int64)[0])


def check_against_reference(typename: str, payloads: list[bytes], encoding: str) -> np.ndarray:
    """Assert fast == slow bit for bit on every row decoded; return the done mask."""
    res = decode_batch(typename, payloads, encoding)
    assert res is not None
    columns, done = res
    assert done.shape == (len(payloads),) and done.dtype == bool
    for col in columns.values():
        assert col.dtype == np.float64 and col.shape == (len(payloads),)
    refs = [reference(typename, payload, encoding) for payload in payloads]
    if done.all():  # key order of a row-by-row pass, first seen first
        assert list(columns) == list(dict.fromkeys(k for ref in refs for k in ref))
    for i, ref in enumerate(refs):
        if not done[i]:
            assert all(np.isnan(c[i]) for c in columns.values())
            continue
        assert ref is not None, f"row {i} decoded fast but rosbags rejects it"
        assert set(ref) <= set(columns)
        for key, col in columns.items():
            expect = ref.get(key, float("nan"))
            assert bits(col[i]) == bits(expect), (i, key, col[i], expect)
    return done


@st.composite
def joint_batches(draw: st.DrawFn, store) -> list:
    """Mostly one regular shape, with some rows that change names or array lengths."""
    names = draw(st.lists(NAMES, max_size=7))
    k = len(names)
    header = build(draw, store, "std_msgs/msg/Header")
    msgs = []
    for _ in range(draw(st.integers(1, 12))):
        row_names, sizes = names, [k, k, k]
        if draw(st.integers(0, 4)) == 0:  # irregular row
            row_names = draw(st.lists(NAMES, max_size=5))
            sizes = draw(st.lists(st.integers(0, 6), min_size=3, max_size=3))
        arrays = [np.array(draw(st.lists(FLOATS, min_size=s, max_size=s)), dtype=np.float64)
                  for s in sizes]
        if draw(st.booleans()):
            arrays[2] = np.array([], dtype=np.float64)  # effort often empty in drivers
        stamp = build(draw, store, "builtin_interfaces/msg/Time")
        hdr = dataclasses.replace(header, stamp=stamp)
        msgs.append(store.types["sensor_msgs/msg/JointState"](hdr, row_names, *arrays))
    return msgs


@pytest.mark.parametrize(("encoding", "little"), ENCODINGS)
@SETTINGS
@given(data=st.data())
def test_joint_state_matches_per_message_path(encoding, little, data) -> None:
    store = ROS1 if encoding == "ros1" else ROS2
    typename = "sensor_msgs/msg/JointState"
    msgs = data.draw(joint_batches(store))
    payloads = [serialize(m, typename, encoding, little) for m in msgs]
    done = check_against_reference(typename, payloads, encoding)
    assert done.all()  # every valid shape gets a template in a batch this small


TYPES = [t for t in fastdecode.PROGRAMS if t != "sensor_msgs/msg/JointState"]


@pytest.mark.parametrize("typename", TYPES)
@pytest.mark.parametrize(("encoding", "little"), ENCODINGS)
@FEW
@given(data=st.data())
def test_other_types_match_per_message_path(typename, encoding, little, data) -> None:
    if encoding == "ros1" and typename == "sensor_msgs/msg/BatteryState":
        assert decode_batch(typename, [b""], encoding) is None  # Melodic/Noetic ambiguity
        return
    store = ROS1 if encoding == "ros1" else ROS2
    msgs = [build(data.draw, store, typename) for _ in range(data.draw(st.integers(1, 6)))]
    payloads = [serialize(m, typename, encoding, little) for m in msgs]
    done = check_against_reference(typename, payloads, encoding)
    assert done.all()


def test_regular_batch_keeps_extract_key_order() -> None:
    js = ROS2.types["sensor_msgs/msg/JointState"]
    hdr = ROS2.types["std_msgs/msg/Header"](ROS2.types["builtin_interfaces/msg/Time"](5, 7), "b")
    msg = js(hdr, ["a", "b"], np.array([1.0, 2.0]), np.array([]), np.array([3.0, 4.0]))
    payloads = [serialize(msg, "sensor_msgs/msg/JointState", "cdr", True)] * 3
    columns, done = decode_batch("sensor_msgs/msg/JointState", payloads, "cdr")
    ref = extract_message("sensor_msgs/msg/JointState", msg)
    assert done.all() and list(columns) == list(ref)
    assert columns["b.effort"].tolist() == [4.0] * 3
    assert columns["header.stamp"][0] == 5.0 + 7 * 1e-9


def test_ros1_type_names_and_unknown_types() -> None:
    f64 = ROS1.types["std_msgs/msg/Float64"](2.5)
    payloads = [serialize(f64, "std_msgs/msg/Float64", "ros1", None)]
    columns, done = decode_batch("std_msgs/Float64", payloads, "ros1")
    assert done.tolist() == [True] and columns["data"].tolist() == [2.5]
    assert decode_batch("sensor_msgs/msg/Image", payloads, "ros1") is None
    assert decode_batch("std_msgs/msg/Float64", payloads, "json") is None
    columns, done = decode_batch("std_msgs/msg/Float64", [], "cdr")
    assert columns == {} and done.shape == (0,)


def test_chunks_and_template_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many shapes in small chunks decode the same; past the walk budget rows stay undone."""
    typename = "sensor_msgs/msg/JointState"
    js, hdr_t = ROS2.types[typename], ROS2.types["std_msgs/msg/Header"]
    time_t = ROS2.types["builtin_interfaces/msg/Time"]
    msgs = [js(hdr_t(time_t(i, i), "f"), [f"j{i % 5}", "k"], np.array([i, -i], float),
               np.array([0.5] * (i % 3)), np.array([])) for i in range(40)]
    payloads = [serialize(m, typename, "cdr", i % 2 == 0) for i, m in enumerate(msgs)]
    monkeypatch.setattr(fastdecode, "CHUNK_ROWS", 4)
    assert check_against_reference(typename, payloads, "cdr").all()
    monkeypatch.setattr(fastdecode, "CHUNK_BYTES", 100)  # one row per chunk
    assert check_against_reference(typename, payloads, "cdr").all()
    monkeypatch.setattr(fastdecode, "MIN_WALKS", 2)
    done = check_against_reference(typename, payloads, "cdr")
    assert 0 < done.sum() < len(payloads)


def test_key_order_follows_rows_across_shapes() -> None:
    """Shapes are decoded group by group; keys still come out in row-by-row order."""
    typename = "sensor_msgs/msg/JointState"
    js, hdr_t = ROS1.types[typename], ROS1.types["std_msgs/msg/Header"]
    hdr = hdr_t(0, ROS1.types["builtin_interfaces/msg/Time"](1, 2), "")
    rows = [["a"], ["c", "b"], ["b"]]  # rows 0 and 2 share a length, row 1 does not
    msgs = [js(hdr, names, np.arange(len(names), dtype=float), np.array([]), np.array([]))
            for names in rows]
    payloads = [serialize(m, typename, "ros1", None) for m in msgs]
    columns, done = decode_batch(typename, payloads, "ros1")
    assert done.all()
    assert list(columns) == ["header.stamp", "a.position", "c.position", "b.position"]
    check_against_reference(typename, payloads, "ros1")
