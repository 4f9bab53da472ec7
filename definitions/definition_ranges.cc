#include "definitions/definition_ranges.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace cmig {
namespace {

using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;

// Appends "TaskDef <field>: <value> must be >= 0" when `value` is negative.
void NotNegative(std::vector<std::string>& errors, absl::string_view field, int64_t value) {
  if (value < 0) errors.push_back(absl::StrFormat("TaskDef %s: %d must be >= 0", field, value));
}

std::vector<std::string> TaskDefViolations(const TaskDef& def) {
  std::vector<std::string> errors;
  NotNegative(errors, "retryCount", def.retry_count());
  NotNegative(errors, "timeoutSeconds", def.timeout_seconds());
  NotNegative(errors, "retryDelaySeconds", def.retry_delay_seconds());
  NotNegative(errors, "pollTimeoutSeconds", def.poll_timeout_seconds());
  NotNegative(errors, "maxRetryDelaySeconds", def.max_retry_delay_seconds());
  NotNegative(errors, "backoffJitterMs", def.backoff_jitter_ms());
  NotNegative(errors, "totalTimeoutSeconds", def.total_timeout_seconds());
  if (def.response_timeout_seconds() < 0) {
    errors.push_back(
        absl::StrFormat("TaskDef responseTimeoutSeconds: %d should be minimum 1 second",
                        def.response_timeout_seconds()));
  }
  if (def.backoff_scale_factor() < 0) {
    errors.push_back(
        absl::StrFormat("TaskDef backoffScaleFactor: %d must be >= 1", def.backoff_scale_factor()));
  }
  if (def.timeout_seconds() > 0 && def.response_timeout_seconds() > def.timeout_seconds()) {
    errors.push_back(absl::StrFormat(
        "TaskDef: %s responseTimeoutSeconds: %d must be less than timeoutSeconds: %d", def.name(),
        def.response_timeout_seconds(), def.timeout_seconds()));
  }
  if (def.timeout_seconds() > 0 && def.total_timeout_seconds() > 0 &&
      def.timeout_seconds() > def.total_timeout_seconds()) {
    errors.push_back(absl::StrFormat(
        "TaskDef: %s timeoutSeconds: %d must be less than or equal to totalTimeoutSeconds: %d",
        def.name(), def.timeout_seconds(), def.total_timeout_seconds()));
  }
  return errors;
}

// The violations of `task` and of the tasks nested in it, each prefixed with the task's
// reference name.
void AddTaskViolations(const WorkflowTask& task, std::vector<std::string>& errors) {
  const std::string prefix = absl::StrCat("task ", task.task_reference_name(), ": ");
  if (task.start_delay() < 0) {
    errors.push_back(
        absl::StrFormat("%sWorkflowTask startDelay: %d must be greater than or equal to 0", prefix,
                        task.start_delay()));
  }
  if (task.has_sub_workflow_param() && task.sub_workflow_param().version() < 0) {
    errors.push_back(absl::StrFormat("%ssubWorkflowParam version: %d must be >= 0", prefix,
                                     task.sub_workflow_param().version()));
  }
  if (task.has_task_definition()) {
    for (const std::string& e : TaskDefViolations(task.task_definition())) {
      errors.push_back(absl::StrCat(prefix, e));
    }
  }
  for (const auto& [value, list] : task.decision_cases()) {
    for (const WorkflowTask& c : list.tasks()) AddTaskViolations(c, errors);
  }
  for (const WorkflowTask& c : task.default_case()) AddTaskViolations(c, errors);
  for (const auto& fork : task.fork_tasks()) {
    for (const WorkflowTask& c : fork.tasks()) AddTaskViolations(c, errors);
  }
  for (const WorkflowTask& c : task.loop_over()) AddTaskViolations(c, errors);
}

absl::Status Refuse(absl::string_view subject, const std::vector<std::string>& errors) {
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(subject, ": ", absl::StrJoin(errors, "; ")));
}

}  // namespace

absl::Status CheckTaskDefRanges(const TaskDef& def) {
  return Refuse(absl::StrCat("task definition ", def.name()), TaskDefViolations(def));
}

absl::Status CheckWorkflowDefRanges(const WorkflowDef& def) {
  std::vector<std::string> errors;
  if (def.version() < 0) {
    errors.push_back(absl::StrFormat("WorkflowDef version: %d must be >= 0", def.version()));
  }
  if (def.timeout_seconds() < 0) {
    errors.push_back(
        absl::StrFormat("WorkflowDef timeoutSeconds: %d must be >= 0", def.timeout_seconds()));
  }
  for (const WorkflowTask& t : def.tasks()) AddTaskViolations(t, errors);
  return Refuse(absl::StrCat("workflow definition ", def.name()), errors);
}

}  // namespace cmig
