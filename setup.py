"""ament_python package definition for ridescan_ros."""

from glob import glob

from setuptools import find_packages, setup

package_name = "ridescan_ros"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "bench"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    extras_require={"test": ["pytest"]},
    zip_safe=True,
    maintainer="RideScan ROS maintainers",
    maintainer_email="maintainers@ridescan.invalid",
    description="On-robot RideScan-style anomaly scoring for Spot, UR arms and wheeled robots.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "ridescan = ridescan_ros.cli:main",
            "ridescan_node = ridescan_ros.nodes.ridescan_node:main",
        ],
    },
)
