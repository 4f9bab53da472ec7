#!/usr/bin/env python3
"""deploy/k8s/worker.yaml, checked against the programs it runs and then run as the pod would.

No cluster is needed: the Deployment's container is started as a process with the pod's
arguments and environment (ConfigMap, env, the token Secret mounted as a file), against a real
orchestrator with token checks on. The test then asks the probes' gRPC health port and the
annotated metrics port what a kubelet and Prometheus would ask, and stops the worker the way the
kubelet does (SIGTERM, then the grace period).

Usage: k8s_manifest_test.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request

import grpc
import yaml

SOURCE, BUILD = sys.argv[1], sys.argv[2]
MANIFEST = os.path.join(SOURCE, "deploy", "k8s", "worker.yaml")
WORKER = os.path.join(BUILD, "worker", "migration-worker")
ORCHESTRATOR = os.path.join(BUILD, "orchestrator", "orchestrator")

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving_status(answer):
    """The status number of an encoded HealthCheckResponse (tag 0x08, then the enum value)."""
    return answer[1] if len(answer) >= 2 and answer[0] == 0x08 else 0


def becomes_serving(port, seconds):
    """Watches grpc.health.v1 on the port (waiting for the server to come up) until it says
    SERVING; False if it does not within `seconds`."""
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = channel.unary_stream("/grpc.health.v1.Health/Watch")
            for answer in watch(b"", timeout=seconds, wait_for_ready=True):
                if serving_status(answer) == 1:
                    return True
    except grpc.RpcError as e:
        print(f"health watch on port {port}: {e.code()}")
    return False


# ---- the manifest, read as kubectl would -------------------------------------------------------
with open(MANIFEST) as f:
    docs = {d["kind"]: d for d in yaml.safe_load_all(f) if d}
check(set(docs) >= {"ConfigMap", "Secret", "Deployment"}, "manifest has ConfigMap, Secret, Deployment")
deployment, config_map, secret = docs["Deployment"], docs["ConfigMap"], docs["Secret"]
pod = deployment["spec"]["template"]
container = pod["spec"]["containers"][0]
args = dict(a[2:].split("=", 1) for a in container["args"])

help_text = subprocess.run([WORKER, "--helpfull"], capture_output=True, text=True).stdout
for flag in args:
    check(re.search(rf"--{re.escape(flag)}\b", help_text) is not None,
          f"migration-worker knows --{flag}")
config_source = open(os.path.join(SOURCE, "worker", "config.cc")).read()
env = {e["name"]: e["value"] for e in container.get("env", [])}
for name in list(config_map["data"]) + list(env):
    check(f'"{name}"' in config_source, f"the worker reads {name}")
refs = [r["configMapRef"]["name"] for r in container.get("envFrom", []) if "configMapRef" in r]
check(refs == [config_map["metadata"]["name"]], "envFrom names the ConfigMap")

ports = {p["name"]: p["containerPort"] for p in container["ports"]}
check(ports.get("health") == int(args["health_port"]), "health containerPort is --health_port")
check(ports.get("metrics") == int(args["metrics_port"]), "metrics containerPort is --metrics_port")
for probe in ("readinessProbe", "livenessProbe"):
    check(container[probe].get("grpc", {}).get("port") == int(args["health_port"]),
          f"{probe} asks gRPC health on --health_port")
# The kubelet and the scraper connect to the pod IP; the worker binds loopback unless told.
check(args.get("health_address") == "0.0.0.0", "--health_address opens the probes' port")
check(args.get("metrics_address") == "0.0.0.0", "--metrics_address opens the scraped port")
annotations = pod["metadata"]["annotations"]
check(annotations.get("prometheus.io/port") == args["metrics_port"],
      "prometheus.io/port is --metrics_port")

token_file = env["CONDUCTOR_AUTH_TOKEN_FILE"]
mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
token_volume = [n for n, path in mounts.items() if token_file.startswith(path.rstrip("/") + "/")]
check(len(token_volume) == 1, "CONDUCTOR_AUTH_TOKEN_FILE lies in a mounted volume")
volume = volumes[token_volume[0]]["secret"]
check(volume["secretName"] == secret["metadata"]["name"], "the token volume is the Secret")
check(os.path.basename(token_file) in secret.get("stringData", secret.get("data", {})),
      "the Secret holds the key the token file is named after")
containerfile = open(os.path.join(SOURCE, "deploy", "Containerfile")).read()
user = re.findall(r"^USER\s+(\d+)", containerfile, re.M)
check(user and int(user[-1]) == pod["spec"]["securityContext"]["runAsUser"],
      "runAsUser is the image's USER")
check(args.get("workflows_dir") == "/usr/local/share/cmig/workflows",
      "--workflows_dir is where the image installs the workflows")
if failures:
    sys.exit(1)

# ---- the pod, run as processes ------------------------------------------------------------------
with tempfile.TemporaryDirectory() as tmp:
    token = "k8s-test-token-" + os.urandom(8).hex()
    with open(os.path.join(tmp, "tokens"), "w") as f:
        f.write(token + "\n")
    address = f"127.0.0.1:{free_port()}"
    orchestrator = subprocess.Popen(
        [ORCHESTRATOR, "--db", os.path.join(tmp, "o.db"), "--listen", address, "--http_listen", "",
         "--tokens_file", os.path.join(tmp, "tokens")],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "orchestrator.log"), "w"))
    worker = None
    try:
        with grpc.insecure_channel(address) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=20)
            except grpc.FutureTimeoutError:
                check(False, f"the orchestrator listens on {address} within 20 s")
                sys.exit(1)
        # The Secret mounted where the pod would see it, under a temporary root.
        mounted = os.path.join(tmp, token_file.lstrip("/"))
        os.makedirs(os.path.dirname(mounted))
        with open(mounted, "w") as f:
            f.write(token)
        health_port, metrics_port = free_port(), free_port()
        pod_args = dict(args, health_port=str(health_port), metrics_port=str(metrics_port),
                        workflows_dir=os.path.join(SOURCE, "workflows"))
        pod_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        pod_env.update(config_map["data"])
        pod_env.update(env)
        pod_env["CONDUCTOR_SERVER_URL"] = address
        pod_env["CONDUCTOR_AUTH_TOKEN_FILE"] = mounted
        log_path = os.path.join(tmp, "worker.log")
        worker = subprocess.Popen([WORKER] + [f"--{k}={v}" for k, v in pod_args.items()],
                                  env=pod_env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
        check(becomes_serving(health_port, 30),
              "the readiness probe's gRPC health check answers SERVING")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        check("task_poll" in metrics, "the annotated metrics port serves Prometheus text")
        registered = subprocess.run(
            [os.path.join(BUILD, "cli", "migrationctl"), "definitions", "list", "--server", address],
            env=dict(os.environ, CMIG_TOKEN=token), capture_output=True, text=True)
        check("outgoing_migration_request" in registered.stdout,
              "the worker registered the migration workflows with the token from the Secret")
        # The kubelet's stop: SIGTERM, SIGKILL after terminationGracePeriodSeconds.
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            code = None
        check(code == 0, f"SIGTERM: the worker exits 0 within {grace} s (got {code})")
        log = open(log_path).read()
        check(token not in log, "the token never appears in the worker's log")
        if failures:
            print(log[-3000:])
    finally:
        for p in (worker, orchestrator):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()

sys.exit(1 if failures else 0)
