#!/usr/bin/env bash
# Runs the commands of README.md's "Migrating between two real Conductor servers" as written,
# on real processes. Two orchestrators stand in for the servers the section names: dev
# (http://dev-conductor:8080/api) is `orchestrator --conductor_api_only` without authentication,
# serving Conductor's REST API as conductor-oss does; prod (https://prod-conductor.example.com/api)
# is a full orchestrator behind TLS with a private CA and access keys, as an Orkes server. The
# section's own commands start the home orchestrator and its worker. /etc/cmig, /var/lib/cmig
# and the installed workflows directory become temporary and source paths; nothing else changes.
# Fails when a command fails or its outcome is not what the section promises: the migration
# completes and is verified, prod holds the definitions (read back with curl), both workflows'
# history is on the home, and no token or key secret reaches any output. Nothing is left running.
set -euo pipefail
ROOT=$1
BUILD=$2
WORK=$(mktemp -d)
ETC="$WORK/etc-cmig"
mkdir -p "$ETC" "$WORK/ops"
export PATH="$BUILD/worker:$BUILD/cli:$BUILD/orchestrator:$PATH"
unset CMIG_SERVER CMIG_TOKEN

# shellcheck source=tests/deploy/readme_section_lib.sh
source "$ROOT/tests/deploy/readme_section_lib.sh"

# start_server NAME FLAGS...: an orchestrator on free loopback ports (gRPC and REST).
start_server() {
  local name=$1
  shift
  "$BUILD/orchestrator/orchestrator" --db="$WORK/$name.db" --listen=127.0.0.1:0 \
    --port_file="$WORK/$name.port" --http_listen=127.0.0.1:0 \
    --http_port_file="$WORK/$name.http_port" "$@" >>"$WORK/$name-orchestrator.log" 2>&1 &
  PIDS+=($!)
  wait_for test -s "$WORK/$name.http_port" || fail "the $name orchestrator did not start"
}

readme_blocks "$ROOT/README.md" "Migrating between two real Conductor servers"
for what in 'migration-worker' 'migrationctl env add' 'migrationctl secret put' \
            'migrationctl migrate' 'migrationctl history'; do
  grep -q -- "$what" "${BLOCKS[@]}" || fail "the README section does not run '$what'"
done

# dev: conductor-oss as it ships (REST, no authentication), holding the quickstart's set.
start_server dev --conductor_api_only
DEV_URL="http://127.0.0.1:$(cat "$WORK/dev.http_port")/api"
migrationctl definitions load "$ROOT/deploy/quickstart/sample" \
  --server="127.0.0.1:$(cat "$WORK/dev.port")" >"$WORK/seed.log" 2>&1

# prod: an Orkes stand-in behind TLS with a private CA; an operator token for its admin, and an
# access key whose secret the operator keeps in /etc/cmig/prod-key.secret.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$WORK/prod-key.pem" -out "$ETC/prod-ca.pem" >"$WORK/openssl.log" 2>&1
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/prod-admin.token"
start_server prod --tokens_file="$WORK/prod-admin.token" --tls_cert="$ETC/prod-ca.pem" \
  --tls_key="$WORK/prod-key.pem"
PROD_URL="https://127.0.0.1:$(cat "$WORK/prod.http_port")/api"
prodctl() {
  migrationctl "$@" --server="127.0.0.1:$(cat "$WORK/prod.port")" \
    --token-file="$WORK/prod-admin.token" --tls --tls-ca-file="$ETC/prod-ca.pem"
}
prodctl access-key create --output "$WORK/prod-key.json" >"$WORK/access-key.log" 2>&1 ||
  fail "no access key could be made in prod"
KEY_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyId"])' "$WORK/prod-key.json")
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keySecret"])' \
  "$WORK/prod-key.json" >"$ETC/prod-key.secret"
chmod 600 "$ETC/prod-key.secret"

HOME_PORT=$(free_port)
WORKFLOW_ID=""
render() {
  sed -e "s|http://dev-conductor:8080/api|$DEV_URL|g" \
      -e "s|https://prod-conductor.example.com/api|$PROD_URL|g" \
      -e "s|127.0.0.1:8090|127.0.0.1:$HOME_PORT|g" -e "s|PROD_KEY_ID|$KEY_ID|g" \
      -e "s|/etc/cmig|$ETC|g" -e "s|/var/lib/cmig|$WORK/var|g" \
      -e "s|/usr/local/share/cmig/workflows|$ROOT/workflows|g" \
      -e "s|WORKFLOW_ID|$WORKFLOW_ID|g" "$1"
}

for block in "${BLOCKS[@]}"; do
  n=$(basename "$block" .sh)
  if grep -q 'WORKFLOW_ID' "$block" && [ -z "$WORKFLOW_ID" ]; then
    fail "block $n needs the migration's id, but no earlier block started a migration"
  fi
  render "$block" >"$WORK/run-$n.sh"
  if grep -q -e 'dev-conductor\|prod-conductor\|/etc/cmig\|/var/lib/cmig' "$WORK/run-$n.sh"; then
    fail "block $n names a host or path this test does not stand in for"
  fi
  # Sourced so that what it starts in the background is this shell's to stop, and what it
  # exports (CMIG_SERVER, CMIG_TOKEN) holds for the next blocks, as in the operator's shell.
  cd "$WORK/ops"
  # shellcheck disable=SC1090
  source "$WORK/run-$n.sh" >"$WORK/block-$n.log" 2>&1
  cd "$WORK"
  for pid in $(jobs -p); do PIDS+=("$pid"); done
  if grep -q 'migration-worker' "$block"; then
    wait_for grep -q 'definitions from' "$WORK/block-$n.log" ||
      fail "the worker did not register its definitions"
  fi
  if grep -q 'migrationctl migrate' "$block"; then
    WORKFLOW_ID=$(awk '/^started outgoing_migration_request/ {print $3; exit}' "$WORK/block-$n.log")
    [ -n "$WORKFLOW_ID" ] || fail "migrate did not print the id it started"
    MIGRATE_LOG="$WORK/block-$n.log"
  fi
  if grep -q 'migrationctl history' "$block"; then HISTORY_LOG="$WORK/block-$n.log"; fi
  if grep -q 'migrationctl env list' "$block"; then ENV_LOG="$WORK/block-$n.log"; fi
done

has "$ENV_LOG" "REST" "env list does not show the REST protocol"
has "$MIGRATE_LOG" "COMPLETED" "the migration did not complete"
has "$MIGRATE_LOG" "applied and verified; 6 tasks create, 4 workflows create" "the migration did not create the set"
has "$MIGRATE_LOG" "Verification: ok, 10 checked" "the migration was not verified"
has "$HISTORY_LOG" "cmig_apply_migration" "history lacks the incoming workflow's steps"
has "$HISTORY_LOG" "(here, for REST environment 'prod')" "history does not say where the incoming ran"
has "$HISTORY_LOG" "over REST" "history does not say the source was read over REST"

# What prod holds, read back with curl through its CA and the operator's token.
for def in "order_processing" "payment_flow" "shipping_flow" "notify_customer"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$ETC/prod-ca.pem" \
    -H "X-Authorization: $(cat "$WORK/prod-admin.token")" "$PROD_URL/metadata/workflow/$def")
  [ "$code" = 200 ] || fail "prod does not hold $def (HTTP $code)"
done
# The migration's own definitions stay on the home.
names=$(curl -sS --cacert "$ETC/prod-ca.pem" -H "X-Authorization: $(cat "$WORK/prod-admin.token")" \
  "$PROD_URL/metadata/workflow/names")
case "$names" in *migration_request*) fail "the migration's workflows reached prod" ;; esac

# No token or key secret reached any output.
for secret in "$(cat "$ETC/prod-key.secret")" "$(cat "$ETC/home.token")" \
              "$(cat "$WORK/prod-admin.token")"; do
  if grep -rqF -- "$secret" "$WORK"/*.log; then fail "a secret was printed"; fi
done

stop_all
for pid in "${PIDS[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then fail "process $pid is still running"; fi
done
echo "REST servers README section ok"
