#!/usr/bin/env bash
# Builds deploy/Containerfile for real and proves the image works, on a machine with no
# container registry: the debian:12 base is bootstrapped from Debian's archive and imported.
#
#   sudo deploy/verify/container.sh        # exit 0 only if every check passed
#
# Checks: the image builds with --pull=never; the three programs link (no missing library);
# migration-worker --help runs; the image runs as uid 10001 with the workflows in
# /usr/local/share/cmig/workflows; an orchestrator container and a worker container (read-only
# root, all capabilities dropped, no new privileges, like deploy/k8s/worker.yaml) share a private
# network; the worker registers every definition in workflows/; its metrics, /healthz and
# grpc.health.v1 answer; `podman stop` ends both with exit status 0; the orchestrator's state
# survives a restart.
#
# Environment:
#   CMIG_VERIFY_DIR          work area, never in the repository [/var/tmp/cmig-verify]
#   CMIG_VERIFY_KEEP_STORAGE 1 = reuse the image storage and its layer cache (fast re-check);
#                            default: start from empty storage, so the whole build runs
#   CMIG_VERIFY_REBOOTSTRAP  1 = debootstrap the base image again instead of the cached tarball
#   CMIG_IMAGE               tag to build [localhost/cmig/migration-worker:verify]
#   CMIG_STORAGE_DRIVER      overlay (default) or vfs where overlay mounts are not allowed
#   CMIG_DEBIAN_MIRROR       Debian mirror [the one apt uses here]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=deploy/verify/lib.sh
. "$HERE/lib.sh"

require_root
WORK="$CMIG_VERIFY_DIR/container"
IMAGE="${CMIG_IMAGE:-localhost/cmig/migration-worker:verify}"
ORCH=cmig-verify-orchestrator
WORKER=cmig-verify-worker
mkdir -p "$WORK"

ensure_packages podman buildah runc debootstrap python3 python3-grpcio

# Why each option: podman's defaults assume a systemd host with a registry and cgroup v2.
#  --root/--runroot    storage apart from any other podman use, removable as a whole
#  --runtime runc      crun refuses this host's hybrid cgroups (a v2 controller next to v1)
#  --cgroup-manager cgroupfs, --events-backend file: there is no systemd/journald on the host
PODMAN=(podman --root "$WORK/storage" --runroot "$WORK/runroot"
  --storage-driver "${CMIG_STORAGE_DRIVER:-overlay}" --runtime runc
  --cgroup-manager cgroupfs --events-backend file)
pm() { "${PODMAN[@]}" "$@"; }
# Podman's default limits are above this host's hard limits and raising them needs
# CAP_SYS_RESOURCE; runc also refuses nproc above kernel.pid_max.
NPROC=$(ulimit -Hu)
PID_MAX=$(cat /proc/sys/kernel/pid_max)
[ "$NPROC" = unlimited ] || [ "$NPROC" -gt "$PID_MAX" ] && NPROC=$PID_MAX
ULIMITS=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$NPROC:$NPROC")

cleanup() {
  # One at a time: podman 4.3's `rm -f -t 5 a b` removes only a.
  local c
  for c in "$WORKER" "$ORCH"; do
    "${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

# --- 1. Base image: debian:12 and debian:12-slim made locally ------------------------------
BASE_TAR="$CMIG_VERIFY_DIR/debian12-minbase.tar"
if [ ! -s "$BASE_TAR" ] || [ "${CMIG_VERIFY_REBOOTSTRAP:-0}" = 1 ]; then
  log "debootstrap bookworm (minbase) from $(debian_mirror)"
  rm -rf "$WORK/base-rootfs"
  debootstrap --variant=minbase bookworm "$WORK/base-rootfs" "$(debian_mirror)" >"$WORK/debootstrap.log" 2>&1 ||
    fail "debootstrap failed, see $WORK/debootstrap.log"
  write_debian_sources "$WORK/base-rootfs"
  rm -rf "$WORK/base-rootfs/var/lib/apt/lists/"* "$WORK/base-rootfs/var/cache/apt/"*.bin
  tar --numeric-owner -C "$WORK/base-rootfs" -cf "$BASE_TAR.tmp" .
  mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf "$WORK/base-rootfs"
fi

if [ "${CMIG_VERIFY_KEEP_STORAGE:-0}" != 1 ]; then
  log "empty image storage (CMIG_VERIFY_KEEP_STORAGE=1 keeps the layer cache)"
  # Not `podman system reset`: that also deletes the host's podman networks.
  awk -v d="$WORK/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$WORK/storage" "$WORK/runroot"
fi
if ! pm image exists docker.io/library/debian:12; then
  pm import -q --change 'CMD ["bash"]' "$BASE_TAR" docker.io/library/debian:12 >/dev/null
fi
pm tag docker.io/library/debian:12 docker.io/library/debian:12-slim
pass "base images debian:12 and debian:12-slim present locally"

# --- 2. Build -------------------------------------------------------------------------------
log "building $IMAGE (4 to 20 minutes on 2 cores, by how busy they are)"
build_start=$(date +%s)
# --isolation chroot: RUN steps need no OCI runtime or cgroups; --network host: apt reaches
# the mirror without a bridge network.
pm build --pull=never --network host --isolation chroot \
  --ignorefile "$REPO/deploy/containerignore" -f "$REPO/deploy/Containerfile" \
  -t "$IMAGE" "$REPO" >"$WORK/build.log" 2>&1 || {
  tail -30 "$WORK/build.log" >&2
  fail "podman build failed, see $WORK/build.log"
}
pass "image built in $(($(date +%s) - build_start)) s ($(pm image inspect -f '{{.Size}}' "$IMAGE") bytes)"

# --- 3. Static checks on the image ----------------------------------------------------------
run() { pm run --rm --network none "${ULIMITS[@]}" "$@"; }
[ "$(pm image inspect -f '{{.Config.User}}' "$IMAGE")" = 10001 ] || fail "image user is not 10001"
[ "$(run --entrypoint id "$IMAGE" -u)" = 10001 ] || fail "container does not run as uid 10001"
pass "runs as uid 10001 (non-root)"

missing=$(run --entrypoint sh "$IMAGE" -c \
  'ldd /usr/local/bin/migration-worker /usr/local/bin/orchestrator /usr/local/bin/migrationctl' |
  grep 'not found' || true)
[ -z "$missing" ] || fail "missing libraries in the runtime image: $missing"
pass "all three programs find their shared libraries"

# absl's --help prints the usage and exits 1; --helpfull lists every flag.
help=$(run "$IMAGE" --help 2>&1 || true)
grep -q 'Polls an orchestrator' <<<"$help" || fail "migration-worker --help printed no usage: $help"
help=$(run "$IMAGE" --helpfull 2>&1 || true)
grep -q -- '--workflows_dir' <<<"$help" || fail "migration-worker --helpfull lists no --workflows_dir"
pass "migration-worker --help runs"
run --entrypoint /usr/local/bin/migrationctl "$IMAGE" help >/dev/null || fail "migrationctl help failed"
pass "migrationctl help runs"

expected="$WORK/expected-definitions.txt"
expected_definitions "$REPO/workflows" >"$expected"
shipped=$(run --entrypoint sh "$IMAGE" -c 'ls /usr/local/share/cmig/workflows /usr/local/share/cmig/workflows/taskdefs')
for f in "$REPO"/workflows/*.json "$REPO"/workflows/taskdefs/*.json; do
  grep -qx "$(basename "$f")" <<<"$shipped" || fail "image lacks workflows file $(basename "$f")"
done
pass "workflows shipped in /usr/local/share/cmig/workflows"

# --- 4. An orchestrator and a worker from the image -----------------------------------------
STATE="$WORK/orchestrator-state"
rm -rf "$STATE" "$WORK/secrets"
install -d -o 10001 -g 10001 -m 0700 "$STATE"
install -d -m 0755 "$WORK/secrets"
TOKEN=$(new_token)
(umask 077 && printf '%s\n' "$TOKEN" >"$WORK/secrets/orchestrator.tokens" &&
  printf '%s\n' "$TOKEN" >"$WORK/secrets/token")
chown 10001:10001 "$WORK/secrets/orchestrator.tokens" "$WORK/secrets/token"
unset TOKEN

cleanup
# --network none: a private network namespace with only loopback; the worker joins it, so the
# default ports (8090, 9464, 9465) cannot collide with anything on the host.
pm run -d --name "$ORCH" --network none "${ULIMITS[@]}" \
  -v "$STATE:/var/lib/cmig" -v "$WORK/secrets/orchestrator.tokens:/etc/cmig/orchestrator.tokens:ro" \
  --entrypoint /usr/local/bin/orchestrator "$IMAGE" \
  --db=/var/lib/cmig/orchestrator.db --listen=127.0.0.1:8090 \
  --tokens_file=/etc/cmig/orchestrator.tokens >/dev/null
orch_serving() { [ "$(pm logs "$ORCH" 2>&1 | grep -c 'serving on port 8090')" -ge "$1" ]; }
wait_until 30 "orchestrator serving" orch_serving 1 ||
  fail "orchestrator did not start: $(pm logs "$ORCH" 2>&1 | tail -5)"

# The image's own ENTRYPOINT and CMD, locked down the way deploy/k8s/worker.yaml runs it.
pm run -d --name "$WORKER" --network "container:$ORCH" "${ULIMITS[@]}" \
  --read-only --cap-drop all --security-opt no-new-privileges \
  -e CONDUCTOR_AUTH_TOKEN_FILE=/var/run/cmig/token \
  -v "$WORK/secrets/token:/var/run/cmig/token:ro" "$IMAGE" >/dev/null

listed="$WORK/definitions.json"
list_definitions() {
  pm exec "$ORCH" /usr/local/bin/migrationctl definitions list --json \
    --token-file /etc/cmig/orchestrator.tokens >"$listed" 2>/dev/null &&
    check_registered "$expected" "$listed"
}
wait_until 60 "worker registered $(wc -l <"$expected") definitions" list_definitions || {
  pm logs "$WORKER" 2>&1 | tail -20 >&2
  fail "the worker did not register the definitions in workflows/: $(check_registered "$expected" "$listed")"
}
pass "worker registered the workflows (migrationctl definitions list)"
[ "$(pm inspect -f '{{.State.Running}}' "$WORKER")" = true ] || fail "worker is not running"

http_get() { # PATH: HTTP/1.0 GET on the worker's metrics port, from inside the worker
  pm exec "$WORKER" bash -c "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET $1 HTTP/1.0\r\n\r\n' >&3 && cat <&3"
}
metrics_up() { pm exec "$WORKER" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9464'; }
wait_until 20 "metrics endpoint" metrics_up ||
  fail "nothing listens on the metrics port 9464"
http_get /metrics | head -1 | grep -q ' 200' || fail "GET /metrics did not answer 200"
http_get /healthz | head -1 | grep -q ' 200' || fail "GET /healthz did not answer 200"
pass "metrics on 9464: /metrics and /healthz answer 200"
ORCH_PID=$(pm inspect -f '{{.State.Pid}}' "$ORCH")
nsenter -t "$ORCH_PID" -n /usr/bin/python3 "$HERE/grpc_health.py" 127.0.0.1:9465 >&2 ||
  fail "grpc.health.v1 on 9465 is not SERVING"
pass "grpc.health.v1 on 9465 answers SERVING (the probe deploy/k8s/worker.yaml uses)"

# --- 5. Clean stop, and state that survives ------------------------------------------------
pm stop -t 45 "$WORKER" >/dev/null
code=$(pm inspect -f '{{.State.ExitCode}}' "$WORKER")
[ "$code" = 0 ] || fail "worker exited $code on SIGTERM: $(pm logs "$WORKER" 2>&1 | tail -5)"
pm logs "$WORKER" 2>&1 | grep -q 'drained; exiting' || fail "worker did not drain on SIGTERM"
pass "podman stop: worker drained and exited 0"
pm stop -t 30 "$ORCH" >/dev/null
code=$(pm inspect -f '{{.State.ExitCode}}' "$ORCH")
[ "$code" = 0 ] || fail "orchestrator exited $code on SIGTERM"
pass "podman stop: orchestrator exited 0"

pm start "$ORCH" >/dev/null
wait_until 30 "orchestrator restarted" orch_serving 2 ||
  fail "orchestrator did not restart"
list_definitions || fail "definitions lost across an orchestrator restart"
pass "orchestrator state in the volume survives a restart"
pm stop -t 30 "$ORCH" >/dev/null

log "PASS: container image $IMAGE verified in $(($(date +%s) - VERIFY_START)) s"
