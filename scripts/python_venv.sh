# Sourced by the scripts that install a Python virtualenv under third_party/.
# Packages come from PyPI only, through pip.
#
#   ensure_python_venv NAME PYTHON CHECK PACKAGE...
#
# Creates third_party/NAME with the interpreter PYTHON (3.10 or newer) and
# installs PACKAGE... into it, unless the venv's stamp already lists exactly
# those packages (then it returns in about a second). CHECK is Python code
# that must run in the fresh venv, such as an import of what was installed.
# The caller defines $root (the repository root) and log().
ensure_python_venv() {
  local name="$1" py="$2" check="$3"
  shift 3
  local venv="$root/third_party/$name" want="$*"
  local stamp="$venv/.larder-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
    log "$want present in third_party/$name"
    return 0
  fi
  command -v "$py" >/dev/null || { log "$py is required (Python 3.10 or newer)"; return 1; }
  if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    log "$py is $("$py" --version 2>&1); Python 3.10 or newer is needed"
    return 1
  fi
  # Debian's python3 ships venv's ensurepip in the python3-venv package.
  if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
    source "$root/scripts/debian_packages.sh"
    ensure_debian_packages python3-venv
  fi
  local start
  start=$(date +%s)
  log "creating the venv third_party/$name with $("$py" --version 2>&1)"
  rm -rf "$venv"
  mkdir -p "$root/third_party"
  "$py" -m venv "$venv"
  log "installing $want from PyPI"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --index-url https://pypi.org/simple "$@"
  "$venv/bin/python" -c "$check" || { log "the venv's packages do not work: $check"; return 1; }
  echo "$want" > "$stamp"
  log "$want installed in third_party/$name in $(( $(date +%s) - start )) s"
}
