"""One router per resource: robots, missions, files, models (calibration/inference)."""
