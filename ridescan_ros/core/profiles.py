"""Robot profiles: which topics or CSV columns become which named signals.

A signal name is what a user sees in ``top_signals``: ``front_left_knee.effort``,
``wrist_3_joint.velocity``, ``wrench.force_z``, ``odom.twist_linear_x``. Joint columns
keep their extract key (``<joint>.<field>``); other sources get ``<prefix>.<key with _>``
(``force.z`` on the wrench source -> ``wrench.force_z``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ridescan_ros.core.errors import WrongRobotError
from ridescan_ros.core.extract import normalize_type
from ridescan_ros.core.telemetry import Recording

SPOT_JOINTS = tuple(
    f"{leg}_{j}"
    for leg in ("front_left", "front_right", "rear_left", "rear_right")
    for j in ("hip_x", "hip_y", "knee")
)
UR_JOINTS = (
    "shoulder_pan_joint",
    "shoulder_lift_joint",
    "elbow_joint",
    "wrist_1_joint",
    "wrist_2_joint",
    "wrist_3_joint",
)
JOINT_FIELDS = ("position", "velocity", "effort")
WHEELED_COLUMNS = (
    "pose_position_x", "pose_position_y", "pose_position_z",
    "pose_orientation_roll", "pose_orientation_pitch", "pose_orientation_yaw",
    "twist_linear_x", "twist_linear_y", "twist_linear_z",
    "twist_angular_x", "twist_angular_y", "twist_angular_z",
    "linear_acceleration_x", "linear_acceleration_y", "linear_acceleration_z",
)
_AXES = ("x", "y", "z")


@dataclass(frozen=True)
class Source:
    """One input of a profile: a topic of given types, or a CSV layout.

    Attributes:
        role: stable name used in config (``joint_states``, ``wrench``, ...).
        topic: default topic; overridable per robot (namespaces).
        msgtypes: accepted message types (normalised ``pkg/msg/Type``).
        prefix: signal-name prefix (``""`` for joint states).
    """

    role: str
    topic: str
    msgtypes: tuple[str, ...]
    prefix: str


@dataclass(frozen=True)
class Profile:
    """A robot type: its sources, expected joints, CSV column maps and default rate."""

    name: str
    sources: tuple[Source, ...]
    joints: tuple[str, ...] = ()
    rate_hz: float = 100.0
    csv_maps: dict[str, dict[str, str]] = field(default_factory=dict)

    def with_topics(self, topics: dict[str, str]) -> "Profile":
        """Return a copy whose source topics are overridden by ``{role: topic}``.

        Raises:
            ValueError: a role this profile does not have (a typo would else be ignored).
        """
        roles = [s.role for s in self.sources]
        unknown = sorted(set(topics) - set(roles))
        if unknown:
            raise ValueError(f"{self.name} has no input role {', '.join(map(repr, unknown))}; "
                             f"its roles are {', '.join(roles)}")
        srcs = tuple(replace(s, topic=topics.get(s.role, s.topic)) for s in self.sources)
        return replace(self, sources=srcs)

    def expected_signals(self) -> list[str]:
        """Signals a complete recording of this robot provides (joint ones first)."""
        names = [f"{j}.{f}" for j in self.joints for f in JOINT_FIELDS]
        for m in self.csv_maps.values():
            for s in m.values():
                if s not in names and not any(s.startswith(j + ".") for j in self.joints):
                    names.append(s)
        return names


def _rtde_map() -> dict[str, str]:
    m: dict[str, str] = {}
    for i, j in enumerate(UR_JOINTS):
        m[f"actual_q_{i}"] = f"{j}.position"
        m[f"actual_qd_{i}"] = f"{j}.velocity"
        m[f"actual_current_{i}"] = f"{j}.current"
    for i, name in enumerate(("force_x", "force_y", "force_z", "torque_x", "torque_y", "torque_z")):
        m[f"actual_TCP_force_{i}"] = f"wrench.{name}"
    return m


def _wrench_csv_map() -> dict[str, str]:
    return {f"{k}_{a}": f"wrench.{k}_{a}" for k in ("force", "torque") for a in _AXES}


def _wheeled_map() -> dict[str, str]:
    out = {}
    for c in WHEELED_COLUMNS:
        out[c] = ("imu." + c) if c.startswith("linear_acceleration") else ("odom." + c)
    return out


JS = ("sensor_msgs/msg/JointState",)
PROFILES: dict[str, Profile] = {
    "SPOT": Profile(
        name="SPOT",
        joints=SPOT_JOINTS,
        rate_hz=100.0,
        sources=(
            Source("joint_states", "/joint_states", JS, ""),
            Source("odometry", "/odometry", ("nav_msgs/msg/Odometry",), "odom"),
            Source("imu", "/imu", ("sensor_msgs/msg/Imu",), "imu"),
            Source("battery", "/status/battery_states", ("sensor_msgs/msg/BatteryState",), "battery"),
        ),
    ),
    "UR6": Profile(
        name="UR6",
        joints=UR_JOINTS,
        rate_hz=125.0,
        sources=(
            Source("joint_states", "/joint_states", JS, ""),
            Source("wrench", "/wrench", ("geometry_msgs/msg/WrenchStamped",), "wrench"),
            Source("speed_scaling", "/speed_scaling_factor", ("std_msgs/msg/Float64",), "speed_scaling"),
        ),
        csv_maps={"rtde": _rtde_map(), "wrench": _wrench_csv_map()},
    ),
    "wheeled_mobile": Profile(
        name="wheeled_mobile",
        rate_hz=10.0,
        sources=(
            Source("odometry", "/odom", ("nav_msgs/msg/Odometry",), "odom"),
            Source("imu", "/imu", ("sensor_msgs/msg/Imu",), "imu"),
            Source("cmd_vel", "/cmd_vel", ("geometry_msgs/msg/Twist", "geometry_msgs/msg/TwistStamped"), "cmd"),
        ),
        csv_maps={"wheeled_mobile": _wheeled_map()},
    ),
}

_ALIASES = {"spot": "SPOT", "0": "SPOT", "ur6": "UR6", "1": "UR6", "ur": "UR6",
            "wheeled_mobile": "wheeled_mobile", "wheeled": "wheeled_mobile", "2": "wheeled_mobile"}


def get_profile(robot_type: str | int) -> Profile:
    """Look up a profile by API spelling (``SPOT``/``spot``/``0``, ``UR6``/``1``, ``wheeled_mobile``)."""
    key = _ALIASES.get(str(robot_type).strip().lower())
    if key is None:
        raise ValueError(
            f"unknown robot type {robot_type!r}; expected one of SPOT, UR6, wheeled_mobile"
        )
    return PROFILES[key]


def _joint_match(name: str, joints: tuple[str, ...]) -> str | None:
    """Map a driver joint name to the profile's (tolerates ``spot/`` or ``ur5e_`` prefixes)."""
    base = name.rsplit("/", 1)[-1]
    for j in joints:
        if base == j or base.endswith("_" + j) or base.endswith(j):
            return j
    return None


def _source_key_to_signal(src: Source, key: str) -> str:
    return f"{src.prefix}.{key.replace('.', '_')}"


@dataclass
class SignalSet:
    """Named signals of one recording, each on its own timeline (before resampling).

    Attributes:
        series: signal name -> (t (n,) float64 seconds, values (n,) float64).
        missing: expected signals the recording does not have.
        sources_used: role -> topic (or CSV layout) that fed it.
        notes: what the selection left out (extra joints of a gripper or arm), for warnings.
    """

    series: dict[str, tuple[np.ndarray, np.ndarray]]
    missing: list[str]
    sources_used: dict[str, str]
    notes: list[str] = field(default_factory=list)


def select_signals(rec: Recording, profile: Profile) -> SignalSet:
    """Pick this profile's signals out of a recording, or refuse it as the wrong robot.

    Raises:
        WrongRobotError: joint states with other joints, or nothing this profile reads.
    """
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    used: dict[str, str] = {}
    notes: list[str] = []
    found_types = sorted({f"{s.topic} [{s.msgtype}]" for s in rec.streams.values()})
    for src in profile.sources:
        stream = rec.streams.get(src.topic)
        if stream is None or normalize_type(stream.msgtype) not in src.msgtypes:
            cands = [s for s in rec.streams.values() if normalize_type(s.msgtype) in src.msgtypes]
            stream = cands[0] if len(cands) == 1 else None
            if stream is None and len(cands) > 1:
                ends = [s for s in cands if s.topic.endswith(src.topic)]
                stream = ends[0] if len(ends) == 1 else None
        if stream is None or not len(stream):
            continue
        used[src.role] = stream.topic
        if src.role == "joint_states":
            jnames = sorted({k.rsplit(".", 1)[0] for k in stream.columns if k != "header.stamp"})
            mapped = {n: _joint_match(n, profile.joints) for n in jnames}
            hits = [m for m in mapped.values() if m is not None]
            if sorted(set(hits)) != sorted(profile.joints) or len(hits) != len(set(hits)):
                raise WrongRobotError(
                    rec.path,
                    f"not a {profile.name} recording: expected {len(profile.joints)} joints "
                    f"({', '.join(profile.joints)}) on {stream.topic}, found {len(jnames)} "
                    f"({', '.join(jnames)})",
                )
            extra = [n for n, m in mapped.items() if m is None]
            if extra:  # a gripper or an arm on the same topic: the robot's joints are all there
                notes.append(f"{stream.topic}: {len(extra)} joint(s) not in the {profile.name} profile "
                             f"ignored ({', '.join(extra[:6])}{', ...' if len(extra) > 6 else ''})")
            for key, col in stream.columns.items():
                if key == "header.stamp":
                    continue
                jn, fld = key.rsplit(".", 1)
                if mapped[jn] is not None:
                    series[f"{mapped[jn]}.{fld}"] = (stream.t, col)
        else:
            for key, col in stream.columns.items():
                if key == "header.stamp":
                    continue
                series[_source_key_to_signal(src, key)] = (stream.t, col)
    for layout, cmap in profile.csv_maps.items():
        for stream in rec.streams.values():
            if stream.msgtype != f"csv/{layout}":
                continue
            used[layout] = stream.topic
            for col, sig in cmap.items():
                if col in stream.columns:
                    series[sig] = (stream.t, stream.columns[col])
    if not series:
        expected = ", ".join(f"{s.topic} [{' or '.join(s.msgtypes)}]" for s in profile.sources)
        csvs = ", ".join(f"csv/{k}" for k in profile.csv_maps)
        raise WrongRobotError(
            rec.path,
            f"nothing a {profile.name} profile reads: expected {expected}"
            + (f" or a CSV layout {csvs}" if csvs else "")
            + f"; found {', '.join(found_types) or 'no numeric streams'}",
        )
    missing = [s for s in profile.expected_signals() if s not in series]
    return SignalSet(series=series, missing=missing, sources_used=used, notes=notes)
