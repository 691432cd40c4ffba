#!/usr/bin/env bash
# Build the package with colcon and run the whole test suite through `colcon test`
# (pytest on test/), with ROS 2 kept on this machine. Usage: scripts/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "run scripts/setup_env.sh first" >&2; exit 1; }
touch .venv/COLCON_IGNORE
export PATH="$PWD/.venv/bin:$PATH"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( (RANDOM % 200) + 20 ))}"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$(mktemp -d /tmp/ridescan_roslog.XXXXXX)}"
if [ -z "${RIDESCAN_SAMPLE_DATA:-}" ] && [ -d ../shared/data ]; then
  export RIDESCAN_SAMPLE_DATA="$(cd ../shared/data && pwd)"
fi
if [ -z "${RIDESCAN_CASES:-}" ] && [ -d ../shared/cases ]; then
  export RIDESCAN_CASES="$(cd ../shared/cases && pwd)"
fi
echo "[test] colcon build"
colcon build --base-paths . --packages-select ridescan_ros --event-handlers console_cohesion- 2>&1 | tail -n 5
echo "[test] colcon test (pytest: test/)"
set +e
colcon test --base-paths . --packages-select ridescan_ros \
  --event-handlers console_direct+ --return-code-on-test-failure \
  --pytest-args -p no:cacheprovider "$@"
rc=$?
set -e
colcon test-result --all --verbose | tail -n 3 || true
exit $rc
