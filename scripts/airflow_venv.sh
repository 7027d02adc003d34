#!/usr/bin/env bash
# Installs a Python virtualenv with Apache Airflow, then exits; idempotent
# (scripts/python_venv.sh: a second run checks the stamp and returns in about
# a second).
#
#   scripts/airflow_venv.sh       third_party/airflow_venv: apache-airflow, for
#                                 the Airflow* tests (tests/airflow_dag_test.cc),
#                                 which parse and run the DAGs that
#                                 `larder airflow-dag` writes
#
# Airflow's constraints files are not reachable here; a plain pip install of
# the pinned version resolves (about 60 s, 300 MB).
# AIRFLOW_VENV_PYTHON picks the interpreter that creates the venv (default:
# python3 on the PATH, 3.10 or newer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AIRFLOW_VERSION="3.3.2"
log() { printf '[airflow-venv] %s\n' "$*"; }
source "$root/scripts/python_venv.sh"
ensure_python_venv airflow_venv "${AIRFLOW_VENV_PYTHON:-python3}" \
  "import sys, airflow; sys.exit(0 if airflow.__version__ == '$AIRFLOW_VERSION' else 1)" \
  "apache-airflow==$AIRFLOW_VERSION"
