"""Torch side of ridescan_ros: residual network, detector ensemble, training, artifacts."""
