#!/usr/bin/env bash
# Configures and builds Larder into build/ (Release with debug info).
#
#   scripts/build.sh                           everything
#   scripts/build.sh larder_cli _larder        only these targets
#   scripts/build.sh -DLARDER_BUILD_PYTHON=ON  with CMake cache settings
#   BUILD_DIR=... BUILD_TYPE=Debug scripts/build.sh
#
# CMake runs again whenever the build dir is new, or BUILD_TYPE or a -D
# setting differs from what the build dir's cache holds; otherwise the
# build re-configures itself only when CMake's inputs change.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
type="${BUILD_TYPE:-RelWithDebInfo}"
settings=("-DCMAKE_BUILD_TYPE=$type")
targets=()
for a in "$@"; do
  case "$a" in
    -D*=*) settings+=("$a") ;;
    -*) echo "scripts/build.sh: unknown option $a (give -DNAME=VALUE or target names)" >&2; exit 2 ;;
    *) targets+=("$a") ;;
  esac
done

# True when the cache holds each -DNAME[:TYPE]=VALUE in $settings.
cache_matches() {
  local cache="$build/CMakeCache.txt" s name value
  [ -f "$build/build.ninja" ] && [ -f "$cache" ] || return 1
  for s in "${settings[@]}"; do
    s="${s#-D}"
    name="${s%%=*}"
    name="${name%%:*}"
    value="${s#*=}"
    awk -v name="$name" -v value="$value" '
      { eq = index($0, "="); key = substr($0, 1, eq - 1); sub(/:.*/, "", key) }
      eq > 0 && key == name && substr($0, eq + 1) == value { found = 1 }
      END { exit !found }' "$cache" || return 1
  done
}

if ! cache_matches; then
  cmake -S "$root" -B "$build" -G Ninja "${settings[@]}" >/dev/null
fi
if ((${#targets[@]})); then
  cmake --build "$build" --target "${targets[@]}" -- -j"$(nproc)"
else
  cmake --build "$build" -- -j"$(nproc)"
fi
