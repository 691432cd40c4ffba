"""``ridescan_node``: collect calibration runs, calibrate, score live topics, serve the API.

Thin by design: parameters -> ``NodeConfig``; subscriptions -> ``core.extract`` +
``core.live.LiveWindows``; scoring -> ``model.scorer.Scorer.score_frame``; the rest is
publications, services and timers. Run with
``ros2 run ridescan_ros ridescan_node --ros-args --params-file config/ur6.yaml``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from std_msgs.msg import Bool, Float32, String
from std_srvs.srv import Trigger

from ridescan_ros.core.extract import extract_message
from ridescan_ros.core.live import LiveWindows, ReadyWindow, SafetyStop, assessment
from ridescan_ros.core.profiles import get_profile
from ridescan_ros.nodes.calibrator import COMPLETED, FAILED, NOT_CALIBRATED, Calibrator, load_scorer
from ridescan_ros.nodes.diagnostics import HealthState, build_statuses
from ridescan_ros.nodes.params import declare_and_read
from ridescan_ros.nodes.runs import RunCollector
from ridescan_ros.nodes.train_job import ProcessExecutor
from ridescan_ros.service import RideScanService
from ridescan_ros.service.facade import ServiceSettings

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
INPUT_QOS = QoSProfile(depth=200, reliability=ReliabilityPolicy.BEST_EFFORT)


def _msg_class(msgtype: str) -> Any:
    """``sensor_msgs/msg/JointState`` -> the rclpy message class."""
    pkg, _, name = msgtype.split("/")
    return getattr(__import__(f"{pkg}.msg", fromlist=[name]), name)


class RideScanNode(Node):
    """The RideScan node (see module doc and README for topics, services, parameters)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("ridescan", **kwargs)
        self.cfg = cfg = declare_and_read(self)
        base = get_profile(cfg.robot_type)
        roles = {s.role for s in base.sources}
        for role in sorted(set(cfg.topics) - roles):
            self.get_logger().warning(f"topics.{role} ignored: {base.name} has no {role} input")
        self.topics = {r: t for r, t in cfg.topics.items() if r in roles}
        self.profile = base.with_topics(self.topics)
        self.pub_score = self.create_publisher(Float32, "ridescan/risk_score", 10)
        self.pub_stop = self.create_publisher(Bool, "ridescan/safety_stop", LATCHED)
        self.pub_assess = self.create_publisher(String, "ridescan/risk_assessment", 10)
        self.pub_status = self.create_publisher(String, "ridescan/calibration_status", LATCHED)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.scorer: Any = None
        self.windows: LiveWindows | None = None
        self.model_problem = ""
        self.score_error = ""
        self.windows_scored = 0
        self.last_score: float | None = None
        self.safety = SafetyStop(cfg.threshold, cfg.hysteresis, cfg.min_duration_s)
        self._last_status = ""
        self._auto_tried_at = -1
        self.sidecar: Any = None
        self._closed = False
        self.last_rx: dict[str, float] = {}
        self.roles = {s.role: s.topic for s in self.profile.sources}
        os.makedirs(cfg.data_dir, exist_ok=True)
        self.train_executor = ProcessExecutor()
        self.service = RideScanService(ServiceSettings(Path(cfg.data_dir), executor=self.train_executor))
        self.service.start()
        self.calibrator = Calibrator(self.service, self.profile.name, cfg.robot_name,
                                     cfg.mission_name, log=self.get_logger().info, org=cfg.org,
                                     topics=self.topics)
        for src in self.profile.sources:  # raw: runs are recorded with the exact wire bytes
            mtype, cls = src.msgtypes[0], _msg_class(src.msgtypes[0])
            self.create_subscription(
                cls, src.topic, lambda d, r=src.role, t=src.topic, mt=mtype, c=cls:
                self._on_msg(d, r, t, mt, c), INPUT_QOS, raw=True)
        self.runs = RunCollector(self.calibrator, cfg.record_dir, cfg.record_storage,
                                 cfg.record_duration_s, cfg.watch_dir, cfg.settle_s)
        self.create_service(Trigger, "~/start_run", lambda q, r: self._trigger(r, self.runs.start))
        self.create_service(Trigger, "~/stop_run", lambda q, r: self._trigger(r, self.runs.stop))
        self.create_service(Trigger, "~/calibrate", lambda q, r: self._trigger(r, self._calibrate))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(cfg.poll_s, self.runs.tick, clock=steady)
        # steady clock: diagnostics must keep coming when /clock (use_sim_time) stops
        self.create_timer(cfg.diagnostics_period_s, self._publish_diagnostics, clock=steady)
        self.create_timer(0.5, self._housekeeping, clock=steady)
        model_dir = cfg.model_dir or self.calibrator.model_dir
        if model_dir:
            self._load_model(model_dir)
        else:
            self.model_problem = "no model yet: calibrate first"
        self._start_sidecar()
        self._publish_status()

    # -- model ------------------------------------------------------------------------------
    def _load_model(self, model_dir: str) -> None:
        try:
            self._use_scorer(load_scorer(model_dir))
        except Exception as err:  # noqa: BLE001 - keep running without a model, say why
            self.model_problem = f"model at {model_dir} failed to load: {err}"
            self.get_logger().error(self.model_problem)

    def _use_scorer(self, scorer: Any) -> None:
        cfg = self.cfg
        if cfg.window and cfg.window != scorer.window:
            self.get_logger().warning(
                f"window={cfg.window} ignored: the model was trained on {scorer.window} rows")
        self.scorer = scorer
        self.windows = LiveWindows(self.profile, list(scorer.signals), scorer.rate_hz,
                                   scorer.window, cfg.stride or scorer.stride,
                                   stale_after_s=cfg.stale_after_s,
                                   max_gap_s=getattr(scorer, "max_gap_s", 0.5))
        self.safety.reset()
        self.model_problem = self.score_error = ""
        self.get_logger().info(f"scoring with model {scorer.model_version}")

    # -- live data --------------------------------------------------------------------------
    def _on_msg(self, data: bytes, role: str, topic: str, msgtype: str, cls: Any) -> None:
        now_ns = self.get_clock().now().nanoseconds
        wall = time.monotonic()
        self.last_rx[role] = wall
        self.runs.write(topic, msgtype, data, now_ns)
        lw = self.windows
        if lw is None:
            return
        msg = deserialize_message(data, cls)
        if lw.add(role, topic, msgtype, now_ns * 1e-9, extract_message(msgtype, msg), wall):
            for w in lw.ready(wall):
                self._score(w)

    def _score(self, w: ReadyWindow) -> None:
        try:
            res = self.scorer.score_frame(w.frame)
            risk, t_start, t_end = float(res.risk[0]), float(res.t_start[0]), float(res.t_end[0])
            if math.isnan(risk):
                return  # the scorer's mark for a window of (mostly) missing data: nothing to say
            if not math.isfinite(risk):
                raise ValueError("score is not finite")
        except Exception as err:  # noqa: BLE001 - report on /diagnostics, keep running
            self.score_error = f"scoring failed on the window at {w.frame.t0:.3f}: {err}"
            return
        self.score_error = ""
        self.windows_scored += 1
        self.last_score = risk
        stop = self.safety.update(risk, t_end)
        self.pub_score.publish(Float32(data=risk))
        self.pub_stop.publish(Bool(data=stop))
        a = assessment(risk, res.contributions[0], list(self.scorer.signals), t_start, t_end,
                       str(self.scorer.model_version), self.cfg.threshold, self.cfg.top_k)
        a.update(safety_stop=stop, stale_inputs=w.stale_roles)
        self.pub_assess.publish(String(data=json.dumps(a)))

    # -- services ---------------------------------------------------------------------------
    def _trigger(self, res: Trigger.Response, action: Any) -> Trigger.Response:
        res.success, res.message = action()
        self._publish_status()
        return res

    def _calibrate(self) -> tuple[bool, str]:
        n = self.calibrator.stored_count()
        if n < self.cfg.min_files:
            return False, f"{n} calibration recordings in the mission, {self.cfg.min_files} needed"
        return self.calibrator.start(self.cfg.epochs, self.cfg.batch_size, self.cfg.device)

    def _housekeeping(self) -> None:
        cal = self.calibrator
        cal.refresh()
        new = cal.take_new_scorer()
        if new is not None:
            self._use_scorer(new)
        n_good = cal.stored
        if (self.cfg.auto_calibrate and n_good >= self.cfg.min_files and n_good != self._auto_tried_at
                and (cal.status == NOT_CALIBRATED or (cal.status == FAILED and cal.retry_worth_it()))):
            self._auto_tried_at = n_good
            ok, msg = cal.start(self.cfg.epochs, self.cfg.batch_size, self.cfg.device)
            self.get_logger().info(f"auto-calibration: {msg}")
        self._publish_status()

    def _publish_status(self) -> None:
        snap = self.calibrator.snapshot()
        if snap["status"] == COMPLETED and self.scorer is None and not self.model_problem:
            snap["message"] = "loading model"
        text = json.dumps(snap)
        if text != self._last_status:
            self._last_status = text
            self.pub_status.publish(String(data=text))

    # -- diagnostics ------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        wall = time.monotonic()
        lw = self.windows
        h = HealthState(
            roles=self.roles,
            last_rx_age={r: (wall - self.last_rx[r]) if r in self.last_rx else None
                         for r in self.roles},
            stale_after_s=self.cfg.stale_after_s,
            rejected=dict(lw.rejected) if lw else {},
            model_version=str(self.scorer.model_version) if self.scorer is not None else None,
            model_problem=self.model_problem,
            calibration=self.calibrator.status,
            score_error=self.score_error,
            windows_scored=self.windows_scored,
            last_score=self.last_score,
            safety_stop=self.safety.active,
            counters={"dropped_samples": lw.dropped, "time_jumps": lw.resets,
                      "skipped_windows": lw.skipped} if lw else {},
        )
        arr = DiagnosticArray()
        arr.header.stamp = self.get_clock().now().to_msg()
        arr.status = build_statuses("ridescan", self.cfg.robot_name, h)
        self.pub_diag.publish(arr)

    # -- sidecar and shutdown ---------------------------------------------------------------
    def _start_sidecar(self) -> None:
        if not self.cfg.api_enabled:
            return
        try:
            from ridescan_ros.nodes.sidecar import Sidecar

            self.sidecar = Sidecar(self.cfg, self.service)
            self.sidecar.start()
            self.get_logger().info(f"API sidecar on http://{self.cfg.api_host}:{self.cfg.api_port}")
        except Exception as err:  # noqa: BLE001 - scoring works without the API
            self.sidecar = None
            self.get_logger().error(f"API sidecar not started: {err}")

    def close(self) -> None:
        """Finish the open run, stop training and the sidecar (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.runs.recorder is not None:
            self.runs.stop()
        if self.sidecar is not None:
            self.sidecar.stop()
            self.sidecar = None
        self.calibrator.close()
        self.service.stop()  # sets the stop flag, then terminates a training child: requeued


def make_executor() -> Any:
    """rclpy's C++ ``EventsExecutor`` (about a third of the per-message CPU of the Python
    ``SingleThreadedExecutor`` at 500 Hz inputs, see bench/results/live.md); the Python one
    when it is missing or ``RIDESCAN_EXECUTOR=single``."""
    if os.environ.get("RIDESCAN_EXECUTOR", "events") != "single":
        try:
            from rclpy.experimental import EventsExecutor

            return EventsExecutor()
        except ImportError:
            pass
    return SingleThreadedExecutor()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ridescan_node``; Ctrl-C and SIGTERM stop it cleanly."""
    rclpy.init(args=args)
    node = None
    try:
        node = RideScanNode()
        executor = make_executor()
        executor.add_node(node)
        while rclpy.ok():  # EventsExecutor.spin() would not return on SIGINT/SIGTERM
            executor.spin_once(timeout_sec=0.5)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as err:  # noqa: BLE001 - bad parameters: say why, exit non-zero
        print(f"ridescan_node: {err}", file=sys.stderr)
        return 1
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
