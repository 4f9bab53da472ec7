// `migrate --apply-plan ID`: a run that applies a completed dry run as it was approved. It takes
// the dry run's target, selection and options, and carries the approval (package digest and plan
// fingerprint, migration/approval.h) for its steps to check.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "cli/commands.h"
#include "cli/workflow_view.h"
#include "definitions/json.h"
#include "definitions/message_value.h"
#include "migration/approval.h"
#include "migration/migration_start.h"

namespace cmig::cli {
namespace {

using conductor::proto::Workflow;

template <typename M>
absl::StatusOr<M> InputMessage(const Workflow& wf, const std::string& key) {
  M m;
  auto it = wf.input().find(key);
  if (it == wf.input().end()) return m;
  if (absl::Status s = MessageFromValue(it->second, &m, /*ignore_unknown_fields=*/true); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the dry run's input '", key, "' does not read: ", s.message()));
  }
  return m;
}

std::string InputString(const Workflow& wf, const std::string& key) {
  auto it = wf.input().find(key);
  return it == wf.input().end() ? "" : it->second.string_value();
}

// The dry run's report with every item: a report of many items travels trimmed, with the whole
// in the source's package store under "incomingReportRef".
absl::StatusOr<v1::MigrationReport> FullReport(Context& ctx, const Workflow& wf) {
  if (auto it = wf.output().find("incomingReportRef");
      it != wf.output().end() && absl::StartsWith(it->second.string_value(), "sha256:")) {
    ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
    ASSIGN_OR_RETURN(std::string json,
                     ext->GetBlob(it->second.string_value().substr(sizeof("sha256:") - 1)));
    v1::MigrationReport report;
    if (absl::Status s = MessageFromJson(json, &report, /*ignore_unknown_fields=*/true); !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the dry run's stored report does not read: ", s.message()));
    }
    return report;
  }
  std::optional<v1::MigrationReport> report = ReportFromOutput(wf);
  if (!report) return absl::FailedPreconditionError("the dry run has no report");
  return *report;
}

// The packageRef of the dry run's build step, when it has one.
std::string PackageRef(const Workflow& wf) {
  std::string ref;
  for (const conductor::proto::Task* t : AttemptsInOrder(wf)) {
    if (t->reference_task_name() != "build_package") continue;
    auto it = t->output_data().find("packageRef");
    if (it != t->output_data().end()) ref = it->second.string_value();
  }
  return ref;
}

}  // namespace

absl::StatusOr<ApprovedRun> PrepareApprovedRun(Context& ctx, const std::string& dry_run_id) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * source, ctx.Orchestrator());
  ASSIGN_OR_RETURN(Workflow wf, source->GetWorkflowStatus(dry_run_id, /*include_tasks=*/true));
  auto not_applicable = [&](const std::string& why) {
    return absl::FailedPreconditionError(
        absl::StrCat("--apply-plan ", dry_run_id, ": ", why,
                     "; only a dry run that completed with a plan can be applied as approved"));
  };
  if (wf.workflow_definition().name() != kOutgoingWorkflow) {
    return not_applicable(
        absl::StrCat("it is a ", wf.workflow_definition().name(), " workflow, not a migration"));
  }
  ASSIGN_OR_RETURN(v1::MigrationOptions options, InputMessage<v1::MigrationOptions>(wf, "options"));
  if (!options.dry_run()) return not_applicable("it is no dry run");
  if (wf.status() != Workflow::COMPLETED) {
    return not_applicable(absl::StrCat("it ended ", WorkflowStatusName(wf.status())));
  }
  ApprovedRun run;
  ASSIGN_OR_RETURN(run.approved, FullReport(ctx, wf));
  if (run.approved.blocked()) {
    return not_applicable("its plan is blocked (see its report); fix the target and dry-run again");
  }
  if (run.approved.plan_fingerprint().empty()) {
    return not_applicable("its plan has no fingerprint (planned by an older worker)");
  }
  ASSIGN_OR_RETURN(v1::Selection selection, InputMessage<v1::Selection>(wf, "selection"));
  run.target = InputString(wf, "targetEnvironment");
  options.set_dry_run(false);
  v1::ApprovedPlan& approval = *options.mutable_approved_plan();
  approval.set_dry_run_workflow_id(dry_run_id);
  approval.set_package_digest(run.approved.package_digest());
  approval.set_plan_fingerprint(run.approved.plan_fingerprint());
  approval.set_package_ref(PackageRef(wf));
  ASSIGN_OR_RETURN(
      run.start, migration::OutgoingMigrationStart(InputString(wf, "sourceEnvironment"), run.target,
                                                   selection, options, OperatorName()));
  return run;
}

std::vector<std::string> ChangesSinceApproval(const v1::MigrationReport& approved,
                                              const v1::MigrationReport& now) {
  if (!now.blocked() || now.plan_fingerprint() == approved.plan_fingerprint()) return {};
  return migration::ChangedSinceApproval(approved, now);
}

}  // namespace cmig::cli
