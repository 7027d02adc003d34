#!/usr/bin/env bash
# Installs everything Larder needs to build and test, then exits.
# Idempotent: a second run checks stamps and returns in about a second.
#
#   scripts/bootstrap.sh            Debian packages + DuckDB + dynalite and
#                                   kinesalite + the Kafka broker's jars (tests)
#                                   + Spark Connect's protos (the build)
#
# DuckDB has no Debian 12 package. Its C library comes from the npm tarball
# @duckdb/node-bindings-linux-x64 and its header from the npm tarball duckdb,
# unpacked into third_party/duckdb/ (ignored by git) by
# cmake/duckdb_fetch.cmake. CMake also accepts a system DuckDB, and fetches
# it by itself when there is none (cmake/duckdb.cmake).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[bootstrap] %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------
apt_packages=(
  g++ cmake ninja-build pkg-config
  libyaml-cpp-dev nlohmann-json3-dev libsqlite3-dev libgtest-dev libgmock-dev librocksdb-dev
  libhiredis-dev redis-server libssl-dev openssl ca-certificates libjemalloc-dev libboost-dev
  librdkafka-dev maven openjdk-17-jre-headless
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler unzip
  tzdata  # /usr/share/zoneinfo: the time zones of schedules and their tests
)
source "$root/scripts/debian_packages.sh"
ensure_debian_packages "${apt_packages[@]}"

# --- DuckDB (C library + header) from the npm registry ----------------------
# cmake/duckdb_fetch.cmake names the version, the tarballs and their hashes;
# the CMake build runs the same code when it finds no DuckDB.
cmake -DDEST="$root/third_party/duckdb" -P "$root/cmake/duckdb_fetch.cmake" \
  | sed 's/^-- /[bootstrap] /'

# --- npm test servers: dynalite (DynamoDB) and kinesalite (Kinesis) ---------
# Installed with npm into third_party/node/ (ignored by git), each with its
# own stamp file, and run in memory with `node` by the tests:
# third_party/node/node_modules/dynalite/cli.js for the dynamodb online store
# tests, and kinesalite through tests/support/kinesalite_launcher.js for the
# Kinesis client tests. dynalite 4 needs Node.js >= 20, newer than Debian
# 12's nodejs (18): install Node.js 20+ (e.g. from NodeSource) when
# `node --version` says otherwise.
node_dir="$root/third_party/node"
# ensure_npm_package <name> <version> <file under the package that must exist>
ensure_npm_package() {
  local name="$1" version="$2" entry="$3"
  local stamp="$node_dir/.$name-version"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] \
     && [ -f "$node_dir/node_modules/$name/$entry" ]; then
    log "$name $version present"
    return
  fi
  command -v node >/dev/null && command -v npm >/dev/null \
    || { log "node and npm (Node.js >= 20) are required for $name"; exit 1; }
  local node_major
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$node_major" -lt 20 ]; then
    log "$name $version needs Node.js >= 20; found $(node --version)"
    exit 1
  fi
  log "installing $name $version from the npm registry"
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --silent "$name@$version"
  echo "$version" > "$stamp"
  log "$name installed in third_party/node"
}
ensure_npm_package dynalite 4.0.0 cli.js
ensure_npm_package kinesalite 3.3.3 index.js

# --- Apache Kafka (a real broker for the Kafka tests and the demo) ----------
# Its jars come from Maven Central (resolved by Debian's maven) into
# third_party/kafka/lib, with a stamp; Debian's Java 17 runs them
# (scripts/kafka.sh, tests/support/kafka_server.h).
"$root/scripts/kafka.sh" install | sed 's/^\[kafka\] /[bootstrap] /'

# --- Spark Connect's protocol (compiled by the build) ------------------------
# The .proto files come from Maven Central's spark-connect_2.13 jar (resolved
# by Debian's maven) into third_party/spark_connect_proto, with a stamp;
# cmake/spark_connect_proto.cmake compiles them. The Spark server itself,
# for the tests, is pyspark's: scripts/spark.sh install (run by
# scripts/test.sh).
"$root/scripts/spark.sh" protos | sed 's/^\[spark\] /[bootstrap] /'
