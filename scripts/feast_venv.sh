#!/usr/bin/env bash
# Installs a Python virtualenv with Feast, then exits; idempotent
# (scripts/python_venv.sh).
#
#   scripts/feast_venv.sh         third_party/feast_venv: feast, for the
#                                 FeastClientAgainstLarderServe test (tests/feast_client/)
#   scripts/feast_venv.sh bench   third_party/feast_bench_venv: feast with its redis
#                                 and duckdb extras, for bench/feast/run.sh
#   scripts/feast_venv.sh spark   third_party/feast_spark_venv: feast with its spark
#                                 and duckdb extras, and pyspark[connect] pinned to the
#                                 version of the Spark Connect server that
#                                 scripts/spark.sh runs, for bench/spark/run.sh --feast
#
# FEAST_VENV_PYTHON picks the interpreter that creates the venv (default:
# python3 on the PATH; Feast 0.67 needs Python 3.10 or newer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEAST_VERSION="0.67.0"
# The pyspark of scripts/spark.sh's server: Feast's Spark store then runs the
# same Spark, as a Spark Connect client or as a local session of its own.
PYSPARK_VERSION="$(sed -n 's/^PYSPARK_VERSION="\(.*\)"$/\1/p' "$root/scripts/spark.sh")"
case "${1:-test}" in
  test) name=feast_venv; package="feast==$FEAST_VERSION" ;;
  bench) name=feast_bench_venv; package="feast[redis,duckdb]==$FEAST_VERSION" ;;
  spark) name=feast_spark_venv
         package="feast[spark,duckdb]==$FEAST_VERSION pyspark[connect]==$PYSPARK_VERSION" ;;
  *) echo "usage: scripts/feast_venv.sh [bench|spark]" >&2; exit 2 ;;
esac

log() { printf '[feast-venv] %s\n' "$*"; }
source "$root/scripts/python_venv.sh"
# $package is word-split on purpose: one package, or feast and pyspark.
# shellcheck disable=SC2086
ensure_python_venv "$name" "${FEAST_VENV_PYTHON:-python3}" \
  "import feast, sys; sys.exit(0 if feast.__version__ == '$FEAST_VERSION' else 1)" $package
