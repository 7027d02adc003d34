#!/usr/bin/env bash
# Installs a Python virtualenv with dbt-core and dbt-duckdb, for the Dbt*
# tests (tests/dbt_source_test.cc), then exits; idempotent
# (scripts/python_venv.sh): a second run returns in about a second.
#
#   scripts/dbt_venv.sh           third_party/dbt_venv, with bin/dbt
#
# dbt-core 1.12 downloads a parser wheel from outside PyPI when it is built,
# which fails where only PyPI is reachable, so dbt-core stays below 1.12.
# duckdb is pinned to the version Larder links (cmake/duckdb_fetch.cmake):
# a newer DuckDB writes database files in a format Larder's cannot read.
# DBT_VENV_PYTHON picks the interpreter that creates the venv (default:
# python3 on the PATH).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[dbt-venv] %s\n' "$*"; }
source "$root/scripts/python_venv.sh"
ensure_python_venv dbt_venv "${DBT_VENV_PYTHON:-python3}" \
  "import dbt.adapters.duckdb, dbt.version" "dbt-core<1.12" "dbt-duckdb" "duckdb==1.4.4"
