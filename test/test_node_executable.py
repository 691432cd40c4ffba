"""The node as the launch file starts it: an executable with ``--ros-args --params-file``.

Runs the colcon-installed ``install/ridescan_ros/lib/ridescan_ros/ridescan_node`` (or
``python -m ridescan_ros.nodes.ridescan_node`` when not built) with
``config/ur6.yaml`` plus a temp params file, the API sidecar on, and a model dir that does
not load; checks the node keeps running and says why, serves the API, and stops cleanly on
SIGTERM and SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_node_harness import ros_env

rclpy = pytest.importorskip("rclpy")
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402

pytestmark = pytest.mark.ros
REPO = Path(__file__).resolve().parents[1]


def _command() -> list[str]:
    """$RIDESCAN_NODE_EXE, else the colcon-installed script (scripts/run_tests.sh builds it
    just before testing), else the module."""
    exe = os.environ.get("RIDESCAN_NODE_EXE") or str(
        REPO / "install" / "ridescan_ros" / "lib" / "ridescan_ros" / "ridescan_node")
    if os.path.isfile(exe) and os.access(exe, os.X_OK):
        return [exe]
    return [sys.executable, "-m", "ridescan_ros.nodes.ridescan_node"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_executable_with_params_file_bad_model_sidecar_and_clean_stop(tmp_path, sig) -> None:
    ros_env(tmp_path)
    bad_model = tmp_path / "bad_model"
    bad_model.mkdir()
    (bad_model / "manifest.json").write_text("{not json")
    port = _free_port()
    extra = tmp_path / "test.yaml"
    extra.write_text(
        "/**:\n  ros__parameters:\n"
        f"    data_dir: {tmp_path / 'data'}\n"
        f"    scoring:\n      model_dir: {bad_model}\n"
        f"    api:\n      enabled: true\n      port: {port}\n"
        "    diagnostics:\n      period_s: 0.2\n"
    )
    proc = subprocess.Popen(
        _command() + ["--ros-args", "--params-file", str(REPO / "config" / "ur6.yaml"),
                      "--params-file", str(extra)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )
    ctx = Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("exe_test_listener", context=ctx)
    status: list[dict] = []
    diags: list[DiagnosticArray] = []
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(String, "/ridescan/calibration_status",
                             lambda m: status.append(json.loads(m.data)), latched)
    node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    ex = SingleThreadedExecutor(context=ctx)
    ex.add_node(node)
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and not (status and diags) and proc.poll() is None:
            ex.spin_once(timeout_sec=0.1)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert status and status[-1]["status"] == "not_calibrated"
        model = [s for s in diags[-1].status if s.name.endswith("model")][0]
        assert "failed to load" in model.message and str(bad_model) in model.message
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/getrobot", timeout=10) as r:
            body = r.read().decode()
        assert "ur_arm" in body  # robot_name from config/ur6.yaml, created by the node
    finally:
        t0 = time.monotonic()
        proc.send_signal(sig)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail(f"node did not stop on {sig.name}:\n{out}")
        ex.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=ctx)
    assert proc.returncode == 0, out
    assert time.monotonic() - t0 < 15
    with pytest.raises(OSError):  # the sidecar is gone with the node
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/getrobot", timeout=2)
