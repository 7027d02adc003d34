#!/usr/bin/env bash
# Training data on Spark against DuckDB (bench/spark/historical_bench.cc),
# with a local Spark Connect server (scripts/spark.sh server) started for the
# run and stopped after it.
#
#   bench/spark/run.sh [--scale S] [--reps N] [--dir DIR]
#
# Needs scripts/bootstrap.sh and scripts/spark.sh install, and builds the
# benchmark's target.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/scripts/build.sh" larder_bench_spark_historical >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$root/scripts/spark.sh" server "$port" 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 120); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$log" >&2; exit 1; fi
  sleep 1
done
"$root/build/larder_bench_spark_historical" --remote "sc://127.0.0.1:$port" "$@"
