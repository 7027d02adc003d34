#!/usr/bin/env bash
# Starts kinesalite on a free loopback port and runs larder_bench_stream_kinesis
# against it (bench/stream/kinesis_bench.cc says what it measures).
#
#   bench/stream/run.sh [--records N] [--shards N] [--records-per-call N] [--dir DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench="${BUILD_DIR:-$root/build}/larder_bench_stream_kinesis"
module="$root/third_party/node/node_modules/kinesalite"
[ -x "$bench" ] || { echo "build it first: scripts/build.sh larder_bench_stream_kinesis" >&2; exit 1; }
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
