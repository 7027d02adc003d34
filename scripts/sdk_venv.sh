#!/usr/bin/env bash
# Installs the Python virtualenv of the Python SDK (python/): the build tools
# (scikit-build-core, nanobind) and what the SDK and its tests use (pandas,
# pyarrow, pytest), then exits. The CMake build compiles the extension module
# `larder._larder` with this venv's Python when it exists (python/CMakeLists.txt),
# and ctest runs python/tests with its pytest.
# Idempotent (scripts/python_venv.sh).
#
#   scripts/sdk_venv.sh           venv at third_party/sdk_venv (ignored by git)
#
# SDK_VENV_PYTHON picks the interpreter that creates the venv (default:
# python3 on the PATH, 3.10 or newer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
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
log() { printf '[sdk-venv] %s\n' "$*"; }
py="${SDK_VENV_PYTHON:-python3}"
# The extension module's build needs Python.h: Debian's python3-dev.
if command -v "$py" >/dev/null; then
  inc="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
  if [ ! -f "$inc/Python.h" ]; then
    source "$root/scripts/debian_packages.sh"
    ensure_debian_packages python3-dev
  fi
fi
source "$root/scripts/python_venv.sh"
ensure_python_venv sdk_venv "$py" 'import nanobind, pandas, pyarrow, pytest, scikit_build_core' \
  "${packages[@]}"
