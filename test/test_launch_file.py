"""launch/ridescan.launch.py without ``launch``/``launch_ros`` (not installable here).

Its declarations are read with ``ast``; its node-building function is then run against small
stand-ins of the launch API to check which executable and parameter files it starts.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch" / "ridescan.launch.py"


def _declared() -> dict[str, dict]:
    tree = ast.parse(LAUNCH.read_text())
    out = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "DeclareLaunchArgument":
            kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            out[ast.literal_eval(call.args[0])] = kw
    return out


def test_declares_the_documented_arguments_with_descriptions() -> None:
    args = _declared()
    assert set(args) == {"robot_type", "params_file", "namespace", "api_port", "use_sim_time"}
    assert all(a.get("description") for a in args.values())
    assert args["robot_type"]["default_value"] == "UR6"
    assert args["use_sim_time"]["default_value"] == "" and args["api_port"]["default_value"] == ""


def test_robot_files_exist_and_setup_installs_them() -> None:
    tree = ast.parse(LAUNCH.read_text())
    files = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and n.targets[0].id == "ROBOT_FILES")
    for name in set(files.values()) | {"ridescan.yaml"}:
        doc = yaml.safe_load((REPO / "config" / name).read_text())
        assert "ros__parameters" in doc["/**"], name
    setup = (REPO / "setup.py").read_text()
    assert 'glob("launch/*.launch.py")' in setup and 'glob("config/*.yaml")' in setup


class _Config:
    def __init__(self, name: str) -> None:
        self.name = name

    def perform(self, context: dict) -> str:
        return context[self.name]


@pytest.fixture()
def launch_module(monkeypatch: pytest.MonkeyPatch):
    """Import the launch file with stand-ins for launch, launch_ros and ament_index_python."""
    fake = {
        "launch": types.SimpleNamespace(LaunchDescription=list),
        "launch.actions": types.SimpleNamespace(DeclareLaunchArgument=lambda *a, **k: ("arg", a, k),
                                                OpaqueFunction=lambda function: ("fn", function)),
        "launch.substitutions": types.SimpleNamespace(LaunchConfiguration=_Config),
        "launch_ros.actions": types.SimpleNamespace(Node=lambda **k: k),
        "ament_index_python.packages": types.SimpleNamespace(
            get_package_share_directory=lambda pkg: str(REPO)),
    }
    for name, mod in fake.items():
        monkeypatch.setitem(sys.modules, name, mod)
    ns: dict = {}
    exec(compile(LAUNCH.read_text(), str(LAUNCH), "exec"), ns)
    return ns


@pytest.mark.parametrize("robot,file", [("UR6", "ur6.yaml"), ("spot", "spot.yaml"),
                                        ("wheeled_mobile", "wheeled_mobile.yaml")])
def test_node_gets_defaults_then_robot_file_then_overrides(launch_module, robot, file) -> None:
    desc = launch_module["generate_launch_description"]()
    fn = [d for d in desc if d[0] == "fn"][0][1]
    ctx = {"robot_type": robot, "params_file": "/tmp/extra.yaml", "namespace": "r1",
           "api_port": "8123", "use_sim_time": "true"}
    (node,) = fn(ctx)
    assert node["package"] == "ridescan_ros" and node["executable"] == "ridescan_node"
    params = node["parameters"]
    assert [Path(p).name for p in params[:3]] == ["ridescan.yaml", file, "extra.yaml"]
    assert params[3] == {"robot_type": robot, "use_sim_time": True, "api.port": 8123}
    assert node["namespace"].name == "namespace"


def test_defaults_of_the_arguments_leave_the_params_file_alone(launch_module) -> None:
    fn = [d for d in launch_module["generate_launch_description"]() if d[0] == "fn"][0][1]
    (node,) = fn({"robot_type": "UR6", "params_file": "/tmp/mine.yaml", "namespace": "",
                  "api_port": "", "use_sim_time": ""})
    assert node["parameters"][-1] == {"robot_type": "UR6"}  # api.port, use_sim_time: the files'
    for bad in ({"api_port": "80a"}, {"api_port": "70000"}, {"use_sim_time": "maybe"}):
        ctx = {"robot_type": "UR6", "params_file": "", "namespace": "", "api_port": "",
               "use_sim_time": "", **bad}
        with pytest.raises(RuntimeError, match="expected"):
            fn(ctx)


def test_unknown_robot_type_is_refused(launch_module) -> None:
    fn = [d for d in launch_module["generate_launch_description"]() if d[0] == "fn"][0][1]
    with pytest.raises(RuntimeError, match="expected SPOT, UR6 or wheeled_mobile"):
        fn({"robot_type": "panda", "params_file": "", "namespace": "", "api_port": "1",
            "use_sim_time": "false"})


def test_with_real_launch_when_installed() -> None:
    launch = pytest.importorskip("launch")
    if not hasattr(launch, "LaunchDescription"):
        pytest.skip("the PyPI 'launch' package is an unrelated project")
    ns: dict = {}
    exec(compile(LAUNCH.read_text(), str(LAUNCH), "exec"), ns)
    assert len(ns["generate_launch_description"]().entities) == 6
