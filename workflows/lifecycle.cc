#include "workflows/lifecycle.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/reason.h"
#include "base/status_macros.h"

namespace cmig::workflows {

using conductor::proto::Workflow;

bool IsOwnDefinition(absl::string_view name) {
  return name == "outgoing_migration_request" || name == "incoming_migration_request" ||
         name == kRollbackWorkflowName || absl::StartsWith(name, "cmig_");
}

absl::StatusOr<std::optional<Workflow>> RollbackOf(client::WorkflowClient& runner,
                                                   const Workflow& incoming, bool include_tasks) {
  if (incoming.end_time() == 0) return std::nullopt;
  // The current ending's rollback started after the incoming workflow's last step was
  // scheduled; one of an earlier ending (before a retry scheduled more steps) did not.
  Workflow with_tasks;
  const Workflow* read = &incoming;
  if (incoming.tasks().empty()) {
    ASSIGN_OR_RETURN(with_tasks, runner.GetWorkflowStatus(incoming.workflow_id(),
                                                          /*include_tasks=*/true));
    read = &with_tasks;
  }
  int64_t last_step = 0;
  for (const conductor::proto::Task& t : read->tasks()) {
    last_step = std::max(last_step, t.scheduled_time());
  }
  // When a rollback started is when its first step was scheduled.
  auto started = [](const Workflow& w) {
    return w.tasks().empty() ? int64_t{0} : w.tasks(0).scheduled_time();
  };
  // Where Conductor records the failure workflow it started (read at once: a search by
  // correlation id may lag behind the workflow's end).
  if (auto it = read->output().find("conductor.failure_workflow");
      it != read->output().end() && !it->second.string_value().empty()) {
    absl::StatusOr<Workflow> w =
        runner.GetWorkflowStatus(it->second.string_value(), /*include_tasks=*/true);
    if (w.ok() && w->workflow_definition().name() == kRollbackWorkflowName &&
        started(*w) >= last_step) {
      if (!include_tasks) w->clear_tasks();
      return std::optional<Workflow>(*std::move(w));
    }
  }
  ASSIGN_OR_RETURN(
      std::vector<Workflow> found,
      runner.GetWorkflowsByCorrelationId(kRollbackWorkflowName, incoming.correlation_id(),
                                         /*include_closed=*/true,
                                         /*include_tasks=*/true));
  std::optional<Workflow> latest;
  for (Workflow& w : found) {
    auto it = w.input().find("workflowId");
    if (it == w.input().end() || it->second.string_value() != incoming.workflow_id()) continue;
    if (started(w) < last_step) continue;  // the rollback of an earlier ending
    if (!latest || started(w) > started(*latest)) latest = std::move(w);
  }
  if (latest && !include_tasks) latest->clear_tasks();
  return latest;
}

absl::StatusOr<std::string> StartRollback(client::WorkflowClient& runner, const Workflow& incoming,
                                          absl::string_view reason) {
  conductor::proto::StartWorkflowRequest start;
  start.set_name(std::string(kRollbackWorkflowName));
  start.set_correlation_id(incoming.correlation_id());
  auto& input = *start.mutable_input();
  input.insert(incoming.input().begin(), incoming.input().end());
  input["workflowId"].set_string_value(incoming.workflow_id());
  input["reason"].set_string_value(std::string(reason));
  input["failureStatus"].set_string_value(Workflow::WorkflowStatus_Name(incoming.status()));
  return runner.StartWorkflow(start);
}

absl::StatusOr<std::string> RollBackOnce(client::WorkflowClient& runner,
                                         absl::string_view incoming_id, absl::string_view reason) {
  ASSIGN_OR_RETURN(Workflow incoming, runner.GetWorkflowStatus(incoming_id,
                                                               /*include_tasks=*/true));
  ASSIGN_OR_RETURN(std::optional<Workflow> rollback, RollbackOf(runner, incoming));
  if (rollback) return rollback->workflow_id();
  return StartRollback(runner, incoming, reason);
}

std::string DescribeRollback(const Workflow& rollback) {
  if (rollback.status() == Workflow::COMPLETED) {
    std::string report;
    if (auto it = rollback.output().find("report"); it != rollback.output().end()) {
      report = it->second.string_value();
    }
    return absl::StrCat("rolled back by workflow ", rollback.workflow_id(),
                        report.empty() ? "" : ": ", report);
  }
  if (rollback.status() == Workflow::RUNNING || rollback.status() == Workflow::PAUSED) {
    return absl::StrCat("rollback workflow ", rollback.workflow_id(), " is still running");
  }
  return absl::StrCat("its rollback, workflow ", rollback.workflow_id(), ", ended ",
                      Workflow::WorkflowStatus_Name(rollback.status()), ": ",
                      InnermostCause(rollback.reason_for_incompletion()),
                      "; the target may still hold part of the migration");
}

}  // namespace cmig::workflows
