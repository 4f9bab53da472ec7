// The engine's core (engine.h): creation and recovery, transactions (staging, group commit,
// publishing), the workflow table, and the decide loop that applies the decider's decisions,
// starts children and failure workflows, and reports children's ends to their parents.
#include "orchestrator/engine.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "orchestrator/decider.h"
#include "orchestrator/engine_internal.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {

using conductor::proto::Task;
using conductor::proto::Workflow;
using engine_internal::IsTerminal;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(Store& store, const Clock& clock,
                                                       bool system_clock, EngineLimits limits,
                                                       InlineRunner inline_runner) {
  ASSIGN_OR_RETURN(LoadedState state, store.Load());
  std::unique_ptr<Engine> engine(
      new Engine(store, clock, system_clock, limits, std::move(inline_runner)));
  {
    absl::MutexLock lock(&engine->mu_);
    RETURN_IF_ERROR(engine->LoadLocked(std::move(state)));
  }
  engine->timer_thread_ = std::thread([e = engine.get()] { e->TimerLoop(); });
  engine->script_thread_ = std::thread([e = engine.get()] { e->ScriptLoop(); });
  return engine;
}

Engine::Engine(Store& store, const Clock& clock, bool system_clock, EngineLimits limits,
               InlineRunner inline_runner)
    : store_(store),
      clock_(clock),
      system_clock_(system_clock),
      limits_(limits),
      inline_runner_(std::move(inline_runner)) {}

Engine::~Engine() {
  Shutdown();
  // Batches still queued in the store report to this engine when they commit (OnCommitted), so
  // they are waited for before it goes; the store outlives the engine.
  store_.CommitAndWait({}).IgnoreError();
}

void Engine::Shutdown() {
  std::vector<std::function<void()>> deferred;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      timer_cv_.SignalAll();
      script_cv_.SignalAll();
    }
    for (auto& [id, w] : waiters_) {
      deferred.push_back([cb = std::move(w->callback)] { cb({}); });
    }
    waiters_.clear();
    for (auto& [id, w] : watches_) {
      deferred.push_back([cb = std::move(w.callback), seen = w.seen] { cb(seen); });
    }
    watches_.clear();
    watches_of_.clear();
    watch_timers_.clear();
  }
  for (auto& f : deferred) f();
  if (timer_thread_.joinable()) timer_thread_.join();
  if (script_thread_.joinable()) script_thread_.join();
}

std::string NewUuid() {
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFULL);
}

absl::Status Engine::LoadLocked(LoadedState state) {
  for (auto& d : state.workflow_defs) {
    std::string name = d.name();
    int version = d.version();
    workflow_defs_[name][version] = std::move(d);
  }
  for (auto& d : state.task_defs) {
    std::string name = d.name();
    task_defs_[name] = std::move(d);
  }
  for (auto& [key, json] : state.workflow_def_extras) workflow_def_extras_[key] = std::move(json);
  for (auto& [name, json] : state.task_def_extras) task_def_extras_[name] = std::move(json);
  for (auto& h : state.event_handlers) {
    std::string name = h.name();
    event_handlers_[name] = std::move(h);
  }
  for (auto& [name, json] : state.event_handler_extras) {
    event_handler_extras_[name] = std::move(json);
  }
  for (auto& r : state.open_workflows) {
    auto ws = std::make_unique<WorkflowState>();
    ws->wf = std::move(r.workflow);
    ws->start_time = r.start_time;
    for (const Task& t : ws->wf.tasks()) task_workflow_[t.task_id()] = ws->wf.workflow_id();
    workflows_[ws->wf.workflow_id()] = std::move(ws);
  }
  int64_t now = clock_.NowMs();
  std::vector<std::function<void()>> unused;
  Txn txn;
  for (const auto& e : state.queue) {
    auto it = task_workflow_.find(e.task_id);
    if (it == task_workflow_.end()) {
      // Left behind by a workflow that ended; nothing will ever poll it.
      txn.batch.push_back(DeleteQueueOp{e.task_id});
      continue;
    }
    queued_[e.task_id] = e.queue_name;
    PublishLocked(e.queue_name, e.task_id, e.visible_at_ms, unused);
    if (e.visible_at_ms > now) ArmTimerLocked(e.visible_at_ms);
  }
  // Deciding every open workflow re-arms its timers and catches up on timeouts
  // that passed while the orchestrator was down.
  std::vector<WorkflowState*> open;
  for (auto& [id, ws] : workflows_) open.push_back(ws.get());
  for (WorkflowState* ws : open) {
    DispatchScriptsLocked(*ws);  // scripts that were running when the engine stopped
    DecideLocked(*ws, txn);
  }
  spdlog::info(
      "loaded {} workflow definitions, {} task definitions, {} open workflows, {} queued "
      "tasks",
      state.workflow_defs.size(), state.task_defs.size(), workflows_.size(), queued_.size());
  SubmitLocked(txn, nullptr);
  return absl::OkStatus();
}

void Engine::Mutate(Done done, absl::FunctionRef<absl::Status(Txn&)> body) {
  absl::Status error;
  std::vector<std::function<void()>> deferred;
  {
    absl::MutexLock lock(&mu_);
    Txn txn;
    error = body(txn);
    if (error.ok()) {
      SubmitLocked(txn, std::move(done));
    } else {
      // Nothing is submitted on error; writes staged before it are still made
      // durable so memory and disk agree.
      if (!txn.batch.empty()) SubmitLocked(txn, nullptr);
    }
    EvictLoadedLocked();
    deferred = std::move(txn.deferred);
  }
  for (auto& f : deferred) f();
  // `done` went to SubmitLocked only when the body succeeded.
  if (!error.ok() && done) done(error);  // NOLINT(bugprone-use-after-move)
}

void Engine::SubmitLocked(Txn& txn, Done done) {
  std::vector<Txn::Enqueue> enqueues = std::move(txn.enqueues);
  txn.enqueues.clear();
  if (!txn.batch.empty()) {
    for (const std::string& id : txn.touched) {
      auto it = workflows_.find(id);
      if (it != workflows_.end()) ++it->second->pending_commits;
    }
    store_.Commit(std::move(txn.batch),
                  [this, touched = std::move(txn.touched), done = std::move(done)](
                      const absl::Status& s) { OnCommitted(touched, s, done); });
  } else if (done) {
    txn.deferred.push_back([done = std::move(done)] { done(absl::OkStatus()); });
  }
  txn.batch.clear();
  txn.touched.clear();
  // Published after the batch is handed to the store (so any write a poll makes
  // is ordered after it) but before it is durable: schedule-to-start does not
  // wait for an fsync. A crash before the commit loses only the scheduling
  // itself, which the restarted engine decides again; a result is acknowledged
  // only after its own batch, and therefore every earlier batch, committed.
  for (const auto& e : enqueues) {
    auto it = queued_.find(e.task_id);
    // Skipped if the task left the queue meanwhile (ended, terminated).
    if (it == queued_.end() || it->second != e.queue_name) continue;
    PublishLocked(e.queue_name, e.task_id, e.visible_at, txn.deferred);
  }
}

void Engine::OnCommitted(const absl::flat_hash_set<std::string>& touched,
                         const absl::Status& status, const Done& done) {
  std::vector<std::function<void()>> deferred;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : touched) {
      auto it = workflows_.find(id);
      if (it == workflows_.end()) {
        AnswerWatchesLocked(id, 0, deferred);
        continue;
      }
      WorkflowState& ws = *it->second;
      if (status.ok()) {
        ws.change_stamp = ++last_stamp_;
        AnswerWatchesLocked(id, ws.change_stamp, deferred);
      }
      if (--ws.pending_commits == 0 && IsTerminal(ws.wf.status()) && !ws.deciding) {
        for (const Task& t : ws.wf.tasks()) task_workflow_.erase(t.task_id());
        SetWakeLocked(ws, std::nullopt);
        workflows_.erase(it);
      }
    }
  }
  for (auto& f : deferred) f();
  if (done) done(status.ok() ? status : absl::UnavailableError(status.message()));
}

void Engine::WriteWorkflowLocked(WorkflowState& ws, Txn& txn) {
  ws.update_time = clock_.NowMs();
  PutWorkflowOp op;
  op.workflow_id = ws.wf.workflow_id();
  op.status = ws.wf.status();
  op.workflow_type = ws.wf.workflow_definition().name();
  op.version = ws.wf.workflow_definition().version();
  op.correlation_id = ws.wf.correlation_id();
  op.parent_workflow_id = ws.wf.parent_workflow_id();
  op.start_time = ws.start_time;
  op.end_time = ws.wf.end_time();
  op.update_time = ws.update_time;
  google::protobuf::RepeatedPtrField<Task> tasks;
  tasks.Swap(ws.wf.mutable_tasks());
  op.data = ws.wf.SerializeAsString();
  tasks.Swap(ws.wf.mutable_tasks());
  txn.batch.push_back(std::move(op));
  txn.touched.insert(ws.wf.workflow_id());
}

void Engine::WriteTaskLocked(WorkflowState& ws, const Task& task, Txn& txn) {
  task_workflow_[task.task_id()] = ws.wf.workflow_id();
  txn.batch.push_back(PutTaskOp{task.task_id(), ws.wf.workflow_id(), task.SerializeAsString()});
  txn.touched.insert(ws.wf.workflow_id());
}

absl::StatusOr<Engine::WorkflowState*> Engine::FindWorkflowLocked(const std::string& workflow_id) {
  auto it = workflows_.find(workflow_id);
  if (it != workflows_.end()) return it->second.get();
  // Ended workflows live only in the store; bring one back for an operation on it.
  auto ws = std::make_unique<WorkflowState>();
  ASSIGN_OR_RETURN(ws->wf,
                   store_.ReadWorkflow(workflow_id, /*include_tasks=*/true, &ws->start_time));
  WorkflowState* raw = ws.get();
  for (const Task& t : raw->wf.tasks()) task_workflow_[t.task_id()] = workflow_id;
  workflows_[workflow_id] = std::move(ws);
  loaded_from_store_.push_back(workflow_id);
  return raw;
}

void Engine::EvictLoadedLocked() {
  for (const std::string& id : loaded_from_store_) {
    auto it = workflows_.find(id);
    if (it == workflows_.end()) continue;
    WorkflowState& ws = *it->second;
    // Still ended and nothing of it waiting for a commit: memory holds nothing
    // the store does not.
    if (ws.pending_commits == 0 && IsTerminal(ws.wf.status()) && !ws.deciding) {
      for (const Task& t : ws.wf.tasks()) task_workflow_.erase(t.task_id());
      SetWakeLocked(ws, std::nullopt);
      workflows_.erase(it);
    }
  }
  loaded_from_store_.clear();
}

Task* Engine::FindTaskLocked(WorkflowState& ws, const std::string& task_id) {
  for (Task& t : *ws.wf.mutable_tasks()) {
    if (t.task_id() == task_id) return &t;
  }
  return nullptr;
}

void Engine::DecideLocked(WorkflowState& ws, Txn& txn) {
  // A plain decide has no error to report: definition problems fail the workflow itself.
  DecideLocked(ws, txn, DecideMode::kDecide).IgnoreError();
}

absl::Status Engine::DecideLocked(WorkflowState& ws, Txn& txn, DecideMode mode) {
  if (ws.deciding) {
    ws.redecide = true;
    return absl::OkStatus();
  }
  if (deciding_) {
    // Started or woken by the decide in progress: decided after it, by the loop below.
    decide_queue_.push_back(ws.wf.workflow_id());
    return absl::OkStatus();
  }
  deciding_ = true;
  absl::Status status = DecideOneLocked(ws, txn, mode);
  while (!decide_queue_.empty()) {
    const std::string id = std::move(decide_queue_.front());
    decide_queue_.pop_front();
    auto it = workflows_.find(id);
    if (it == workflows_.end() || it->second->deciding) continue;
    DecideOneLocked(*it->second, txn, DecideMode::kDecide).IgnoreError();
  }
  deciding_ = false;
  return status;
}

absl::Status Engine::DecideOneLocked(WorkflowState& ws, Txn& txn, DecideMode mode) {
  ws.deciding = true;
  absl::Status retry_error;
  bool retry = mode == DecideMode::kRetry;
  for (int round = 0; round < 64; ++round) {
    ws.redecide = false;
    // A PAUSED workflow is decided too: the decider only checks its timeout.
    if (ws.wf.status() != Workflow::RUNNING && ws.wf.status() != Workflow::PAUSED && !retry) {
      break;
    }
    int64_t now = clock_.NowMs();
    absl::StatusOr<Decision> d;
    if (retry) {
      retry = false;
      d = orchestrator::RetryWorkflow(
          ws.wf, TaskDefLookupLocked(), [] { return NewUuid(); }, now, DecideOptionsFor(ws));
      if (!d.ok()) {
        retry_error = d.status();
        break;
      }
    } else {
      d = Decide(
          ws.wf, TaskDefLookupLocked(), [] { return NewUuid(); }, now, DecideOptionsFor(ws));
    }
    if (!d.ok()) {
      ws.wf.set_status(Workflow::FAILED);
      ws.wf.set_reason_for_incompletion(std::string(d.status().message()));
      ws.wf.set_end_time(now);
      WriteWorkflowLocked(ws, txn);
      OnWorkflowEndedLocked(ws, txn);
      break;
    }
    for (const std::string& id : d->changed_task_ids) {
      Task* t = FindTaskLocked(ws, id);
      if (t == nullptr) continue;
      WriteTaskLocked(ws, *t, txn);
      DispatchScriptLocked(*t);
    }
    for (const std::string& id : d->canceled_task_ids) {
      DequeueLocked(id, txn);
      Task* t = FindTaskLocked(ws, id);
      if (t == nullptr) continue;
      WriteTaskLocked(ws, *t, txn);
      if (t->task_type() == "SUB_WORKFLOW" && !t->sub_workflow_id().empty()) {
        auto child = workflows_.find(t->sub_workflow_id());
        if (child != workflows_.end() && !IsTerminal(child->second->wf.status())) {
          TerminateLocked(*child->second,
                          absl::StrCat("Parent workflow ", ws.wf.workflow_id(),
                                       " ended: ", Workflow::WorkflowStatus_Name(ws.wf.status())),
                          txn);
        }
      }
    }
    for (const std::string& id : d->enqueue_task_ids) {
      Task* t = FindTaskLocked(ws, id);
      if (t == nullptr) continue;
      EnqueueLocked(ws, *t, t->scheduled_time() + SecondsToMs(t->callback_after_seconds()), txn);
    }
    if (d->workflow_changed) WriteWorkflowLocked(ws, txn);
    SetWakeLocked(ws, d->next_wake_ms);
    for (WorkflowStart& start : d->start_workflows) {
      if (start.kind == WorkflowStart::Kind::kFailureWorkflow) {
        absl::StatusOr<std::string> id =
            StartWorkflowLocked(start.request, "", "", txn, ws.chain_depth + 1);
        if (!id.ok()) {
          spdlog::warn("workflow {}: cannot start failure workflow: {}", ws.wf.workflow_id(),
                       std::string(id.status().message()));
          continue;
        }
        // Where Conductor records the failure workflow it started.
        (*ws.wf.mutable_output())["conductor.failure_workflow"].set_string_value(*id);
        WriteWorkflowLocked(ws, txn);
        continue;
      }
      Task* parent_task = FindTaskLocked(ws, start.parent_task_id);
      if (parent_task == nullptr) continue;
      absl::StatusOr<std::string> id = StartWorkflowLocked(
          start.request, ws.wf.workflow_id(), start.parent_task_id, txn, ws.chain_depth + 1);
      parent_task = FindTaskLocked(ws, start.parent_task_id);
      if (!id.ok()) {
        parent_task->set_status(Task::FAILED);
        parent_task->set_reason_for_incompletion(std::string(id.status().message()));
        parent_task->set_end_time(now);
        WriteTaskLocked(ws, *parent_task, txn);
        ws.redecide = true;
      }
    }
    if (IsTerminal(ws.wf.status())) {
      OnWorkflowEndedLocked(ws, txn);
      break;
    }
    if (!ws.redecide) break;
  }
  ws.deciding = false;
  return retry_error;
}

absl::StatusOr<std::string> Engine::StartWorkflowLocked(
    const conductor::proto::StartWorkflowRequest& request, const std::string& parent_workflow_id,
    const std::string& parent_task_id, Txn& txn, int depth, const std::string& workflow_id) {
  if (depth > limits_.max_workflow_chain_depth) {
    return absl::FailedPreconditionError(absl::StrCat(
        "workflow '", request.has_workflow_def() ? request.workflow_def().name() : request.name(),
        "' would be number ", depth,
        " in a chain of sub-workflows and failure workflows; the limit is ",
        limits_.max_workflow_chain_depth, " (does a workflow start itself?)"));
  }
  conductor::proto::WorkflowDef def;
  if (request.has_workflow_def() && !request.workflow_def().name().empty()) {
    def = request.workflow_def();
  } else {
    auto it = workflow_defs_.find(request.name());
    if (it == workflow_defs_.end() || it->second.empty()) {
      return absl::NotFoundError(absl::StrCat("No such workflow found by name=", request.name()));
    }
    if (request.version() == 0) {
      def = it->second.rbegin()->second;
    } else {
      auto vit = it->second.find(request.version());
      if (vit == it->second.end()) {
        return absl::NotFoundError(absl::StrCat("No such workflow found by name=", request.name(),
                                                ", version=", request.version()));
      }
      def = vit->second;
    }
  }
  int64_t now = clock_.NowMs();
  auto ws = std::make_unique<WorkflowState>();
  Workflow& wf = ws->wf;
  std::string id = workflow_id.empty() ? NewUuid() : workflow_id;
  wf.set_workflow_id(id);
  wf.set_status(Workflow::RUNNING);
  *wf.mutable_workflow_definition() = std::move(def);
  *wf.mutable_input() = request.input();
  wf.set_correlation_id(request.correlation_id());
  *wf.mutable_task_to_domain() = request.task_to_domain();
  wf.set_priority(request.priority());
  wf.set_parent_workflow_id(parent_workflow_id);
  wf.set_parent_workflow_task_id(parent_task_id);
  *wf.mutable_variables() = wf.workflow_definition().variables();
  ws->start_time = now;
  ws->chain_depth = depth;
  WorkflowState& ref = *ws;
  workflows_[id] = std::move(ws);
  if (!parent_workflow_id.empty()) {
    // The parent's SUB_WORKFLOW task learns its child before the child runs, so
    // a child that ends at once finds the link it reports back through.
    auto pit = workflows_.find(parent_workflow_id);
    if (pit != workflows_.end()) {
      if (Task* pt = FindTaskLocked(*pit->second, parent_task_id)) {
        pt->set_sub_workflow_id(id);
        if (pt->status() == Task::SCHEDULED) {
          pt->set_status(Task::IN_PROGRESS);
          if (pt->start_time() == 0) pt->set_start_time(now);
        }
        pt->set_update_time(now);
        WriteTaskLocked(*pit->second, *pt, txn);
      }
    }
  }
  spdlog::debug("workflow {} ({} v{}) started{}", id, ref.wf.workflow_definition().name(),
                ref.wf.workflow_definition().version(),
                parent_workflow_id.empty() ? "" : absl::StrCat(" by ", parent_workflow_id));
  WriteWorkflowLocked(ref, txn);
  DecideLocked(ref, txn);
  return id;
}

void Engine::OnWorkflowEndedLocked(WorkflowState& ws, Txn& txn) {
  spdlog::debug("workflow {} ended {}{}", ws.wf.workflow_id(),
                Workflow::WorkflowStatus_Name(ws.wf.status()),
                ws.wf.reason_for_incompletion().empty()
                    ? ""
                    : absl::StrCat(": ", ws.wf.reason_for_incompletion()));
  for (const Task& t : ws.wf.tasks()) DequeueLocked(t.task_id(), txn);
  SetWakeLocked(ws, std::nullopt);
  const std::string parent_id = ws.wf.parent_workflow_id();
  if (parent_id.empty()) return;
  absl::StatusOr<WorkflowState*> parent = FindWorkflowLocked(parent_id);
  if (!parent.ok()) return;
  WorkflowState& p = **parent;
  Task* t = FindTaskLocked(p, ws.wf.parent_workflow_task_id());
  if (t == nullptr || IsTerminal(t->status())) return;
  switch (ws.wf.status()) {
    case Workflow::COMPLETED:
      t->set_status(Task::COMPLETED);
      break;
    case Workflow::FAILED:
      t->set_status(Task::FAILED);
      break;
    case Workflow::TERMINATED:
      t->set_status(Task::CANCELED);
      break;
    case Workflow::TIMED_OUT:
      t->set_status(Task::TIMED_OUT);
      break;
    default:
      return;
  }
  for (const auto& [k, v] : ws.wf.output()) (*t->mutable_output_data())[k] = v;
  if (ws.wf.status() != Workflow::COMPLETED) {
    t->set_reason_for_incompletion(
        absl::StrCat("Sub workflow ", ws.wf.workflow_id(),
                     " failure reason: ", ws.wf.reason_for_incompletion()));
  }
  int64_t now = clock_.NowMs();
  t->set_end_time(now);
  t->set_update_time(now);
  t->set_sub_workflow_id(ws.wf.workflow_id());
  WriteTaskLocked(p, *t, txn);
  DecideLocked(p, txn);
}

void Engine::TerminateLocked(WorkflowState& ws, const std::string& reason, Txn& txn) {
  int64_t now = clock_.NowMs();
  ws.wf.set_status(Workflow::TERMINATED);
  ws.wf.set_reason_for_incompletion(reason);
  ws.wf.set_end_time(now);
  std::vector<std::string> children;
  for (Task& t : *ws.wf.mutable_tasks()) {
    if (IsTerminal(t.status())) continue;
    t.set_status(Task::CANCELED);
    t.set_end_time(now);
    t.set_update_time(now);
    if (t.task_type() == "SUB_WORKFLOW" && !t.sub_workflow_id().empty()) {
      children.push_back(t.sub_workflow_id());
    }
    WriteTaskLocked(ws, t, txn);
  }
  WriteWorkflowLocked(ws, txn);
  OnWorkflowEndedLocked(ws, txn);
  for (const std::string& child_id : children) {
    auto it = workflows_.find(child_id);
    if (it == workflows_.end() || IsTerminal(it->second->wf.status())) continue;
    TerminateLocked(*it->second,
                    absl::StrCat("Parent workflow ", ws.wf.workflow_id(), " terminated: ", reason),
                    txn);
  }
}

}  // namespace cmig::orchestrator
