// Conductor's timeout and retry policies: the workflow's timeoutSeconds, a task's
// totalTimeoutSeconds / timeoutSeconds / pollTimeoutSeconds / responseTimeoutSeconds with its
// timeoutPolicy, the wake-ups that enforce them, and DeciderService.retry with its delays.
#include <climits>
#include <cmath>

#include "absl/strings/str_format.h"
#include "definitions/task_types.h"
#include "orchestrator/decider_internal.h"

namespace cmig::orchestrator::decider_internal {
namespace {

// Java's int arithmetic, which Conductor's backoff formulas are written in: products wrap
// around at 32 bits, and (int) of a too-large double saturates.
int32_t JavaIntMultiply(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}
int32_t JavaDoubleToInt(double d) {
  if (std::isnan(d)) return 0;
  if (d >= static_cast<double>(INT32_MAX)) return INT32_MAX;
  if (d <= static_cast<double>(INT32_MIN)) return INT32_MIN;
  return static_cast<int32_t>(d);
}

}  // namespace

int64_t Decider::WorkflowStartMs() const {
  if (wf_.last_retried_time() > 0) return wf_.last_retried_time();
  if (options_.workflow_create_time_ms > 0) return options_.workflow_create_time_ms;
  int64_t start = 0;
  for (const Task& t : wf_.tasks()) {
    if (t.scheduled_time() > 0 && (start == 0 || t.scheduled_time() < start)) {
      start = t.scheduled_time();
    }
  }
  return start;
}

void Decider::CheckWorkflowTimeout() {
  const WorkflowDef& def = wf_.workflow_definition();
  if (def.timeout_seconds() <= 0) return;
  int64_t start = WorkflowStartMs();
  if (start <= 0) return;
  int64_t timeout_ms = SecondsToMs(def.timeout_seconds());
  int64_t elapsed = now_ - start;
  if (elapsed < timeout_ms) return;
  if (def.timeout_policy() != WorkflowDef::TIME_OUT_WF) return;  // ALERT_ONLY only logs
  EndWorkflow(Workflow::TIMED_OUT,
              absl::StrFormat("Workflow timed out after %d seconds. Timeout configured as %d "
                              "seconds. Timeout policy configured to TIME_OUT_WF",
                              elapsed / 1000, def.timeout_seconds()),
              "");
}

int64_t Decider::FirstScheduledTime(const Task& t) const {
  const Task* first = &t;
  for (int hops = 0; hops < wf_.tasks_size() && !first->retried_task_id().empty(); ++hops) {
    const Task* previous = nullptr;
    for (const Task& candidate : wf_.tasks()) {
      if (candidate.task_id() == first->retried_task_id()) previous = &candidate;
    }
    if (previous == nullptr) break;
    first = previous;
  }
  return first->scheduled_time();
}

void Decider::CheckTaskTimeouts(const TaskDef& def, Task& t) {
  if (IsTerminal(t.status())) return;
  bool system = cmig::IsExecutedByEmbeddedOrchestrator(t.task_type());
  // totalTimeoutSeconds is checked first: with the whole budget spent, per-attempt limits
  // are moot.
  if (def.total_timeout_seconds() > 0) {
    int64_t first = FirstScheduledTime(t);
    int64_t elapsed_s = (now_ - first) / 1000;
    if (first > 0 && elapsed_s >= def.total_timeout_seconds()) {
      ApplyTimeoutPolicy(
          def, t,
          absl::StrFormat("Task %s/%s exceeded total timeout of %d seconds (elapsed %d seconds "
                          "across all attempts including retry delays). Timeout policy: %s",
                          t.task_def_name(), t.task_id(), def.total_timeout_seconds(), elapsed_s,
                          TaskDef::TimeoutPolicy_Name(def.timeout_policy())));
      if (ended_ || IsTerminal(t.status())) return;
    }
  }
  // timeoutSeconds: measured from the start of the attempt (after its start delay).
  if (def.timeout_seconds() > 0 && t.start_time() > 0) {
    int64_t elapsed = now_ - (t.start_time() + SecondsToMs(t.start_delay_in_seconds()));
    if (elapsed >= SecondsToMs(def.timeout_seconds())) {
      ApplyTimeoutPolicy(def, t,
                         absl::StrFormat("Task timed out after %d seconds. Timeout configured "
                                         "as %d seconds. Timeout policy configured to %s",
                                         elapsed / 1000, def.timeout_seconds(),
                                         TaskDef::TimeoutPolicy_Name(def.timeout_policy())));
      if (ended_ || IsTerminal(t.status())) return;
    }
  }
  if (system) return;  // system tasks are never polled and complete asynchronously
  if (def.poll_timeout_seconds() > 0 && t.status() == Task::SCHEDULED) {
    int64_t elapsed = now_ - (t.scheduled_time() + SecondsToMs(t.start_delay_in_seconds()));
    int64_t limit =
        SecondsToMs(def.poll_timeout_seconds()) + SecondsToMs(t.callback_after_seconds());
    if (elapsed >= limit) {
      ApplyTimeoutPolicy(
          def, t,
          absl::StrFormat("Task poll timed out after %d seconds. Poll timeout configured as %d "
                          "seconds. Timeout policy configured to %s",
                          elapsed / 1000, def.poll_timeout_seconds(),
                          TaskDef::TimeoutPolicy_Name(def.timeout_policy())));
      if (ended_ || IsTerminal(t.status())) return;
    }
  }
  if (t.status() == Task::IN_PROGRESS && def.response_timeout_seconds() != 0) {
    int64_t last_heard = ResponseReference(t);
    int64_t limit =
        SecondsToMs(def.response_timeout_seconds()) + SecondsToMs(t.callback_after_seconds());
    if (now_ - last_heard >= limit) {
      t.set_status(Task::TIMED_OUT);
      t.set_end_time(now_);
      t.set_reason_for_incompletion(absl::StrCat(
          "responseTimeout: ", def.response_timeout_seconds(),
          " exceeded for the taskId: ", t.task_id(), " with Task Definition: ", t.task_def_name()));
      MarkChanged(t);
    }
  }
}

int64_t Decider::ResponseReference(const Task& t) {
  if (t.update_time() > 0) return t.update_time();
  if (t.start_time() > 0) return t.start_time();
  return t.scheduled_time();
}

void Decider::ApplyTimeoutPolicy(const TaskDef& def, Task& t, const std::string& reason) {
  switch (def.timeout_policy()) {
    case TaskDef::ALERT_ONLY:
      return;
    case TaskDef::TIME_OUT_WF:
      t.set_status(Task::TIMED_OUT);
      t.set_end_time(now_);
      t.set_reason_for_incompletion(reason);
      MarkChanged(t);
      EndWorkflow(Workflow::TIMED_OUT, reason, t.task_id());
      return;
    default:  // RETRY
      t.set_status(Task::TIMED_OUT);
      t.set_end_time(now_);
      t.set_reason_for_incompletion(reason);
      MarkChanged(t);
      return;
  }
}

void Decider::CollectWakeups() {
  const WorkflowDef& wdef = wf_.workflow_definition();
  if (wdef.timeout_seconds() > 0 && wdef.timeout_policy() == WorkflowDef::TIME_OUT_WF) {
    int64_t start = WorkflowStartMs();
    if (start > 0) AddWake(start + SecondsToMs(wdef.timeout_seconds()));
  }
  for (const Task& t : wf_.tasks()) {
    if (t.retried() || IsTerminal(t.status())) continue;
    const WorkflowTask& wt = TaskWorkflowTask(t);
    const TaskDef& def = EffectiveDef(wt);
    bool alert_only = def.timeout_policy() == TaskDef::ALERT_ONLY;
    if (!alert_only && def.total_timeout_seconds() > 0) {
      int64_t first = FirstScheduledTime(t);
      if (first > 0) AddWake(first + SecondsToMs(def.total_timeout_seconds()));
    }
    if (!alert_only && def.timeout_seconds() > 0 && t.start_time() > 0) {
      AddWake(t.start_time() + SecondsToMs(t.start_delay_in_seconds()) +
              SecondsToMs(def.timeout_seconds()));
    }
    if (t.task_type() == kSubWorkflow && t.status() == Task::SCHEDULED) {
      AddWake(t.scheduled_time() + SecondsToMs(t.callback_after_seconds()));
    }
    if (cmig::IsExecutedByEmbeddedOrchestrator(t.task_type())) continue;
    if (!alert_only && def.poll_timeout_seconds() > 0 && t.status() == Task::SCHEDULED) {
      AddWake(t.scheduled_time() + SecondsToMs(t.start_delay_in_seconds()) +
              SecondsToMs(def.poll_timeout_seconds()) + SecondsToMs(t.callback_after_seconds()));
    }
    if (t.status() == Task::IN_PROGRESS && def.response_timeout_seconds() != 0) {
      AddWake(ResponseReference(t) + SecondsToMs(def.response_timeout_seconds()) +
              SecondsToMs(t.callback_after_seconds()));
    }
  }
}

std::optional<Task> Decider::Retry(const TaskDef& def, const WorkflowTask& wt, Task& task) {
  int expected = wt.retry_count() >= 0 ? wt.retry_count() : def.retry_count();
  if (!IsRetriable(task.status()) || cmig::IsNeverRetriedTaskType(task.task_type()) ||
      expected <= task.retry_count()) {
    if (wt.optional()) return std::nullopt;
    Workflow::WorkflowStatus status = Workflow::FAILED;
    if (task.status() == Task::CANCELED) status = Workflow::TERMINATED;
    if (task.status() == Task::TIMED_OUT) status = Workflow::TIMED_OUT;
    EndWorkflow(
        status,
        absl::StrFormat("Task %s failed with status: %s and reason: '%s'", task.task_id(),
                        Workflow::WorkflowStatus_Name(status), task.reason_for_incompletion()),
        task.task_id());
    return std::nullopt;
  }

  // No further attempt once the total budget across attempts is spent.
  if (def.total_timeout_seconds() > 0) {
    int64_t first = FirstScheduledTime(task);
    int64_t elapsed_s = (now_ - first) / 1000;
    if (first > 0 && elapsed_s >= def.total_timeout_seconds()) {
      EndWorkflow(task.status() == Task::TIMED_OUT ? Workflow::TIMED_OUT : Workflow::FAILED,
                  absl::StrFormat("Task %s/%s exceeded total timeout of %d seconds (elapsed %d "
                                  "seconds across all attempts). No further retries will be "
                                  "attempted.",
                                  task.task_id(), task.task_def_name(), def.total_timeout_seconds(),
                                  elapsed_s),
                  task.task_id());
      return std::nullopt;
    }
  }

  int64_t delay = RetryDelaySeconds(def, task.retry_count());
  task.set_retried(true);

  Task next = task;
  next.set_update_time(0);
  next.set_start_time(0);
  next.set_end_time(0);
  next.clear_worker_id();
  next.clear_output_data();
  next.clear_output_message();
  next.mutable_input_data()->erase("subWorkflowId");
  next.set_start_delay_in_seconds(static_cast<int32_t>(delay));
  next.set_callback_after_seconds(delay);
  next.set_retry_count(task.retry_count() + 1);
  next.set_retried(false);
  next.set_executed(false);
  next.set_task_id(new_id_());
  next.set_retried_task_id(task.task_id());
  next.set_status(Task::SCHEDULED);
  next.set_poll_count(0);
  next.clear_sub_workflow_id();
  next.set_seq(0);
  next.set_scheduled_time(now_);
  // Schema version 2 re-resolves the inputs so a retry sees the workflow as it is now.
  Struct fresh = ResolveTaskInput(wt, def);
  for (auto& [k, v] : *fresh.mutable_fields()) (*next.mutable_input_data())[k] = std::move(v);
  return next;
}

}  // namespace cmig::orchestrator::decider_internal

namespace cmig::orchestrator {

using conductor::proto::TaskDef;
using decider_internal::JavaDoubleToInt;
using decider_internal::JavaIntMultiply;

int64_t RetryDelaySeconds(const TaskDef& def, int retry_count) {
  int32_t delay = def.retry_delay_seconds();
  switch (def.retry_logic()) {
    case TaskDef::LINEAR_BACKOFF:
      delay = JavaIntMultiply(
          JavaIntMultiply(def.retry_delay_seconds(), def.backoff_scale_factor()), retry_count + 1);
      if (delay < 0) delay = INT32_MAX;
      break;
    case TaskDef::EXPONENTIAL_BACKOFF:
      delay =
          JavaIntMultiply(def.retry_delay_seconds(), JavaDoubleToInt(std::pow(2.0, retry_count)));
      if (delay < 0) delay = INT32_MAX;
      break;
    default:
      break;
  }
  int32_t cap = def.max_retry_delay_seconds();
  if (cap > 0 && delay > cap) delay = cap;
  return delay;
}

}  // namespace cmig::orchestrator
