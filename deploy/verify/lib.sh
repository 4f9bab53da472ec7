# shellcheck shell=bash
# Shared by container.sh and systemd.sh: logging, failing, waiting, host packages, and the
# list of definitions a worker must have registered. Source it; it does not run anything.

CMIG_VERIFY_DIR="${CMIG_VERIFY_DIR:-/var/tmp/cmig-verify}"
VERIFY_START=$(date +%s)

# Messages go to fd 9, a copy of stderr, so a check run under wait_until (which silences the
# command it polls) can still fail with its reason.
exec 9>&2
log() { printf '[%s +%3ss] %s\n' "$(date -u +%H:%M:%S)" "$(($(date +%s) - VERIFY_START))" "$*" >&9; }
fail() {
  log "FAIL: $*"
  exit 1
}
pass() { log "ok: $*"; }

# wait_until SECONDS DESCRIPTION COMMAND...: runs COMMAND every half second until it succeeds.
wait_until() {
  local deadline=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
  log "reached: $what"
}

require_root() {
  [ "$(id -u)" -eq 0 ] || fail "run as root: it bootstraps a Debian root file system and starts containers"
}

# ensure_packages PKG...: installs the Debian packages that are missing.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The mirror apt already uses on this machine (the only archive that may be reachable).
debian_mirror() {
  if [ -n "${CMIG_DEBIAN_MIRROR:-}" ]; then
    echo "$CMIG_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    grep -v security | head -1 | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' |
    awk '{print $1}')
  echo "${uri:-http://deb.debian.org/debian}"
}

# Debian 12's sources in deb822 form, as the official debian:12 image has them.
write_debian_sources() {
  local rootfs=$1 mirror
  mirror=$(debian_mirror)
  rm -f "$rootfs/etc/apt/sources.list"
  mkdir -p "$rootfs/etc/apt/sources.list.d"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}

# The workflow and task definition names in the repository's workflows/, sorted, one a line:
# what a started worker must have registered with its orchestrator.
expected_definitions() {
  /usr/bin/python3 - "$1" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
names = [json.load(open(f))["name"] for f in glob.glob(os.path.join(d, "*.json"))]
names += [json.load(open(f))["name"] for f in glob.glob(os.path.join(d, "taskdefs", "*.json"))]
print("\n".join(sorted(names)))
PY
}

# Reads `migrationctl definitions list --json` on stdin; prints the names it lists, sorted.
listed_definitions() {
  /usr/bin/python3 -c '
import json, sys
doc = json.load(sys.stdin)
names = [w["name"] if isinstance(w, dict) else w for w in doc.get("workflows", [])]
names += [t["name"] if isinstance(t, dict) else t for t in doc.get("taskDefs", [])]
print("\n".join(sorted(set(names))))'
}

# check_registered EXPECTED_FILE LISTED_JSON_FILE: every expected name is listed; otherwise
# prints the missing ones on stdout and fails.
check_registered() {
  local missing
  missing=$(comm -23 "$1" <(listed_definitions <"$2" 2>/dev/null))
  [ -z "$missing" ] || {
    echo "not registered: $(echo "$missing" | tr '\n' ' ')"
    return 1
  }
}

new_token() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
