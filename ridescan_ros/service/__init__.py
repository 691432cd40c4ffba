"""Use cases shared by the HTTP sidecar and the ROS node (no fastapi, no rclpy, no torch).

In-process use (the ROS node embeds the same service the API serves)::

    from ridescan_ros.service import RideScanService

    svc = RideScanService("/var/lib/ridescan")      # SQLite + blobs + models under this dir
    svc.start()                                      # worker threads; recovers unfinished tasks
    rid = svc.ensure_robot("local", "spot-01", "SPOT")
    mid = svc.ensure_mission(rid, "patrol")
    name = svc.add_file(rid, mid, "/data/run_000.bag", "run_000.bag", "calib_file")
    calib_id = svc.start_calibration(rid, mid, epochs=20, batch_size=128, device="auto",
                                     retrain=False)   # raises ServiceError (RS-* code) if refused
    svc.calibration_status(mid)["status"]           # not_calibrated | calibrating |
                                                     # calibration_completed | calibration_failed
    svc.latest_model(mid)                            # (model_dir, model_version) | None
    svc.stop()

The HTTP API (``ridescan_ros.api.create_app``) builds one of these per app, or takes the
node's instance so both see the same robots, missions and models. Errors are
``ServiceError(code, message, details)`` with the contract's RS-* codes.
"""

from ridescan_ros.service.access import LOCAL, Principal
from ridescan_ros.service.errors import ServiceError
from ridescan_ros.service.executor import CalibOutcome, Executor, ModelExecutor, ScoreOutcome
from ridescan_ros.service.facade import RideScanService, ServiceSettings
from ridescan_ros.service.files import StagedPart

__all__ = [
    "LOCAL", "CalibOutcome", "Executor", "ModelExecutor", "Principal", "RideScanService",
    "ScoreOutcome", "ServiceError", "ServiceSettings", "StagedPart",
]
