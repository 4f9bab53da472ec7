#include "tests/testing/migration_side.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "workflows/registration.h"

namespace cmig::testing {

bool IsMigrationDefinition(const std::string& name) {
  return absl::StartsWith(name, "cmig_") || absl::StrContains(name, "migration_");
}

worker::WorkerOptions QuickWorkerOptions(const std::string& worker_id) {
  worker::WorkerOptions options;
  options.worker_id = worker_id;
  options.defaults.threads = 2;
  options.poll_timeout = absl::Milliseconds(200);
  options.poll_interval = absl::Milliseconds(20);
  options.max_empty_poll_backoff = absl::Milliseconds(100);
  options.max_error_backoff = absl::Milliseconds(200);
  options.update_initial_backoff = absl::Milliseconds(20);
  options.update_max_backoff = absl::Milliseconds(200);
  return options;
}

absl::Status MigrationSide::Connect(const std::string& token, absl::Duration call_timeout) {
  client::ClientOptions options;
  options.address = server->address();
  options.token = token;
  options.call_timeout = call_timeout;
  ASSIGN_OR_RETURN(client, client::GrpcOrchestratorClient::Create(options));
  ASSIGN_OR_RETURN(ext, client::GrpcExtensionsClient::Create(options));
  environments = std::make_unique<migration::ExtensionEnvironmentResolver>(*ext);
  secrets = std::make_unique<migration::ExtensionSecretResolver>(*ext);
  return absl::OkStatus();
}

absl::Status MigrationSide::RegisterMigrationWorkflows(const StepTiming& timing) {
  const std::string root = CMIG_SOURCE_DIR "/workflows";
  ASSIGN_OR_RETURN(workflows::DefinitionSet definitions, workflows::LoadDefinitionsDir(root));
  ASSIGN_OR_RETURN(workflows::DefinitionSet step_defs,
                   workflows::LoadDefinitionsDir(root + "/taskdefs"));
  for (auto& t : step_defs.task_defs) {
    if (timing.max_retry_delay_seconds > 0) {
      t.set_retry_delay_seconds(std::min(t.retry_delay_seconds(), timing.max_retry_delay_seconds));
      t.set_max_retry_delay_seconds(timing.max_retry_delay_seconds);
    }
    if (timing.response_timeout_seconds > 0) {
      t.set_response_timeout_seconds(timing.response_timeout_seconds);
    }
  }
  definitions.task_defs = std::move(step_defs.task_defs);
  return workflows::RegisterDefinitions(*client, definitions).status();
}

tasks::MigrationDeps MigrationSide::Deps(tasks::MigrationDeps deps) {
  deps.metadata = client.get();
  deps.workflows = client.get();
  deps.blobs = ext.get();
  deps.admin = ext.get();
  deps.event_handlers = client.get();
  deps.schedules = ext.get();
  deps.environments = environments.get();
  deps.secrets = secrets.get();
  deps.remote_call_timeout = absl::Seconds(2);
  return deps;
}

absl::Status MigrationSide::StartWorker(tasks::MigrationDeps deps,
                                        const worker::WorkerOptions& options) {
  RETURN_IF_ERROR(tasks::RegisterMigrationHandlers(registry, std::move(deps)));
  worker = std::make_unique<worker::Worker>(*client, registry, options);
  RETURN_IF_ERROR(worker->Start());
  chores = std::make_unique<worker::ChoreRunner>(registry.chores());
  chores->Start();
  return absl::OkStatus();
}

void MigrationSide::Stop(absl::Duration grace) {
  if (chores) chores->Stop();
  if (worker) worker->Shutdown(grace).IgnoreError();
  worker.reset();
  if (server) server->Shutdown();
}

}  // namespace cmig::testing
