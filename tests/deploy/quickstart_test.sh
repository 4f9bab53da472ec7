#!/usr/bin/env bash
# Runs the README's main command (deploy/quickstart.sh) on the programs this build produced and
# checks what a newcomer would see: a migration that creates the sample set in prod, a second
# run that changes nothing, and no process left behind.
set -euo pipefail
ROOT=$1
BUILD=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

out=$(QUICKSTART_SKIP_BUILD=1 BUILD_DIR="$BUILD" QUICKSTART_DIR="$WORK/qs" \
      bash "$ROOT/deploy/quickstart.sh" 2>&1) || { echo "$out"; echo "quickstart failed"; exit 1; }

fail() { echo "$out"; echo "FAIL: $*"; exit 1; }
grep -q "applied and verified; 6 tasks create, 4 workflows create" <<<"$out" || fail "first run did not create the sample set"
grep -q "6 tasks unchanged, 4 workflows unchanged" <<<"$out" || fail "second run was not all unchanged"
grep -q "Verification: ok, 10 checked" <<<"$out" || fail "verification did not pass"
grep -q "^  order_processing v1" <<<"$out" || fail "prod does not list order_processing"
grep -q "cmig_apply_migration" <<<"$out" || fail "history lacks the incoming steps"
grep -q "secret payment_gateway_key (used by payment_flow v1" <<<"$out" || fail "the secret dependency is not reported"
grep -q "System task types used: .*SUB_WORKFLOW" <<<"$out" || fail "system task types are not summarised"
if pgrep -f "$WORK/qs" >/dev/null; then fail "processes left running"; fi
# The token files' contents never reach the output.
for t in "$WORK"/qs/*.token; do
  if grep -qF "$(cat "$t")" <<<"$out"; then fail "a token was printed"; fi
done
echo "quickstart ok"
