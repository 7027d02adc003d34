#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#   scripts/test.sh              all tests
#   scripts/test.sh -R Registry  tests whose name matches a regex (ctest -R)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
"$root/scripts/feast_venv.sh"
BUILD_DIR="${BUILD_DIR:-$root/build}"
export BUILD_DIR
"$root/scripts/build.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 300 "$@"
