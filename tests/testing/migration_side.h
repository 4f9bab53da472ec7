// One side of a migration for tests and benchmarks: an embedded orchestrator (started by the
// caller, whose server options differ), clients of it, resolvers through its extensions, the
// migration workflows registered from this source tree, and a worker running the migration
// handlers.
//
//   cmig::testing::MigrationSide a;
//   a.id = "A";
//   a.server = ...;                                    // OrchestratorServer::Start(options)
//   ASSERT_OK(a.Connect("token-of-a", absl::Seconds(5)));
//   ASSERT_OK(a.RegisterMigrationWorkflows({}));
//   ASSERT_OK(a.StartWorker(a.Deps(), QuickWorkerOptions("worker-A")));
//   ...
//   a.Stop();
//
// Not thread-safe: one test thread sets a side up and tears it down.
#ifndef CMIG_TESTS_TESTING_MIGRATION_SIDE_H_
#define CMIG_TESTS_TESTING_MIGRATION_SIDE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"
#include "migration/environments.h"
#include "orchestrator/server.h"
#include "tasks/handler_registry.h"
#include "tasks/migration_handlers.h"
#include "worker/chores.h"
#include "worker/worker.h"

namespace cmig::testing {

// How the migration steps' task definitions are registered for a test: retry delays shortened
// so steps that wait on the network come back in seconds.
struct StepTiming {
  // Caps retryDelaySeconds and sets maxRetryDelaySeconds; 0 leaves both as written.
  int32_t max_retry_delay_seconds = 1;
  // Replaces responseTimeoutSeconds (a killed worker's step comes back that soon); 0 keeps it.
  int64_t response_timeout_seconds = 0;
};

// Whether `name` is one of the migration's own definitions (cmig_* steps, *migration_* flows).
bool IsMigrationDefinition(const std::string& name);

// A worker that polls and backs off on a test's time scale (tens of milliseconds).
worker::WorkerOptions QuickWorkerOptions(const std::string& worker_id);

struct MigrationSide {
  std::string id;
  std::unique_ptr<orchestrator::OrchestratorServer> server;
  std::unique_ptr<client::GrpcOrchestratorClient> client;
  std::unique_ptr<client::GrpcExtensionsClient> ext;
  std::unique_ptr<migration::ExtensionEnvironmentResolver> environments;
  std::unique_ptr<migration::ExtensionSecretResolver> secrets;
  tasks::HandlerRegistry registry;
  std::unique_ptr<worker::Worker> worker;
  // The registry's chores, as migration-worker runs them; destroyed (stopped) first.
  std::unique_ptr<worker::ChoreRunner> chores;

  // Clients of `server` sending `token` (none when empty) and resolvers through its extensions.
  absl::Status Connect(const std::string& token, absl::Duration call_timeout);

  // Registers workflows/*.json and workflows/taskdefs/*.json of the source tree with `timing`.
  absl::Status RegisterMigrationWorkflows(const StepTiming& timing);

  // `deps` with this side's clients and resolvers filled in, and a two-second remote call
  // timeout; the rest of `deps` is kept.
  tasks::MigrationDeps Deps(tasks::MigrationDeps deps = {});

  // Registers the migration handlers with `deps` and starts a worker running them.
  absl::Status StartWorker(tasks::MigrationDeps deps, const worker::WorkerOptions& options);

  // Stops the worker (waiting up to `grace` for its tasks) and then the server.
  void Stop(absl::Duration grace = absl::Seconds(5));
};

}  // namespace cmig::testing

#endif  // CMIG_TESTS_TESTING_MIGRATION_SIDE_H_
