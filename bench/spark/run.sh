#!/usr/bin/env bash
# Training data on Spark.
#
#   bench/spark/run.sh [--scale S] [--reps N] [--dir DIR]
#       The example on Larder's spark store against its DuckDB store: the
#       models, model_v4's training data, and full materializations into
#       RocksDB and Redis (bench/spark/historical_bench.cc), with a local
#       Spark Connect server (scripts/spark.sh server) and a redis-server
#       started for the run and stopped after it. Installs what it needs;
#       builds the benchmark's target.
#
#   bench/spark/run.sh --feast [--scale S] [--reps N] [--work DIR] ...
#       Larder's spark store against Feast 0.67's Spark offline store on the
#       same Spark, with Larder's DuckDB store beside them
#       (bench/spark/feast_bench.py; `--feast --help` lists its options).
#       Installs what it needs (scripts/bootstrap.sh, scripts/spark.sh
#       install, scripts/feast_venv.sh spark), builds `larder`, starts its
#       own Spark Connect servers on free loopback ports, prints a results
#       table (also in WORK/out/results.md) and exits non-zero when a run
#       fails or the outputs differ.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { printf '[bench-spark] %s\n' "$*" >&2; }

if [ "${1:-}" = "--feast" ]; then
  shift
  "$root/scripts/bootstrap.sh" >/dev/null
  "$root/scripts/spark.sh" install
  "$root/scripts/feast_venv.sh" spark
  source "$root/scripts/debian_packages.sh"
  ensure_debian_packages time
  BUILD_DIR="${BUILD_DIR:-$root/build}"
  BUILD_DIR="$BUILD_DIR" "$root/scripts/build.sh" larder_cli >/dev/null
  exec "$root/third_party/feast_spark_venv/bin/python" "$root/bench/spark/feast_bench.py" \
    --larder "$BUILD_DIR/larder" "$@"
fi

"$root/scripts/bootstrap.sh" >/dev/null
"$root/scripts/spark.sh" install
source "$root/scripts/debian_packages.sh"
ensure_debian_packages redis-server
"$root/scripts/build.sh" larder_bench_spark_historical >/dev/null
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port="$(free_port)"
redis_port="$(free_port)"
log="$(mktemp)"
"$root/scripts/spark.sh" server "$port" 2>"$log" &
server=$!
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
redis=$!
trap 'kill "$server" "$redis" 2>/dev/null || true; wait "$server" "$redis" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 120); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$log" >&2; exit 1; fi
  sleep 1
done
"$root/build/larder_bench_spark_historical" --remote "sc://127.0.0.1:$port" \
  --redis "127.0.0.1:$redis_port" "$@"
