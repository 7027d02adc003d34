#!/usr/bin/env bash
# Starts kinesalite on a free loopback port and runs a stream benchmark
# against it: the consumer's throughput (bench/stream/kinesis_bench.cc), or
# with `freshness` first, event-to-online freshness through `larder serve
# --stream` (bench/stream/freshness_bench.cc).
#
#   bench/stream/run.sh [--records N] [--shards N] [--records-per-call N] [--to T] [--dir DIR]
#   bench/stream/run.sh freshness [--rate N] [--seconds S] [--shards N] [--to T]
#   bench/stream/run.sh kafka [--records N] [--partitions N] [--records-per-call N] [--to T]
#                             [--plain-only]
#   bench/stream/run.sh kafka-freshness [--rate N] [--seconds S] [--shards N] [--to T]
# With `kafka` or `kafka-freshness` it starts a Kafka broker (scripts/kafka.sh)
# instead and runs bench/stream/kafka_bench.cc or the freshness bench against it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
name=kinesis
if [ "${1:-}" = freshness ]; then
  name=freshness
  shift
fi
if [ "${1:-}" = kafka ] || [ "${1:-}" = kafka-freshness ]; then
  bench="${BUILD_DIR:-$root/build}/larder_bench_stream_kafka"
  [ "$1" = kafka-freshness ] && bench="${BUILD_DIR:-$root/build}/larder_bench_stream_freshness"
  shift
  [ -x "$bench" ] || { echo "build it first: scripts/build.sh $(basename "$bench")" >&2; exit 1; }
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  log="$(mktemp)"
  "$root/scripts/kafka.sh" "$port" >"$log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 600); do
    grep -q "ready on" "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q "ready on" "$log" || { echo "the broker did not start:" >&2; cat "$log" >&2; exit 1; }
  "$bench" --bootstrap "127.0.0.1:$port" "$@"
  exit
fi
bench="${BUILD_DIR:-$root/build}/larder_bench_stream_$name"
module="$root/third_party/node/node_modules/kinesalite"
[ -x "$bench" ] || { echo "build it first: scripts/build.sh larder_bench_stream_$name" >&2; exit 1; }
[ -d "$module" ] || { echo "kinesalite is missing: run scripts/bootstrap.sh" >&2; exit 1; }
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
node "$root/tests/support/kinesalite_launcher.js" "$module" "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  curl -s "http://127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bench" --endpoint "http://127.0.0.1:$port" "$@"
