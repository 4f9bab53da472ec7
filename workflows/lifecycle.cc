#include "workflows/lifecycle.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/reason.h"
#include "base/status_macros.h"

namespace cmig::workflows {

using conductor::proto::Workflow;

absl::StatusOr<std::optional<Workflow>> RollbackOf(client::WorkflowClient& runner,
                                                   const Workflow& incoming, bool include_tasks) {
  if (incoming.end_time() == 0) return std::nullopt;
  // Read with tasks: when a rollback started is when its first step was scheduled.
  ASSIGN_OR_RETURN(
      std::vector<Workflow> found,
      runner.GetWorkflowsByCorrelationId(kRollbackWorkflowName, incoming.correlation_id(),
                                         /*include_closed=*/true,
                                         /*include_tasks=*/true));
  auto started = [](const Workflow& w) {
    return w.tasks().empty() ? int64_t{0} : w.tasks(0).scheduled_time();
  };
  std::optional<Workflow> latest;
  for (Workflow& w : found) {
    auto it = w.input().find("workflowId");
    if (it == w.input().end() || it->second.string_value() != incoming.workflow_id()) continue;
    if (started(w) < incoming.end_time()) continue;  // the rollback of an earlier ending
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
