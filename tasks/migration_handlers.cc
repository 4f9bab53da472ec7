#include "tasks/migration_handlers.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "tasks/step_io.h"
#include "tasks/steps.h"
#include "tasks/terminations.h"

namespace cmig::tasks {

std::vector<std::string> MigrationTaskTypes() {
  return {"cmig_fetch_definitions", "cmig_discover_references", "cmig_build_package",
          "cmig_push_package",      "cmig_await_incoming",      "cmig_verify_target",
          "cmig_validate_package",  "cmig_plan_migration",      "cmig_snapshot_target",
          "cmig_apply_migration",   "cmig_verify_applied",      "cmig_restore_snapshot"};
}

absl::Status RegisterMigrationHandlers(HandlerRegistry& registry, MigrationDeps deps) {
  if (deps.metadata == nullptr || deps.workflows == nullptr || deps.environments == nullptr ||
      deps.secrets == nullptr) {
    return absl::InvalidArgumentError(
        "migration handlers need a metadata client, a workflow client, an environment resolver "
        "and a secret resolver");
  }
  auto state = std::make_shared<StepState>(std::move(deps));
  RETURN_IF_ERROR(RegisterOutgoingSteps(registry, state));
  RETURN_IF_ERROR(RegisterIncomingSteps(registry, state));
  RETURN_IF_ERROR(RegisterRollbackStep(registry, state));
  auto followed = std::make_shared<TerminationsFollowed>();
  registry.AddChore(
      {.name = "end the incoming workflows of terminated migrations",
       .every = state->deps().follow_terminations_every,
       .run = [state, followed] { return FollowTerminations(*state, *followed).status(); }});
  return absl::OkStatus();
}

namespace {

using migration::ConfigEnvironmentResolver;
using migration::ConfigSecretResolver;
using migration::EnvironmentResolver;
using migration::ExtensionEnvironmentResolver;
using migration::ExtensionSecretResolver;
using migration::FallbackEnvironmentResolver;
using migration::FallbackSecretResolver;

// What the production registration creates and keeps for the life of the process.
struct ProcessResolvers {
  std::unique_ptr<client::GrpcExtensionsClient> extensions;
  std::unique_ptr<ExtensionEnvironmentResolver> extension_environments;
  std::unique_ptr<ExtensionSecretResolver> extension_secrets;
  std::unique_ptr<EnvironmentResolver> file_environments;
  std::unique_ptr<ConfigSecretResolver> file_secrets;
  std::unique_ptr<FallbackEnvironmentResolver> environments;
  std::unique_ptr<FallbackSecretResolver> secrets;
};

// An environment resolver with nothing configured, for a worker without a config file.
class NoEnvironments final : public EnvironmentResolver {
 public:
  absl::StatusOr<v1::Environment> Resolve(absl::string_view id) override {
    return absl::NotFoundError(absl::StrCat(
        "environment '", id,
        "' is unknown: register it in the orchestrator (cmig.v1.Environments) or list it in the "
        "file named by $CMIG_ENVIRONMENTS_FILE"));
  }
};

}  // namespace

absl::Status RegisterMigrationHandlers(HandlerRegistry& registry,
                                       client::GrpcOrchestratorClient& client,
                                       LocalSettings local) {
  // Lives as long as the process: the handlers borrow from it.
  static auto* owned = new std::vector<std::unique_ptr<ProcessResolvers>>();
  auto r = std::make_unique<ProcessResolvers>();
  ASSIGN_OR_RETURN(r->extensions, client::GrpcExtensionsClient::Create(client.options()));
  r->extension_environments = std::make_unique<ExtensionEnvironmentResolver>(*r->extensions);
  r->extension_secrets = std::make_unique<ExtensionSecretResolver>(*r->extensions);
  if (!local.environments_file.empty()) {
    ASSIGN_OR_RETURN(r->file_environments,
                     ConfigEnvironmentResolver::FromFile(local.environments_file));
  } else {
    r->file_environments = std::make_unique<NoEnvironments>();
  }
  r->file_secrets = std::make_unique<ConfigSecretResolver>(std::move(local.secrets_dir),
                                                           std::move(local.secret_variables));
  r->environments = std::make_unique<FallbackEnvironmentResolver>(*r->extension_environments,
                                                                  *r->file_environments);
  r->secrets = std::make_unique<FallbackSecretResolver>(*r->extension_secrets, *r->file_secrets);
  MigrationDeps deps;
  deps.metadata = &client;
  deps.workflows = &client;
  deps.blobs = r->extensions.get();
  deps.admin = r->extensions.get();
  deps.secret_store = r->extensions.get();
  deps.event_handlers = &client;
  deps.schedules = r->extensions.get();
  deps.environments = r->environments.get();
  deps.secrets = r->secrets.get();
  RETURN_IF_ERROR(RegisterMigrationHandlers(registry, std::move(deps)));
  owned->push_back(std::move(r));
  return absl::OkStatus();
}

}  // namespace cmig::tasks
