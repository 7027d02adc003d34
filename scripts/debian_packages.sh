# Sourced by the scripts that need Debian packages. `ensure_debian_packages
# P...` installs those of P... that are not installed yet, with apt-get (and
# sudo unless root), and reports through the caller's `log` function.
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "Debian packages present"
    return 0
  fi
  command -v apt-get >/dev/null || { log "missing Debian packages, and no apt-get: ${missing[*]}"; return 1; }
  log "installing Debian packages: ${missing[*]}"
  local sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}
