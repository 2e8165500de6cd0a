#!/usr/bin/env bash
# Set up a development environment from nothing: a virtualenv in .venv with the app's and the tests'
# Python packages, and Debian's chromium for the real-browser smoke test (installed only when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q -r requirements-dev.txt
# the demo models' whole-scene predictions (the first Map visit draws from them): generated, not committed
.venv/bin/python scripts/build_demo_predictions.py --parts scenes --if-stale
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "setup done: $(.venv/bin/python --version), chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing)"
