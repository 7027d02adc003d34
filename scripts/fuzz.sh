#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/) with clang and runs them for a bounded time,
# as CI does. Idempotent: a second run skips the Debian packages and rebuilds
# only what changed.
#
#   scripts/fuzz.sh                      build, then fuzz for FUZZ_SECONDS (60)
#   FUZZ_SECONDS=600 scripts/fuzz.sh     fuzz longer
#   BUILD_DIR=/tmp/b scripts/fuzz.sh     build into /tmp/b/fuzz (default build/fuzz)
#
# The fuzzer works on a copy of fuzz/corpus/<target>/ in the build dir, so a
# run never adds files to the repo. Exits non-zero on a crash, leak or timeout
# and prints the path of the input that caused it (see fuzz/README.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
out="$build/fuzz"
seconds="${FUZZ_SECONDS:-60}"
targets=(request_parsers kinesis_json tzif arrow_ipc)

log() { printf '[fuzz] %s\n' "$*"; }

# --- Debian packages: clang 14 and its runtimes (libclang_rt.fuzzer, asan,
# ubsan are in libclang-rt-14-dev) --------------------------------------------
apt_packages=(clang-14 libclang-rt-14-dev cmake ninja-build nlohmann-json3-dev)
source "$root/scripts/debian_packages.sh"
ensure_debian_packages "${apt_packages[@]}"

# --- Build -------------------------------------------------------------------
if [ ! -f "$out/build.ninja" ]; then
  cmake -S "$root/fuzz" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE= \
    -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
fi
cmake --build "$out" -- -j"$(nproc)"

# --- Run ---------------------------------------------------------------------
status=0
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  artifacts="$out/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  # Seed the working corpus; inputs found by earlier runs stay.
  cp -f "$root/fuzz/corpus/$t"/* "$corpus"/
  before=$(ls -A "$artifacts" | wc -l)
  log "fuzzing $t for ${seconds}s (corpus $corpus)"
  rc=0
  "$out/${t}_fuzz" "$corpus" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$out/$t.log" 2>&1 || rc=$?
  summary='^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|==[0-9]+==ERROR|SUMMARY|ALARM|Test unit)'
  grep -E "$summary" "$out/$t.log" || true
  after=$(ls -A "$artifacts" | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
    status=1
    log "FAILED: $t (exit $rc); full log: $out/$t.log"
    grep -h 'Test unit written to' "$out/$t.log" \
      | sed 's/^.*written to /[fuzz] crashing input: /' || true
    log "reproduce: $out/${t}_fuzz <input>"
  else
    log "ok: $t"
  fi
done
exit "$status"
