#include "worker/worker_main.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <random>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "spdlog/spdlog.h"
#include "worker/backoff.h"
#include "worker/chores.h"
#include "worker/config.h"
#include "worker/health_server.h"
#include "worker/install_paths.h"
#include "worker/metrics.h"
#include "worker/metrics_server.h"
#include "worker/worker.h"
#include "workflows/registration.h"

ABSL_FLAG(std::string, server, "",
          "Orchestrator gRPC address host:port (env CONDUCTOR_SERVER_URL; default "
          "127.0.0.1:8090).");
ABSL_FLAG(std::string, auth_token_file, "",
          "File holding the bearer token (env CONDUCTOR_AUTH_TOKEN_FILE, or the token itself in "
          "CONDUCTOR_AUTH_TOKEN). There is no flag for the token itself.");
ABSL_FLAG(bool, tls, false, "Use TLS to the orchestrator (env CONDUCTOR_TLS).");
ABSL_FLAG(std::string, tls_root_ca_file, "",
          "PEM roots to verify the orchestrator with; implies --tls (env "
          "CONDUCTOR_TLS_ROOT_CA_FILE).");
ABSL_FLAG(std::string, worker_id, "", "Worker id (env CONDUCTOR_WORKER_ID; default host-pid).");
ABSL_FLAG(int, threads, -1,
          "Execution threads per task type (env CONDUCTOR_WORKER_THREAD_COUNT, "
          "CONDUCTOR_WORKER_<TYPE>_THREAD_COUNT; default 1).");
ABSL_FLAG(std::string, thread_counts, "", "Per task type threads: type=n,type=n.");
ABSL_FLAG(std::string, domain, "",
          "Task domain to poll (env CONDUCTOR_WORKER_DOMAIN, CONDUCTOR_WORKER_<TYPE>_DOMAIN).");
ABSL_FLAG(std::string, domains, "", "Per task type domains: type=domain,type=domain.");
ABSL_FLAG(int, poll_timeout_ms, -1,
          "Long-poll timeout, at most 5000 (env CONDUCTOR_WORKER_POLL_TIMEOUT; default 1000).");
ABSL_FLAG(int, poll_interval_ms, -1,
          "First backoff step after an empty or failed poll (env "
          "CONDUCTOR_WORKER_POLLING_INTERVAL; default 100).");
ABSL_FLAG(int, call_timeout_ms, -1, "Deadline of every unary call (default 10000).");
ABSL_FLAG(int, shutdown_grace_seconds, 30,
          "On SIGTERM/SIGINT, how long in-flight tasks may take to finish.");
ABSL_FLAG(std::string, workflows_dir, cmig::worker::DefaultWorkflowsDir(),
          "Directory of Conductor JSON workflow and task definitions registered at startup "
          "(default: share/cmig/workflows of this installation).");
ABSL_FLAG(bool, register_definitions, true,
          "Register the definitions of --workflows_dir at startup (idempotent).");
ABSL_FLAG(int, startup_timeout_seconds, 60,
          "How long to keep retrying registration while the orchestrator is unreachable.");
ABSL_FLAG(int, metrics_port, -1,
          "Port of the Prometheus /metrics and /healthz HTTP endpoint; -1 off, 0 any.");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1",
          "Address the metrics endpoint binds: loopback unless opened on purpose "
          "(0.0.0.0 for a scraper on another host or a Kubernetes pod IP).");
ABSL_FLAG(int, health_port, -1, "Port of the grpc.health.v1 service; -1 off, 0 any.");
ABSL_FLAG(std::string, health_address, "127.0.0.1",
          "Address the grpc.health.v1 service binds: loopback unless opened on purpose "
          "(0.0.0.0 for Kubernetes probes, which connect to the pod IP).");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error.");

namespace cmig::worker {
namespace {

using workflows::DefinitionSet;
using workflows::LoadDefinitionsDir;
using workflows::RegisterDefinitions;
using workflows::RegistrationReport;

FlagValues ReadFlags() {
  FlagValues f;
  f.server = absl::GetFlag(FLAGS_server);
  f.auth_token_file = absl::GetFlag(FLAGS_auth_token_file);
  if (absl::GetFlag(FLAGS_tls)) {
    f.tls = true;
  }
  f.tls_root_ca_file = absl::GetFlag(FLAGS_tls_root_ca_file);
  f.worker_id = absl::GetFlag(FLAGS_worker_id);
  f.threads = absl::GetFlag(FLAGS_threads);
  f.thread_counts = absl::GetFlag(FLAGS_thread_counts);
  f.domain = absl::GetFlag(FLAGS_domain);
  f.domains = absl::GetFlag(FLAGS_domains);
  f.poll_timeout_ms = absl::GetFlag(FLAGS_poll_timeout_ms);
  f.poll_interval_ms = absl::GetFlag(FLAGS_poll_interval_ms);
  f.call_timeout_ms = absl::GetFlag(FLAGS_call_timeout_ms);
  return f;
}

// Waits up to `d` for SIGTERM/SIGINT (blocked in every thread); true when one
// arrived.
bool WaitForSignal(const sigset_t& signals, absl::Duration d) {
  timespec ts = absl::ToTimespec(d);
  while (true) {
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0) {
      spdlog::info("received signal {}", sig);
      return true;
    }
    if (errno != EINTR) {
      return false;
    }
  }
}

// Registration retried while the orchestrator is unreachable (it may still be
// starting). Returns 0 to go on, or the exit status.
int RegisterAtStartup(client::MetadataClient& metadata, const sigset_t& signals, bool* signalled) {
  const std::string dir = absl::GetFlag(FLAGS_workflows_dir);
  absl::StatusOr<DefinitionSet> defs = LoadDefinitionsDir(dir);
  if (!defs.ok()) {
    spdlog::error("cannot load definitions: {}", defs.status().ToString());
    return 1;
  }
  // The step task definitions live in <dir>/taskdefs (workflows/README.md), read with it.
  Backoff backoff(absl::Milliseconds(200), absl::Seconds(5), std::random_device{}());
  const absl::Time deadline =
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_startup_timeout_seconds));
  while (true) {
    absl::StatusOr<RegistrationReport> report = RegisterDefinitions(metadata, *defs);
    if (report.ok()) {
      spdlog::info("definitions from {}: created [{}], updated [{}], unchanged [{}]", dir,
                   absl::StrJoin(report->created, ", "), absl::StrJoin(report->updated, ", "),
                   absl::StrJoin(report->unchanged, ", "));
      return 0;
    }
    const bool retryable =
        absl::IsUnavailable(report.status()) || absl::IsDeadlineExceeded(report.status());
    if (!retryable || absl::Now() >= deadline) {
      spdlog::error("registering definitions failed: {}", report.status().ToString());
      return 1;
    }
    spdlog::warn("registering definitions: {}; retrying", report.status().ToString());
    if (WaitForSignal(signals, backoff.Next())) {
      *signalled = true;
      return 0;
    }
  }
}

}  // namespace

int WorkerMain(int argc, char** argv, const RegisterHandlersFn& register_handlers) {
  SelectPerQueuePolling();
  absl::SetProgramUsageMessage(
      "Polls an orchestrator (embedded or Conductor) for task types and runs their handlers.");
  absl::FlagsUsageConfig usage;
  // --help lists the worker's flags (absl's default wants a file named after the program).
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "worker/worker_main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  // As in the orchestrator: Debian's Abseil checks every Mutex lock for cycles, several times the
  // cost of the lock; tests keep the check, the served binary does not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));

  // Every thread created from here on inherits the mask, so the signals are
  // only ever consumed by sigtimedwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const FlagValues flags = ReadFlags();
  const EnvLookup env = ProcessEnv();
  absl::StatusOr<client::ClientOptions> client_options = ResolveClientOptions(flags, env);
  if (!client_options.ok()) {
    spdlog::error("configuration: {}", client_options.status().ToString());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<client::GrpcOrchestratorClient>> client =
      client::GrpcOrchestratorClient::Create(*client_options);
  if (!client.ok()) {
    spdlog::error("orchestrator client: {}", client.status().ToString());
    return 1;
  }
  tasks::HandlerRegistry registry;
  if (absl::Status s = register_handlers(registry, **client); !s.ok()) {
    spdlog::error("registering handlers: {}", s.ToString());
    return 1;
  }
  absl::StatusOr<WorkerOptions> worker_options =
      ResolveWorkerOptions(flags, env, registry.task_types());
  if (!worker_options.ok()) {
    spdlog::error("configuration: {}", worker_options.status().ToString());
    return 1;
  }
  spdlog::info("worker {} for {} (tls {}, token {})", worker_options->worker_id,
               client_options->address, client_options->use_tls ? "on" : "off",
               client_options->token.empty() ? "none" : "set");

  if (absl::GetFlag(FLAGS_register_definitions)) {
    bool signalled = false;
    if (int rc = RegisterAtStartup(**client, signals, &signalled); rc != 0 || signalled) {
      return rc;
    }
  }

  WorkerMetrics metrics;
  std::unique_ptr<MetricsHttpServer> metrics_server;
  if (int port = absl::GetFlag(FLAGS_metrics_port); port >= 0) {
    metrics_server =
        std::make_unique<MetricsHttpServer>([&metrics] { return metrics.RenderPrometheus(); });
    if (absl::Status s = metrics_server->Start(absl::GetFlag(FLAGS_metrics_address), port);
        !s.ok()) {
      spdlog::error("{}", s.ToString());
      return 1;
    }
    spdlog::info("metrics on http://{}:{}/metrics", absl::GetFlag(FLAGS_metrics_address),
                 metrics_server->port());
  }
  std::unique_ptr<GrpcHealthServer> health_server;
  if (int port = absl::GetFlag(FLAGS_health_port); port >= 0) {
    auto started = GrpcHealthServer::Start(absl::GetFlag(FLAGS_health_address), port);
    if (!started.ok()) {
      spdlog::error("{}", started.status().ToString());
      return 1;
    }
    health_server = *std::move(started);
    spdlog::info("grpc health on {}:{}", absl::GetFlag(FLAGS_health_address),
                 health_server->port());
  }

  Worker worker(**client, registry, *worker_options, &metrics, RealClock());
  if (absl::Status s = worker.Start(); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  ChoreRunner chores(registry.chores());
  chores.Start();
  while (!WaitForSignal(signals, absl::Hours(24))) {
  }
  chores.Stop();

  const absl::Duration grace = absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds));
  spdlog::info("draining: {} task(s) in flight, grace {}", worker.in_flight(),
               absl::FormatDuration(grace));
  if (metrics_server) {
    metrics_server->SetServing(false);
  }
  if (health_server) {
    health_server->SetServing(false);
  }
  absl::Status drained = worker.Shutdown(grace);
  if (!drained.ok()) {
    spdlog::error("{}", drained.ToString());
    spdlog::default_logger()->flush();
    // Handler threads are still running; waiting for them would outlast the
    // grace period the operator gave.
    _exit(2);
  }
  if (health_server) {
    health_server->Shutdown(absl::Seconds(1));
  }
  spdlog::info("drained; exiting");
  return 0;
}

}  // namespace cmig::worker
