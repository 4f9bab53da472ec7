// The `orchestrator` binary: serves the embedded orchestrator until SIGTERM or
// SIGINT, then shuts down cleanly and exits 0.
//
//   orchestrator --db=/var/lib/cmig/orchestrator.db --listen=0.0.0.0:8090 \
//       --http_listen=0.0.0.0:8080 \
//       --tokens_file=/etc/cmig/tokens --tls_cert=server.pem --tls_key=server.key
//   orchestrator --db=dev.db --listen=127.0.0.1:0 --conductor_api_only   # a stand-in for
//                                                                        # conductor-oss
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/server.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, db, "orchestrator.db", "SQLite database file (created if absent)");
ABSL_FLAG(std::string, listen, "127.0.0.1:8090", "address to serve gRPC on; port 0 picks one");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "address to serve Conductor's REST API on (same tokens and TLS as gRPC); port 0 picks "
          "one; empty turns HTTP off");
ABSL_FLAG(std::string, tokens_file, "",
          "file with one accepted bearer token per line; empty disables authentication");
ABSL_FLAG(absl::Duration, token_ttl, absl::Hours(1),
          "how long a token handed out for an access key (POST /api/token) stays valid");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain; with --tls_key enables TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(bool, conductor_api_only, false,
          "serve only Conductor's gRPC services and health, as a conductor-oss server does: the "
          "project's extension services (environments, secrets, package store, listing and "
          "removal of definitions) answer UNIMPLEMENTED");
ABSL_FLAG(int, max_workflow_chain_depth, 100,
          "most workflows in one chain of sub-workflows and failure workflows; a workflow that "
          "would start deeper fails with a reason saying so");
ABSL_FLAG(int64_t, max_package_bytes, int64_t{256} << 20,
          "largest migration package the package store accepts; an upload past it fails at once "
          "with RESOURCE_EXHAUSTED naming this limit");
ABSL_FLAG(int64_t, max_workflow_input_kb, 10240,
          "largest workflow input, in KB, a start request may carry (Conductor's "
          "conductor.app.maxWorkflowInputPayloadSizeThreshold); a larger one is refused");
ABSL_FLAG(int64_t, max_task_output_kb, 10240,
          "largest task output, in KB, a task update may carry (Conductor's "
          "conductor.app.maxTaskOutputPayloadSizeThreshold); a larger one fails the task "
          "terminally, naming the limit");
ABSL_FLAG(std::string, port_file, "",
          "if set, the bound gRPC port is written there once the server is serving");
ABSL_FLAG(std::string, http_port_file, "",
          "if set, the bound HTTP port is written there once the server is serving");

namespace {

// Writes `port` to `path` (nothing when `path` is empty), through a temporary name and a rename
// so that a reader never sees half a number. False (logged) when it cannot.
bool WritePortFile(const std::string& path, int port) {
  if (path.empty()) return true;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) {
      spdlog::critical("cannot write port file {}", path);
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    spdlog::critical("cannot write port file {}", path);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves an embedded Conductor orchestrator (gRPC and REST) over a SQLite file.");
  absl::FlagsUsageConfig usage;
  // --help lists the flags defined beside main() (absl's default wants a file named after the
  // program).
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "orchestrator/main.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  // absl::Mutex's cycle detection costs a few percent on every lock in this
  // Abseil build; tests keep it, the served (and measured) binary does not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals are taken synchronously by a dedicated thread: no work in a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  cmig::orchestrator::ServerOptions options;
  options.db_path = absl::GetFlag(FLAGS_db);
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.http_listen_address = absl::GetFlag(FLAGS_http_listen);
  options.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  options.token_ttl = absl::GetFlag(FLAGS_token_ttl);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.conductor_api_only = absl::GetFlag(FLAGS_conductor_api_only);
  options.limits.max_workflow_chain_depth = absl::GetFlag(FLAGS_max_workflow_chain_depth);
  options.max_package_bytes = absl::GetFlag(FLAGS_max_package_bytes);
  for (const auto& [flag, kb, bytes] :
       {std::tuple{"--max_workflow_input_kb", absl::GetFlag(FLAGS_max_workflow_input_kb),
                   &options.limits.max_workflow_input_bytes},
        std::tuple{"--max_task_output_kb", absl::GetFlag(FLAGS_max_task_output_kb),
                   &options.limits.max_task_output_bytes}}) {
    if (kb <= 0 || kb > (int64_t{1} << 30)) {
      spdlog::critical("{} must be between 1 and {} (KB), not {}", flag, int64_t{1} << 30, kb);
      return 2;
    }
    *bytes = kb << 10;
  }
  auto server = cmig::orchestrator::OrchestratorServer::Start(options);
  if (!server.ok()) {
    spdlog::critical("cannot start the orchestrator: {}", server.status().ToString());
    return 1;
  }
  if (!WritePortFile(absl::GetFlag(FLAGS_port_file), (*server)->port()) ||
      !WritePortFile(absl::GetFlag(FLAGS_http_port_file), (*server)->http_port())) {
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {} received; shutting down", sig);
  (*server)->Shutdown();
  spdlog::info("orchestrator stopped");
  return 0;
}
