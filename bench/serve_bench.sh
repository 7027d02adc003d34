#!/usr/bin/env bash
# Load test of `larder serve` with wrk (Debian package `wrk`), model_v4 on the
# full example in RocksDB, entities drawn at random from 20,000 real ratings.
#
#   bench/serve_bench.sh [SECONDS]        default 20 s per run
#
# Needs the example prepared and materialized at /tmp/larder_bench_s1, which
# `build/larder_bench_online_features --scale 1` does. Runs wrk with 1 and
# with 100 pairs per request, 2 threads and 64 connections, against a server
# with 2 workers on the same 2-core machine (so client and server share it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo=/tmp/larder_bench_s1
secs="${1:-20}"
larder="$root/build/larder"
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }
[ -d "$repo/data/online_store" ] || { echo "run build/larder_bench_online_features --scale 1 first" >&2; exit 1; }

pairs="$repo/data/bench_pairs.csv"
if [ ! -f "$pairs" ]; then
  "$larder" -c "$repo" historical --features book_features:language --output "$pairs" \
    --entity-sql "SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM read_parquet('$repo/data/raw/ratings.parquet') USING SAMPLE 20000 ROWS (reservoir, 42)" >/dev/null
fi

port=6580
"$larder" serve -c "$repo" --port "$port" --workers 2 >/dev/null 2>"$repo/data/serve_bench.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

for n in 1 100; do
  echo "== model_v4, $n pair(s) per request, ${secs}s, 2 threads, 64 connections"
  PAIRS_FILE="$pairs" PAIRS="$n" wrk -t2 -c64 -d"${secs}s" --latency \
    -s "$root/bench/serve_wrk.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|Latency|50%|99%|non-2xx"
done
