#!/usr/bin/env bash
# A migration of one big package between two local environments, as README.md's quickstart sets
# them up (two orchestrators, two migration workers, real processes on loopback):
#   bash benchmarks/migration/big_package.sh [BUILD_DIR] [WORKFLOWS] [KB_PER_WORKFLOW]
# Defaults: 2,000 workflows of about 100 KB each, a package of about 200 MB. Prints the time and
# peak memory of loading the set into dev, exporting it to a file, inspecting that file, and
# migrating it dev -> prod with --wait; each process's peak RSS (VmHWM); and what prod's package
# store still holds afterwards (the package blobs are released when the migration ends).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$(realpath "${1:-$ROOT/build}")"
COUNT="${2:-2000}"
KB="${3:-100}"
ORCH="$BUILD/orchestrator/orchestrator"
WORKER="$BUILD/worker/migration-worker"
CTL="$BUILD/cli/migrationctl"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] && echo "work: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_file() {
  for _ in $(seq 300); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2
  return 1
}
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$1/status"; }
measure() {  # measure LABEL COMMAND...: prints the command's wall time and peak RSS
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/$label.out" 2>&1 ||
    { cat "$WORK/$label.out"; echo "$label failed" >&2; return 1; }
  read -r secs kb <"$WORK/time"
  printf '%-28s %8s s %8.0f MB\n' "$label" "$secs" "$((kb / 1024))"
}

declare -A PID_OF
start_env() {
  local name=$1
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/$name.token"
  cp "$WORK/$name.token" "$WORK/$name.tokens"
  "$ORCH" --db="$WORK/$name.db" --listen=127.0.0.1:0 --tokens_file="$WORK/$name.tokens" \
    --port_file="$WORK/$name.port" --http_listen= >"$WORK/$name-orchestrator.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name-orchestrator]=$!
  wait_for_file "$WORK/$name.port"
  CONDUCTOR_SERVER_URL="127.0.0.1:$(cat "$WORK/$name.port")" \
  CONDUCTOR_AUTH_TOKEN_FILE="$WORK/$name.token" \
    "$WORKER" --workflows_dir="$ROOT/workflows" >"$WORK/$name-worker.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name-worker]=$!
}
conn() { echo "--server=127.0.0.1:$(cat "$WORK/$1.port") --token-file=$WORK/$1.token"; }
ctl() {
  local name=$1
  shift
  # shellcheck disable=SC2046
  "$CTL" "$@" $(conn "$name")
}

mkdir -p "$WORK/defs"
python3 - "$WORK/defs" "$COUNT" "$KB" <<'PY'
import json, sys
out, count, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    # A long description stands in for the bulk real definitions carry (scripts, templates).
    pad = ("workflow %d of the big-package benchmark; " % i) * (kb * 1024 // 40)
    wf = {"name": "big_%05d" % i, "version": 1, "schemaVersion": 2, "description": pad[:kb * 1024],
          "ownerEmail": "bench@example.com",
          "tasks": [{"name": "big_task_%05d" % i, "taskReferenceName": "t", "type": "SIMPLE"}]}
    with open("%s/big_%05d.json" % (out, i), "w") as f:
        json.dump(wf, f)
PY
echo "set: $COUNT workflows of about $KB KB ($(du -sm "$WORK/defs" | cut -f1) MB of JSON)"

start_env dev
start_env prod
for env in dev prod; do
  for _ in $(seq 300); do
    ctl $env definitions list 2>/dev/null | grep -q _migration_request && break
    sleep 0.1
  done
done
ctl dev secret put prod_token --from-file "$WORK/prod.token" >/dev/null
ctl dev env add prod --address "127.0.0.1:$(cat "$WORK/prod.port")" --token-secret prod_token \
  >/dev/null

printf '%-28s %10s %11s\n' "" "wall" "peak RSS"
# shellcheck disable=SC2046
measure "definitions load (dev)" "$CTL" definitions load "$WORK/defs" $(conn dev)
cat >"$WORK/export.textproto" <<CONF
source { environment: "dev" address: "127.0.0.1:$(cat "$WORK/dev.port")" token_file: "$WORK/dev.token" }
selection { all_workflows: true }
CONF
measure "export (package file)" "$CTL" export --config "$WORK/export.textproto" \
  --output "$WORK/big.cmigpkg.json"
echo "package: $(du -m "$WORK/big.cmigpkg.json" | cut -f1) MB"
measure "inspect" "$CTL" inspect "$WORK/big.cmigpkg.json"
# shellcheck disable=SC2046
measure "migrate dev -> prod --wait" "$CTL" migrate --target prod --all-workflows --wait \
  $(conn dev)
grep -E "^(Result|Migration|Verification)|create" "$WORK/migrate dev -> prod --wait.out" | head -5
for p in dev-orchestrator dev-worker prod-orchestrator prod-worker; do
  printf '%-28s peak RSS %s\n' "$p" "$(peak_rss_mb "${PID_OF[$p]}")"
done
for env in dev prod; do
  blobs=$(sqlite3 "$WORK/$env.db" "SELECT count(*), coalesce(sum(size), 0) FROM cmig_blobs" \
    2>/dev/null || echo "?")
  echo "$env package store after the migration (blobs, bytes): $blobs"
done
