"""ridescan_node parameters: the issue's names, descriptions, and the config files' defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytest.importorskip("rclpy")
from ridescan_ros.nodes.params import PARAMS, declare_and_read  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config"
REQUIRED = ["robot_type", "data_dir", "calibration.watch_dir", "calibration.auto",
            "calibration.min_files", "training.epochs", "training.batch_size", "training.device",
            "scoring.threshold", "api.enabled", "api.host", "api.port", "api.keys_file"]
ROBOT_FILES = {"spot.yaml": "SPOT", "ur6.yaml": "UR6", "wheeled_mobile.yaml": "wheeled_mobile"}


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _params(name: str) -> dict:
    return _flat(yaml.safe_load((CONFIG / name).read_text())["/**"]["ros__parameters"])


def test_required_names_declared_with_descriptions() -> None:
    assert not [n for n in REQUIRED if n not in PARAMS]
    assert all(desc.strip() for _, desc in PARAMS.values())
    assert PARAMS["calibration.min_files"][0] == 15


def test_ridescan_yaml_holds_every_default_with_the_declared_type() -> None:
    defaults = _params("ridescan.yaml")
    assert set(defaults) == set(PARAMS)
    for name, (default, _) in PARAMS.items():  # rclpy refuses a value of another type
        assert type(defaults[name]) is type(default) and defaults[name] == default, name


@pytest.mark.parametrize("file,robot", sorted(ROBOT_FILES.items()))
def test_robot_files_override_declared_names_only(file: str, robot: str) -> None:
    over = _params(file)
    assert over["robot_type"] == robot
    assert not set(over) - set(PARAMS), file
    for name, value in over.items():
        assert type(value) is type(PARAMS[name][0]), (file, name)


def test_node_declares_them_with_descriptions(tmp_path: Path) -> None:
    import rclpy
    from rclpy.context import Context
    from rclpy.parameter import Parameter

    ctx = Context()
    rclpy.init(context=ctx)
    try:
        node = rclpy.create_node("params_probe", context=ctx, parameter_overrides=[
            Parameter("data_dir", value=str(tmp_path)), Parameter("calibration.min_files", value=20)])
        cfg = declare_and_read(node)
        assert cfg.min_files == 20 and cfg.data_dir == str(tmp_path) and cfg.epochs == 100
        descs = node.describe_parameters(list(PARAMS))
        assert all(d.description == PARAMS[d.name][1] for d in descs)
        node.destroy_node()
        low = rclpy.create_node("params_low", context=ctx, parameter_overrides=[
            Parameter("calibration.min_files", value=3)])
        with pytest.raises(ValueError, match="at least 15"):  # the service would refuse anyway
            declare_and_read(low)
        low.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)
