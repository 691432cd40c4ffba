#!/usr/bin/env bash
# Create .venv with everything pinned in requirements.txt and install this package in it.
# Idempotent: a second run only checks. Usage: scripts/setup_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PY"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import ridescan_ros, torch, rosbags, rclpy, fastapi" 2>/dev/null \
   || [ requirements.txt -nt .venv/.installed ]; then
  echo "[setup] installing pinned requirements (about a minute; torch is the big one)"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import torch, rosbags, rclpy, fastapi" || { echo "[setup] install failed" >&2; exit 1; }
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  touch .venv/.installed
fi
echo "[setup] ready: $(.venv/bin/python --version), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
