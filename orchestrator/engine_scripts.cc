// INLINE scripts evaluated outside the engine mutex (engine.h): the decider leaves a scripted
// INLINE task IN_PROGRESS, the script thread evaluates a copy of it, and the outcome is applied
// under the mutex as a worker's result would be. A script holds no lock while it runs (at most
// EngineLimits.script_time_limit), so other workflows and calls go on meanwhile.
#include <utility>

#include "orchestrator/decider.h"
#include "orchestrator/engine.h"
#include "orchestrator/engine_internal.h"

namespace cmig::orchestrator {

using conductor::proto::Task;

namespace {
constexpr absl::string_view kInlineType = "INLINE";
}  // namespace

DecideOptions Engine::DecideOptionsFor(const WorkflowState& ws) const {
  DecideOptions options;
  options.workflow_create_time_ms = ws.start_time;
  options.defer_inline_scripts = true;
  options.script_time_limit = limits_.script_time_limit;
  return options;
}

void Engine::DispatchScriptLocked(const Task& task) {
  if (task.task_type() != kInlineType || task.status() != Task::IN_PROGRESS) return;
  if (!scripts_dispatched_.insert(task.task_id()).second) return;
  script_jobs_.push_back(ScriptJob{task.workflow_instance_id(), task});
  script_cv_.Signal();
}

void Engine::DispatchScriptsLocked(const WorkflowState& ws) {
  for (const Task& t : ws.wf.tasks()) DispatchScriptLocked(t);
}

void Engine::ScriptLoop() {
  for (;;) {
    ScriptJob job;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && script_jobs_.empty()) script_cv_.Wait(&mu_);
      if (stopping_) return;
      job = std::move(script_jobs_.front());
      script_jobs_.pop_front();
    }
    if (inline_runner_) {
      inline_runner_(job.task);
    } else {
      RunInlineTask(job.task, limits_.script_time_limit);
    }
    Mutate(nullptr, [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return FinishScriptLocked(job, txn);
    });
  }
}

absl::Status Engine::FinishScriptLocked(const ScriptJob& job, Txn& txn) {
  scripts_dispatched_.erase(job.task.task_id());
  // Left IN_PROGRESS in the store: the next start evaluates it again.
  if (stopping_) return absl::OkStatus();
  absl::StatusOr<WorkflowState*> ws = FindWorkflowLocked(job.workflow_id);
  if (!ws.ok()) return absl::OkStatus();  // removed meanwhile
  Task* t = FindTaskLocked(**ws, job.task.task_id());
  // Canceled, terminated, or answered through the task API meanwhile: the first outcome stands.
  if (t == nullptr || t->status() != Task::IN_PROGRESS) return absl::OkStatus();
  // An evaluation that did not end the task leaves it to the next start of the engine.
  if (job.task.status() == Task::IN_PROGRESS) return absl::OkStatus();
  const int64_t now = clock_.NowMs();
  t->set_status(job.task.status());
  *t->mutable_output_data() = job.task.output_data();
  t->set_reason_for_incompletion(job.task.reason_for_incompletion());
  t->set_end_time(now);
  t->set_update_time(now);
  WriteTaskLocked(**ws, *t, txn);
  DecideLocked(**ws, txn);
  return absl::OkStatus();
}

}  // namespace cmig::orchestrator
