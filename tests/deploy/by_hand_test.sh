#!/usr/bin/env bash
# Runs README.md's "Two embedded environments by hand" as written, on real processes: two
# orchestrators and two workers started by the section's own commands, prod registered with dev,
# the sample set loaded, and a dry run that plans every definition. The section's fixed ports
# become free ones, its ~/cmig a temporary folder and build/ this build; nothing else changes.
# Fails when a command fails, the plan is not what the section promises, or a token is printed.
set -euo pipefail
ROOT=$1
BUILD=$2
WORK=$(mktemp -d)
unset CMIG_SERVER CMIG_TOKEN

# shellcheck source=tests/deploy/readme_section_lib.sh
source "$ROOT/tests/deploy/readme_section_lib.sh"

readme_blocks "$ROOT/README.md" "Two embedded environments by hand"
block="${BLOCKS[0]}"
for what in 'build/orchestrator/orchestrator' 'build/worker/migration-worker' 'env add prod' \
            'secret put prod_token' 'migrate --target prod'; do
  grep -qF -- "$what" "$block" || fail "the README section does not run '$what'"
done
script="$WORK/by-hand.sh"
sed -e "s#build/#$BUILD/#g" -e "s#~/cmig#$WORK/cmig#g" \
    -e "s#8090#$(free_port)#g" -e "s#9090#$(free_port)#g" \
    -e "s#8080#$(free_port)#g" -e "s#9080#$(free_port)#g" "$block" >"$script"

cd "$ROOT"
# The section's background servers and workers belong to this shell: stopped on exit.
# shellcheck disable=SC1090
source "$script" >"$WORK/section.log" 2>&1
mapfile -t started < <(jobs -p)
PIDS+=("${started[@]}")
[ "${#started[@]}" -eq 4 ] || fail "the section starts ${#started[@]} processes, not 4"

has "$WORK/section.log" "dry run: nothing was changed; 6 tasks create, 4 workflows create" \
  "the dry run plans the whole sample set"
has "$WORK/section.log" "workflow  order_processing   v1      v1      create" \
  "order_processing is planned"
for token in "$WORK"/cmig/*.token; do
  if grep -qF -- "$(cat "$token")" "$WORK/section.log"; then fail "a token was printed"; fi
done
echo PASS
