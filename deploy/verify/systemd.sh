#!/usr/bin/env bash
# Boots a real systemd (systemd-nspawn -b on a Debian 12 root file system) and runs
# deploy/systemd/cmig-orchestrator.service and cmig-worker.service in it, installed the way the
# units' comments tell an operator to, on the programs `cmake --install` lays out.
#
#   sudo deploy/verify/systemd.sh        # exit 0 only if every check passed
#
# Checks: both units reach active (running) as user cmig with no capabilities and
# no_new_privs; the state directory is cmig's, mode 0700, and holds the database; the rest of the
# file system is read-only to the services; the worker registers every definition in workflows/;
# its grpc.health.v1 answers SERVING; `systemctl stop` ends both with Result=success and exit
# status 0; the orchestrator's state survives a restart of its unit.
#
# Environment:
#   CMIG_VERIFY_DIR          work area, never in the repository [/var/tmp/cmig-verify]
#   CMIG_BUILD_DIR           CMake build tree to install from [<repo>/build]; the three programs
#                            are (re)built there first
#   CMIG_VERIFY_REBOOTSTRAP  1 = debootstrap the root file system again instead of the cached
#                            tarball (each run still starts from a fresh copy of it)
#   CMIG_DEBIAN_MIRROR       Debian mirror [the one apt uses here]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=deploy/verify/lib.sh
. "$HERE/lib.sh"

require_root
WORK="$CMIG_VERIFY_DIR/systemd"
MACHINE="$WORK/machine"
BUILD="${CMIG_BUILD_DIR:-$REPO/build}"
mkdir -p "$WORK"

ensure_packages debootstrap systemd-container python3 python3-grpcio cmake ninja-build

# --- 1. The programs, built and installed into the machine ----------------------------------
log "building orchestrator, migration-worker, migrationctl in $BUILD"
[ -f "$BUILD/build.ninja" ] || cmake -S "$REPO" -B "$BUILD" -G Ninja >/dev/null
cmake --build "$BUILD" -j2 --target orchestrator migration-worker migrationctl >"$WORK/build.log" 2>&1 || {
  tail -30 "$WORK/build.log" >&2
  fail "build failed, see $WORK/build.log"
}

# The runtime libraries are those of deploy/Containerfile's runtime stage.
PACKAGES=systemd,systemd-sysv,dbus,libgrpc++1.51,libgrpc29,libprotobuf32,libabsl20220623,libspdlog1.10,libfmt9,libsimdjson14,libsqlite3-0,libssl3,libtcmalloc-minimal4,ca-certificates
# Named after its package list, so a changed list bootstraps a new root file system.
ROOTFS_TAR="$CMIG_VERIFY_DIR/debian12-systemd-$(printf '%s' "$PACKAGES" | sha256sum | cut -c1-12).tar"
if [ ! -s "$ROOTFS_TAR" ] || [ "${CMIG_VERIFY_REBOOTSTRAP:-0}" = 1 ]; then
  log "debootstrap bookworm with systemd and the runtime libraries from $(debian_mirror)"
  rm -rf "$WORK/rootfs"
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$WORK/rootfs" "$(debian_mirror)" \
    >"$WORK/debootstrap.log" 2>&1 || fail "debootstrap failed, see $WORK/debootstrap.log"
  write_debian_sources "$WORK/rootfs"
  rm -rf "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/var/cache/apt/"*.bin
  tar --numeric-owner -C "$WORK/rootfs" -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$WORK/rootfs"
fi

NSPAWN_PID=
cleanup() {
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    # nspawn turns SIGTERM into a clean poweroff of the container.
    kill -TERM "$NSPAWN_PID" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

log "fresh machine in $MACHINE"
rm -rf "$MACHINE"
mkdir -p "$MACHINE"
tar --numeric-owner -C "$MACHINE" -xf "$ROOTFS_TAR"
DESTDIR="$MACHINE" cmake --install "$BUILD" --prefix /usr/local >"$WORK/install.log"

# As an operator would: the user from sysusers.d, the tokens in /etc/cmig, the units enabled.
install -D -m 0644 "$REPO/deploy/systemd/cmig.sysusers" "$MACHINE/etc/sysusers.d/cmig.conf"
install -m 0644 "$REPO/deploy/systemd/cmig-orchestrator.service" \
  "$REPO/deploy/systemd/cmig-worker.service" "$MACHINE/etc/systemd/system/"
chroot "$MACHINE" systemd-sysusers >/dev/null 2>&1
install -d -m 0755 "$MACHINE/etc/cmig"
TOKEN=$(new_token)
(umask 077 && printf '%s\n' "$TOKEN" >"$MACHINE/etc/cmig/orchestrator.tokens" &&
  printf '%s\n' "$TOKEN" >"$MACHINE/etc/cmig/worker.token")
unset TOKEN
chroot "$MACHINE" chown cmig:cmig /etc/cmig/orchestrator.tokens /etc/cmig/worker.token
chroot "$MACHINE" systemctl enable cmig-orchestrator.service cmig-worker.service >/dev/null 2>&1
echo cmig-verify >"$MACHINE/etc/hostname"
: >"$MACHINE/etc/machine-id"

# --- 2. Boot -----------------------------------------------------------------------------------
# --private-network: loopback only, so ports 8090/9464/9465 cannot collide with the host's.
# --register=no --keep-unit: there is no systemd (no bus, no machined) on the host to ask for a
# scope or to register with.
log "booting systemd in the machine (console in $WORK/console.log)"
setsid systemd-nspawn -q -D "$MACHINE" -M cmig-verify -b --private-network --register=no --keep-unit \
  --console=read-only >"$WORK/console.log" 2>&1 </dev/null &
NSPAWN_PID=$!

# The machine's PID 1, seen from the host: the systemd descendant of nspawn.
find_leader() {
  local pid
  for pid in $(pgrep -P "$NSPAWN_PID") $(pgrep -P "$(pgrep -P "$NSPAWN_PID" | head -1)" 2>/dev/null); do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ]; then
      LEADER=$pid
      return 0
    fi
  done
  return 1
}
wait_until 30 "machine's systemd started" find_leader ||
  fail "systemd did not start in the machine: $(tail -20 "$WORK/console.log")"

in_machine() {
  nsenter -t "$LEADER" -m -u -i -n -p -C -r -w -- /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SYSTEMD_PAGER= SYSTEMD_COLORS=0 LANG=C.UTF-8 "$@"
}
system_up() {
  local state
  state=$(in_machine systemctl is-system-running 2>/dev/null || true)
  [ "$state" = running ] || [ "$state" = degraded ]
}
wait_until 90 "system booted" system_up || fail "the machine did not finish booting: $(tail -20 "$WORK/console.log")"
if [ "$(in_machine systemctl is-system-running || true)" = degraded ]; then
  log "degraded boot, failed units (not ours unless listed below): $(in_machine systemctl --failed --plain --no-legend | tr '\n' ' ')"
fi

# --- 3. The units, running -----------------------------------------------------------------
prop() { in_machine systemctl show -p "$2" --value "$1"; }
journal() { in_machine journalctl -q --no-pager -u "$1" | tail -"${2:-20}"; }
# Restart=on-failure makes a crashing unit look active between attempts: any restart fails.
unit_running() {
  local restarts
  restarts=$(prop "$1" NRestarts)
  [ "$restarts" = 0 ] || {
    journal "$1" 8 >&9
    fail "$1 restarted $restarts time(s)"
  }
  [ "$(prop "$1" ActiveState)/$(prop "$1" SubState)" = active/running ]
}
for unit in cmig-orchestrator.service cmig-worker.service; do
  wait_until 30 "$unit active (running)" unit_running "$unit" || {
    in_machine systemctl status --no-pager "$unit" >&2 || true
    fail "$unit is $(prop "$unit" ActiveState)/$(prop "$unit" SubState)"
  }
done
pass "both units active (running)"

expected="$WORK/expected-definitions.txt"
expected_definitions "$REPO/workflows" >"$expected"
listed="$WORK/definitions.json"
list_definitions() {
  in_machine migrationctl definitions list --json --token-file /etc/cmig/worker.token >"$listed" 2>/dev/null &&
    check_registered "$expected" "$listed"
}
wait_until 60 "worker registered $(wc -l <"$expected") definitions" list_definitions || {
  journal cmig-worker.service >&2
  fail "the worker did not register the definitions in workflows/: $(check_registered "$expected" "$listed")"
}
pass "worker registered the workflows with the orchestrator (migrationctl definitions list)"
# Not restarted along the way: a unit that crashed and came back would also be active.
for unit in cmig-orchestrator.service cmig-worker.service; do
  [ "$(prop "$unit" NRestarts)" = 0 ] || fail "$unit restarted $(prop "$unit" NRestarts) times"
done

for unit in cmig-orchestrator.service cmig-worker.service; do
  pid=$(prop "$unit" MainPID)
  status=$(in_machine cat "/proc/$pid/status")
  owner=$(in_machine stat -c %U "/proc/$pid")
  [ "$owner" = cmig ] || fail "$unit runs as $owner, not cmig"
  grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$status" || fail "$unit lacks no_new_privs"
  grep -q '^CapEff:[[:space:]]*0*$' <<<"$status" || fail "$unit has capabilities: $(grep CapEff <<<"$status")"
  # ProtectSystem=strict: even a root process in the unit's mount namespace cannot write /usr.
  if in_machine nsenter -t "$pid" -m -- sh -c ': >/usr/.cmig-verify' 2>/dev/null; then
    fail "$unit can write /usr: ProtectSystem is not in effect"
  fi
  pass "$unit runs as cmig, no capabilities, no_new_privs, read-only /usr"
done

[ "$(in_machine stat -c '%U %a' /var/lib/cmig-orchestrator)" = "cmig 700" ] ||
  fail "state directory is $(in_machine stat -c '%U %a' /var/lib/cmig-orchestrator), not 'cmig 700'"
[ "$(in_machine stat -c %U /var/lib/cmig-orchestrator/orchestrator.db)" = cmig ] ||
  fail "no orchestrator.db owned by cmig in the state directory"
pass "StateDirectory /var/lib/cmig-orchestrator: cmig, 0700, holds orchestrator.db"

nsenter -t "$LEADER" -n /usr/bin/python3 "$HERE/grpc_health.py" 127.0.0.1:9465 >&2 ||
  fail "grpc.health.v1 on 9465 is not SERVING"
pass "worker's grpc.health.v1 on 9465 answers SERVING"

in_machine systemd-analyze security --no-pager cmig-orchestrator.service cmig-worker.service 2>/dev/null |
  grep -i 'overall exposure' | sed 's/^/  /' >&2 || true

# A real migration, so every step runs inside the hardened worker (system call filter, read-only
# system, no capabilities): the units are dev; a prod orchestrator and worker run beside them as
# transient units on port 8091.
PROD_PROPS=(-p User=cmig -p Group=cmig -p NoNewPrivileges=yes -p ProtectSystem=strict)
in_machine systemd-run -q --unit=cmig-verify-prod-orchestrator "${PROD_PROPS[@]}" \
  -p StateDirectory=cmig-verify-prod /usr/local/bin/orchestrator \
  --db=/var/lib/cmig-verify-prod/orchestrator.db --listen=127.0.0.1:8091 \
  --http_listen=127.0.0.1:8081 \
  --tokens_file=/etc/cmig/orchestrator.tokens
in_machine systemd-run -q --unit=cmig-verify-prod-worker "${PROD_PROPS[@]}" \
  -E CONDUCTOR_SERVER_URL=127.0.0.1:8091 -E CONDUCTOR_AUTH_TOKEN_FILE=/etc/cmig/worker.token \
  /usr/local/bin/migration-worker --workflows_dir=/usr/local/share/cmig/workflows
prod_ready() {
  in_machine migrationctl definitions list --server 127.0.0.1:8091 \
    --token-file /etc/cmig/worker.token 2>/dev/null | grep -q incoming_migration_request
}
wait_until 60 "prod orchestrator and worker ready" prod_ready ||
  fail "prod side did not start: $(journal cmig-verify-prod-worker.service)"
mkdir -p "$MACHINE/root/sample"
cp "$REPO"/deploy/quickstart/sample/*.json "$MACHINE/root/sample/"
dev() { in_machine migrationctl "$@" --token-file /etc/cmig/worker.token; }
{
  dev secret put prod_token --from-file /etc/cmig/worker.token &&
    dev env add prod --address 127.0.0.1:8091 --token-secret prod_token &&
    dev definitions load /root/sample &&
    dev migrate --target prod --workflow order_processing --wait
} >"$WORK/migrate.log" 2>&1 || {
  cat "$WORK/migrate.log" >&2
  journal cmig-worker.service 30 >&2
  fail "migration dev -> prod failed"
}
in_machine migrationctl definitions list --server 127.0.0.1:8091 --token-file /etc/cmig/worker.token |
  grep -q order_processing || fail "prod lacks order_processing after the migration"
pass "a migration dev -> prod completed on the hardened worker (log: $WORK/migrate.log)"
in_machine systemctl stop cmig-verify-prod-worker.service cmig-verify-prod-orchestrator.service

# --- 4. Clean stop, and state that survives ------------------------------------------------
stopped_clean() { # UNIT: Result=success and the main process exited 0 (not killed)
  local r
  r="$(prop "$1" Result) $(prop "$1" ExecMainCode) $(prop "$1" ExecMainStatus)"
  # ExecMainCode 1 is CLD_EXITED: the process exited on its own, status 0.
  [ "$r" = "success 1 0" ] || {
    journal "$1" >&2
    fail "$1 did not stop cleanly: Result ExecMainCode ExecMainStatus = $r"
  }
}
in_machine systemctl stop cmig-worker.service || fail "systemctl stop cmig-worker failed"
stopped_clean cmig-worker.service
journal cmig-worker.service 50 | grep -q 'drained; exiting' || fail "worker did not drain on stop"
pass "systemctl stop cmig-worker: drained, exit status 0"
in_machine systemctl stop cmig-orchestrator.service || fail "systemctl stop cmig-orchestrator failed"
stopped_clean cmig-orchestrator.service
pass "systemctl stop cmig-orchestrator: exit status 0"

in_machine systemctl start cmig-orchestrator.service
wait_until 30 "orchestrator restarted" unit_running cmig-orchestrator.service || fail "orchestrator did not restart"
wait_until 20 "definitions still there" list_definitions || fail "definitions lost across a restart"
pass "orchestrator state survives a restart of its unit"

in_machine systemctl poweroff || true
for _ in $(seq 60); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
kill -0 "$NSPAWN_PID" 2>/dev/null && fail "the machine did not power off"
NSPAWN_PID=
log "PASS: systemd units verified in $(($(date +%s) - VERIFY_START)) s"
