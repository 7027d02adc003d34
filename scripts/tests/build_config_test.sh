#!/usr/bin/env bash
# Checks how scripts/build.sh and the CMake project configure a build dir:
#
#   build_config_test.sh build-type   a changed BUILD_TYPE reaches the cache of
#                                     an existing build dir
#   build_config_test.sh sdk-venv     with LARDER_BUILD_PYTHON=AUTO, a build dir
#                                     configured before the SDK's venv existed
#                                     builds the SDK once the venv appears, and
#                                     until then ctest's PythonSdk test fails
#
# Each case configures a fresh build dir under $TMPDIR (about 10 s) and
# builds no C++ code. REAL_SDK_VENV names an existing SDK venv (sdk-venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/larder_build_config.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cached() { sed -n "s/^$1:[A-Z]*=//p" "$tmp/build/CMakeCache.txt"; }

case "${1:-}" in
  build-type)
    export BUILD_DIR="$tmp/build"
    # rebuild_cache is the cheapest target: it only re-runs CMake.
    BUILD_TYPE=Debug "$root/scripts/build.sh" -DLARDER_BUILD_PYTHON=OFF rebuild_cache >/dev/null
    [ "$(cached CMAKE_BUILD_TYPE)" = Debug ] || fail "first configure: $(cached CMAKE_BUILD_TYPE)"
    BUILD_TYPE=Release "$root/scripts/build.sh" -DLARDER_BUILD_PYTHON=OFF rebuild_cache >/dev/null
    [ "$(cached CMAKE_BUILD_TYPE)" = Release ] \
      || fail "BUILD_TYPE=Release left the build dir at $(cached CMAKE_BUILD_TYPE)"
    grep -q -- '-O3' "$tmp/build/build.ninja" || fail "build.ninja does not compile with -O3"
    echo "ok: BUILD_TYPE Debug -> Release reached the cache and build.ninja"
    ;;
  sdk-venv)
    venv="${REAL_SDK_VENV:?REAL_SDK_VENV must name the SDK venv}"
    [ -x "$venv/bin/python" ] || fail "no venv at $venv"
    mkdir -p "$tmp/third_party"
    cmake -S "$root" -B "$tmp/build" -G Ninja -DLARDER_SDK_VENV="$tmp/third_party/sdk_venv" \
      >"$tmp/configure.log" || { cat "$tmp/configure.log"; fail "configure"; }
    [ "$(cached LARDER_BUILD_PYTHON)" = AUTO ] || fail "LARDER_BUILD_PYTHON=$(cached LARDER_BUILD_PYTHON)"
    if (cd "$tmp/build" && ctest -R '^PythonSdk$' --output-on-failure >"$tmp/ctest.log" 2>&1); then
      fail "PythonSdk passed in a build without the SDK"
    fi
    grep -q 'The Python SDK was not built' "$tmp/ctest.log" || { cat "$tmp/ctest.log"; fail "no reason given"; }
    # The venv appears after the first configure (scripts/demo.sh, then
    # scripts/sdk_venv.sh): the next build must configure again and build it.
    ln -s "$venv" "$tmp/third_party/sdk_venv"
    cmake --build "$tmp/build" --target larder_python_files >"$tmp/build.log" 2>&1 \
      || { cat "$tmp/build.log"; fail "the build did not pick up the venv"; }
    [ -f "$tmp/build/python/larder/__init__.py" ] || fail "no python/larder in the build dir"
    (cd "$tmp/build" && ctest -N -R '^PythonSdk$') | grep -q 'Total Tests: 1' \
      || fail "no PythonSdk test after the venv appeared"
    if grep -q 'was not built' "$tmp/build/python/CTestTestfile.cmake"; then
      fail "PythonSdk is still the placeholder"
    fi
    echo "ok: the venv made after the first configure was picked up by the next build"
    ;;
  *)
    echo "usage: $0 build-type|sdk-venv" >&2
    exit 2
    ;;
esac
