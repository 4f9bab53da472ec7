// WorkflowExecutor.retry: a FAILED, TIMED_OUT or TERMINATED workflow resumes with a new attempt
// of each task that failed, then is decided as usual (decider.h, RetryWorkflow).
#include <algorithm>

#include "base/status_macros.h"
#include "definitions/task_types.h"
#include "orchestrator/decider_internal.h"
#include "orchestrator/expressions.h"

namespace cmig::orchestrator {

using conductor::proto::Task;
using conductor::proto::Workflow;
using decider_internal::Decider;
using decider_internal::IsWorkflowTerminal;
using decider_internal::kDoWhile;
using decider_internal::kJoin;
using google::protobuf::Struct;

absl::StatusOr<Decision> RetryWorkflow(Workflow& workflow, const TaskDefLookup& task_defs,
                                       const IdGenerator& new_id, int64_t now_ms,
                                       const DecideOptions& options) {
  if (!IsWorkflowTerminal(workflow.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Workflow is still running.  status=", Workflow::WorkflowStatus_Name(workflow.status())));
  }
  if (workflow.tasks_size() == 0) {
    return absl::FailedPreconditionError("Workflow has not started yet");
  }
  Workflow work = workflow;

  // The last unsuccessful attempt of each reference, unless a later attempt succeeded; a
  // canceled JOIN or DO_WHILE simply resumes.
  absl::flat_hash_map<std::string, int> retriable;
  std::vector<int> resumed;
  for (int i = 0; i < work.tasks_size(); ++i) {
    Task& t = *work.mutable_tasks(i);
    switch (t.status()) {
      case Task::FAILED:
      case Task::FAILED_WITH_TERMINAL_ERROR:
      case Task::TIMED_OUT:
        retriable[t.reference_task_name()] = i;
        break;
      case Task::CANCELED:
        if (t.task_type() == kJoin || t.task_type() == kDoWhile) {
          resumed.push_back(i);
        } else {
          retriable[t.reference_task_name()] = i;
        }
        break;
      default:
        retriable.erase(t.reference_task_name());
        break;
    }
  }
  if (retriable.empty() && work.status() != Workflow::TIMED_OUT) {
    return absl::FailedPreconditionError(
        "There are no retryable tasks! Use restart if you want to attempt entire workflow "
        "execution again.");
  }

  Decision prep;
  auto touched = [&](const Task& t) { prep.changed_task_ids.push_back(t.task_id()); };
  for (int i : resumed) {
    Task& t = *work.mutable_tasks(i);
    t.set_status(Task::IN_PROGRESS);
    t.set_end_time(0);
    touched(t);
  }
  std::vector<int> order;
  for (const auto& [ref, i] : retriable) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return work.tasks(a).seq() < work.tasks(b).seq(); });
  work.set_status(Workflow::RUNNING);
  work.set_last_retried_time(now_ms);
  work.clear_reason_for_incompletion();
  work.set_end_time(0);
  for (int i : order) {
    Task& t = *work.mutable_tasks(i);
    // Containers and joins are retried in place: a JOIN is only ever evaluated IN_PROGRESS.
    if (t.task_type() == kDoWhile || t.task_type() == kJoin) {
      t.set_retried(false);
      t.set_retry_count(t.retry_count() + 1);
      t.set_status(Task::IN_PROGRESS);
      t.set_end_time(0);
      touched(t);
      continue;
    }
    Task next = t;
    next.set_task_id(new_id());
    next.set_retried_task_id(t.task_id());
    next.set_status(Task::SCHEDULED);
    next.set_retry_count(t.retry_count() + 1);
    next.set_retried(false);
    next.set_executed(false);
    next.set_poll_count(0);
    next.set_callback_after_seconds(0);
    next.set_start_delay_in_seconds(0);
    next.clear_sub_workflow_id();
    next.set_scheduled_time(now_ms);
    next.set_start_time(0);
    next.set_end_time(0);
    next.set_update_time(0);
    next.clear_worker_id();
    next.clear_reason_for_incompletion();
    next.clear_output_data();
    next.clear_output_message();
    next.mutable_input_data()->erase("subWorkflowId");
    if (next.has_workflow_task()) {
      Struct fresh = ResolveMap(next.workflow_task().input_parameters(), work);
      for (auto& [k, v] : *fresh.mutable_fields()) (*next.mutable_input_data())[k] = v;
    }
    next.set_seq(work.tasks_size() + 1);
    t.set_retried(true);
    t.set_executed(true);
    touched(t);
    Task* stored = work.add_tasks();
    *stored = std::move(next);
    touched(*stored);
    if (!cmig::IsExecutedByEmbeddedOrchestrator(stored->task_type())) {
      prep.enqueue_task_ids.push_back(stored->task_id());
    }
  }

  Decider decider(work, task_defs, new_id, now_ms, options);
  ASSIGN_OR_RETURN(Decision decision, decider.Run());
  workflow.Swap(&work);
  absl::flat_hash_set<std::string> seen(prep.changed_task_ids.begin(), prep.changed_task_ids.end());
  for (std::string& id : decision.changed_task_ids) {
    if (seen.insert(id).second) prep.changed_task_ids.push_back(std::move(id));
  }
  for (std::string& id : decision.enqueue_task_ids) prep.enqueue_task_ids.push_back(std::move(id));
  absl::flat_hash_set<std::string> canceled(decision.canceled_task_ids.begin(),
                                            decision.canceled_task_ids.end());
  auto& q = prep.enqueue_task_ids;
  q.erase(std::remove_if(q.begin(), q.end(),
                         [&](const std::string& id) { return canceled.contains(id); }),
          q.end());
  prep.start_workflows = std::move(decision.start_workflows);
  prep.canceled_task_ids = std::move(decision.canceled_task_ids);
  prep.workflow_changed = true;
  prep.next_wake_ms = decision.next_wake_ms;
  return prep;
}

}  // namespace cmig::orchestrator
