#!/usr/bin/env bash
# Larder against Feast 0.67, side by side on the same data, in one run.
#
#   bench/feast/run.sh [--scale 1.0] [--reps 3] [--seconds 10] [--work DIR] ...
#   bench/feast/run.sh --smoke      scale 0.01, one repetition, 2 s of load,
#                                   a small wide set; what CI runs
#
# Installs what it needs (Debian: wrk, redis-server; PyPI: feast[redis,duckdb]
# into third_party/feast_bench_venv), builds Larder, then runs
# bench/feast/harness.py with the venv's Python; every other argument goes
# to it (`--help` lists them). Results: WORK/results.md and results.json
# (WORK defaults to /tmp/larder_feast_bench). Exits non-zero when a run fails
# or a correctness cross-check finds a difference.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { printf '[bench-feast] %s\n' "$*" >&2; }

args=()
for a in "$@"; do
  case "$a" in
    --smoke) args+=(--scale 0.01 --reps 1 --seconds 2 --connections 16 --wide-rows 500
                    --wide-views 20 --wide-features 10 --timeout 600) ;;
    *) args+=("$a") ;;
  esac
done

"$root/scripts/bootstrap.sh"
source "$root/scripts/debian_packages.sh"
ensure_debian_packages wrk redis-server time
"$root/scripts/feast_venv.sh" bench
BUILD_DIR="${BUILD_DIR:-$root/build}"
export BUILD_DIR
"$root/scripts/build.sh" >/dev/null
exec "$root/third_party/feast_bench_venv/bin/python" "$root/bench/feast/harness.py" \
  --larder "$BUILD_DIR/larder" "${args[@]}"
