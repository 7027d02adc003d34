#!/usr/bin/env bash
# kinesalite (a Kinesis-compatible server, in memory) on 127.0.0.1, from
# third_party/node (scripts/bootstrap.sh installs it), for the example's
# stream (docs/stream.md, "The example's stream").
#
#   scripts/kinesalite.sh [PORT]          run it in the foreground (default port 4567)
#   scripts/kinesalite.sh --probe [PORT]  print what listens there: `kinesis` (a
#                                          Kinesis endpoint, e.g. a kinesalite
#                                          already running), `free` or `other`
#
# Run in the foreground it refuses (exit 1) a port that something else holds,
# and exits 3 when a Kinesis endpoint already answers there. It listens on
# 127.0.0.1 only and survives clients that disconnect mid-request
# (tests/support/kinesalite_launcher.js). Streams live until it stops.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

probe=0
if [ "${1:-}" = "--probe" ]; then
  probe=1
  shift
fi
port="${1:-4567}"
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "scripts/kinesalite.sh: the port must be 1..65535, got '$port'" >&2
  exit 2
fi

# What answers on the port: a Kinesis endpoint replies to an unsigned
# ListStreams with a JSON error whose __type names the missing signature.
# (Node, which kinesalite needs anyway, asks: curl may not be installed.)
what_listens() {
  node -e '
    let said = false;
    const say = (what) => { if (!said) { said = true; console.log(what); } };
    const req = require("http").request({
      host: "127.0.0.1", port: Number(process.argv[1]), method: "POST", path: "/", timeout: 3000,
      headers: {"X-Amz-Target": "Kinesis_20131202.ListStreams",
                "Content-Type": "application/x-amz-json-1.1"}}, (res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => say(/"__type"|"StreamNames"/.test(body) ? "kinesis" : "other"));
    });
    req.on("timeout", () => { say("other"); req.destroy(); });
    req.on("error", (e) => say(e.code === "ECONNREFUSED" ? "free" : "other"));
    req.end("{}");
  ' "$port"
}

if ! command -v node >/dev/null; then
  echo "scripts/kinesalite.sh: node is not installed (scripts/bootstrap.sh installs it)" >&2
  exit 1
fi
state=$(what_listens)
if [ "$probe" = 1 ]; then
  echo "$state"
  exit 0
fi
case "$state" in
  kinesis)
    echo "scripts/kinesalite.sh: a Kinesis endpoint already answers on 127.0.0.1:$port" >&2
    exit 3 ;;
  other)
    echo "scripts/kinesalite.sh: port $port on 127.0.0.1 is taken by something that is not" \
      "kinesalite; stop it, or give another port (the example's kinesis source names" \
      "http://127.0.0.1:4567 in data_sources.yaml)" >&2
    exit 1 ;;
esac

module="$root/third_party/node/node_modules/kinesalite"
if [ ! -f "$module/package.json" ]; then
  echo "scripts/kinesalite.sh: kinesalite is not installed at $module: run scripts/bootstrap.sh" >&2
  exit 1
fi
exec node "$root/tests/support/kinesalite_launcher.js" "$module" "$port"
