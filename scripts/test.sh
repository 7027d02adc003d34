#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
#   scripts/test.sh              all tests
#   scripts/test.sh -R Registry  tests whose name matches a regex (ctest -R)
# A full run ends with the fuzz targets, each for FUZZ_SECONDS
# (default 60; scripts/fuzz.sh, which installs clang on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/bootstrap.sh"
"$root/scripts/feast_venv.sh"
"$root/scripts/airflow_venv.sh"
"$root/scripts/dbt_venv.sh"
"$root/scripts/sdk_venv.sh"
"$root/scripts/spark.sh" install
BUILD_DIR="${BUILD_DIR:-$root/build}"
export BUILD_DIR
"$root/scripts/build.sh" -DLARDER_BUILD_PYTHON=ON
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 300 "$@"
if [ $# -eq 0 ]; then
  "$root/scripts/fuzz.sh"
fi
