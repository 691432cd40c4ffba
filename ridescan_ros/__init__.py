"""RideScan-style anomaly scoring for ROS 2 robots (Spot, UR arms, wheeled bases)."""

__version__ = "0.1.0"
