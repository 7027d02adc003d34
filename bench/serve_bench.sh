#!/usr/bin/env bash
# Load test of `larder serve` with wrk (Debian package `wrk`), model_v4 on the
# full example, entities drawn at random from 20,000 real ratings.
#
#   bench/serve_bench.sh [SECONDS] [--online rocksdb|redis] [--pairs "1 100"]
#                        [--connections N] [--repeat N] [--repo DIR] [--service NAME]
#
#   SECONDS        per run; default 20
#   --online       the online store: rocksdb (default), the repo as prepared;
#                  redis: a redis-server started here on a free loopback port
#                  (no persistence), a copy of the repo's config pointing at it
#                  (in /tmp/larder_bench_s1_redis), materialized first
#   --pairs        (user, isbn) pairs per request, one run per value; default "1 100"
#   --connections  wrk connections; default 64
#   --repeat       runs per pairs value; default 1
#   --repo         the prepared, materialized repo; default /tmp/larder_bench_s1
#   --service      the feature service requested; default model_v4
#   --delay MS     each connection pauses MS ms between requests (caps the
#                  rate near connections * 1000 / MS), for latency at a set
#                  load: --connections 30 --delay 2 gives about 10,000 req/s
#
# Environment: LARDER (the binary; default $BUILD_DIR/larder, BUILD_DIR
# defaulting to build/), WORKERS (server workers, default 2), PORT,
# SERVE_FLAGS (more flags for `larder serve`, e.g. "--window-value-cache-mb 0").
#
# Needs the example prepared and materialized at /tmp/larder_bench_s1, which
# `build/larder_bench_online_features --scale 1` does. wrk runs with 2 threads
# against a server with 2 workers on the same 2-core machine (so client and
# server share it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo=/tmp/larder_bench_s1
secs=20
online=rocksdb
pair_counts="1 100"
connections=64
repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --online) online="$2"; shift 2 ;;
    --pairs) pair_counts="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --repo) repo="$2"; shift 2 ;;
    --service) export FEATURE_SERVICE="$2"; shift 2 ;;
    --delay) export DELAY_MS="$2"; shift 2 ;;
    [0-9]*) secs="$1"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
larder="${LARDER:-${BUILD_DIR:-$root/build}/larder}"
workers="${WORKERS:-2}"
if ! command -v wrk >/dev/null; then
  log() { printf '[serve_bench] %s\n' "$*" >&2; }
  source "$root/scripts/debian_packages.sh"
  ensure_debian_packages wrk
fi
[ -x "$larder" ] || { echo "no larder binary at $larder (set LARDER or BUILD_DIR)" >&2; exit 1; }
[ -d "$repo/data/online_store" ] || { echo "run build/larder_bench_online_features --scale 1 first" >&2; exit 1; }

# A free loopback TCP port (asks the kernel for one).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pairs="$repo/data/bench_pairs.csv"
if [ ! -f "$pairs" ]; then
  "$larder" -c "$repo" historical --features book_features:language --output "$pairs" \
    --entity-sql "SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM read_parquet('$repo/data/raw/ratings.parquet') USING SAMPLE 20000 ROWS (reservoir, 42)" >/dev/null
fi

pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT

serve_repo="$repo"
case "$online" in
  rocksdb) ;;
  redis)
    command -v redis-server >/dev/null || { echo "redis-server is required: apt-get install redis-server" >&2; exit 1; }
    redis_port="$(free_port)"
    serve_repo=/tmp/larder_bench_s1_redis
    rm -rf "$serve_repo"
    mkdir -p "$serve_repo/data"
    cp "$repo"/*.yaml "$serve_repo/"
    cp -r "$repo/models" "$serve_repo/"
    cp "$repo/data/registry.db" "$serve_repo/data/"
    ln -s "$repo/data/raw" "$serve_repo/data/raw"
    ln -s "$repo/data/offline_store.duckdb" "$serve_repo/data/offline_store.duckdb"
    # The same config with the online store replaced by the redis-server.
    awk -v cs="127.0.0.1:$redis_port" '
      /^online_store:/ { print "online_store: {type: redis, connection_string: \"" cs "\"}"; skip = 1; next }
      skip && /^[ \t]/ { next }
      { skip = 0; print }' "$repo/feature_store.yaml" > "$serve_repo/feature_store.yaml"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize no >"$serve_repo/data/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
      redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    echo "== redis-server on 127.0.0.1:$redis_port; materializing into it"
    /usr/bin/time -f "materialize: %e s wall" "$larder" -c "$serve_repo" materialize \
      1900-01-01T00:00:00Z 2100-01-01T00:00:00Z >/dev/null
    ;;
  *) echo "--online takes rocksdb or redis" >&2; exit 2 ;;
esac

port="${PORT:-$(free_port)}"
# shellcheck disable=SC2086  # SERVE_FLAGS is a list of flags
"$larder" serve -c "$serve_repo" --port "$port" --workers "$workers" ${SERVE_FLAGS:-} >/dev/null \
  2>"$serve_repo/data/serve_bench.log" &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

for n in $pair_counts; do
  for ((r = 1; r <= repeat; r++)); do
    echo "== ${FEATURE_SERVICE:-model_v4} ($online), $n pair(s) per request, ${secs}s, 2 threads, $connections connections${DELAY_MS:+, ${DELAY_MS} ms between requests}, run $r"
    PAIRS_FILE="$pairs" PAIRS="$n" wrk -t2 -c"$connections" -d"${secs}s" --latency \
      -s "$root/bench/serve_wrk.lua" "http://127.0.0.1:$port" |
      grep -E "Requests/sec|Latency |50%|90%|99%|non-2xx|Socket errors"
  done
done
