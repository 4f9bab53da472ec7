#!/usr/bin/env bash
# A real migration on one machine: two embedded orchestrators (dev and prod, each with its own
# SQLite file and token), a migration worker for each, a sample order-processing workflow set
# loaded into dev, and `migrationctl migrate --wait` carrying it to prod. Everything it starts
# is stopped when it ends, whether it succeeds or not. Re-running it starts from scratch.
#
#   bash deploy/quickstart.sh            # install dependencies, build, run
#   QUICKSTART_DIR=/tmp/qs bash deploy/quickstart.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
WORK="${QUICKSTART_DIR:-${TMPDIR:-/tmp}/cmig-quickstart}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# QUICKSTART_SKIP_BUILD=1 uses the programs already in BUILD_DIR (the test suite does this).
if [ -z "${QUICKSTART_SKIP_BUILD:-}" ]; then
  step "Installing dependencies and building"
  bash "$ROOT/deploy/install-deps.sh"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja >/dev/null
  cmake --build "$BUILD" --target orchestrator migration-worker migrationctl
fi
ORCH="$BUILD/orchestrator/orchestrator"
WORKER="$BUILD/worker/migration-worker"
CTL="$BUILD/cli/migrationctl"

rm -rf "$WORK"
mkdir -p "$WORK"
chmod 700 "$WORK"

PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    echo "quickstart failed (exit $rc); logs are in $WORK" >&2
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

# Waits up to 30 s for a file to appear (a port file written once a server is serving).
wait_for_file() {
  for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2
  return 1
}

# Each environment gets a random token; tokens live in files readable only by this user and
# never appear on a command line.
new_token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

start_env() {
  local name=$1
  new_token >"$WORK/$name.token"
  cp "$WORK/$name.token" "$WORK/$name.tokens"
  "$ORCH" --db="$WORK/$name.db" --listen=127.0.0.1:0 --tokens_file="$WORK/$name.tokens" \
    --port_file="$WORK/$name.port" --http_listen=127.0.0.1:0 \
    --http_port_file="$WORK/$name.http-port" >"$WORK/$name-orchestrator.log" 2>&1 &
  PIDS+=($!)
  wait_for_file "$WORK/$name.port"
  wait_for_file "$WORK/$name.http-port"
  echo "$name orchestrator on 127.0.0.1:$(cat "$WORK/$name.port") (gRPC)," \
    "http://127.0.0.1:$(cat "$WORK/$name.http-port")/api (Conductor's REST API)"
}

start_worker() {
  local name=$1
  CONDUCTOR_SERVER_URL="127.0.0.1:$(cat "$WORK/$name.port")" \
  CONDUCTOR_AUTH_TOKEN_FILE="$WORK/$name.token" \
    "$WORKER" --workflows_dir="$ROOT/workflows" >"$WORK/$name-worker.log" 2>&1 &
  PIDS+=($!)
}

# migrationctl against one environment.
ctl() {
  local name=$1
  shift
  "$CTL" "$@" --server="127.0.0.1:$(cat "$WORK/$name.port")" --token-file="$WORK/$name.token"
}

step "Starting the dev and prod environments"
start_env dev
start_env prod
start_worker dev
start_worker prod
# The worker registers the migration workflows at startup; wait until each side has them.
wait_for_definition() {
  for _ in $(seq 300); do
    ctl "$1" definitions list 2>/dev/null | grep -q "$2" && return 0
    sleep 0.1
  done
  echo "the $1 worker did not register $2; see $WORK/$1-worker.log" >&2
  return 1
}
wait_for_definition dev outgoing_migration_request
wait_for_definition prod incoming_migration_request

step "Registering prod as a target of dev (its token goes into dev's secret store)"
ctl dev secret put prod_token --from-file "$WORK/prod.token"
ctl dev env add prod --address "127.0.0.1:$(cat "$WORK/prod.port")" --token-secret prod_token
ctl dev env list

step "Loading the sample order-processing definitions into dev"
ctl dev definitions load "$ROOT/deploy/quickstart/sample"

step "Migrating order_processing (and everything it references) from dev to prod"
ctl dev migrate --target prod --workflow order_processing --wait | tee "$WORK/migrate.out"
ID=$(awk '/^started outgoing_migration_request/ {print $3; exit}' "$WORK/migrate.out")

step "Step history of the migration ($ID)"
ctl dev history "$ID"

step "What prod holds now"
ctl prod definitions list

step "Running it again: everything is unchanged, nothing is written"
ctl dev migrate --target prod --workflow order_processing --wait | tail -n 15

echo
echo "Done. Logs and databases are in $WORK; every process started here has been stopped."
