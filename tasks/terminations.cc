#include "tasks/terminations.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "migration/migration_start.h"
#include "spdlog/spdlog.h"
#include "tasks/migration_handlers.h"
#include "tasks/remote.h"
#include "workflows/lifecycle.h"

namespace cmig::tasks {
namespace {

using conductor::proto::Workflow;

// Terminated migrations looked at per run, newest first.
constexpr int kPage = 50;

// Ends the incoming workflows outgoing migration `outgoing` started; returns how many were
// still running.
absl::StatusOr<int> EndIncomingOf(StepState& state, const Workflow& outgoing) {
  auto target_env = outgoing.input().find("targetEnvironment");
  if (target_env == outgoing.input().end() || target_env->second.string_value().empty()) return 0;
  ASSIGN_OR_RETURN(std::shared_ptr<Remote> target,
                   state.remotes().Connect(target_env->second.string_value()));
  client::WorkflowClient& runner = IncomingRunner(*target, *state.deps().workflows);
  ASSIGN_OR_RETURN(std::vector<Workflow> incoming,
                   runner.GetWorkflowsByCorrelationId(
                       kIncomingWorkflowName, IncomingCorrelationId(outgoing.workflow_id()),
                       /*include_closed=*/false, /*include_tasks=*/false));
  int ended = 0;
  for (const Workflow& in : incoming) {
    if (in.status() != Workflow::RUNNING && in.status() != Workflow::PAUSED) continue;
    const std::string reason = absl::StrCat(
        "outgoing migration ", outgoing.workflow_id(), " was terminated",
        outgoing.reason_for_incompletion().empty() ? "" : ": ", outgoing.reason_for_incompletion());
    absl::Status terminated = runner.TerminateWorkflow(in.workflow_id(), reason);
    // Ended meanwhile (its own failure starts its rollback): nothing more to do here.
    if (!terminated.ok() && !absl::IsFailedPrecondition(terminated)) return terminated;
    ASSIGN_OR_RETURN(std::string rollback,
                     workflows::RollBackOnce(runner, in.workflow_id(), reason));
    spdlog::info(
        "outgoing migration {} was terminated: ended its incoming workflow {} in '{}', "
        "rollback {}",
        outgoing.workflow_id(), in.workflow_id(), target_env->second.string_value(), rollback);
    ++ended;
  }
  return ended;
}

}  // namespace

absl::StatusOr<int> FollowTerminations(StepState& state, TerminationsFollowed& followed) {
  client::WorkflowSearchQuery query;
  query.size = kPage;
  query.sort = "startTime:DESC";
  query.query = absl::StrCat("workflowType = '", migration::kOutgoingMigrationWorkflow,
                             "' AND status = 'TERMINATED'");
  ASSIGN_OR_RETURN(client::WorkflowSearchResult found,
                   state.deps().workflows->SearchWorkflows(query));
  int ended = 0;
  absl::Status first_error;
  for (const conductor::proto::WorkflowSummary& s : found.results) {
    if (followed.outgoing_ids.contains(s.workflow_id())) continue;
    absl::StatusOr<Workflow> outgoing =
        state.deps().workflows->GetWorkflowStatus(s.workflow_id(), /*include_tasks=*/false);
    absl::StatusOr<int> n = outgoing.ok() ? EndIncomingOf(state, *outgoing) : outgoing.status();
    if (!n.ok()) {
      if (first_error.ok()) {
        first_error = absl::Status(n.status().code(),
                                   absl::StrCat("following the termination of migration ",
                                                s.workflow_id(), ": ", n.status().message()));
      }
      continue;
    }
    followed.outgoing_ids.insert(s.workflow_id());
    ended += *n;
  }
  RETURN_IF_ERROR(first_error);
  return ended;
}

}  // namespace cmig::tasks
