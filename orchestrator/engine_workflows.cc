// Workflow and task operations in the engine (engine.h): start, read, query, pause, resume,
// terminate, retry, restart, rerun, remove, task results and logs. Each mutation runs under the
// engine mutex and ends in one transaction.
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/task_types.h"
#include "orchestrator/engine.h"
#include "orchestrator/engine_internal.h"

namespace cmig::orchestrator {

using conductor::proto::Task;
using conductor::proto::Workflow;
using engine_internal::IsTerminal;

namespace {

Task::Status TaskStatusFromResult(conductor::proto::TaskResult::Status s) {
  switch (s) {
    case conductor::proto::TaskResult::IN_PROGRESS:
      return Task::IN_PROGRESS;
    case conductor::proto::TaskResult::FAILED:
      return Task::FAILED;
    case conductor::proto::TaskResult::FAILED_WITH_TERMINAL_ERROR:
      return Task::FAILED_WITH_TERMINAL_ERROR;
    case conductor::proto::TaskResult::COMPLETED:
      return Task::COMPLETED;
    case conductor::proto::TaskResult::CANCELED:
      return Task::CANCELED;
    default:
      return Task::FAILED;
  }
}

// The size of an input or output map as the wire carries it (keys and values).
int64_t PayloadBytes(const google::protobuf::Map<std::string, google::protobuf::Value>& fields) {
  int64_t bytes = 0;
  for (const auto& [k, v] : fields) bytes += static_cast<int64_t>(k.size() + v.ByteSizeLong());
  return bytes;
}

}  // namespace

void Engine::StartWorkflow(conductor::proto::StartWorkflowRequest request,
                           std::function<void(absl::StatusOr<std::string>)> done,
                           std::string workflow_id) {
  auto id = std::make_shared<std::string>();
  Mutate(
      [done = std::move(done), id](const absl::Status& s) {
        if (s.ok()) {
          done(*id);
        } else {
          done(s);
        }
      },
      [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        if (request.name().empty() && request.workflow_def().name().empty()) {
          return absl::InvalidArgumentError("StartWorkflowRequest has no workflow name");
        }
        if (const int64_t size = PayloadBytes(request.input());
            size > limits_.max_workflow_input_bytes) {
          return absl::InvalidArgumentError(absl::StrCat(
              "The payload size: ", size, " of the input of workflow ",
              request.name().empty() ? request.workflow_def().name() : request.name(),
              " is greater than the permissible limit: ", limits_.max_workflow_input_bytes,
              " bytes"));
        }
        if (!workflow_id.empty()) {
          absl::StatusOr<WorkflowState*> existing = FindWorkflowLocked(workflow_id);
          EvictLoadedLocked();
          if (existing.ok()) {
            *id = workflow_id;  // started before: nothing to do
            return absl::OkStatus();
          }
          if (!absl::IsNotFound(existing.status())) return existing.status();
        }
        ASSIGN_OR_RETURN(*id, StartWorkflowLocked(request, "", "", txn, 1, workflow_id));
        return absl::OkStatus();
      });
}

absl::StatusOr<Workflow> Engine::GetWorkflow(const std::string& workflow_id, bool include_tasks,
                                             int64_t* start_time) {
  {
    absl::MutexLock lock(&mu_);
    auto it = workflows_.find(workflow_id);
    if (it != workflows_.end()) {
      if (start_time != nullptr) *start_time = it->second->start_time;
      Workflow out;
      if (include_tasks) {
        out = it->second->wf;
      } else {
        google::protobuf::RepeatedPtrField<Task> tasks;
        tasks.Swap(it->second->wf.mutable_tasks());
        out = it->second->wf;
        tasks.Swap(it->second->wf.mutable_tasks());
      }
      return out;
    }
  }
  return store_.ReadWorkflow(workflow_id, include_tasks, start_time);
}

absl::StatusOr<std::vector<Workflow>> Engine::GetWorkflowsByCorrelationId(
    const std::string& name, const std::string& correlation_id, bool include_closed,
    bool include_tasks) {
  WorkflowQuery q;
  q.workflow_type = name;
  q.correlation_id = correlation_id;
  if (!include_closed) q.statuses = {Workflow::RUNNING, Workflow::PAUSED};
  ASSIGN_OR_RETURN(std::vector<WorkflowRow> rows, store_.QueryWorkflows(q, nullptr));
  std::vector<Workflow> out;
  for (const WorkflowRow& r : rows) {
    absl::StatusOr<Workflow> wf = GetWorkflow(r.workflow.workflow_id(), include_tasks);
    if (wf.ok()) out.push_back(*std::move(wf));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Engine::GetRunningWorkflows(const std::string& name,
                                                                     int version,
                                                                     int64_t start_time,
                                                                     int64_t end_time) {
  WorkflowQuery q;
  q.workflow_type = name;
  q.version = version;
  q.statuses = {Workflow::RUNNING};
  q.start_time_from = start_time;
  q.start_time_to = end_time;
  ASSIGN_OR_RETURN(std::vector<WorkflowRow> rows, store_.QueryWorkflows(q, nullptr));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const WorkflowRow& r : rows) out.push_back(r.workflow.workflow_id());
  return out;
}

absl::StatusOr<WorkflowPage> Engine::SearchWorkflows(const WorkflowQuery& query) {
  WorkflowPage page;
  ASSIGN_OR_RETURN(page.rows, store_.QueryWorkflows(query, &page.total_hits));
  return page;
}

void Engine::PauseWorkflow(const std::string& workflow_id, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    if (ws->wf.status() == Workflow::PAUSED) return absl::OkStatus();
    if (ws->wf.status() != Workflow::RUNNING) {
      return absl::FailedPreconditionError(
          absl::StrCat("The workflow ", workflow_id, " is not running: status ",
                       Workflow::WorkflowStatus_Name(ws->wf.status())));
    }
    ws->wf.set_status(Workflow::PAUSED);
    WriteWorkflowLocked(*ws, txn);
    return absl::OkStatus();
  });
}

void Engine::ResumeWorkflow(const std::string& workflow_id, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    if (ws->wf.status() != Workflow::PAUSED) {
      return absl::FailedPreconditionError(
          absl::StrCat("The workflow ", workflow_id, " is not paused: status ",
                       Workflow::WorkflowStatus_Name(ws->wf.status())));
    }
    ws->wf.set_status(Workflow::RUNNING);
    WriteWorkflowLocked(*ws, txn);
    DecideLocked(*ws, txn);
    return absl::OkStatus();
  });
}

void Engine::TerminateWorkflow(const std::string& workflow_id, const std::string& reason,
                               Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    if (IsTerminal(ws->wf.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("Workflow ", workflow_id, " has already ended: status ",
                       Workflow::WorkflowStatus_Name(ws->wf.status())));
    }
    TerminateLocked(*ws, reason, txn);
    return absl::OkStatus();
  });
}

void Engine::RetryWorkflow(const std::string& workflow_id, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    if (ws->deciding) return absl::UnavailableError("workflow is being decided; retry later");
    // The decider's RetryWorkflow creates the new attempts and decides; it runs
    // in DecideLocked's loop so that children and parents are handled alike.
    RETURN_IF_ERROR(DecideLocked(*ws, txn, DecideMode::kRetry));
    WriteWorkflowLocked(*ws, txn);
    return absl::OkStatus();
  });
}

void Engine::RestartWorkflow(const std::string& workflow_id, bool use_latest_definitions,
                             Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    Workflow& wf = ws->wf;
    if (!IsTerminal(wf.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("Workflow ", workflow_id, " is still running and cannot be restarted: ",
                       Workflow::WorkflowStatus_Name(wf.status())));
    }
    if (use_latest_definitions) {
      auto it = workflow_defs_.find(wf.workflow_definition().name());
      if (it != workflow_defs_.end() && !it->second.empty()) {
        *wf.mutable_workflow_definition() = it->second.rbegin()->second;
      }
    }
    for (const Task& t : wf.tasks()) {
      DequeueLocked(t.task_id(), txn);
      task_workflow_.erase(t.task_id());
      txn.batch.push_back(DeleteTaskOp{t.task_id()});
    }
    wf.clear_tasks();
    wf.set_status(Workflow::RUNNING);
    wf.set_reason_for_incompletion("");
    wf.set_end_time(0);
    wf.clear_output();
    wf.clear_failed_reference_task_names();
    wf.clear_failed_task_names();
    ws->start_time = clock_.NowMs();
    WriteWorkflowLocked(*ws, txn);
    DecideLocked(*ws, txn);
    return absl::OkStatus();
  });
}

void Engine::RerunWorkflow(conductor::proto::RerunWorkflowRequest request,
                           std::function<void(absl::StatusOr<std::string>)> done) {
  std::string id = request.re_run_from_workflow_id();
  Mutate(
      [done = std::move(done), id](const absl::Status& s) {
        if (s.ok()) {
          done(id);
        } else {
          done(s);
        }
      },
      [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
        ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(id));
        Workflow& wf = ws->wf;
        int64_t now = clock_.NowMs();
        int from = -1;
        if (!request.re_run_from_task_id().empty()) {
          for (int i = 0; i < wf.tasks_size(); ++i) {
            if (wf.tasks(i).task_id() == request.re_run_from_task_id()) from = i;
          }
          if (from < 0) {
            return absl::NotFoundError(
                absl::StrCat("Workflow ", id, " has no task ", request.re_run_from_task_id()));
          }
        } else if (!IsTerminal(wf.status())) {
          return absl::FailedPreconditionError(
              absl::StrCat("Workflow ", id, " is still running; rerun it from a task id"));
        }
        // Attempts after the rerun point (by position: attempts are appended in
        // scheduling order) are dropped; the rerun task itself starts over.
        google::protobuf::RepeatedPtrField<Task> kept;
        for (int i = 0; i < wf.tasks_size(); ++i) {
          Task& t = *wf.mutable_tasks(i);
          if (from >= 0 && i < from) {
            *kept.Add() = std::move(t);
            continue;
          }
          if (i == from) {
            t.set_status(Task::SCHEDULED);
            t.set_scheduled_time(now);
            t.set_start_time(0);
            t.set_end_time(0);
            t.set_update_time(now);
            t.set_poll_count(0);
            t.set_worker_id("");
            t.set_reason_for_incompletion("");
            t.clear_output_data();
            t.set_retried(false);
            t.set_executed(false);  // the decider schedules what follows it again
            if (!request.task_input().empty()) *t.mutable_input_data() = request.task_input();
            *kept.Add() = std::move(t);
            continue;
          }
          DequeueLocked(t.task_id(), txn);
          task_workflow_.erase(t.task_id());
          txn.batch.push_back(DeleteTaskOp{t.task_id()});
        }
        wf.mutable_tasks()->Swap(&kept);
        if (!request.workflow_input().empty()) *wf.mutable_input() = request.workflow_input();
        if (!request.correlation_id().empty()) wf.set_correlation_id(request.correlation_id());
        wf.set_status(Workflow::RUNNING);
        wf.set_reason_for_incompletion("");
        wf.set_end_time(0);
        wf.clear_output();
        wf.clear_failed_reference_task_names();
        wf.clear_failed_task_names();
        WriteWorkflowLocked(*ws, txn);
        if (from >= 0) {
          Task& t = *wf.mutable_tasks(wf.tasks_size() - 1);
          WriteTaskLocked(*ws, t, txn);
          if (!cmig::IsKnownSystemTaskType(t.task_type())) EnqueueLocked(*ws, t, now, txn);
        }
        DecideLocked(*ws, txn);
        return absl::OkStatus();
      });
}

void Engine::RemoveWorkflow(const std::string& workflow_id, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    for (const Task& t : ws->wf.tasks()) {
      DequeueLocked(t.task_id(), txn);
      task_workflow_.erase(t.task_id());
    }
    txn.batch.push_back(DeleteWorkflowOp{workflow_id});
    SetWakeLocked(*ws, std::nullopt);
    if (ws->pending_commits == 0) {
      workflows_.erase(workflow_id);
    } else {
      // Dropped from memory once its pending writes commit.
      ws->wf.set_status(Workflow::TERMINATED);
      ws->wf.clear_tasks();
      txn.touched.insert(workflow_id);
    }
    return absl::OkStatus();
  });
}

void Engine::DecideWorkflow(const std::string& workflow_id, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    DecideLocked(*ws, txn);
    return absl::OkStatus();
  });
}

void Engine::UpdateTask(conductor::proto::TaskResult result, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    const std::string& task_id = result.task_id();
    if (task_id.empty()) return absl::InvalidArgumentError("TaskResult has no task_id");
    WorkflowState* ws = nullptr;
    auto it = task_workflow_.find(task_id);
    if (it != task_workflow_.end()) {
      ASSIGN_OR_RETURN(ws, FindWorkflowLocked(it->second));
    } else {
      absl::StatusOr<Task> stored = store_.ReadTask(task_id);
      if (!stored.ok()) {
        return absl::NotFoundError(absl::StrCat("No such task found by id: ", task_id));
      }
      ASSIGN_OR_RETURN(ws, FindWorkflowLocked(stored->workflow_instance_id()));
    }
    Task* t = FindTaskLocked(*ws, task_id);
    if (t == nullptr) {
      return absl::NotFoundError(absl::StrCat("No such task found by id: ", task_id));
    }
    int64_t now = clock_.NowMs();
    for (const auto& log : result.logs()) {
      txn.batch.push_back(
          AddLogOp{task_id, log.created_time() ? log.created_time() : now, log.log()});
    }
    // A result for an attempt that already ended (a duplicate delivery, a late
    // worker after a timeout) changes nothing, as in Conductor.
    if (IsTerminal(t->status()) || IsTerminal(ws->wf.status())) return absl::OkStatus();
    Task::Status status = TaskStatusFromResult(result.status());
    if (const int64_t size = PayloadBytes(result.output_data());
        size > limits_.max_task_output_bytes) {
      // As Conductor: the output is not kept, and the task fails for good.
      result.clear_output_data();
      status = Task::FAILED_WITH_TERMINAL_ERROR;
      result.set_reason_for_incompletion(absl::StrCat(
          "The payload size: ", size, " of task: ", task_id, " in workflow: ", ws->wf.workflow_id(),
          "  is greater than the permissible limit: ", limits_.max_task_output_bytes, " bytes"));
    }
    for (const auto& [k, v] : result.output_data()) (*t->mutable_output_data())[k] = v;
    if (!result.worker_id().empty()) t->set_worker_id(result.worker_id());
    if (!result.reason_for_incompletion().empty()) {
      t->set_reason_for_incompletion(result.reason_for_incompletion());
    }
    if (!result.sub_workflow_id().empty()) t->set_sub_workflow_id(result.sub_workflow_id());
    t->set_update_time(now);
    if (t->start_time() == 0) t->set_start_time(now);
    t->set_status(status);
    if (status == Task::IN_PROGRESS) {
      t->set_callback_after_seconds(result.callback_after_seconds());
      if (result.callback_after_seconds() > 0) {
        // Conductor's way to wait: the task goes back to its queue and is
        // delivered again after the delay.
        EnqueueLocked(*ws, *t, now + SecondsToMs(result.callback_after_seconds()), txn);
      }
    } else {
      t->set_end_time(now);
      DequeueLocked(task_id, txn);
    }
    WriteTaskLocked(*ws, *t, txn);
    DecideLocked(*ws, txn);
    return absl::OkStatus();
  });
}

void Engine::AddLog(const std::string& task_id, const std::string& line, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    txn.batch.push_back(AddLogOp{task_id, clock_.NowMs(), line});
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> Engine::GetTaskLogs(
    const std::string& task_id) {
  return store_.ReadLogs(task_id);
}

absl::StatusOr<Task> Engine::GetTask(const std::string& task_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = task_workflow_.find(task_id);
    if (it != task_workflow_.end()) {
      auto wit = workflows_.find(it->second);
      if (wit != workflows_.end()) {
        if (Task* t = FindTaskLocked(*wit->second, task_id)) return *t;
      }
    }
  }
  absl::StatusOr<Task> t = store_.ReadTask(task_id);
  if (absl::IsNotFound(t.status())) {
    return absl::NotFoundError(absl::StrCat("No such task found by id: ", task_id));
  }
  return t;
}

}  // namespace cmig::orchestrator
