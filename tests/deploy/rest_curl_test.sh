#!/usr/bin/env bash
# Conductor's REST API of the `orchestrator` binary, driven by the curl command line as an
# operator's script would: definitions, a workflow run by a worker that polls and updates over
# HTTP, 401/403, and an access key made with migrationctl exchanged for a token at /api/token.
# Fails when any answer is not what conductor-oss (or Orkes, for the token) would give.
set -euo pipefail
ROOT=$1
BUILD=$2
WORK=$(mktemp -d)
PID=""
cleanup() {
  local rc=$?
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    tail -n 40 "$WORK/orchestrator.log" 2>/dev/null || true
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
json() {  # json FIELD: one field of the JSON document on stdin
  python3 -c 'import json, sys; v = json.load(sys.stdin); print(eval("v" + sys.argv[1]))' "$1"
}

head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/token"
cp "$WORK/token" "$WORK/tokens"
"$BUILD/orchestrator/orchestrator" --db="$WORK/o.db" --listen=127.0.0.1:0 \
  --port_file="$WORK/grpc.port" --http_listen=127.0.0.1:0 --http_port_file="$WORK/http.port" \
  --tokens_file="$WORK/tokens" --max_workflow_input_kb=64 >"$WORK/orchestrator.log" 2>&1 &
PID=$!
for _ in $(seq 300); do [ -s "$WORK/http.port" ] && break; sleep 0.1; done
[ -s "$WORK/http.port" ] || fail "the orchestrator wrote no HTTP port"
API="http://127.0.0.1:$(cat "$WORK/http.port")/api"
AUTH="X-Authorization: $(cat "$WORK/token")"
c() { curl -sS -H "$AUTH" -H 'Content-Type: application/json' "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

[ "$(code "$API/metadata/taskdefs")" = 401 ] || fail "no token must be 401"
[ "$(code -H 'X-Authorization: wrong' "$API/metadata/taskdefs")" = 403 ] ||
  fail "a wrong token must be 403"
[ "$(code "http://127.0.0.1:$(cat "$WORK/http.port")/health")" = 200 ] || fail "/health"

c -f -X POST "$API/metadata/taskdefs" \
  -d '[{"name":"greet","retryCount":0,"timeoutSeconds":600,"responseTimeoutSeconds":60}]'
HELLO='{"name":"hello","version":1,"schemaVersion":2,
  "outputParameters":{"greeting":"${greet.output.text}"},
  "tasks":[{"name":"greet","taskReferenceName":"greet","type":"SIMPLE",
            "inputParameters":{"who":"${workflow.input.who}"}}]}'
c -f -X POST "$API/metadata/workflow" -d "$HELLO"
[ "$(code -H "$AUTH" -H 'Content-Type: application/json' -X POST "$API/metadata/workflow" \
  -d "$HELLO")" = 409 ] || fail "a second create must be 409"

# A start request past --max_workflow_input_kb (64 KB here) is refused, naming the limit.
python3 -c 'import json; print(json.dumps({"who": "x" * 70000}))' >"$WORK/big-input.json"
[ "$(code -H "$AUTH" -H 'Content-Type: application/json' -X POST "$API/workflow/hello" \
  -d @"$WORK/big-input.json")" = 400 ] || fail "an input past the limit must be 400"
c -X POST "$API/workflow/hello" -d @"$WORK/big-input.json" | grep -q "65536 bytes" ||
  fail "the refusal names the limit"
id=$(c -f -X POST "$API/workflow/hello" -d '{"who":"world"}')
task=$(c -f "$API/tasks/poll/batch/greet?count=1&timeout=2000&workerid=curl")
[ "$(echo "$task" | json '[0]["inputData"]["who"]')" = world ] || fail "polled: $task"
task_id=$(echo "$task" | json '[0]["taskId"]')
c -f -X POST "$API/tasks" -d "{\"taskId\":\"$task_id\",\"workflowInstanceId\":\"$id\",
  \"status\":\"COMPLETED\",\"outputData\":{\"text\":\"hello, world\"}}" >/dev/null
wf=$(c -f "$API/workflow/$id")
[ "$(echo "$wf" | json '["status"]')" = COMPLETED ] || fail "workflow: $wf"
[ "$(echo "$wf" | json '["output"]["greeting"]')" = "hello, world" ] || fail "output: $wf"
# Who polled the queue, and when, as Conductor's poll data.
polls=$(c -f "$API/tasks/queue/polldata?taskType=greet")
[ "$(echo "$polls" | json '[0]["queueName"]')" = greet ] || fail "polldata: $polls"
[ "$(echo "$polls" | json '[0]["workerId"]')" = curl ] || fail "polldata worker: $polls"
[ "$(echo "$polls" | json '[0]["lastPollTime"] > 0')" = True ] || fail "polldata time: $polls"
all_polls=$(c -f "$API/tasks/queue/polldata/all")
[ "$(echo "$all_polls" | json '.__len__()')" = 1 ] || fail "polldata/all: $all_polls"
[ "$(echo "$all_polls" | json '[0]["queueName"]')" = greet ] || fail "polldata/all: $all_polls"
[ "$(code -H "$AUTH" "$API/tasks/queue/polldata")" = 400 ] || fail "polldata without taskType"

"$BUILD/cli/migrationctl" access-key create --output "$WORK/key.json" \
  --server="127.0.0.1:$(cat "$WORK/grpc.port")" --token-file="$WORK/token" >/dev/null
[ "$(stat -c %a "$WORK/key.json")" = 600 ] || fail "the key file must be 0600"
token=$(curl -sS -f -H 'Content-Type: application/json' -X POST "$API/token" \
  -d @"$WORK/key.json" | json '["token"]')
[ "$(code -H "X-Authorization: $token" "$API/workflow/$id")" = 200 ] ||
  fail "the issued token must be accepted"
key_id=$(json '["keyId"]' <"$WORK/key.json")
"$BUILD/cli/migrationctl" access-key revoke "$key_id" \
  --server="127.0.0.1:$(cat "$WORK/grpc.port")" --token-file="$WORK/token" >/dev/null
[ "$(code -H 'Content-Type: application/json' -X POST "$API/token" -d @"$WORK/key.json")" = 401 ] ||
  fail "a revoked key must not get a token"
echo PASS
