// The migration steps as task handlers, and the one place they are registered by task type.
//
// Outgoing (source environment)        Incoming (target environment)
//   cmig_fetch_definitions               cmig_validate_package
//   cmig_discover_references             cmig_plan_migration
//   cmig_build_package                   cmig_snapshot_target
//   cmig_push_package                    cmig_apply_migration
//   cmig_await_incoming                  cmig_verify_applied
//   cmig_verify_target                   cmig_restore_snapshot (incoming_migration_rollback)
//
// "This environment" is the orchestrator the worker polls. A gRPC environment runs its own
// migrations: the outgoing steps read the source from this environment, the push starts the
// incoming workflow in the target, whose steps write it through its own orchestrator. A REST
// environment (a Conductor server as it ships, client/rest_client.h) has no migration worker:
// when sourceEnvironment names one, the outgoing steps read it over REST; when targetEnvironment
// names one, the push starts the incoming workflow here with input "remoteTarget" set to it, and
// its steps (and the rollback's) write it over REST. Environment ids resolve through the
// EnvironmentResolver and their tokens or access key secrets through the SecretResolver, so no
// credential is ever part of a task's input, output or log.
//
// Large intermediate results (fetched definitions, the discovery, the package, the plan, the
// snapshot) are stored once in this environment's content-addressed blob store and only their
// reference ("sha256:<hex>") travels between steps. Without a blob store (a Conductor server) a
// result up to `inline_limit_bytes` travels inline ("inline:<base64>"); a larger one fails the
// step with a FailedPrecondition naming the size and the limit. A package that carries secret
// values never travels inline: without a blob store it fails the step the same way.
//
// The input of outgoing_migration_request (what the CLI starts in the source environment):
//   {"sourceEnvironment": "dev",            // label recorded in the package
//    "targetEnvironment": "prod",           // an id resolved by the EnvironmentResolver
//    "selection": {"workflows": [{"name": "order_flow"}, {"name": "billing", "version": 2},
//                                {"name": "*"}],          // "*": every workflow (latest)
//                  "taskDefs": ["charge_card", "*"]},      // "*": every task definition
//    "options": {"conflictStrategy": "CONFLICT_STRATEGY_FAIL|SKIP|UPDATE",
//                "versionStrategy": "VERSION_STRATEGY_PRESERVE|NEW_VERSION",
//                "includeSecrets": false, "dryRun": false, "skipDiscovery": false}}
// selection and options are cmig.v1.Selection / cmig.v1.MigrationOptions in protobuf JSON;
// unknown keys are a terminal error of the fetch step.
//
// The push is idempotent: the incoming workflow's correlation id is derived from the outgoing
// workflow's id, and a retried push finds and returns the workflow it already started.
//
//   cmig::tasks::HandlerRegistry registry;
//   cmig::tasks::LocalSettings local;   // production: filled from the process environment
//   RETURN_IF_ERROR(cmig::tasks::RegisterMigrationHandlers(registry, *client, std::move(local)));
//
// Thread-safety: the handlers are safe to run concurrently (tasks/task_handler.h).
#ifndef CMIG_TASKS_MIGRATION_HANDLERS_H_
#define CMIG_TASKS_MIGRATION_HANDLERS_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"
#include "client/metadata_client.h"
#include "client/workflow_client.h"
#include "migration/apply_order.h"
#include "migration/environments.h"
#include "tasks/handler_registry.h"

namespace cmig::tasks {

// Every task type RegisterMigrationHandlers registers.
std::vector<std::string> MigrationTaskTypes();

// The incoming workflow a push starts and its correlation id for an outgoing workflow.
inline constexpr absl::string_view kIncomingWorkflowName = "incoming_migration_request";
std::string IncomingCorrelationId(absl::string_view outgoing_workflow_id);

struct MigrationDeps {
  // This environment's orchestrator. Required; borrowed, must outlive the handlers.
  client::MetadataClient* metadata = nullptr;
  client::WorkflowClient* workflows = nullptr;
  // This environment's blob store; null = none (intermediate results travel inline).
  client::BlobClient* blobs = nullptr;
  // Removal of definitions for the rollback; null = a rollback that must remove a created
  // definition fails with FailedPrecondition saying so.
  client::DefinitionAdminClient* admin = nullptr;
  // Where the apply step writes the secret values a package carries (options.includeSecrets);
  // null = such a package fails the apply with FailedPrecondition. Values are never logged.
  client::SecretClient* secret_store = nullptr;
  // This environment's event handlers; null = migrations here carry none and write none.
  client::EventHandlerClient* event_handlers = nullptr;
  // This environment's workflow schedules; null = migrations here carry none and write none.
  client::ScheduleClient* schedules = nullptr;
  // Required; borrowed.
  migration::EnvironmentResolver* environments = nullptr;
  migration::SecretResolver* secrets = nullptr;
  // Deadline of each call to another environment.
  absl::Duration remote_call_timeout = absl::Seconds(30);
  // Largest inline reference ("inline:<base64>", 4/3 of the result's bytes) a result may travel
  // as when there is no blob store. Just under conductor-oss's default task payload threshold
  // (3072 KB, conductor.app.taskOutputPayloadSizeThreshold), over which it moves payloads to
  // external storage.
  size_t inline_limit_bytes = (3 << 20) - (16 << 10);
  // How long the await step looks at the target itself (quickly at first, then less often)
  // before it reports IN_PROGRESS and asks again after await_poll (Conductor's unit: seconds),
  // holding no thread meanwhile.
  absl::Duration await_in_step = absl::Seconds(5);
  absl::Duration await_poll = absl::Seconds(1);
  // How often the worker looks for outgoing migrations terminated through Conductor's own API
  // whose incoming workflow still runs, and ends them (tasks/terminations.h); zero: never.
  absl::Duration follow_terminations_every = absl::Seconds(10);
  // Definitions written per call by the apply step.
  int apply_batch_size = 500;
  // Test hook: called before each write batch of the apply step with the index of its first
  // step; a non-OK status fails the step with it.
  std::function<absl::Status(const migration::ApplyStep& first, int index)> before_apply_write;
};

// Registers every migration step. InvalidArgument when a required dependency is missing;
// AlreadyExists when a task type is already registered. The handlers share `deps`.
absl::Status RegisterMigrationHandlers(HandlerRegistry& registry, MigrationDeps deps);

// Where the migration-worker finds environments and secrets its orchestrator does not offer (a
// Conductor server without the extension services). The worker's main fills it from the process
// environment ($CMIG_ENVIRONMENTS_FILE, $CMIG_SECRETS_DIR, $CMIG_SECRET_<NAME>).
struct LocalSettings {
  // A JSON file of environments (migration/environments.h); empty = none.
  std::string environments_file;
  // A directory of secret files, one per secret; empty = none.
  std::string secrets_dir;
  // Reads the variable CMIG_SECRET_<NAME>; null = no such variables.
  migration::ConfigSecretResolver::EnvLookup secret_variables;
};

// For the migration-worker binary: the handlers over `client` (this environment), with the
// orchestrator's extension services (blob store, environments, secrets, definition removal)
// reached on the same address with the same credentials, and `local` asked when the server lacks
// them. NotFound or InvalidArgument naming the file when local.environments_file cannot be read
// or parsed. Keeps what it creates alive for the life of the process.
absl::Status RegisterMigrationHandlers(HandlerRegistry& registry,
                                       client::GrpcOrchestratorClient& client, LocalSettings local);

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_MIGRATION_HANDLERS_H_
