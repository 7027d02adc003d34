#!/usr/bin/env bash
# Installs a Python virtualenv with Feast, then exits; idempotent
# (scripts/python_venv.sh).
#
#   scripts/feast_venv.sh         third_party/feast_venv: feast, for the
#                                 FeastClientAgainstLarderServe test (tests/feast_client/)
#   scripts/feast_venv.sh bench   third_party/feast_bench_venv: feast with its redis
#                                 and duckdb extras, for bench/feast/run.sh
#
# FEAST_VENV_PYTHON picks the interpreter that creates the venv (default:
# python3 on the PATH; Feast 0.67 needs Python 3.10 or newer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEAST_VERSION="0.67.0"
case "${1:-test}" in
  test) name=feast_venv; package="feast==$FEAST_VERSION" ;;
  bench) name=feast_bench_venv; package="feast[redis,duckdb]==$FEAST_VERSION" ;;
  *) echo "usage: scripts/feast_venv.sh [bench]" >&2; exit 2 ;;
esac

log() { printf '[feast-venv] %s\n' "$*"; }
source "$root/scripts/python_venv.sh"
ensure_python_venv "$name" "${FEAST_VENV_PYTHON:-python3}" \
  "import feast, sys; sys.exit(0 if feast.__version__ == '$FEAST_VERSION' else 1)" "$package"
