#!/usr/bin/env bash
# `migrationctl watch` follows a migration across a restart of the source orchestrator, on real
# processes: dev and prod orchestrators and workers; a migration that waits for prod's worker;
# `watch` started on it; dev's orchestrator stopped with SIGTERM and started again on the same
# database and port; prod's worker back. watch must say the server is unreachable, keep going,
# and end with the verified report and exit 0.
set -euo pipefail
ROOT=$1
BUILD=$2
WORK=$(mktemp -d)
unset CMIG_SERVER CMIG_TOKEN

# shellcheck source=tests/deploy/readme_section_lib.sh
source "$ROOT/tests/deploy/readme_section_lib.sh"
DEV_PORT=$(free_port)
PROD_PORT=$(free_port)

# start_orchestrator NAME PORT: its pid in ORCH_PID once it serves.
start_orchestrator() {
  rm -f "$WORK/$1.port"
  "$BUILD/orchestrator/orchestrator" --db="$WORK/$1.db" --listen="127.0.0.1:$2" \
    --http_listen= --port_file="$WORK/$1.port" >>"$WORK/$1-orchestrator.log" 2>&1 &
  ORCH_PID=$!
  PIDS+=("$ORCH_PID")
  wait_for test -s "$WORK/$1.port" || fail "the $1 orchestrator did not start"
}
# start_worker NAME PORT: its pid in WORKER_PID.
start_worker() {
  CONDUCTOR_SERVER_URL="127.0.0.1:$2" "$BUILD/worker/migration-worker" \
    --workflows_dir="$ROOT/workflows" >>"$WORK/$1-worker.log" 2>&1 &
  WORKER_PID=$!
  PIDS+=("$WORKER_PID")
}
ctl() { "$BUILD/cli/migrationctl" "$@" --server="127.0.0.1:$DEV_PORT"; }
registered() {  # registered PORT WORKFLOW
  "$BUILD/cli/migrationctl" definitions list --server="127.0.0.1:$1" 2>/dev/null | grep -q "$2"
}

start_orchestrator dev "$DEV_PORT"
DEV_PID=$ORCH_PID
start_orchestrator prod "$PROD_PORT"
start_worker dev "$DEV_PORT"
start_worker prod "$PROD_PORT"
PROD_WORKER=$WORKER_PID
wait_for registered "$DEV_PORT" outgoing_migration_request || fail "dev's worker did not register"
wait_for registered "$PROD_PORT" incoming_migration_request || fail "prod's worker did not register"
# prod's worker goes away: the migration will wait for it.
kill -TERM "$PROD_WORKER"
wait "$PROD_WORKER" || true

ctl env add prod --address "127.0.0.1:$PROD_PORT" >"$WORK/setup.log"
ctl definitions load "$ROOT/deploy/quickstart/sample" >>"$WORK/setup.log"
id=$(ctl migrate --target prod --workflow order_processing --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["workflowId"])')

"$BUILD/cli/migrationctl" watch "$id" --server="127.0.0.1:$DEV_PORT" --poll-interval=50ms \
  >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
PIDS+=("$WATCH_PID")
wait_for grep -q "await_incoming  IN_PROGRESS" "$WORK/watch.log" ||
  fail "watch never showed the migration waiting for prod"

kill -TERM "$DEV_PID"
wait "$DEV_PID" || true
wait_for grep -q "the server is unreachable" "$WORK/watch.log" ||
  fail "watch did not say the server went away"
kill -0 "$WATCH_PID" 2>/dev/null || fail "watch ended when the server went away"

start_orchestrator dev "$DEV_PORT"
start_worker prod "$PROD_PORT"
rc=0
wait "$WATCH_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "watch exited $rc: $(tail -n 20 "$WORK/watch.log")"
has "$WORK/watch.log" "verify_target  COMPLETED" "watch followed the migration to its end"
has "$WORK/watch.log" "applied and verified" "watch printed the verified report"
echo PASS
