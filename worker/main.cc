// migration-worker: runs the migration steps for an orchestrator.
#include "tasks/handler_registry.h"
#include "worker/worker_main.h"

#if __has_include("tasks/migration_handlers.h")
#include "tasks/migration_handlers.h"
#define CMIG_HAVE_MIGRATION_HANDLERS 1
#endif

int main(int argc, char** argv) {
  return cmig::worker::WorkerMain(
      argc, argv,
      [](cmig::tasks::HandlerRegistry& registry, cmig::client::GrpcOrchestratorClient& client) {
#ifdef CMIG_HAVE_MIGRATION_HANDLERS
        return cmig::tasks::RegisterMigrationHandlers(registry, client);
#else
        (void)registry;
        (void)client;
        return absl::FailedPreconditionError(
            "this build has no migration handlers (tasks/migration_handlers.h)");
#endif
      });
}
