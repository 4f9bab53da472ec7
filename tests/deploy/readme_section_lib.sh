# Shared by the tests that run a README.md section as written (source it after setting WORK):
# process bookkeeping that stops everything on exit and prints the logs of a failed run, waiting
# on a condition, checks on output files, and the section's ```sh blocks as files.
#
#   WORK=$(mktemp -d); source "$ROOT/tests/deploy/readme_section_lib.sh"
#   readme_blocks "$ROOT/README.md" "Migrating between two real Conductor servers"
#   for block in "${BLOCKS[@]}"; do ...; done

PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
cleanup() {
  local rc=$?
  stop_all
  if [ $rc -ne 0 ]; then
    for f in "$WORK"/*.log; do
      echo "----- $(basename "$f")"
      tail -n 60 "$f"
    done
    echo "FAIL (exit $rc)"
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

fail() {
  echo "FAIL: $*"
  exit 1
}

free_port() {  # a loopback TCP port nothing listens on now
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() {  # a condition, as a command; up to 30 s
  for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done
  return 1
}

has() {  # has FILE TEXT WHAT
  grep -qF -- "$2" "$1" || fail "$3 (no '$2' in $(basename "$1"))"
}

# readme_blocks README TITLE: the ```sh blocks of section "## TITLE", one file each under
# $WORK/blocks, in order, with the list indentation removed; their paths in BLOCKS.
readme_blocks() {
  mkdir -p "$WORK/blocks"
  awk -v dir="$WORK/blocks" -v title="## $2" '
    /^## / { in_section = ($0 == title) }
    in_section && /^ *```sh *$/ { n++; file = sprintf("%s/%02d.sh", dir, n); inblock = 1; next }
    inblock && /^ *```/ { inblock = 0; close(file); next }
    inblock { sub(/^   /, ""); print > file }
  ' "$1"
  BLOCKS=("$WORK"/blocks/*.sh)
  [ -e "${BLOCKS[0]}" ] || fail "README.md has no sh blocks under '$2'"
}
