// env, secret and migrate: the embedded orchestrator's extension services
// (client/extensions_client.h) and the outgoing_migration_request workflow.
#include <iterator>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "base/reason.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/options.h"
#include "cli/output.h"
#include "cli/workflow_view.h"
#include "client/conductor_environment.h"
#include "definitions/conductor_time.h"
#include "definitions/json.h"
#include "migration/migration_start.h"

namespace cmig::cli {

absl::Status UnknownEnvironment(client::EnvironmentClient& envs, const std::string& id) {
  std::vector<std::string> known;
  if (auto list = envs.ListEnvironments(); list.ok()) {
    for (const auto& e : *list) known.push_back(e.id());
  }
  return absl::NotFoundError(absl::StrCat(
      "unknown environment '", id, "'; ",
      known.empty() ? "none is defined" : absl::StrCat("known: ", absl::StrJoin(known, ", ")),
      " (add one with 'migrationctl env add ", id, " --address HOST:PORT')"));
}

absl::StatusOr<std::unique_ptr<client::ConductorEnvironment>> ConnectNamedEnvironment(
    Context& ctx, const std::string& id) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  absl::StatusOr<v1::Environment> env = ext->GetEnvironment(id);
  if (absl::IsNotFound(env.status())) return UnknownEnvironment(*ext, id);
  RETURN_IF_ERROR(env.status());
  return ConnectToEnvironment(*ext, *env, ctx.global().timeout);
}

using conductor::proto::Workflow;

void PrintDone(Context& ctx, const JsonObject& o, const std::string& text) {
  if (ctx.json()) {
    PrintJson(o.value(), ctx.out());
  } else {
    ctx.out() << text << "\n";
  }
}

absl::Status EnvAddCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  v1::Environment env;
  env.set_id(ctx.args()[0]);
  env.set_address(absl::GetFlag(FLAGS_address));
  env.set_use_tls(absl::GetFlag(FLAGS_use_tls));
  env.set_tls_root_ca_file(absl::GetFlag(FLAGS_root_ca_file));
  env.set_token_secret(absl::GetFlag(FLAGS_token_secret));
  env.set_access_key_id(absl::GetFlag(FLAGS_access_key_id));
  env.set_access_key_secret(absl::GetFlag(FLAGS_access_key_secret));
  if (env.address().empty()) return UsageError("env add needs --address URL or HOST:PORT");
  absl::StatusOr<client::EnvironmentAddress> where = client::ParseEnvironmentAddress(env);
  if (!where.ok()) return UsageError(where.status().message());
  RETURN_IF_ERROR(ext->PutEnvironment(env));
  std::string warning;
  const std::string& secret =
      env.token_secret().empty() ? env.access_key_secret() : env.token_secret();
  if (!secret.empty()) {
    absl::StatusOr<std::vector<std::string>> names = ext->ListSecretNames();
    if (names.ok() && std::find(names->begin(), names->end(), secret) == names->end()) {
      warning = absl::StrCat("secret '", secret, "' does not exist yet; store the ",
                             env.token_secret().empty() ? "access key's secret" : "token",
                             " with 'migrationctl secret put ", secret, "'");
    }
  }
  JsonObject o;
  o.Set("environment", MessageValue(env)).Set("warning", JsonString(warning));
  PrintDone(ctx, o,
            absl::StrCat("environment ", env.id(), " -> ", env.address(), " (",
                         client::ProtocolName(where->protocol), ")",
                         warning.empty() ? "" : absl::StrCat("\nwarning: ", warning)));
  return absl::OkStatus();
}

absl::Status EnvListCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  ASSIGN_OR_RETURN(std::vector<v1::Environment> envs, ext->ListEnvironments());
  if (ctx.json()) {
    JsonArray a;
    for (const auto& e : envs) a.Add(MessageValue(e));
    JsonObject o;
    o.Set("environments", a.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  if (envs.empty()) {
    ctx.out() << "No environments; add one with 'migrationctl env add ID --address HOST:PORT'.\n";
    return absl::OkStatus();
  }
  Table t({"ID", "PROTOCOL", "ADDRESS", "TLS", "CA FILE", "CREDENTIALS"});
  for (const auto& e : envs) {
    absl::StatusOr<client::EnvironmentAddress> where = client::ParseEnvironmentAddress(e);
    std::string credentials = "-";
    if (!e.token_secret().empty()) credentials = absl::StrCat("token in ", e.token_secret());
    if (!e.access_key_id().empty()) {
      credentials = absl::StrCat("key ", e.access_key_id(), ", secret in ", e.access_key_secret());
    }
    t.AddRow({e.id(), where.ok() ? std::string(client::ProtocolName(where->protocol)) : "invalid",
              e.address(), where.ok() && where->use_tls ? "yes" : "no",
              e.tls_root_ca_file().empty() ? "-" : e.tls_root_ca_file(), credentials});
  }
  t.Print(ctx.out());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<client::ConductorEnvironment>> ConnectToEnvironment(
    client::SecretClient& secrets, const v1::Environment& env, absl::Duration timeout) {
  ASSIGN_OR_RETURN(client::EnvironmentCredentials credentials,
                   client::ReadCredentials(env, [&secrets](const std::string& name) {
                     return secrets.GetSecret(name);
                   }));
  return client::ConnectEnvironment(env, credentials, timeout);
}

absl::Status EnvTestCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& id = ctx.args()[0];
  absl::StatusOr<v1::Environment> env = ext->GetEnvironment(id);
  if (absl::IsNotFound(env.status())) return UnknownEnvironment(*ext, id);
  RETURN_IF_ERROR(env.status());
  ASSIGN_OR_RETURN(client::EnvironmentAddress where, client::ParseEnvironmentAddress(*env));
  ASSIGN_OR_RETURN(std::unique_ptr<client::ConductorEnvironment> conductor,
                   ConnectToEnvironment(*ext, *env, ctx.global().timeout));
  RETURN_IF_ERROR(client::ProbeEnvironment(*conductor, *env));
  JsonObject o;
  o.Set("environment", JsonString(id))
      .Set("protocol", JsonString(client::ProtocolName(where.protocol)))
      .Set("address", JsonString(where.target))
      .Set("ok", JsonBool(true));
  PrintDone(ctx, o,
            absl::StrCat("environment ", id, ": ", client::ProtocolName(where.protocol), " ",
                         where.target, " answers and accepts the credentials"));
  return absl::OkStatus();
}

absl::Status EnvRemoveCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& id = ctx.args()[0];
  absl::Status s = ext->DeleteEnvironment(id);
  if (absl::IsNotFound(s)) return UnknownEnvironment(*ext, id);
  RETURN_IF_ERROR(s);
  JsonObject o;
  o.Set("removed", JsonString(id));
  PrintDone(ctx, o, absl::StrCat("removed environment ", id));
  return absl::OkStatus();
}

absl::Status SecretPutCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& name = ctx.args()[0];
  std::string value;
  const std::string file = absl::GetFlag(FLAGS_from_file);
  if (!file.empty()) {
    ASSIGN_OR_RETURN(value, ReadInputFile(file, "secret file"));
  } else {
    value.assign(std::istreambuf_iterator<char>(ctx.in()), std::istreambuf_iterator<char>());
  }
  // A trailing newline comes from `echo` or an editor, not from the secret.
  if (absl::EndsWith(value, "\r\n")) {
    value.resize(value.size() - 2);
  } else if (absl::EndsWith(value, "\n")) {
    value.pop_back();
  }
  if (value.empty()) {
    return UsageError(absl::StrCat("the value of secret '", name, "' is empty; give it on stdin ",
                                   "or with --from-file (never on the command line)"));
  }
  RETURN_IF_ERROR(ext->PutSecret(name, value));
  JsonObject o;
  o.Set("name", JsonString(name)).Set("bytes", JsonNumber(static_cast<double>(value.size())));
  PrintDone(ctx, o, absl::StrCat("stored secret ", name, " (", value.size(), " bytes)"));
  return absl::OkStatus();
}

absl::Status SecretListCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  ASSIGN_OR_RETURN(std::vector<std::string> names, ext->ListSecretNames());
  if (ctx.json()) {
    JsonArray a;
    for (const auto& n : names) a.Add(JsonString(n));
    JsonObject o;
    o.Set("secrets", a.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  if (names.empty()) ctx.out() << "No secrets.\n";
  for (const auto& n : names) ctx.out() << n << "\n";
  return absl::OkStatus();
}

absl::Status SecretDeleteCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& name = ctx.args()[0];
  absl::Status s = ext->DeleteSecret(name);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(absl::StrCat("no secret named '", name, "' (see 'secret list')"));
  }
  RETURN_IF_ERROR(s);
  JsonObject o;
  o.Set("deleted", JsonString(name));
  PrintDone(ctx, o, absl::StrCat("deleted secret ", name));
  return absl::OkStatus();
}

absl::Status AccessKeyCreateCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string output = absl::GetFlag(FLAGS_output);
  ASSIGN_OR_RETURN(v1::CreateAccessKeyResponse key, ext->CreateAccessKey());
  JsonObject pair;
  pair.Set("keyId", JsonString(key.key_id())).Set("keySecret", JsonString(key.key_secret()));
  if (!output.empty()) {
    RETURN_IF_ERROR(WriteOutputFile(output, WriteJson(pair.value(), /*pretty=*/true) + "\n",
                                    absl::GetFlag(FLAGS_overwrite), /*owner_only=*/true));
    JsonObject o;
    o.Set("keyId", JsonString(key.key_id())).Set("file", JsonString(output));
    PrintDone(ctx, o,
              absl::StrCat("created access key ", key.key_id(), "; its secret is in ", output));
    return absl::OkStatus();
  }
  if (ctx.json()) {
    PrintJson(pair.value(), ctx.out());
    return absl::OkStatus();
  }
  ctx.out() << "key id:     " << key.key_id() << "\n"
            << "key secret: " << key.key_secret() << "\n"
            << "The secret is shown this once. Exchange the pair for a token with\n"
            << "POST /api/token {\"keyId\": ..., \"keySecret\": ...}.\n";
  return absl::OkStatus();
}

absl::Status AccessKeyListCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  ASSIGN_OR_RETURN(std::vector<v1::AccessKeyInfo> keys, ext->ListAccessKeys());
  if (ctx.json()) {
    JsonArray a;
    for (const auto& k : keys) {
      JsonObject o;
      o.Set("keyId", JsonString(k.key_id()))
          .Set("createdTime", JsonNumber(static_cast<double>(k.created_time())));
      a.Add(o.Take());
    }
    JsonObject o;
    o.Set("accessKeys", a.Take());
    PrintJson(o.value(), ctx.out());
    return absl::OkStatus();
  }
  if (keys.empty()) ctx.out() << "No access keys.\n";
  for (const auto& k : keys) {
    ctx.out() << k.key_id() << "  created " << FormatConductorTime(k.created_time()) << "\n";
  }
  return absl::OkStatus();
}

absl::Status AccessKeyRevokeCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  const std::string& id = ctx.args()[0];
  absl::Status s = ext->RevokeAccessKey(id);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(absl::StrCat("no access key '", id, "' (see 'access-key list')"));
  }
  RETURN_IF_ERROR(s);
  JsonObject o;
  o.Set("revoked", JsonString(id));
  PrintDone(ctx, o, absl::StrCat("revoked access key ", id));
  return absl::OkStatus();
}

namespace {

// `migrate --apply-plan ID`: everything but waiting comes from the dry run.
absl::Status MigrateApprovedPlan(Context& ctx, const std::string& dry_run_id) {
  for (const char* flag :
       {"target", "source", "workflow", "task", "event_handler", "all_workflows",
        "all_event_handlers", "schedule", "all_schedules", "conflict_strategy", "version_strategy",
        "include_secrets", "skip_discovery", "require_task_definitions", "on_blocked", "dry_run"}) {
    if (ctx.flag_given(flag)) {
      return UsageError(
          absl::StrCat("--apply-plan takes the target, selection and options of its "
                       "dry run; drop --",
                       absl::StrReplaceAll(flag, {{"_", "-"}})));
    }
  }
  ASSIGN_OR_RETURN(ApprovedRun run, PrepareApprovedRun(ctx, dry_run_id));
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * source, ctx.Orchestrator());
  ASSIGN_OR_RETURN(std::string id, source->StartWorkflow(run.start));
  const std::string started =
      absl::StrCat("started ", kOutgoingWorkflow, " ", id, " -> ", run.target,
                   ", applying dry run ", dry_run_id, " as approved");
  if (!absl::GetFlag(FLAGS_wait)) {
    JsonObject o;
    o.Set("workflowId", JsonString(id))
        .Set("targetEnvironment", JsonString(run.target))
        .Set("approvedDryRun", JsonString(dry_run_id))
        .Set("status", JsonString("RUNNING"));
    PrintDone(ctx, o, absl::StrCat(started, "\nfollow it with: migrationctl watch ", id));
    return absl::OkStatus();
  }
  if (!ctx.json()) ctx.out() << started << "\n";
  return WaitAndReport(ctx, *source, id, &run.approved);
}

}  // namespace

absl::StatusOr<conductor::proto::StartWorkflowRequest> MigrationStartFromFlags(
    Context& ctx, absl::string_view command) {
  const std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    return UsageError(absl::StrCat(command, " needs --target ENV (see 'migrationctl env list')"));
  }
  v1::Selection selection;
  const std::vector<std::string> workflows = absl::GetFlag(FLAGS_workflow);
  for (const std::string& w : workflows) {
    absl::StatusOr<v1::WorkflowSelector> sel = ParseWorkflowSelector(w, "--workflow");
    if (!sel.ok()) return UsageError(sel.status().message());
    *selection.add_workflows() = *sel;
  }
  for (const std::string& t : absl::GetFlag(FLAGS_task)) {
    if (t.empty()) return UsageError("--task: empty task definition name");
    selection.add_task_defs(t);
  }
  for (const std::string& h : absl::GetFlag(FLAGS_event_handler)) {
    if (h.empty()) return UsageError("--event-handler: empty event handler name");
    selection.add_event_handlers(h);
  }
  for (const std::string& s : absl::GetFlag(FLAGS_schedule)) {
    if (s.empty()) return UsageError("--schedule: empty schedule name");
    selection.add_schedules(s);
  }
  // "*" is the fetch step's "every workflow" / "every event handler" / "every schedule".
  if (absl::GetFlag(FLAGS_all_workflows)) selection.add_workflows()->set_name("*");
  if (absl::GetFlag(FLAGS_all_event_handlers)) selection.add_event_handlers("*");
  if (absl::GetFlag(FLAGS_all_schedules)) selection.add_schedules("*");
  if (selection.workflows().empty() && selection.task_defs().empty() &&
      selection.event_handlers().empty() && selection.schedules().empty()) {
    return UsageError(absl::StrCat(
        command,
        " selects nothing: give --workflow NAME[@VERSION], --task NAME, --event-handler NAME, "
        "--schedule NAME, --all-workflows, --all-event-handlers or --all-schedules"));
  }
  v1::MigrationOptions options;
  absl::StatusOr<v1::ConflictStrategy> conflict =
      ParseConflictStrategy(absl::GetFlag(FLAGS_conflict_strategy), "--conflict-strategy");
  if (!conflict.ok()) return UsageError(conflict.status().message());
  absl::StatusOr<v1::VersionStrategy> versions =
      ParseVersionStrategy(absl::GetFlag(FLAGS_version_strategy), "--version-strategy");
  if (!versions.ok()) return UsageError(versions.status().message());
  options.set_conflict_strategy(*conflict);
  options.set_version_strategy(*versions);
  options.set_include_secrets(absl::GetFlag(FLAGS_include_secrets));
  options.set_dry_run(absl::GetFlag(FLAGS_dry_run));
  options.set_skip_discovery(absl::GetFlag(FLAGS_skip_discovery));
  options.set_require_task_definitions(absl::GetFlag(FLAGS_require_task_definitions));
  absl::StatusOr<v1::OnBlocked> on_blocked =
      ParseOnBlocked(absl::GetFlag(FLAGS_on_blocked), "--on-blocked");
  if (!on_blocked.ok()) return UsageError(on_blocked.status().message());
  options.set_on_blocked(*on_blocked);

  ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
  // Catch a typo in --target here rather than in the push step. A Conductor server without the
  // extension leaves environments to the worker's own config.
  absl::StatusOr<v1::Environment> env = ext->GetEnvironment(target);
  if (absl::IsNotFound(env.status())) return UnknownEnvironment(*ext, target);
  if (!env.ok() && !absl::IsUnimplemented(env.status())) return env.status();

  return migration::OutgoingMigrationStart(absl::GetFlag(FLAGS_source), target, selection, options,
                                           OperatorName());
}

absl::Status MigrateCommand(Context& ctx) {
  if (const std::string dry_run = absl::GetFlag(FLAGS_apply_plan); !dry_run.empty()) {
    return MigrateApprovedPlan(ctx, dry_run);
  }
  ASSIGN_OR_RETURN(conductor::proto::StartWorkflowRequest start,
                   MigrationStartFromFlags(ctx, "migrate"));
  const std::string target = absl::GetFlag(FLAGS_target);
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * source, ctx.Orchestrator());
  ASSIGN_OR_RETURN(std::string id, source->StartWorkflow(start));

  if (!absl::GetFlag(FLAGS_wait)) {
    JsonObject o;
    o.Set("workflowId", JsonString(id))
        .Set("targetEnvironment", JsonString(target))
        .Set("status", JsonString("RUNNING"));
    PrintDone(ctx, o,
              absl::StrCat("started ", kOutgoingWorkflow, " ", id, " -> ", target,
                           "\nfollow it with: migrationctl status ", id));
    return absl::OkStatus();
  }
  if (!ctx.json()) {
    ctx.out() << "started " << kOutgoingWorkflow << " " << id << " -> " << target << "\n";
  }
  return WaitAndReport(ctx, *source, id);
}

absl::Status WatchCommand(Context& ctx) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * c, ctx.Orchestrator());
  return WaitAndReport(ctx, *c, ctx.args()[0]);
}

absl::Status WaitAndReport(Context& ctx, client::WorkflowClient& workflows, const std::string& id,
                           const v1::MigrationReport* approved) {
  WaitOptions wait;
  wait.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  wait.timeout = absl::GetFlag(FLAGS_wait_timeout);
  if (wait.poll_interval <= absl::ZeroDuration()) {
    return UsageError("--poll-interval must be positive");
  }
  std::ostream& progress = ctx.json() ? ctx.err() : ctx.out();
  ASSIGN_OR_RETURN(Workflow wf, WaitForWorkflow(workflows, id, wait, progress));
  std::optional<v1::MigrationReport> report = ReportFromOutput(wf);
  if (!report && wf.status() != Workflow::COMPLETED) {
    // A failed outgoing migration carries no report; the incoming workflow in the target does.
    if (std::optional<LinkedIncoming> linked = FindIncoming(ctx, wf); linked && linked->workflow) {
      report = ReportFromOutput(*linked->workflow);
    }
  }
  std::optional<v1::MigrationPlan> plan = PlanFromOutput(wf);
  const std::vector<std::string> changed = approved != nullptr && report
                                               ? ChangesSinceApproval(*approved, *report)
                                               : std::vector<std::string>{};
  if (ctx.json()) {
    JsonObject o = WorkflowJson(wf);
    JsonArray steps;
    for (const auto* t : AttemptsInOrder(wf)) steps.Add(AttemptJson(*t, NowMs()));
    o.Set("attempts", steps.Take());
    o.Set("report", report ? MessageValue(*report) : JsonNull());
    o.Set("plan", plan ? MessageValue(*plan) : JsonNull());
    if (approved != nullptr) {
      JsonArray c;
      for (const std::string& line : changed) c.Add(JsonString(line));
      o.Set("changedSinceApproval", c.Take());
    }
    PrintJson(o.value(), ctx.out());
    ctx.MarkJsonPrinted();
  } else {
    ctx.out() << "\n";
    PrintWorkflowHeader(wf, NowMs(), ctx.out());
    if (report) {
      ctx.out() << "\n";
      PrintReport(*report, ctx.out());
    } else if (plan) {
      ctx.out() << "\n";
      PrintPlan(*plan, ctx.out());
    }
    if (!changed.empty()) {
      ctx.out() << "\nChanged since the approved dry run:\n";
      for (const std::string& line : changed) ctx.out() << "  - " << TerminalSafe(line) << "\n";
    }
  }
  if (wf.status() == Workflow::COMPLETED) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat(
      wf.workflow_definition().name(), " ", id, " ended ", WorkflowStatusName(wf.status()),
      wf.reason_for_incompletion().empty()
          ? ""
          : absl::StrCat(": ", InnermostCause(wf.reason_for_incompletion())),
      " (see 'migrationctl history ", id, " --logs'; 'migrationctl retry ", id, "' resumes it)"));
}

}  // namespace cmig::cli
