// migration-worker: runs the migration steps for an orchestrator. The process environment is read
// here and nowhere below: where the worker finds environments and secrets its orchestrator does
// not offer.
#include <string>

#include "tasks/handler_registry.h"
#include "tasks/migration_handlers.h"
#include "worker/config.h"
#include "worker/worker_main.h"

namespace {

cmig::tasks::LocalSettings LocalSettingsFromEnvironment() {
  const cmig::worker::EnvLookup env = cmig::worker::ProcessEnv();
  cmig::tasks::LocalSettings local;
  local.environments_file = env("CMIG_ENVIRONMENTS_FILE").value_or("");
  local.secrets_dir = env("CMIG_SECRETS_DIR").value_or("");
  local.secret_variables = env;
  return local;
}

}  // namespace

int main(int argc, char** argv) {
  return cmig::worker::WorkerMain(
      argc, argv,
      [](cmig::tasks::HandlerRegistry& registry, cmig::client::GrpcOrchestratorClient& client) {
        return cmig::tasks::RegisterMigrationHandlers(registry, client,
                                                      LocalSettingsFromEnvironment());
      });
}
