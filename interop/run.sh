#!/usr/bin/env bash
# Interop tests: the example CSMS and charging station of ocpp-examples (security profiles 1-3
# included: test_example_profiles.py; the 2.0.1 credential lifecycle, A01 password change and
# A02/A03 certificate renewal with a station restart after each, test_lifecycle.py: `run.sh
# lifecycle`), and the security
# profiles of ocpp-connection (its profile_csms and profile_station examples), against an
# independent OCPP implementation, the PyPI package `ocpp` (2.1.0) on `websockets`.
#
#   bash interop/run.sh [NAME_SUBSTRING ...]
#
# Creates interop/.venv (PYTHON picks the interpreter, python3 by default), installs the pinned
# interop/requirements.txt into it, builds the Rust programs, runs the tests (all traffic on
# 127.0.0.1) and ends with "N passed, M failed"; exit status non-zero if any failed.
# Each test's process output and frame logs are left in interop/out/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

python="${PYTHON:-python3}"
venv="$here/.venv"
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cargo build --locked -p ocpp-examples --examples
cargo build --locked -p ocpp-connection --examples
cargo build --locked -p ocpp-cli
target_dir="$(cargo metadata --locked --no-deps --format-version 1 |
  "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
export OCPP_BIN_DIR="$target_dir/debug"
export OCPP_INTEROP_OUT="$here/out"
rm -rf "$OCPP_INTEROP_OUT"

cd "$here"
exec "$venv/bin/python" run_tests.py "$@"
