#!/usr/bin/env bash
# Installs the Python virtualenv of the Python SDK (python/): the build tools
# (scikit-build-core, nanobind) and what the SDK and its tests use (pandas,
# pyarrow, pytest), then exits. The CMake build compiles the extension module
# `larder._larder` with this venv's Python when it exists (python/CMakeLists.txt),
# and ctest runs python/tests with its pytest.
# Idempotent: a second run checks a stamp and returns in about a second.
#
#   scripts/sdk_venv.sh           venv at third_party/sdk_venv (ignored by git)
#
# Packages come from PyPI only, through pip. SDK_VENV_PYTHON picks the
# interpreter that creates the venv (default: python3 on the PATH, 3.10 or newer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/third_party/sdk_venv"
stamp="$venv/.larder-stamp"
packages=(
  "scikit-build-core==1.1.2"
  "nanobind==2.15.0"
  "pandas==2.3.3"
  "pyarrow==26.0.1"
  "pytest==9.2.0"
  # examples/book_recs/train.py
  "scikit-learn==1.9.1"
  "matplotlib==3.11.2"
)
want="${packages[*]}"

log() { printf '[sdk-venv] %s\n' "$*"; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ] \
   && [ -x "$venv/bin/pytest" ]; then
  log "present in third_party/sdk_venv"
  exit 0
fi

py="${SDK_VENV_PYTHON:-python3}"
command -v "$py" >/dev/null || { log "$py is required (Python 3.10 or newer)"; exit 1; }
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  log "$py is $("$py" --version 2>&1); the SDK needs Python 3.10 or newer"
  exit 1
fi
# Debian's python3 ships venv's ensurepip in python3-venv, and Python.h in python3-dev.
need=()
"$py" -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
inc="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[ -f "$inc/Python.h" ] || need+=(python3-dev)
if [ "${#need[@]}" -gt 0 ]; then
  source "$root/scripts/debian_packages.sh"
  ensure_debian_packages "${need[@]}"
fi

start=$(date +%s)
log "creating the venv third_party/sdk_venv with $("$py" --version 2>&1)"
rm -rf "$venv"
mkdir -p "$root/third_party"
"$py" -m venv "$venv"
log "installing ${packages[*]} from PyPI"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --index-url https://pypi.org/simple "${packages[@]}"
"$venv/bin/python" -c 'import nanobind, pandas, pyarrow, pytest, scikit_build_core' \
  || { log "the venv's packages do not import"; exit 1; }
echo "$want" > "$stamp"
log "installed in third_party/sdk_venv in $(( $(date +%s) - start )) s"
