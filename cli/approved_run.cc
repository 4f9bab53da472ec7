// `migrate --apply-plan ID`: a run that applies a completed dry run as it was approved. It takes
// the dry run's target, selection and options, and carries the approval (package digest and plan
// fingerprint, migration/approval.h) for its steps to check.
#include <string>
#include <vector>

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

// The dry run's report with every item: a report of many items travels trimmed, with the whole
// in the source's package store (migration::StoredReportRef).
absl::StatusOr<v1::MigrationReport> FullReport(Context& ctx, const Workflow& wf) {
  if (const std::string ref = migration::StoredReportRef(wf); !ref.empty()) {
    ASSIGN_OR_RETURN(client::GrpcExtensionsClient * ext, ctx.Extensions());
    ASSIGN_OR_RETURN(std::string json, ext->GetBlob(ref.substr(sizeof("sha256:") - 1)));
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

}  // namespace

absl::StatusOr<ApprovedRun> PrepareApprovedRun(Context& ctx, const std::string& dry_run_id) {
  ASSIGN_OR_RETURN(client::GrpcOrchestratorClient * source, ctx.Orchestrator());
  ASSIGN_OR_RETURN(Workflow wf, source->GetWorkflowStatus(dry_run_id, /*include_tasks=*/true));
  auto named = [](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("--apply-plan ", s.message()));
  };
  if (absl::Status s = migration::CheckCompletedDryRun(wf); !s.ok()) return named(s);
  ApprovedRun run;
  ASSIGN_OR_RETURN(run.approved, FullReport(ctx, wf));
  absl::StatusOr<conductor::proto::StartWorkflowRequest> start =
      migration::ApprovedRunStart(wf, run.approved, OperatorName());
  if (!start.ok()) return named(start.status());
  run.start = *std::move(start);
  run.target = run.start.input().at("targetEnvironment").string_value();
  return run;
}

std::vector<std::string> ChangesSinceApproval(const v1::MigrationReport& approved,
                                              const v1::MigrationReport& now) {
  if (!now.blocked() || now.plan_fingerprint() == approved.plan_fingerprint()) return {};
  return migration::ChangedSinceApproval(approved, now);
}

}  // namespace cmig::cli
