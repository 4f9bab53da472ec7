// The commands of migrationctl. Each reads its flags (cli/flags.h) and positional arguments from
// the Context, prints to ctx.out() (a table, or one JSON document with --json), and returns an
// error for cli/app.cc to print. cli/command_table.cc holds their usage, help and examples.
#ifndef CMIG_CLI_COMMANDS_H_
#define CMIG_CLI_COMMANDS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/app.h"
#include "cli/output.h"
#include "client/conductor_environment.h"
#include "client/workflow_client.h"
#include "cmig/v1/report.pb.h"
#include "conductor/model/startworkflowrequest.pb.h"
#include "conductor/model/workflow.pb.h"

namespace cmig::cli {

// Workflow operations (cli/workflow_commands.cc).
absl::Status StatusCommand(Context& ctx);
absl::Status HistoryCommand(Context& ctx);
absl::Status ListCommand(Context& ctx);
absl::Status RetryCommand(Context& ctx);
absl::Status RestartCommand(Context& ctx);
absl::Status TerminateCommand(Context& ctx);

// Offline packages (cli/package_commands.cc).
absl::Status TemplateCommand(Context& ctx);
absl::Status ExportCommand(Context& ctx);
absl::Status InspectCommand(Context& ctx);
absl::Status ImportCommand(Context& ctx);

// Environments, secrets and online migrations (cli/migrate_commands.cc).
absl::Status EnvAddCommand(Context& ctx);
absl::Status EnvListCommand(Context& ctx);
absl::Status EnvRemoveCommand(Context& ctx);
absl::Status EnvTestCommand(Context& ctx);
absl::Status SecretPutCommand(Context& ctx);
absl::Status SecretListCommand(Context& ctx);
absl::Status SecretDeleteCommand(Context& ctx);
absl::Status AccessKeyCreateCommand(Context& ctx);
absl::Status AccessKeyListCommand(Context& ctx);
absl::Status AccessKeyRevokeCommand(Context& ctx);
absl::Status MigrateCommand(Context& ctx);
absl::Status WatchCommand(Context& ctx);
// What a command did: `o` with --json, else `text` and a newline.
void PrintDone(Context& ctx, const JsonObject& o, const std::string& text);
// The outgoing migration `command` (migrate, schedule create) starts, from the selection and
// option flags they share; a usage error naming what is missing.
absl::StatusOr<conductor::proto::StartWorkflowRequest> MigrationStartFromFlags(
    Context& ctx, absl::string_view command);

// Recurring migrations: schedules on --server that start outgoing_migration_request
// (cli/schedule_commands.cc).
absl::Status ScheduleCreateCommand(Context& ctx);
absl::Status ScheduleListCommand(Context& ctx);
absl::Status SchedulePauseCommand(Context& ctx);
absl::Status ScheduleResumeCommand(Context& ctx);
absl::Status ScheduleDeleteCommand(Context& ctx);
absl::Status ScheduleNextCommand(Context& ctx);
absl::Status ScheduleRunsCommand(Context& ctx);

// Seeding an environment from Conductor JSON files (cli/definitions_commands.cc).
absl::Status DefinitionsLoadCommand(Context& ctx);
absl::Status DefinitionsListCommand(Context& ctx);
absl::Status DefinitionsGetCommand(Context& ctx);
absl::Status DefinitionsDiffCommand(Context& ctx);

// Clients of environment `env` as --server knows it, its token or access key secret read from
// --server's secret store (never printed). A secret that cannot be read is an error naming the
// environment and the secret; the errors of client::ConnectEnvironment otherwise.
absl::StatusOr<std::unique_ptr<client::ConductorEnvironment>> ConnectToEnvironment(
    client::SecretClient& secrets, const v1::Environment& env, absl::Duration timeout);

// NotFound for an environment id that --server does not know, listing the ones it does.
absl::Status UnknownEnvironment(client::EnvironmentClient& envs, const std::string& id);

// ConnectToEnvironment for the environment --server knows as `id`.
absl::StatusOr<std::unique_ptr<client::ConductorEnvironment>> ConnectNamedEnvironment(
    Context& ctx, const std::string& id);

// The incoming workflow an outgoing migration started in its target.
struct LinkedIncoming {
  std::string environment;
  std::string workflow_id;
  // True when it ran on --server on behalf of a REST target.
  bool here = false;
  std::optional<conductor::proto::Workflow> workflow;
  // Why it could not be read, when it could not.
  std::string error;
  // Where it runs, when it could be read: --server's client or the target's connection.
  client::WorkflowClient* runner = nullptr;
  // The same orchestrator, for what only its gRPC client offers (poll data).
  client::GrpcOrchestratorClient* orchestrator = nullptr;
  std::shared_ptr<client::ConductorEnvironment> target;
};

// Reads it through the target's environment definition and token secret on --server; nullopt
// when `wf` is no outgoing migration or has not pushed yet. Blocks on the network.
std::optional<LinkedIncoming> FindIncoming(Context& ctx, const conductor::proto::Workflow& wf);

// A run applying dry run `id` as approved (cli/approved_run.cc): its start request, with the
// dry run's target, selection and options and the approval; `approved` is the dry run's report.
struct ApprovedRun {
  conductor::proto::StartWorkflowRequest start;
  std::string target;
  v1::MigrationReport approved;
};
// FailedPrecondition naming why when `id` is not a completed, unblocked dry run.
absl::StatusOr<ApprovedRun> PrepareApprovedRun(Context& ctx, const std::string& id);
// When `now` was blocked because its plan is not the approved one: one line per item that
// changed since the dry run. Empty otherwise.
std::vector<std::string> ChangesSinceApproval(const v1::MigrationReport& approved,
                                              const v1::MigrationReport& now);

// --wait of migrate and import: prints step progress until workflow `id` ends, then its report
// (or the plan of a dry run). OK when it COMPLETED; Aborted with its status and reason otherwise.
// Progress goes to stderr with --json, whose single document (the workflow and its report) goes
// to stdout.
// With `approved` (a run applying a dry run), a run refused because the target changed also
// lists what changed since the dry run.
absl::Status WaitAndReport(Context& ctx, client::WorkflowClient& workflows, const std::string& id,
                           const v1::MigrationReport* approved = nullptr);

}  // namespace cmig::cli

#endif  // CMIG_CLI_COMMANDS_H_
