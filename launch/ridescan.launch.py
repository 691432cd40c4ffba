"""Start ridescan_node with the config file of one robot type.

    ros2 launch ridescan_ros ridescan.launch.py robot_type:=UR6
    ros2 launch ridescan_ros ridescan.launch.py robot_type:=SPOT namespace:=spot1 api_port:=8010
    ros2 launch ridescan_ros ridescan.launch.py params_file:=/path/to/my.yaml use_sim_time:=true

``config/ridescan.yaml`` (all defaults) is loaded first, then ``config/<robot>.yaml`` (spot,
ur6, wheeled_mobile), then ``params_file`` when given, then the launch arguments the command
line sets (``robot_type`` always; ``api_port`` and ``use_sim_time`` only when given, so a
``params_file`` that sets ``api.port`` is not overridden by a default); the last one wins.
"""

from __future__ import annotations

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ROBOT_FILES = {"spot": "spot.yaml", "0": "spot.yaml", "ur6": "ur6.yaml", "ur": "ur6.yaml",
               "1": "ur6.yaml", "wheeled_mobile": "wheeled_mobile.yaml",
               "wheeled": "wheeled_mobile.yaml", "2": "wheeled_mobile.yaml"}


def _node(context, *args, **kwargs):
    """Resolve the arguments and build the node action."""
    robot = LaunchConfiguration("robot_type").perform(context).strip()
    key = robot.lower()
    if key not in ROBOT_FILES:
        raise RuntimeError(f"robot_type {robot!r}: expected SPOT, UR6 or wheeled_mobile")
    config = os.path.join(get_package_share_directory("ridescan_ros"), "config")
    params = [os.path.join(config, "ridescan.yaml"), os.path.join(config, ROBOT_FILES[key])]
    extra = LaunchConfiguration("params_file").perform(context)
    if extra:
        params.append(extra)
    given: dict = {"robot_type": robot}
    sim = LaunchConfiguration("use_sim_time").perform(context).strip().lower()
    if sim:
        if sim not in ("true", "false", "1", "0", "yes", "no"):
            raise RuntimeError(f"use_sim_time {sim!r}: expected true or false")
        given["use_sim_time"] = sim in ("true", "1", "yes")
    port = LaunchConfiguration("api_port").perform(context).strip()
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise RuntimeError(f"api_port {port!r}: expected a port number 1-65535")
        given["api.port"] = int(port)
    params.append(given)
    return [Node(package="ridescan_ros", executable="ridescan_node", name="ridescan",
                 namespace=LaunchConfiguration("namespace"), parameters=params,
                 output="screen", emulate_tty=True)]


def generate_launch_description() -> LaunchDescription:
    """Arguments robot_type, params_file, namespace, api_port, use_sim_time."""
    return LaunchDescription([
        DeclareLaunchArgument("robot_type", default_value="UR6",
                              description="SPOT, UR6 or wheeled_mobile: picks config/<robot>.yaml"),
        DeclareLaunchArgument("params_file", default_value="",
                              description="Extra parameters file, applied last"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="Namespace of the node (and its relative topics)"),
        DeclareLaunchArgument("api_port", default_value="",
                              description="Port of the API sidecar (api.enabled turns it on); "
                                          "empty = api.port of the parameter files (8000)"),
        DeclareLaunchArgument("use_sim_time", default_value="",
                              description="true: use /clock (bag replay, simulation); "
                                          "empty = the parameter files' value (false)"),
        OpaqueFunction(function=_node),
    ])
