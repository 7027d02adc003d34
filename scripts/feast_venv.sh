#!/usr/bin/env bash
# Installs a Python virtualenv with Feast, then exits.
# Idempotent: a second run checks a stamp and returns in about a second.
#
#   scripts/feast_venv.sh         third_party/feast_venv: feast, for the
#                                 FeastClientAgainstLarderServe test (tests/feast_client/)
#   scripts/feast_venv.sh bench   third_party/feast_bench_venv: feast with its redis
#                                 and duckdb extras, for bench/feast/run.sh
#
# Packages come from PyPI only, through pip. FEAST_VENV_PYTHON picks the
# interpreter that creates the venv (default: python3 on the PATH; Feast 0.67
# needs Python 3.10 or newer).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FEAST_VERSION="0.67.0"
case "${1:-test}" in
  test) name=feast_venv; want="feast==$FEAST_VERSION" ;;
  bench) name=feast_bench_venv; want="feast[redis,duckdb]==$FEAST_VERSION" ;;
  *) echo "usage: scripts/feast_venv.sh [bench]" >&2; exit 2 ;;
esac
venv="$root/third_party/$name"
stamp="$venv/.larder-stamp"

log() { printf '[feast-venv] %s\n' "$*"; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ] \
   && [ -x "$venv/bin/feast" ]; then
  log "$want present in third_party/$name"
  exit 0
fi

py="${FEAST_VENV_PYTHON:-python3}"
command -v "$py" >/dev/null || { log "$py is required (Python 3.10 or newer)"; exit 1; }
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  log "$py is $("$py" --version 2>&1); Feast $FEAST_VERSION needs Python 3.10 or newer"
  exit 1
fi
# Debian's python3 ships venv's ensurepip in the python3-venv package.
if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
  source "$root/scripts/debian_packages.sh"
  ensure_debian_packages python3-venv
fi

start=$(date +%s)
log "creating the venv third_party/$name with $("$py" --version 2>&1)"
rm -rf "$venv"
mkdir -p "$root/third_party"
"$py" -m venv "$venv"
log "installing $want from PyPI"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --index-url https://pypi.org/simple "$want"
"$venv/bin/python" -c 'import feast, sys; sys.exit(0 if feast.__version__ == sys.argv[1] else 1)' \
  "$FEAST_VERSION" || { log "feast did not import as version $FEAST_VERSION"; exit 1; }
echo "$want" > "$stamp"
log "$want installed in third_party/$name in $(( $(date +%s) - start )) s"
