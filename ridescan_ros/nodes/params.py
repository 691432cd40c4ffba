"""ROS parameters of ``ridescan_node`` -> one plain config object.

Every parameter is declared with a description; defaults match ``config/ridescan.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from ridescan_ros.service.resources import MIN_CALIB_FILES

TOPIC_ROLES = ("joint_states", "odometry", "imu", "battery", "wrench", "speed_scaling", "cmd_vel")

# name -> (default, description)
PARAMS: dict[str, tuple[Any, str]] = {
    "robot_type": ("UR6", "Robot profile: SPOT, UR6 or wheeled_mobile."),
    "robot_name": ("robot", "Robot name in the store (created if missing)."),
    "org": ("local", "Org owning the node's robot in the store; sidecar keys made with "
                     "'ridescan keys create --org <org>' see it."),
    "mission_name": ("live", "Mission name in the store (created if missing)."),
    "data_dir": ("~/.ridescan", "Folder of the store, calibration runs and models."),
    "window": (0, "Window length in grid rows; 0 = the model's (must equal it)."),
    "stride": (0, "Rows between window starts when scoring live; 0 = the model's."),
    "training.epochs": (100, "Training epochs per calibration."),
    "training.batch_size": (128, "Training batch size."),
    "training.device": ("auto", "Training device: auto (CUDA when present), cpu or cuda."),
    "scoring.threshold": (50.0, "Critical risk score (0-100) for the safety stop."),
    "scoring.model_dir": ("", "Model folder to load at start; empty = latest of the mission."),
    "scoring.top_k": (5, "Signals listed in /ridescan/risk_assessment."),
    "scoring.stale_after_s": (1.0, "Seconds without messages before an input counts as stale."),
    "safety_stop.hysteresis": (10.0, "Stop clears below threshold minus this."),
    "safety_stop.min_duration_s": (0.5, "Seconds at/above threshold before the stop is raised."),
    "calibration.watch_dir": ("", "Folder watched for new calibration bags; empty = off."),
    "calibration.auto": (True, "Calibrate once calibration.min_files runs are registered."),
    "calibration.min_files": (15, "Calibration runs needed before training (15 or more: the "
                                  "API's minimum)."),
    "calibration.poll_s": (1.0, "Seconds between scans of the watched folder."),
    "calibration.settle_s": (2.0, "A watched bag counts as complete after this long unchanged."),
    "record.duration_s": (0.0, "Fixed length of a ~/start_run recording; 0 = until ~/stop_run."),
    "record.dir": ("", "Where recorded runs go; empty = <data_dir>/runs."),
    "record.storage": ("mcap", "rosbag2 storage of recorded runs: sqlite3 or mcap."),
    "api.enabled": (False, "Serve the RideScan /api sidecar in this process."),
    "api.host": ("127.0.0.1", "Sidecar bind address."),
    "api.port": (8000, "Sidecar port."),
    "api.keys_file": ("", "API keys file of the sidecar (ridescan keys create); empty = no "
                          "keys: loopback only, every caller is admin of 'org'."),
    "diagnostics.period_s": (1.0, "Seconds between /diagnostics messages."),
}
for _role in TOPIC_ROLES:
    PARAMS[f"topics.{_role}"] = ("", f"Topic of the {_role} input; empty = the profile default.")


@dataclass
class NodeConfig:
    """Typed view of the parameters (dots become nested names in ``raw``)."""

    robot_type: str
    robot_name: str
    org: str
    mission_name: str
    data_dir: str
    window: int
    stride: int
    epochs: int
    batch_size: int
    device: str
    threshold: float
    model_dir: str
    top_k: int
    stale_after_s: float
    hysteresis: float
    min_duration_s: float
    watch_dir: str
    auto_calibrate: bool
    min_files: int
    poll_s: float
    settle_s: float
    record_duration_s: float
    record_dir: str
    record_storage: str
    api_enabled: bool
    api_host: str
    api_port: int
    api_keys_file: str
    diagnostics_period_s: float
    topics: dict[str, str] = field(default_factory=dict)


def _path(p: str) -> str:
    return os.path.abspath(os.path.expanduser(p)) if p else ""


def declare_and_read(node: Node) -> NodeConfig:
    """Declare every parameter on ``node`` and return their values as a ``NodeConfig``."""
    v: dict[str, Any] = {}
    for name, (default, desc) in PARAMS.items():
        node.declare_parameter(name, default, ParameterDescriptor(description=desc))
        v[name] = node.get_parameter(name).value
    data_dir = _path(v["data_dir"])
    device = str(v["training.device"]).lower()
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"training.device must be auto, cpu or cuda, not {device!r}")
    if int(v["calibration.min_files"]) < MIN_CALIB_FILES:
        raise ValueError(f"calibration.min_files must be at least {MIN_CALIB_FILES} (the calibration "
                         f"minimum), not {v['calibration.min_files']}")
    storage = str(v["record.storage"]).lower()
    if storage not in ("sqlite3", "mcap"):
        raise ValueError(f"record.storage must be sqlite3 or mcap, not {storage!r}")
    return NodeConfig(
        robot_type=str(v["robot_type"]),
        robot_name=str(v["robot_name"]),
        org=str(v["org"]) or "local",
        mission_name=str(v["mission_name"]),
        data_dir=data_dir,
        window=int(v["window"]),
        stride=int(v["stride"]),
        epochs=int(v["training.epochs"]),
        batch_size=int(v["training.batch_size"]),
        device=device,
        threshold=float(v["scoring.threshold"]),
        model_dir=_path(v["scoring.model_dir"]),
        top_k=int(v["scoring.top_k"]),
        stale_after_s=float(v["scoring.stale_after_s"]),
        hysteresis=float(v["safety_stop.hysteresis"]),
        min_duration_s=float(v["safety_stop.min_duration_s"]),
        watch_dir=_path(v["calibration.watch_dir"]),
        auto_calibrate=bool(v["calibration.auto"]),
        min_files=int(v["calibration.min_files"]),
        poll_s=float(v["calibration.poll_s"]),
        settle_s=float(v["calibration.settle_s"]),
        record_duration_s=float(v["record.duration_s"]),
        record_dir=_path(v["record.dir"]) or os.path.join(data_dir, "runs"),
        record_storage=storage,
        api_enabled=bool(v["api.enabled"]),
        api_host=str(v["api.host"]),
        api_port=int(v["api.port"]),
        api_keys_file=_path(v["api.keys_file"]),
        diagnostics_period_s=float(v["diagnostics.period_s"]),
        topics={r: str(v[f"topics.{r}"]) for r in TOPIC_ROLES if v[f"topics.{r}"]},
    )
