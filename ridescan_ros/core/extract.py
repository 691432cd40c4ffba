"""Message -> named float columns, for rosbags and rclpy messages alike.

Only attribute access is used, so the same function serves a message deserialized by
rosbags (offline) and one received by an rclpy subscription (live). The key scheme is
the contract between readers, the bulk decoder (`core.fastdecode`) and robot profiles:

* ``sensor_msgs/msg/JointState``: ``<joint>.position``, ``<joint>.velocity``,
  ``<joint>.effort`` (absent when the array is empty: BR-17).
* ``nav_msgs/msg/Odometry``: ``pose.position.{x,y,z}``, ``pose.orientation.{roll,pitch,yaw}``,
  ``twist.linear.{x,y,z}``, ``twist.angular.{x,y,z}``.
* ``sensor_msgs/msg/Imu``: ``orientation.{roll,pitch,yaw}``, ``angular_velocity.{x,y,z}``,
  ``linear_acceleration.{x,y,z}``.
* ``geometry_msgs/msg/WrenchStamped`` / ``Wrench``: ``force.{x,y,z}``, ``torque.{x,y,z}``.
* ``geometry_msgs/msg/Twist`` / ``TwistStamped``: ``linear.{x,y,z}``, ``angular.{x,y,z}``.
* ``sensor_msgs/msg/BatteryState``: ``voltage``, ``current``, ``charge``, ``percentage``,
  ``temperature``.
* ``std_msgs/msg/Float64`` / ``Float32``: ``data``.

Every stamped type also yields ``header.stamp`` (float seconds; 0.0 when the driver left
it at zero, which readers treat as missing).
"""

from __future__ import annotations

import math
from typing import Any

XYZ = ("x", "y", "z")

SUPPORTED_TYPES = (
    "sensor_msgs/msg/JointState",
    "nav_msgs/msg/Odometry",
    "sensor_msgs/msg/Imu",
    "geometry_msgs/msg/WrenchStamped",
    "geometry_msgs/msg/Wrench",
    "geometry_msgs/msg/Twist",
    "geometry_msgs/msg/TwistStamped",
    "sensor_msgs/msg/BatteryState",
    "std_msgs/msg/Float64",
    "std_msgs/msg/Float32",
)


def normalize_type(msgtype: str) -> str:
    """``sensor_msgs/JointState`` (ROS 1) -> ``sensor_msgs/msg/JointState``."""
    parts = msgtype.split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    return msgtype


def quat_to_rpy(x: float, y: float, z: float, w: float) -> tuple[float, float, float]:
    """Quaternion -> (roll, pitch, yaw) in radians, ZYX convention as in tf2."""
    sinr = 2.0 * (w * x + y * z)
    cosr = 1.0 - 2.0 * (x * x + y * y)
    roll = math.atan2(sinr, cosr)
    sinp = 2.0 * (w * y - z * x)
    pitch = math.copysign(math.pi / 2, sinp) if abs(sinp) >= 1 else math.asin(sinp)
    siny = 2.0 * (w * z + x * y)
    cosy = 1.0 - 2.0 * (y * y + z * z)
    yaw = math.atan2(siny, cosy)
    return roll, pitch, yaw


def stamp_seconds(header: Any) -> float:
    """Header stamp as float seconds (handles ROS 1 ``secs/nsecs`` and ROS 2 ``sec/nanosec``)."""
    st = header.stamp
    sec = getattr(st, "sec", None)
    if sec is None:
        sec = getattr(st, "secs", 0)
        nsec = getattr(st, "nsecs", 0)
    else:
        nsec = getattr(st, "nanosec", 0)
    return float(sec) + float(nsec) * 1e-9


def _vec(prefix: str, v: Any, out: dict[str, float]) -> None:
    for a in XYZ:
        out[f"{prefix}{a}"] = float(getattr(v, a))


def _rpy(prefix: str, q: Any, out: dict[str, float]) -> None:
    r, p, y = quat_to_rpy(float(q.x), float(q.y), float(q.z), float(q.w))
    out[f"{prefix}roll"] = r
    out[f"{prefix}pitch"] = p
    out[f"{prefix}yaw"] = y


def extract_message(msgtype: str, msg: Any) -> dict[str, float]:
    """Turn one message into ``{column key: value}``; unknown types give ``{}``."""
    t = normalize_type(msgtype)
    out: dict[str, float] = {}
    header = getattr(msg, "header", None)
    if header is not None and hasattr(header, "stamp"):
        out["header.stamp"] = stamp_seconds(header)
    if t == "sensor_msgs/msg/JointState":
        names = list(msg.name)
        for field in ("position", "velocity", "effort"):
            arr = getattr(msg, field)
            n = len(arr)
            if n == 0:
                continue
            for i, name in enumerate(names[:n]):
                out[f"{name}.{field}"] = float(arr[i])
    elif t == "nav_msgs/msg/Odometry":
        _vec("pose.position.", msg.pose.pose.position, out)
        _rpy("pose.orientation.", msg.pose.pose.orientation, out)
        _vec("twist.linear.", msg.twist.twist.linear, out)
        _vec("twist.angular.", msg.twist.twist.angular, out)
    elif t == "sensor_msgs/msg/Imu":
        _rpy("orientation.", msg.orientation, out)
        _vec("angular_velocity.", msg.angular_velocity, out)
        _vec("linear_acceleration.", msg.linear_acceleration, out)
    elif t in ("geometry_msgs/msg/WrenchStamped", "geometry_msgs/msg/Wrench"):
        w = msg.wrench if t.endswith("Stamped") else msg
        _vec("force.", w.force, out)
        _vec("torque.", w.torque, out)
    elif t in ("geometry_msgs/msg/TwistStamped", "geometry_msgs/msg/Twist"):
        tw = msg.twist if t.endswith("Stamped") else msg
        _vec("linear.", tw.linear, out)
        _vec("angular.", tw.angular, out)
    elif t == "sensor_msgs/msg/BatteryState":
        for f in ("voltage", "current", "charge", "percentage", "temperature"):
            out[f] = float(getattr(msg, f))
    elif t in ("std_msgs/msg/Float64", "std_msgs/msg/Float32"):
        out["data"] = float(msg.data)
    return out
