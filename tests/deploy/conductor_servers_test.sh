#!/usr/bin/env bash
# Runs the commands of README.md's "Servers with gRPC enabled, and across an air gap" as written.
# Two `orchestrator --conductor_api_only` processes (each with its own token) stand in for the
# conductor-oss servers dev-conductor:8090 and prod-conductor:8090: they serve Conductor's gRPC
# API only and answer every extension call UNIMPLEMENTED, as conductor-oss does. /etc/cmig and the
# installed workflows directory become temporary and source paths; nothing else is changed.
# The test fails when a command of the section fails or its outcome is not what it promises:
# the online migration completes with the package inline and prod holds the definitions; the
# air-gap export, inspect and import carry a new version across. Nothing is left running.
set -euo pipefail
ROOT=$1
BUILD=$2
WORK=$(mktemp -d)
ETC="$WORK/cmig-config"
mkdir -p "$ETC" "$WORK/ops"
export PATH="$BUILD/worker:$BUILD/cli:$PATH"

# shellcheck source=tests/deploy/readme_section_lib.sh
source "$ROOT/tests/deploy/readme_section_lib.sh"

registered_twice() { [ "$(grep -c 'definitions from' "$1")" -ge 2 ]; }

new_token() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# start_server NAME [extra flags]: an orchestrator on a free loopback port; NAME's token goes to
# $ETC/NAME.token, where the README expects the operator to keep it.
start_server() {
  local name=$1
  shift
  [ -s "$ETC/$name.token" ] || new_token >"$ETC/$name.token"
  cp "$ETC/$name.token" "$WORK/$name.tokens"
  rm -f "$WORK/$name.port"
  "$BUILD/orchestrator/orchestrator" --db="$WORK/$name.db" --listen=127.0.0.1:0 --http_listen= \
    --tokens_file="$WORK/$name.tokens" --port_file="$WORK/$name.port" "$@" \
    >>"$WORK/$name-orchestrator.log" 2>&1 &
  PIDS+=($!)
  eval "${name^^}_PID=$!"
  wait_for test -s "$WORK/$name.port" || fail "the $name orchestrator did not start"
}

ctl() {  # ctl NAME ARGS...: migrationctl against environment NAME
  local name=$1
  shift
  migrationctl "$@" --server="127.0.0.1:$(cat "$WORK/$name.port")" --token-file="$ETC/$name.token"
}

readme_blocks "$ROOT/README.md" "Servers with gRPC enabled, and across an air gap"
for what in 'migration-worker' 'migrationctl migrate' 'migrationctl history' \
            'migrationctl export' 'migrationctl inspect' 'migrationctl import'; do
  grep -q -- "$what" "${BLOCKS[@]}" || fail "the README section does not run '$what'"
done

start_server dev --conductor_api_only
start_server prod --conductor_api_only
DEV="127.0.0.1:$(cat "$WORK/dev.port")"
PROD="127.0.0.1:$(cat "$WORK/prod.port")"
# What dev already holds: the quickstart's order-processing set.
ctl dev definitions load "$ROOT/deploy/quickstart/sample" >"$WORK/seed.log" 2>&1

WORKFLOW_ID=""
# The block with the README's names replaced by this test's servers and files.
render() {
  sed -e "s|dev-conductor:8090|$DEV|g" -e "s|prod-conductor:8090|$PROD|g" \
      -e "s|/etc/cmig|$ETC|g" -e "s|/usr/local/share/cmig/workflows|$ROOT/workflows|g" \
      -e "s|WORKFLOW_ID|$WORKFLOW_ID|g" "$1"
}

for block in "${BLOCKS[@]}"; do
  n=$(basename "$block" .sh)
  if grep -q 'WORKFLOW_ID' "$block" && [ -z "$WORKFLOW_ID" ]; then
    fail "block $n needs the migration's id, but no earlier block started a migration"
  fi
  if grep -q 'migrationctl export' "$block"; then
    # Between the two flows dev gains order_processing v2: the package must carry it to prod.
    mkdir -p "$WORK/v2"
    sed '0,/"version": 1,/s//"version": 2,/' "$ROOT/deploy/quickstart/sample/order_processing.json" \
      >"$WORK/v2/order_processing.json"
    ctl dev definitions load "$WORK/v2" >>"$WORK/seed.log" 2>&1
  fi
  render "$block" >"$WORK/run-$n.sh"
  if grep -q -e 'dev-conductor\|prod-conductor\|/etc/cmig' "$WORK/run-$n.sh"; then
    fail "block $n names a host or path this test does not stand in for"
  fi
  # Sourced so that what it starts in the background (the workers) is this shell's to stop.
  cd "$WORK/ops"
  # shellcheck disable=SC1090
  source "$WORK/run-$n.sh" >"$WORK/block-$n.log" 2>&1
  cd "$WORK"
  for pid in $(jobs -p); do PIDS+=("$pid"); done
  if grep -q 'migration-worker' "$block"; then
    # Both workers registered the migration definitions with their servers.
    wait_for registered_twice "$WORK/block-$n.log" ||
      fail "the workers did not register their definitions"
  fi
  if grep -q 'migrationctl migrate' "$block"; then
    WORKFLOW_ID=$(awk '/^started outgoing_migration_request/ {print $3; exit}' "$WORK/block-$n.log")
    [ -n "$WORKFLOW_ID" ] || fail "migrate did not print the id it started"
    MIGRATE_LOG="$WORK/block-$n.log"
  fi
  if grep -q 'migrationctl history' "$block"; then HISTORY_LOG="$WORK/block-$n.log"; fi
  if grep -q 'migrationctl import' "$block"; then AIRGAP_LOG="$WORK/block-$n.log"; fi
done

# The online migration: completed, everything created and verified, the package inline.
has "$MIGRATE_LOG" "COMPLETED" "the migration did not complete"
has "$MIGRATE_LOG" "applied and verified; 6 tasks create, 4 workflows create" "the migration did not create the set"
has "$MIGRATE_LOG" "Verification: ok, 10 checked" "the migration was not verified"
has "$HISTORY_LOG" "cmig_push_package" "history lacks the push step"
has "$HISTORY_LOG" "(inline)" "the package did not travel inline"
has "$HISTORY_LOG" "reading the selection one by one" "fetch did not read the selection one by one"
has "$HISTORY_LOG" "incoming_migration_request" "prod does not list the incoming workflow"
# The air gap: the package checked out and its import brought order_processing v2 to prod.
has "$AIRGAP_LOG" "wrote order.package.json" "export did not write the package"
has "$AIRGAP_LOG" "Checks: ok" "inspect did not pass the package"
has "$AIRGAP_LOG" "applied and verified; 6 tasks unchanged, 1 workflow create, 3 workflows unchanged" \
  "import did not create order_processing v2 alone"

# What prod holds, read back by a full orchestrator over prod's database (listing is one of the
# extensions the Conductor-only server lacks).
kill -TERM "$PROD_PID"
wait "$PROD_PID" 2>/dev/null || true
start_server prod
ctl prod definitions list >"$WORK/prod-definitions.log" 2>&1
for def in "order_processing v1" "order_processing v2" "payment_flow v1" "shipping_flow v1" \
           "notify_customer v1"; do
  has "$WORK/prod-definitions.log" "  $def" "prod does not hold $def"
done
# The tokens never reached any output.
for t in "$ETC"/*.token; do
  if grep -rqF -- "$(cat "$t")" "$WORK"/*.log; then fail "a token was printed"; fi
done

stop_all
for pid in "${PIDS[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then fail "process $pid is still running"; fi
done
echo "conductor servers README section ok"
