// The body of a worker binary: flags and environment, registration of the
// workflow definitions, metrics and health endpoints, the worker, and a
// graceful drain on SIGTERM / SIGINT.
//
//   int main(int argc, char** argv) {
//     return cmig::worker::WorkerMain(argc, argv,
//         [](cmig::tasks::HandlerRegistry& registry, cmig::client::GrpcOrchestratorClient& c) {
//           return RegisterMigrationHandlers(registry, c, local);
//         });
//   }
//
// Flags (see worker/config.h for the environment variables):
//   --server, --auth_token_file, --tls, --tls_root_ca_file, --worker_id,
//   --threads, --thread_counts, --domain, --domains, --poll_timeout_ms,
//   --poll_interval_ms, --call_timeout_ms, --shutdown_grace_seconds,
//   --workflows_dir, --register_definitions, --startup_timeout_seconds,
//   --metrics_port, --metrics_address, --health_port, --health_address,
//   --log_level.
//
// Exit status: 0 after a clean drain (or a signal during startup); 1 on a
// configuration or startup error; 2 when in-flight tasks did not finish
// within the grace period (the orchestrator re-runs them after their
// response timeout).
#ifndef CMIG_WORKER_WORKER_MAIN_H_
#define CMIG_WORKER_WORKER_MAIN_H_

#include <functional>

#include "absl/status/status.h"
#include "client/grpc_client.h"
#include "tasks/handler_registry.h"

namespace cmig::worker {

// Fills the registry; may keep a reference to the client, which outlives
// every handler call.
using RegisterHandlersFn =
    std::function<absl::Status(tasks::HandlerRegistry&, client::GrpcOrchestratorClient&)>;

// Parses the command line, runs until a signal, returns the exit status.
// Call once, from main, before any other thread starts (it blocks SIGTERM and
// SIGINT for every thread it creates) and before anything uses gRPC (it
// selects gRPC's polling engine, see SelectPerQueuePolling).
int WorkerMain(int argc, char** argv, const RegisterHandlersFn& register_handlers);

}  // namespace cmig::worker

#endif  // CMIG_WORKER_WORKER_MAIN_H_
