"""Helpers for the node tests: a private rclpy Context running RideScanNode plus a listener.

Holds no tests itself; imported by the ``test_node_*`` modules.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import Bool, Float32, String  # noqa: E402

UR5E = "sim_ur5e"


def ros_env(tmp: Path) -> None:
    """Localhost-only discovery, a domain of our own, logs in a temp dir."""
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
    os.environ["ROS_LOG_DIR"] = str(tmp / "ros_log")


class Harness:
    """RideScanNode + listener in one private context, spun on a background thread."""

    def __init__(self, params: dict[str, Any]) -> None:
        from ridescan_ros.nodes.ridescan_node import RideScanNode

        self.ctx = Context()
        rclpy.init(context=self.ctx)
        over = [Parameter(k, value=v) for k, v in params.items()]
        self.node = RideScanNode(context=self.ctx, parameter_overrides=over)
        self.aux = rclpy.create_node("ridescan_test_aux", context=self.ctx)
        self.scores: list[float] = []
        self.assessments: list[dict] = []
        self.stops: list[bool] = []
        self.status: list[dict] = []
        self.diags: list[DiagnosticArray] = []
        q = QoSProfile(depth=1000)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.aux.create_subscription(Float32, "/ridescan/risk_score", lambda m: self.scores.append(m.data), q)
        self.aux.create_subscription(String, "/ridescan/risk_assessment",
                                     lambda m: self.assessments.append(json.loads(m.data)), q)
        self.aux.create_subscription(Bool, "/ridescan/safety_stop", lambda m: self.stops.append(m.data), latched)
        self.aux.create_subscription(String, "/ridescan/calibration_status",
                                     lambda m: self.status.append(json.loads(m.data)), latched)
        self.aux.create_subscription(DiagnosticArray, "/diagnostics", self.diags.append, q)
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        self.executor.add_node(self.aux)
        self._run = True
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self._run and self.ctx.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def wait_for(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``cond`` until true or fail after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def call(self, name: str, timeout: float = 10.0) -> Any:
        """Call one of the node's Trigger services."""
        from std_srvs.srv import Trigger

        cli = self.aux.create_client(Trigger, f"/ridescan/{name}")
        assert cli.wait_for_service(timeout_sec=timeout), name
        fut = cli.call_async(Trigger.Request())
        self.wait_for(fut.done, timeout, f"~/{name} response")
        return fut.result()

    def diag(self, name: str) -> Any:
        """The newest diagnostic status whose name ends with ``name``."""
        for arr in reversed(self.diags):
            for st in arr.status:
                if st.name.endswith(name):
                    return st
        return None

    def player(self, messages: list) -> Any:
        """A Player publishing on the aux node, once the node's subscriptions matched."""
        from ridescan_ros.nodes.player import Player

        p = Player(self.aux, messages)
        self.wait_for(lambda: all(pub.get_subscription_count() > 0 for pub in p.pubs.values()),
                      10, "subscriptions to match")
        time.sleep(0.3)
        return p

    def close(self) -> None:
        """Stop spinning, close the node (recorder, service), shut the context down."""
        self._run = False
        self._thread.join(5)
        self.node.close()
        self.executor.shutdown()
        self.node.destroy_node()
        self.aux.destroy_node()
        rclpy.try_shutdown(context=self.ctx)


def train_model(paths: list[str], out_dir: Path, epochs: int = 2) -> Path:
    """Calibrate a UR6 model (few epochs) for node tests."""
    from ridescan_ros.model.calibration import calibrate

    calibrate([str(p) for p in paths], "UR6", str(out_dir), epochs=epochs, device="cpu")
    return out_dir


def normal_runs(data: Path, n: int = 15) -> list[Path]:
    """The first ``n`` normal runs of sim_ur5e by name."""
    labels = json.loads((data / UR5E / "labels.json").read_text())
    names = sorted(k for k, v in labels.items() if v["label"] == "normal")[:n]
    return [data / UR5E / k for k in names]
