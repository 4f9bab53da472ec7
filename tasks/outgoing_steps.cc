// The outgoing steps, in the source environment, after fetch and discovery (source_steps.cc):
// build the package, push it to the target, await the incoming workflow there and
// verify what the target holds (workflows/outgoing_migration_request.json).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/reason.h"
#include "base/status_macros.h"
#include "migration/approval.h"
#include "migration/discovery.h"
#include "migration/package.h"
#include "migration/verify.h"
#include "tasks/step_io.h"
#include "tasks/steps.h"
#include "workflows/lifecycle.h"

namespace cmig::tasks {

using migration::BuildPackage;
using migration::BuiltPackage;
using migration::CheckApprovedPackage;
using migration::DefinitionSource;
using migration::Discovery;
using migration::PackageFromJson;
using migration::PackageHeader;
using migration::PackageToJson;
using migration::VerifyTarget;

namespace {

using google::protobuf::Value;

class BuildPackageStep final : public Step {
 public:
  using Step::Step;
  const char* RemoteEnvironmentInput() const override { return "sourceEnvironment"; }
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string source_env, StringInput(ctx, "sourceEnvironment"));
    ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "discoveryRef"));
    ASSIGN_OR_RETURN(v1::MigrationOptions options, OptionsInput(ctx));
    ASSIGN_OR_RETURN(auto stored, state().LoadMessage<v1::StoredDiscovery>(ref, "discovery"));
    // Moved, not copied: at ten thousand definitions the copies are the step's peak memory.
    Discovery d;
    d.workflows.reserve(stored.workflows_size());
    for (auto& w : *stored.mutable_workflows()) {
      d.workflows.push_back({std::move(*w.mutable_def()), w.requested(),
                             std::move(*w.mutable_discovered_from()),
                             std::move(*w.mutable_extra())});
    }
    d.task_defs.reserve(stored.task_defs_size());
    for (auto& t : *stored.mutable_task_defs()) {
      d.task_defs.push_back({std::move(*t.mutable_def()), t.requested(),
                             std::move(*t.mutable_discovered_from()),
                             std::move(*t.mutable_extra())});
    }
    for (auto& h : *stored.mutable_event_handlers()) {
      d.event_handlers.push_back(
          {std::move(*h.mutable_def()), h.requested(), std::move(*h.mutable_discovered_from())});
    }
    for (auto& s : *stored.mutable_schedules()) {
      d.schedules.push_back(
          {std::move(*s.mutable_def()), s.requested(), std::move(*s.mutable_discovered_from())});
    }
    stored.clear_workflows();
    stored.clear_task_defs();
    stored.clear_event_handlers();
    stored.clear_schedules();
    d.report = std::move(*stored.mutable_report());
    PackageHeader header;
    header.source_environment = source_env;
    header.created_at = absl::Now();
    header.options = options;
    header.selection = stored.selection();
    if (options.include_secrets()) {
      // A REST source keeps its secrets in its own store (Orkes); this environment's come
      // through the secret resolver (its store, then the worker's files).
      ASSIGN_OR_RETURN(std::shared_ptr<client::ConductorEnvironment> source,
                       state().Source(source_env));
      client::SecretClient* remote_secrets =
          source->protocol() == client::Protocol::kRest ? source->secrets() : nullptr;
      for (const auto& dep : d.report.dependencies()) {
        if (dep.kind() != v1::DEPENDENCY_KIND_SECRET) continue;
        absl::StatusOr<std::string> value = remote_secrets != nullptr
                                                ? remote_secrets->GetSecret(dep.name())
                                                : deps().secrets->Resolve(dep.name());
        if (value.ok()) {
          header.secret_values[dep.name()] = *std::move(value);
        } else if (remote_secrets != nullptr && absl::IsUnimplemented(value.status())) {
          // A server without a secret API (conductor-oss): the values stay with the operator,
          // and the report lists the secrets to provide by hand.
          ctx.AddLog(absl::StrCat(
              "warning: environment '", source_env,
              "' has no secret API; no secret values are carried: ", value.status().message()));
          break;
        } else if (!absl::IsNotFound(value.status())) {
          return value.status();
        }
      }
    }
    ASSIGN_OR_RETURN(BuiltPackage built, BuildPackage(d, header));
    RETURN_IF_ERROR(CheckApproval(built.package));
    ASSIGN_OR_RETURN(std::string json, PackageToJson(built.package));
    ASSIGN_OR_RETURN(std::string package_ref,
                     state().Store(json, "package", !built.package.contains_secret_values()));
    for (const std::string& w : built.warnings) ctx.AddLog(absl::StrCat("warning: ", w));
    ctx.AddLog(
        absl::StrCat("package ", built.package.digest(), ": ", built.package.items_size(),
                     " items, ", json.size(), " bytes",
                     built.package.contains_secret_values() ? ", carries secret values" : ""));
    TaskOutcome out;
    SetString(out.output, "packageRef", package_ref);
    SetString(out.output, "packageDigest", built.package.digest());
    SetNumber(out.output, "items", built.package.items_size());
    SetNumber(out.output, "workflowDefs", built.package.manifest().workflow_def_count());
    SetNumber(out.output, "taskDefs", built.package.manifest().task_def_count());
    SetNumber(out.output, "eventHandlers", built.package.manifest().event_handler_count());
    SetNumber(out.output, "schedules", built.package.manifest().schedule_count());
    SetNumber(out.output, "bytes", static_cast<double>(json.size()));
    SetBool(out.output, "containsSecretValues", built.package.contains_secret_values());
    Value warnings;
    for (const std::string& w : built.warnings) {
      warnings.mutable_list_value()->add_values()->set_string_value(w);
    }
    if (!warnings.has_list_value()) warnings.mutable_list_value();
    Set(out.output, "warnings", warnings);
    return out;
  }

 private:
  // A run applying an approved dry run stops here, before anything is stored or pushed, when the
  // package is not the approved one. The dry run's package, while the store still holds it,
  // names what changed.
  absl::Status CheckApproval(const v1::MigrationPackage& package) {
    if (!package.options().has_approved_plan()) return absl::OkStatus();
    const std::string& ref = package.options().approved_plan().package_ref();
    std::optional<v1::MigrationPackage> approved;
    if (!ref.empty() && package.options().approved_plan().package_digest() != package.digest()) {
      if (absl::StatusOr<std::string> json = state().Load(ref, "approved package"); json.ok()) {
        if (absl::StatusOr<v1::MigrationPackage> p = PackageFromJson(*json); p.ok()) {
          approved = *std::move(p);
        }
      }
    }
    return CheckApprovedPackage(package, approved ? &*approved : nullptr);
  }
};

// At the end of an outgoing migration: a package carrying secret values leaves this
// environment's store (one without secrets stays, for the operator to download).
absl::Status ReleaseSecretPackage(StepState& state, TaskContext& ctx) {
  const Value* secrets = ctx.Input("containsSecretValues");
  if (secrets == nullptr || !secrets->bool_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string ref, StringInput(ctx, "packageRef"));
  RETURN_IF_ERROR(state.Release(ref));
  ctx.AddLog("the package carried secret values: deleted from this environment's store");
  return absl::OkStatus();
}

bool IsRunning(conductor::proto::Workflow::WorkflowStatus s) {
  return s == conductor::proto::Workflow::RUNNING || s == conductor::proto::Workflow::PAUSED;
}

// Starts incoming_migration_request for a pushed package: in the target (its blob store holding
// the package), or here for a REST target. The push step starts it once; the await step starts
// another when the operator retries a migration whose incoming workflow failed, so that it plans
// against the target as it is now.
class StartsIncoming : public Step {
 public:
  using Step::Step;

 protected:
  struct Started {
    std::string id;
    std::string target_ref;  // the package reference the incoming workflow reads
    std::string where;       // "in 'B'" or "here, for REST environment 'B'"
  };

  // `reuse`: a running incoming workflow an earlier attempt started is returned instead of a new
  // one (id set, target_ref empty).
  absl::StatusOr<Started> StartIncoming(TaskContext& ctx, bool reuse) {
    ASSIGN_OR_RETURN(std::string source_env, StringInput(ctx, "sourceEnvironment"));
    ASSIGN_OR_RETURN(std::string target_env, StringInput(ctx, "targetEnvironment"));
    ASSIGN_OR_RETURN(std::string package_ref, StringInput(ctx, "packageRef"));
    ASSIGN_OR_RETURN(std::string outgoing_id, StringInput(ctx, "outgoingWorkflowId"));
    ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, state().remotes().Connect(target_env));
    const std::string correlation = IncomingCorrelationId(outgoing_id);
    client::GrpcOrchestratorClient* remote_orchestrator = target->environment->orchestrator();
    client::WorkflowClient& runner = IncomingRunner(*target, *deps().workflows);
    Started started;
    started.where = remote_orchestrator != nullptr
                        ? absl::StrCat("in '", target_env, "'")
                        : absl::StrCat("here, for REST environment '", target_env, "'");
    // Refused credentials fail the step at once (Step::Execute names what to fix).
    RETURN_IF_ERROR(target->environment->Check());
    if (reuse) {
      ASSIGN_OR_RETURN(std::vector<conductor::proto::Workflow> existing,
                       runner.GetWorkflowsByCorrelationId(kIncomingWorkflowName, correlation,
                                                          /*include_closed=*/true,
                                                          /*include_tasks=*/false));
      // Only one still running: an ended one belongs to an earlier run of this migration (before
      // a retry or a restart), whose outcome this run must not take for its own.
      for (const conductor::proto::Workflow& w : existing) {
        if (IsRunning(w.status())) {
          started.id = w.workflow_id();
          return started;
        }
      }
    }
    std::string bytes;
    started.target_ref = package_ref;
    if (remote_orchestrator != nullptr) {
      absl::StatusOr<std::string> loaded = state().Load(package_ref, "package");
      if (!loaded.ok()) {
        return absl::Status(
            loaded.status().code(),
            absl::StrCat("the package is no longer stored here (one carrying secret values is "
                         "deleted when its migration ends; start the migration again): ",
                         loaded.status().message()));
      }
      bytes = *std::move(loaded);
      ASSIGN_OR_RETURN(started.target_ref,
                       state().StoreIn(target->environment->extensions(), bytes, "package",
                                       absl::StrCat("environment '", target_env, "'")));
    }
    if (remote_orchestrator != nullptr && absl::StartsWith(started.target_ref, kInlinePrefix)) {
      // Inline, the package becomes part of the incoming workflow's task data.
      absl::StatusOr<v1::MigrationPackage> package = PackageFromJson(bytes);
      if (package.ok() && package->contains_secret_values()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the package carries secret values and environment '", target_env,
            "' has no blob store (cmig.v1.BlobStore) to keep them out of task data; migrate "
            "without includeSecrets and set the secrets in the target by hand"));
      }
    }
    conductor::proto::StartWorkflowRequest start;
    start.set_name(std::string(kIncomingWorkflowName));
    start.set_correlation_id(correlation);
    auto& input = *start.mutable_input();
    input["packageRef"].set_string_value(started.target_ref);
    input["sourceEnvironment"].set_string_value(source_env);
    input["targetEnvironment"].set_string_value(target_env);
    input["outgoingWorkflowId"].set_string_value(outgoing_id);
    if (remote_orchestrator == nullptr) {
      input[std::string(kRemoteTargetInput)].set_string_value(target_env);
    }
    ASSIGN_OR_RETURN(started.id, runner.StartWorkflow(start));
    // Terminated while the incoming workflow was being started: nothing would end it.
    ASSIGN_OR_RETURN(conductor::proto::Workflow self,
                     deps().workflows->GetWorkflowStatus(outgoing_id, /*include_tasks=*/false));
    if (!IsRunning(self.status())) {
      const std::string why =
          absl::StrCat("outgoing migration ", outgoing_id, " ended ",
                       conductor::proto::Workflow::WorkflowStatus_Name(self.status()),
                       " while it was being started");
      RETURN_IF_ERROR(runner.TerminateWorkflow(started.id, why));
      // A target worker may have been quick enough to change something: undo it.
      RETURN_IF_ERROR(workflows::RollBackOnce(runner, started.id, why).status());
      return absl::FailedPreconditionError(
          absl::StrCat("outgoing migration ", outgoing_id, " ended while its incoming workflow ",
                       started.id, " was being started; that one was terminated"));
    }
    ctx.AddLog(absl::StrCat(
        "started ", kIncomingWorkflowName, " ", started.id, " ", started.where,
        remote_orchestrator == nullptr ? ""
                                       : absl::StrCat(" with a ", bytes.size(), "-byte package"),
        absl::StartsWith(started.target_ref, kInlinePrefix) ? " (inline)" : ""));
    return started;
  }
};

class PushPackage final : public StartsIncoming {
 public:
  using StartsIncoming::StartsIncoming;
  const char* RemoteEnvironmentInput() const override { return "targetEnvironment"; }
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string target_env, StringInput(ctx, "targetEnvironment"));
    ASSIGN_OR_RETURN(Started started, StartIncoming(ctx, /*reuse=*/true));
    TaskOutcome out;
    SetString(out.output, "incomingWorkflowId", started.id);
    if (started.target_ref.empty()) {
      ctx.AddLog(absl::StrCat("the incoming workflow ", started.id, " ", started.where,
                              " was started by an earlier attempt; not starting another"));
      SetBool(out.output, "alreadyStarted", true);
      return out;
    }
    ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, state().remotes().Connect(target_env));
    SetString(out.output, "targetPackageRef",
              absl::StartsWith(started.target_ref, kInlinePrefix) ? "inline" : started.target_ref);
    SetString(out.output, "targetProtocol", ProtocolName(target->environment->protocol()));
    SetBool(out.output, "alreadyStarted", false);
    return out;
  }
};

// Waits (at most 500 ms, never past `give_up`) for workflow `id` to change since `stamp`, where
// the target can say when it does (cmig.v1.WorkflowWatch). True when the caller should read the
// workflow again now: it changed, or the whole wait passed. False when it should pause instead:
// the target cannot watch (`can_watch` is cleared) or answered without waiting.
bool WaitForChange(client::WorkflowClient& runner, const std::string& id, absl::Time give_up,
                   int64_t& stamp, bool& can_watch) {
  const absl::Duration wait = std::min(give_up - absl::Now(), absl::Milliseconds(500));
  if (wait <= absl::ZeroDuration()) return false;
  const absl::Time asked = absl::Now();
  absl::StatusOr<int64_t> watched = runner.WatchWorkflow(id, stamp, wait);
  if (!watched.ok()) {
    if (absl::IsUnimplemented(watched.status())) can_watch = false;
    return false;
  }
  const bool changed = *watched != stamp && *watched != 0;
  stamp = *watched;
  return changed || absl::Now() - asked >= wait;
}

// Waits for the incoming workflow: first inside the step, reading it again as soon as it changed
// where the target can say so, else after 5 ms, then twice as long each time (a small migration
// ends within milliseconds of its last step); after await_in_step by reporting IN_PROGRESS with
// a callback of await_poll, which holds no thread while a long migration runs. A worker
// shutting down ends the in-step wait within half a second.
//
// A retry of the migration after its incoming workflow failed (the operator fixed the target)
// starts a new incoming workflow, which plans against the target as it is now; the failed one
// stays in history.
class AwaitIncoming final : public StartsIncoming {
 public:
  using StartsIncoming::StartsIncoming;
  const char* RemoteEnvironmentInput() const override { return "targetEnvironment"; }
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    static constexpr absl::Duration kMaxPause = absl::Milliseconds(500);
    ASSIGN_OR_RETURN(std::string target_env, StringInput(ctx, "targetEnvironment"));
    // The incoming workflow this attempt started, when it started one; else the push's.
    std::string id;
    if (auto it = ctx.task().output_data().find("incomingWorkflowId");
        it != ctx.task().output_data().end() && !it->second.string_value().empty()) {
      id = it->second.string_value();
    } else {
      ASSIGN_OR_RETURN(id, StringInput(ctx, "incomingWorkflowId"));
    }
    ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, state().remotes().Connect(target_env));
    client::GrpcOrchestratorClient* remote_orchestrator = target->environment->orchestrator();
    client::WorkflowClient& runner = IncomingRunner(*target, *deps().workflows);
    TaskOutcome out;
    SetString(out.output, "incomingWorkflowId", id);
    conductor::proto::Workflow wf;
    // An incoming workflow that failed or was terminated is waited for until its rollback ends.
    std::optional<conductor::proto::Workflow> rollback;
    std::string rollback_id;  // one this step started, in an earlier run of this attempt
    if (auto it = ctx.task().output_data().find("rollbackWorkflowId");
        it != ctx.task().output_data().end()) {
      rollback_id = it->second.string_value();
    }
    const absl::Time give_up = absl::Now() + deps().await_in_step;
    // The workflow being waited for (the incoming one, or its rollback) and its last stamp.
    std::string watched_id;
    int64_t stamp = 0;
    bool can_watch = true;
    for (absl::Duration pause = absl::Milliseconds(5);; pause = std::min(pause * 2, kMaxPause)) {
      ASSIGN_OR_RETURN(wf, runner.GetWorkflowStatus(id, /*include_tasks=*/false));
      bool waiting = IsRunning(wf.status());
      if (wf.status() == conductor::proto::Workflow::FAILED ||
          wf.status() == conductor::proto::Workflow::TERMINATED) {
        ASSIGN_OR_RETURN(bool retried, RetriedSince(ctx, wf));
        if (retried) {
          ASSIGN_OR_RETURN(Started again, StartIncoming(ctx, /*reuse=*/false));
          ctx.AddLog(absl::StrCat(
              "the migration was retried after its incoming workflow ", id, " ended ",
              conductor::proto::Workflow::WorkflowStatus_Name(wf.status()), "; started ", again.id,
              " to plan against the target as it is "
              "now"));
          id = again.id;
          rollback_id.clear();
          SetString(out.output, "incomingWorkflowId", id);
          continue;
        }
        if (!rollback_id.empty()) {
          ASSIGN_OR_RETURN(rollback, runner.GetWorkflowStatus(rollback_id, false));
        } else {
          ASSIGN_OR_RETURN(rollback, workflows::RollbackOf(runner, wf));
        }
        if (!rollback && wf.status() == conductor::proto::Workflow::TERMINATED &&
            OutgoingStillRuns(ctx)) {
          // Conductor starts no failure workflow on terminate: undo what it changed here. (When
          // this migration was terminated too, whoever ended both starts the rollback.) Its id
          // is kept in this step's output: a search may not list it yet.
          ASSIGN_OR_RETURN(rollback_id,
                           workflows::StartRollback(runner, wf, wf.reason_for_incompletion()));
          ctx.AddLog(absl::StrCat("the incoming workflow ", id,
                                  " was terminated; started its rollback ", rollback_id));
          SetString(out.output, "rollbackWorkflowId", rollback_id);
          ASSIGN_OR_RETURN(rollback, runner.GetWorkflowStatus(rollback_id, false));
        }
        waiting = rollback.has_value() && IsRunning(rollback->status());
      }
      if (!waiting || absl::Now() + pause > give_up) break;
      const std::string& follow = rollback ? rollback->workflow_id() : id;
      if (follow != watched_id) {
        watched_id = follow;
        stamp = 0;
      }
      if (can_watch && WaitForChange(runner, watched_id, give_up, stamp, can_watch)) {
        if (ctx.WaitForShutdown(absl::ZeroDuration())) break;
        continue;
      }
      if (ctx.WaitForShutdown(pause)) break;
    }
    SetString(out.output, "incomingStatus",
              conductor::proto::Workflow::WorkflowStatus_Name(wf.status()));
    if (rollback) {
      SetString(out.output, "rollbackWorkflowId", rollback->workflow_id());
      SetString(out.output, "rollbackStatus",
                conductor::proto::Workflow::WorkflowStatus_Name(rollback->status()));
      if (IsRunning(rollback->status())) {
        out.callback_after = deps().await_poll;
        return out;
      }
    }
    switch (wf.status()) {
      case conductor::proto::Workflow::RUNNING:
      case conductor::proto::Workflow::PAUSED:
        out.callback_after = deps().await_poll;
        return out;
      case conductor::proto::Workflow::COMPLETED:
        if (auto dry = wf.output().find("dryRun");
            dry != wf.output().end() && dry->second.bool_value()) {
          RETURN_IF_ERROR(ReleaseSecretPackage(state(), ctx));  // a dry run ends here
        }
        // What fetch and discovery kept for a retry of the steps after them is no longer needed
        // (a restart reads the source again); the package itself stays, to be downloaded or
        // applied as approved.
        for (const char* key : {"definitionsRef", "discoveryRef"}) {
          if (const Value* ref = ctx.Input(key); ref != nullptr && ref->has_string_value()) {
            RETURN_IF_ERROR(state().Release(ref->string_value()));
          }
        }
        for (const char* key : {"report", "plan", "verification", "dryRun", "applied"}) {
          auto it = wf.output().find(key);
          if (it != wf.output().end()) Set(out.output, key, it->second);
        }
        if (auto it = wf.output().find("reportRef"); it != wf.output().end() &&
                                                     it->second.has_string_value() &&
                                                     !it->second.string_value().empty()) {
          // The full report stays in the target's blob store; keep a copy here for the
          // verify step and the operator.
          const std::string& ref = it->second.string_value();
          if (absl::StartsWith(ref, kInlinePrefix) || remote_orchestrator == nullptr) {
            // Inline (a target without a blob store), or already here: usable as it is.
            SetString(out.output, "reportRef", ref);
            ctx.AddLog(absl::StrCat("the incoming workflow ", id, " completed"));
            return out;
          }
          if (!absl::StartsWith(ref, kStoredPrefix)) {
            return absl::InvalidArgumentError("the incoming report reference is malformed");
          }
          ASSIGN_OR_RETURN(std::string bytes, target->environment->extensions()->GetBlob(
                                                  ref.substr(kStoredPrefix.size())));
          ASSIGN_OR_RETURN(std::string local, state().Store(bytes, "incoming report"));
          SetString(out.output, "reportRef", local);
        }
        ctx.AddLog(absl::StrCat("the incoming workflow ", id, " completed"));
        return out;
      default:
        break;
    }
    std::string detail;
    auto report = wf.output().find("report");
    if (report != wf.output().end()) {
      v1::MigrationReport r;
      if (FromValue(&report->second, "report", &r).ok() && r.blocking_problems_size() > 0) {
        detail = absl::StrCat("; blocking problems: ", Summarise(r.blocking_problems()));
      }
    }
    if (rollback) absl::StrAppend(&detail, "; ", workflows::DescribeRollback(*rollback));
    RETURN_IF_ERROR(ReleaseSecretPackage(state(), ctx));
    return absl::FailedPreconditionError(
        absl::StrCat("the incoming workflow ", id, " in '", target_env, "' ended ",
                     conductor::proto::Workflow::WorkflowStatus_Name(wf.status()), ": ",
                     InnermostCause(wf.reason_for_incompletion()), detail));
  }

 private:
  bool OutgoingStillRuns(TaskContext& ctx) {
    absl::StatusOr<conductor::proto::Workflow> self = deps().workflows->GetWorkflowStatus(
        ctx.task().workflow_instance_id(), /*include_tasks=*/false);
    return self.ok() && IsRunning(self->status());
  }

  // Whether an earlier attempt of this step failed after `incoming` ended: the operator saw the
  // failure and retried the migration.
  absl::StatusOr<bool> RetriedSince(TaskContext& ctx, const conductor::proto::Workflow& incoming) {
    ASSIGN_OR_RETURN(conductor::proto::Workflow self,
                     deps().workflows->GetWorkflowStatus(ctx.task().workflow_instance_id(),
                                                         /*include_tasks=*/true));
    for (const conductor::proto::Task& t : self.tasks()) {
      if (t.task_id() == ctx.task().task_id() ||
          t.reference_task_name() != ctx.task().reference_task_name()) {
        continue;
      }
      const bool failed = t.status() == conductor::proto::Task::FAILED ||
                          t.status() == conductor::proto::Task::FAILED_WITH_TERMINAL_ERROR;
      if (failed && t.end_time() >= incoming.end_time()) return true;
    }
    return false;
  }
};

class VerifyTargetStep final : public Step {
 public:
  using Step::Step;
  const char* RemoteEnvironmentInput() const override { return "targetEnvironment"; }
  absl::StatusOr<TaskOutcome> Run(TaskContext& ctx) override {
    ASSIGN_OR_RETURN(std::string target_env, StringInput(ctx, "targetEnvironment"));
    v1::MigrationReport incoming;
    if (const Value* r = ctx.Input("incomingReportRef");
        r != nullptr && r->has_string_value() && !r->string_value().empty()) {
      ASSIGN_OR_RETURN(std::string json, state().Load(r->string_value(), "incoming report"));
      ASSIGN_OR_RETURN(incoming, ParseReport(json));
    } else {
      RETURN_IF_ERROR(FromValue(ctx.Input("incomingReport"), "incomingReport", &incoming));
    }
    if (incoming.items().empty() && incoming.package_digest().empty()) {
      return absl::InvalidArgumentError("input 'incomingReport' is missing");
    }
    ASSIGN_OR_RETURN(std::shared_ptr<Remote> target, state().remotes().Connect(target_env));
    ASSIGN_OR_RETURN(std::unique_ptr<DefinitionSource> source, ReadAll(*target->environment));
    ASSIGN_OR_RETURN(v1::Verification verification, VerifyTarget(incoming, *source));
    if (!verification.ok()) {
      RETURN_IF_ERROR(ReleaseSecretPackage(state(), ctx));  // retrying verifies the same
      return absl::FailedPreconditionError(
          absl::StrCat("the target '", target_env,
                       "' does not hold what was migrated: ", Summarise(verification.problems())));
    }
    v1::MigrationReport report;
    report.set_source_environment(incoming.source_environment());
    report.set_target_environment(target_env);
    report.set_package_digest(incoming.package_digest());
    *report.mutable_items() = incoming.items();
    *report.mutable_counts() = incoming.counts();
    *report.mutable_version_mapping() = incoming.version_mapping();
    *report.mutable_manual_dependencies() = incoming.manual_dependencies();
    *report.mutable_unresolved() = incoming.unresolved();
    *report.mutable_warnings() = incoming.warnings();
    *report.mutable_verification() = verification;
    *report.mutable_incoming() = incoming;
    AddDurations(*deps().workflows, ctx.task().workflow_instance_id(), report);
    RETURN_IF_ERROR(ReleaseSecretPackage(state(), ctx));
    ctx.AddLog(absl::StrCat("verified ", verification.checked(), " items in '", target_env, "'"));
    TaskOutcome out;
    RETURN_IF_ERROR(SetMessage(out.output, "verification", verification));
    RETURN_IF_ERROR(SetReport(state(), out.output, report));
    return out;
  }
};

}  // namespace

std::string IncomingCorrelationId(absl::string_view outgoing_workflow_id) {
  return absl::StrCat("cmig-outgoing-", outgoing_workflow_id);
}

absl::Status RegisterOutgoingSteps(HandlerRegistry& registry,
                                   const std::shared_ptr<StepState>& state) {
  RETURN_IF_ERROR(RegisterSourceSteps(registry, state));
  RETURN_IF_ERROR(
      registry.Register("cmig_build_package", std::make_unique<BuildPackageStep>(state)));
  RETURN_IF_ERROR(registry.Register("cmig_push_package", std::make_unique<PushPackage>(state)));
  RETURN_IF_ERROR(registry.Register("cmig_await_incoming", std::make_unique<AwaitIncoming>(state)));
  RETURN_IF_ERROR(
      registry.Register("cmig_verify_target", std::make_unique<VerifyTargetStep>(state)));
  return absl::OkStatus();
}

}  // namespace cmig::tasks
