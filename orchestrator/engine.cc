#include "orchestrator/engine.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "orchestrator/decider.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {

using conductor::proto::Task;
using conductor::proto::Workflow;

struct Engine::WorkflowState {
  Workflow wf;  // with every task attempt
  int64_t start_time = 0;
  int64_t update_time = 0;
  // Batches holding this workflow's writes not yet committed; a workflow that
  // ended is dropped from memory only when this is 0, so reads never fall back
  // to a store that lags memory.
  int pending_commits = 0;
  // This workflow's one entry in workflow_timers_, if armed.
  std::optional<std::multimap<int64_t, std::string>::iterator> timer;
  bool deciding = false;
  bool redecide = false;
};

struct Engine::Txn {
  WriteBatch batch;
  struct Enqueue {
    std::string queue_name;
    std::string task_id;
    int64_t visible_at;
  };
  std::vector<Enqueue> enqueues;
  absl::flat_hash_set<std::string> touched;     // workflow ids written
  std::vector<std::function<void()>> deferred;  // run after the engine mutex is released
};

struct Engine::Waiter {
  std::string queue_name;
  std::string worker_id;
  int count = 1;
  int64_t deadline_ms = 0;  // real time; past it the caller is gone or going
  PollCallback callback;
};

struct Engine::Queue {
  // (visible_at, seq) -> task id: due order, FIFO among equals.
  std::map<std::pair<int64_t, uint64_t>, std::string> items;
  absl::flat_hash_map<std::string, std::pair<int64_t, uint64_t>> keys;
  std::deque<uint64_t> waiters;  // parked poll ids, oldest first (cancelled ids skipped)
};

namespace {

constexpr int64_t kInjectedClockTickMs = 10;

int64_t RealNowMs() { return absl::ToUnixMillis(absl::Now()); }

bool IsTerminal(Workflow::WorkflowStatus s) {
  return s == Workflow::COMPLETED || s == Workflow::FAILED || s == Workflow::TIMED_OUT ||
         s == Workflow::TERMINATED;
}

bool IsTerminal(Task::Status s) { return s != Task::IN_PROGRESS && s != Task::SCHEDULED; }

// Task types the decider completes itself; everything else waits for a worker.
bool IsSystemTask(const std::string& type) {
  static const auto* kSystem = new absl::flat_hash_set<std::string>{"DECISION",
                                                                    "SWITCH",
                                                                    "FORK",
                                                                    "FORK_JOIN",
                                                                    "FORK_JOIN_DYNAMIC",
                                                                    "JOIN",
                                                                    "EXCLUSIVE_JOIN",
                                                                    "SUB_WORKFLOW",
                                                                    "TERMINATE",
                                                                    "DO_WHILE",
                                                                    "SET_VARIABLE",
                                                                    "INLINE",
                                                                    "LAMBDA",
                                                                    "NOOP",
                                                                    "WAIT",
                                                                    "HUMAN",
                                                                    "EVENT",
                                                                    "START_WORKFLOW",
                                                                    "JSON_JQ_TRANSFORM",
                                                                    "HTTP",
                                                                    "KAFKA_PUBLISH",
                                                                    "DYNAMIC"};
  return kSystem->contains(type);
}

std::string QueueName(const Task& t) {
  return t.domain().empty() ? t.task_type() : absl::StrCat(t.domain(), ":", t.task_type());
}

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

std::string ToJson(const google::protobuf::Map<std::string, google::protobuf::Value>& m) {
  google::protobuf::Struct s;
  *s.mutable_fields() = m;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(s, &out);
  return out;
}

std::string Iso8601(int64_t ms) {
  if (ms <= 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(Store& store, const Clock& clock,
                                                       bool system_clock) {
  ASSIGN_OR_RETURN(LoadedState state, store.Load());
  std::unique_ptr<Engine> engine(new Engine(store, clock, system_clock));
  {
    absl::MutexLock lock(&engine->mu_);
    RETURN_IF_ERROR(engine->LoadLocked(std::move(state)));
  }
  engine->timer_thread_ = std::thread([e = engine.get()] { e->TimerLoop(); });
  return engine;
}

Engine::Engine(Store& store, const Clock& clock, bool system_clock)
    : store_(store), clock_(clock), system_clock_(system_clock) {}

Engine::~Engine() { Shutdown(); }

void Engine::Shutdown() {
  std::vector<std::function<void()>> deferred;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      timer_cv_.SignalAll();
    }
    for (auto& [id, w] : waiters_) {
      deferred.push_back([cb = std::move(w->callback)] { cb({}); });
    }
    waiters_.clear();
  }
  for (auto& f : deferred) f();
  if (timer_thread_.joinable()) timer_thread_.join();
}

std::string Engine::NewId() {
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
                         lo >> 48, lo & 0xFFFFFFFFFFFFULL);
}

TaskDefLookup Engine::TaskDefLookupLocked() const {
  return [this](const std::string& n) ABSL_NO_THREAD_SAFETY_ANALYSIS { return TaskDefLocked(n); };
}

const conductor::proto::TaskDef* Engine::TaskDefLocked(const std::string& name) const {
  auto it = task_defs_.find(name);
  return it == task_defs_.end() ? nullptr : &it->second;
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
  for (WorkflowState* ws : open) DecideLocked(*ws, txn);
  spdlog::info(
      "loaded {} workflow definitions, {} task definitions, {} open workflows, {} queued "
      "tasks",
      state.workflow_defs.size(), state.task_defs.size(), workflows_.size(), queued_.size());
  SubmitLocked(txn, nullptr);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Transactions

void Engine::Mutate(Done done, const std::function<absl::Status(Txn&)>& body) {
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
  if (!error.ok() && done) done(error);
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
                      absl::Status s) mutable { OnCommitted(touched, s, std::move(done)); });
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

void Engine::OnCommitted(const absl::flat_hash_set<std::string>& touched, absl::Status status,
                         Done done) {
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : touched) {
      auto it = workflows_.find(id);
      if (it == workflows_.end()) continue;
      WorkflowState& ws = *it->second;
      if (--ws.pending_commits == 0 && IsTerminal(ws.wf.status()) && !ws.deciding) {
        for (const Task& t : ws.wf.tasks()) task_workflow_.erase(t.task_id());
        SetWakeLocked(ws, std::nullopt);
        workflows_.erase(it);
      }
    }
  }
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

void Engine::EnqueueLocked(WorkflowState& ws, const Task& task, int64_t visible_at, Txn& txn) {
  std::string name = QueueName(task);
  DequeueLocked(task.task_id(), txn);
  queued_[task.task_id()] = name;
  txn.batch.push_back(PutQueueOp{task.task_id(), name, visible_at});
  txn.enqueues.push_back({name, task.task_id(), visible_at});
  txn.touched.insert(ws.wf.workflow_id());
}

void Engine::DequeueLocked(const std::string& task_id, Txn& txn) {
  auto it = queued_.find(task_id);
  if (it == queued_.end()) return;
  auto qit = queues_.find(it->second);
  if (qit != queues_.end()) {
    Queue& q = *qit->second;
    auto kit = q.keys.find(task_id);
    if (kit != q.keys.end()) {
      q.items.erase(kit->second);
      q.keys.erase(kit);
    }
  }
  queued_.erase(it);
  txn.batch.push_back(DeleteQueueOp{task_id});
}

void Engine::PublishLocked(const std::string& queue_name, const std::string& task_id,
                           int64_t visible_at, std::vector<std::function<void()>>& deferred) {
  auto& qp = queues_[queue_name];
  if (!qp) qp = std::make_unique<Queue>();
  Queue& q = *qp;
  if (q.keys.contains(task_id)) return;
  std::pair<int64_t, uint64_t> key{visible_at, next_seq_++};
  q.items.emplace(key, task_id);
  q.keys.emplace(task_id, key);
  if (visible_at > clock_.NowMs()) {
    queue_timers_.emplace(visible_at, queue_name);
    ArmTimerLocked(visible_at);
  } else {
    ServeWaitersLocked(queue_name, deferred);
  }
}

void Engine::ServeWaitersLocked(const std::string& queue_name,
                                std::vector<std::function<void()>>& deferred) {
  auto qit = queues_.find(queue_name);
  if (qit == queues_.end()) return;
  Queue& q = *qit->second;
  Txn txn;
  while (!q.waiters.empty() && !q.items.empty() && q.items.begin()->first.first <= clock_.NowMs()) {
    uint64_t id = q.waiters.front();
    auto wit = waiters_.find(id);
    if (wit == waiters_.end()) {
      q.waiters.pop_front();
      continue;
    }
    if (RealNowMs() >= wit->second->deadline_ms) {
      // Expired but not yet reaped by the timer: its caller may already have
      // given up, so it must not take tasks.
      q.waiters.pop_front();
      deferred.push_back([cb = std::move(wit->second->callback)] { cb({}); });
      waiters_.erase(wit);
      continue;
    }
    std::vector<Task> tasks = TakeTasksLocked(q, wit->second->worker_id, wit->second->count, txn);
    if (tasks.empty()) continue;  // only stale entries were due
    q.waiters.pop_front();
    deferred.push_back([cb = std::move(wit->second->callback), tasks = std::move(tasks)]() mutable {
      cb(std::move(tasks));
    });
    waiters_.erase(wit);
  }
  SubmitLocked(txn, nullptr);
  for (auto& f : txn.deferred) deferred.push_back(std::move(f));
}

std::vector<Task> Engine::TakeTasksLocked(Queue& q, const std::string& worker_id, int count,
                                          Txn& txn) {
  std::vector<Task> out;
  int64_t now = clock_.NowMs();
  while (static_cast<int>(out.size()) < count && !q.items.empty() &&
         q.items.begin()->first.first <= now) {
    std::string task_id = q.items.begin()->second;
    q.items.erase(q.items.begin());
    q.keys.erase(task_id);
    queued_.erase(task_id);
    txn.batch.push_back(DeleteQueueOp{task_id});
    auto wit = task_workflow_.find(task_id);
    if (wit == task_workflow_.end()) continue;
    auto wsit = workflows_.find(wit->second);
    if (wsit == workflows_.end()) continue;
    WorkflowState& ws = *wsit->second;
    if (IsTerminal(ws.wf.status())) continue;
    Task* t = FindTaskLocked(ws, task_id);
    if (t == nullptr || IsTerminal(t->status())) continue;
    t->set_status(Task::IN_PROGRESS);
    if (t->start_time() == 0) t->set_start_time(now);
    t->set_callback_after_seconds(0);
    t->set_worker_id(worker_id);
    t->set_poll_count(t->poll_count() + 1);
    t->set_update_time(now);
    out.push_back(*t);
    WriteTaskLocked(ws, *t, txn);
    // The decider arms the response timeout from the new start/update time.
    DecideLocked(ws, txn);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Timers

void Engine::ArmTimerLocked(int64_t at_ms) {
  if (timer_wake_at_ == 0 || at_ms < timer_wake_at_) {
    timer_wake_at_ = at_ms;
    timer_cv_.Signal();
  }
}

void Engine::SetWakeLocked(WorkflowState& ws, std::optional<int64_t> at_ms) {
  // A wake-up due now or earlier runs on the next timer pass, not in a loop.
  if (at_ms) at_ms = std::max(*at_ms, clock_.NowMs() + 1);
  if (ws.timer) {
    if (at_ms && (*ws.timer)->first == *at_ms) return;
    workflow_timers_.erase(*ws.timer);
    ws.timer.reset();
  }
  if (!at_ms) return;
  ws.timer = workflow_timers_.emplace(*at_ms, ws.wf.workflow_id());
  ArmTimerLocked(*at_ms);
}

void Engine::TimerLoop() {
  mu_.Lock();
  while (!stopping_) {
    int64_t now = clock_.NowMs();
    std::vector<std::function<void()>> deferred;
    Txn txn;
    while (!workflow_timers_.empty() && workflow_timers_.begin()->first <= now) {
      std::string id = workflow_timers_.begin()->second;
      auto it = workflows_.find(id);
      if (it == workflows_.end()) {
        workflow_timers_.erase(workflow_timers_.begin());
        continue;
      }
      SetWakeLocked(*it->second, std::nullopt);
      DecideLocked(*it->second, txn);
    }
    absl::flat_hash_set<std::string> due_queues;
    while (!queue_timers_.empty() && queue_timers_.begin()->first <= now) {
      due_queues.insert(queue_timers_.begin()->second);
      queue_timers_.erase(queue_timers_.begin());
    }
    for (const std::string& name : due_queues) ServeWaitersLocked(name, deferred);
    const int64_t real_now = RealNowMs();
    while (!poll_timers_.empty() && poll_timers_.begin()->first <= real_now) {
      uint64_t id = poll_timers_.begin()->second;
      poll_timers_.erase(poll_timers_.begin());
      auto wit = waiters_.find(id);
      if (wit == waiters_.end()) continue;
      deferred.push_back([cb = std::move(wit->second->callback)] { cb({}); });
      RemoveWaiterLocked(wit);
    }
    SubmitLocked(txn, nullptr);
    for (auto& f : txn.deferred) deferred.push_back(std::move(f));
    if (!deferred.empty()) {
      mu_.Unlock();
      for (auto& f : deferred) f();
      mu_.Lock();
      continue;
    }
    int64_t wait_ms = 60'000;
    auto consider = [&wait_ms](int64_t due, int64_t now_ms) {
      wait_ms = std::min(wait_ms, std::max<int64_t>(due - now_ms, 0));
    };
    if (!workflow_timers_.empty()) consider(workflow_timers_.begin()->first, now);
    if (!queue_timers_.empty()) consider(queue_timers_.begin()->first, now);
    if (!poll_timers_.empty()) consider(poll_timers_.begin()->first, real_now);
    timer_wake_at_ = now + wait_ms;
    if (!system_clock_) wait_ms = std::min(wait_ms, kInjectedClockTickMs);
    if (wait_ms > 0) timer_cv_.WaitWithTimeout(&mu_, absl::Milliseconds(wait_ms));
  }
  mu_.Unlock();
}

// ---------------------------------------------------------------------------
// Deciding

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
  if (ws.deciding) {
    ws.redecide = true;
    return;
  }
  ws.deciding = true;
  for (int round = 0; round < 64; ++round) {
    ws.redecide = false;
    // A PAUSED workflow is decided too: the decider only checks its timeout.
    if (ws.wf.status() != Workflow::RUNNING && ws.wf.status() != Workflow::PAUSED &&
        !pending_retry_) {
      break;
    }
    int64_t now = clock_.NowMs();
    absl::StatusOr<Decision> d;
    if (pending_retry_) {
      pending_retry_ = false;
      d = orchestrator::RetryWorkflow(
          ws.wf, TaskDefLookupLocked(), [this] { return NewId(); }, now,
          DecideOptions{ws.start_time});
      if (!d.ok()) {
        retry_error_ = d.status();
        break;
      }
    } else {
      d = Decide(
          ws.wf, TaskDefLookupLocked(), [this] { return NewId(); }, now,
          DecideOptions{ws.start_time});
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
      if (Task* t = FindTaskLocked(ws, id)) WriteTaskLocked(ws, *t, txn);
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
      EnqueueLocked(ws, *t, t->scheduled_time() + t->callback_after_seconds() * 1000, txn);
    }
    if (d->workflow_changed) WriteWorkflowLocked(ws, txn);
    SetWakeLocked(ws, d->next_wake_ms);
    for (WorkflowStart& start : d->start_workflows) {
      if (start.kind == WorkflowStart::Kind::kFailureWorkflow) {
        absl::StatusOr<std::string> id = StartWorkflowLocked(std::move(start.request), "", "", txn);
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
          std::move(start.request), ws.wf.workflow_id(), start.parent_task_id, txn);
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
}

absl::StatusOr<std::string> Engine::StartWorkflowLocked(
    conductor::proto::StartWorkflowRequest request, const std::string& parent_workflow_id,
    const std::string& parent_task_id, Txn& txn) {
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
  std::string id = NewId();
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

// ---------------------------------------------------------------------------
// Definitions

absl::Status Engine::ValidateWorkflowDef(const conductor::proto::WorkflowDef& def) {
  if (def.name().empty()) return absl::InvalidArgumentError("workflow definition has no name");
  if (def.tasks().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("workflow definition ", def.name(), ": WorkflowTask list cannot be empty"));
  }
  absl::flat_hash_set<std::string> refs;
  std::function<absl::Status(const conductor::proto::WorkflowTask&)> check =
      [&](const conductor::proto::WorkflowTask& t) -> absl::Status {
    if (t.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("workflow definition ", def.name(), ": a task has no name"));
    }
    if (t.task_reference_name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("workflow definition ", def.name(), ": task ",
                                                     t.name(), " has no taskReferenceName"));
    }
    if (!refs.insert(t.task_reference_name()).second) {
      return absl::InvalidArgumentError(absl::StrCat("workflow definition ", def.name(),
                                                     ": taskReferenceName ",
                                                     t.task_reference_name(), " is not unique"));
    }
    for (const auto& [k, list] : t.decision_cases()) {
      for (const auto& c : list.tasks()) RETURN_IF_ERROR(check(c));
    }
    for (const auto& c : t.default_case()) RETURN_IF_ERROR(check(c));
    for (const auto& fork : t.fork_tasks()) {
      for (const auto& c : fork.tasks()) RETURN_IF_ERROR(check(c));
    }
    for (const auto& c : t.loop_over()) RETURN_IF_ERROR(check(c));
    return absl::OkStatus();
  };
  for (const auto& t : def.tasks()) RETURN_IF_ERROR(check(t));
  return absl::OkStatus();
}

void Engine::CreateWorkflowDef(conductor::proto::WorkflowDef def, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    RETURN_IF_ERROR(ValidateWorkflowDef(def));
    auto& versions = workflow_defs_[def.name()];
    if (versions.contains(def.version())) {
      return absl::AlreadyExistsError(
          absl::StrCat("Workflow with ", def.name(), ".", def.version(), " already exists!"));
    }
    versions[def.version()] = def;
    txn.batch.push_back(PutWorkflowDefOp{std::move(def)});
    return absl::OkStatus();
  });
}

void Engine::UpdateWorkflowDefs(std::vector<conductor::proto::WorkflowDef> defs, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    for (const auto& d : defs) RETURN_IF_ERROR(ValidateWorkflowDef(d));
    for (auto& d : defs) {
      workflow_defs_[d.name()][d.version()] = d;
      txn.batch.push_back(PutWorkflowDefOp{std::move(d)});
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<conductor::proto::WorkflowDef> Engine::GetWorkflowDef(const std::string& name,
                                                                     int version) const {
  absl::MutexLock lock(&mu_);
  auto it = workflow_defs_.find(name);
  if (it != workflow_defs_.end() && !it->second.empty()) {
    if (version == 0) return it->second.rbegin()->second;
    auto vit = it->second.find(version);
    if (vit != it->second.end()) return vit->second;
  }
  return absl::NotFoundError(absl::StrCat("No such workflow found by name=", name,
                                          version ? absl::StrCat(", version=", version) : ""));
}

void Engine::CreateTaskDefs(std::vector<conductor::proto::TaskDef> defs, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    for (const auto& d : defs) {
      if (d.name().empty()) return absl::InvalidArgumentError("task definition has no name");
    }
    for (auto& d : defs) {
      task_defs_[d.name()] = d;
      txn.batch.push_back(PutTaskDefOp{std::move(d)});
    }
    return absl::OkStatus();
  });
}

void Engine::UpdateTaskDef(conductor::proto::TaskDef def, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    if (def.name().empty()) return absl::InvalidArgumentError("task definition has no name");
    auto it = task_defs_.find(def.name());
    if (it == task_defs_.end()) {
      return absl::NotFoundError(absl::StrCat("No such task by name ", def.name()));
    }
    it->second = def;
    txn.batch.push_back(PutTaskDefOp{std::move(def)});
    return absl::OkStatus();
  });
}

void Engine::DeleteTaskDef(const std::string& name, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    if (task_defs_.erase(name) == 0) {
      return absl::NotFoundError(absl::StrCat("No such task definition by name ", name));
    }
    txn.batch.push_back(DeleteTaskDefOp{name});
    return absl::OkStatus();
  });
}

void Engine::DeleteWorkflowDef(const std::string& name, int version, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    auto it = workflow_defs_.find(name);
    if (it == workflow_defs_.end() || it->second.erase(version) == 0) {
      return absl::NotFoundError(
          absl::StrCat("No such workflow definition ", name, " version ", version));
    }
    if (it->second.empty()) workflow_defs_.erase(it);
    txn.batch.push_back(DeleteWorkflowDefOp{name, version});
    return absl::OkStatus();
  });
}

absl::StatusOr<conductor::proto::TaskDef> Engine::GetTaskDef(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = task_defs_.find(name);
  if (it == task_defs_.end()) {
    return absl::NotFoundError(absl::StrCat("No such TaskDef found by taskType=", name));
  }
  return it->second;
}

std::vector<conductor::proto::WorkflowDef> Engine::ListWorkflowDefs(const std::string& name,
                                                                    bool all_versions) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [n, v] : workflow_defs_) {
    if ((name.empty() || n == name) && !v.empty()) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  std::vector<conductor::proto::WorkflowDef> out;
  for (const std::string& n : names) {
    const auto& versions = workflow_defs_.at(n);
    if (all_versions) {
      for (const auto& [v, d] : versions) out.push_back(d);
    } else {
      out.push_back(versions.rbegin()->second);
    }
  }
  return out;
}

std::vector<conductor::proto::TaskDef> Engine::ListTaskDefs() const {
  absl::MutexLock lock(&mu_);
  std::vector<conductor::proto::TaskDef> out;
  for (const auto& [n, d] : task_defs_) out.push_back(d);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name() < b.name(); });
  return out;
}

// ---------------------------------------------------------------------------
// Workflows

void Engine::StartWorkflow(conductor::proto::StartWorkflowRequest request,
                           std::function<void(absl::StatusOr<std::string>)> done) {
  auto id = std::make_shared<std::string>();
  Mutate(
      [done, id](absl::Status s) {
        if (s.ok()) {
          done(*id);
        } else {
          done(s);
        }
      },
      [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
        if (request.name().empty() && request.workflow_def().name().empty()) {
          return absl::InvalidArgumentError("StartWorkflowRequest has no workflow name");
        }
        ASSIGN_OR_RETURN(*id, StartWorkflowLocked(std::move(request), "", "", txn));
        return absl::OkStatus();
      });
}

absl::StatusOr<Workflow> Engine::GetWorkflow(const std::string& workflow_id, bool include_tasks) {
  {
    absl::MutexLock lock(&mu_);
    auto it = workflows_.find(workflow_id);
    if (it != workflows_.end()) {
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
  return store_.ReadWorkflow(workflow_id, include_tasks);
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
  for (const WorkflowRow& r : rows) out.push_back(r.workflow.workflow_id());
  return out;
}

namespace {

absl::StatusOr<int> ParseWorkflowStatus(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  s = absl::StripPrefix(absl::StripSuffix(s, "'"), "'");
  s = absl::StripPrefix(absl::StripSuffix(s, "\""), "\"");
  Workflow::WorkflowStatus st;
  if (!Workflow::WorkflowStatus_Parse(std::string(s), &st)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown workflow status '", s, "' in query"));
  }
  return static_cast<int>(st);
}

std::string Unquote(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return std::string(s);
}

}  // namespace

absl::StatusOr<conductor::grpc::workflows::WorkflowSummarySearchResult> Engine::Search(
    int start, int size, const std::string& free_text, const std::string& query) {
  constexpr int kMaxSearchSize = 5000;
  if (size > kMaxSearchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("Cannot return more than ", kMaxSearchSize, " results"));
  }
  WorkflowQuery q;
  q.offset = std::max(start, 0);
  q.limit = size <= 0 ? kMaxSearchSize : size;
  std::string text = std::string(absl::StripAsciiWhitespace(free_text));
  if (!text.empty() && text != "*") q.id_or_correlation_id = text;
  if (!absl::StripAsciiWhitespace(query).empty()) {
    for (absl::string_view clause : absl::StrSplit(query, " AND ")) {
      clause = absl::StripAsciiWhitespace(clause);
      std::string lower = absl::AsciiStrToLower(clause);
      size_t in = lower.find(" in ");
      size_t eq = clause.find('=');
      if (in != std::string::npos) {
        std::string field(absl::StripAsciiWhitespace(clause.substr(0, in)));
        absl::string_view list = absl::StripAsciiWhitespace(clause.substr(in + 4));
        list = absl::StripSuffix(absl::StripPrefix(list, "("), ")");
        if (field != "status") {
          return absl::InvalidArgumentError(
              absl::StrCat("unsupported search clause '", clause, "'"));
        }
        for (absl::string_view v : absl::StrSplit(list, ',')) {
          ASSIGN_OR_RETURN(int st, ParseWorkflowStatus(v));
          q.statuses.push_back(st);
        }
      } else if (eq != absl::string_view::npos) {
        std::string field(absl::StripAsciiWhitespace(clause.substr(0, eq)));
        std::string value = Unquote(clause.substr(eq + 1));
        if (field == "workflowType") {
          q.workflow_type = value;
        } else if (field == "status") {
          ASSIGN_OR_RETURN(int st, ParseWorkflowStatus(value));
          q.statuses.push_back(st);
        } else if (field == "correlationId") {
          q.correlation_id = value;
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("unsupported search field '", field,
                           "' (supported: workflowType, status, correlationId)"));
        }
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unsupported search clause '", clause, "'"));
      }
    }
  }
  int64_t total = 0;
  ASSIGN_OR_RETURN(std::vector<WorkflowRow> rows, store_.QueryWorkflows(q, &total));
  conductor::grpc::workflows::WorkflowSummarySearchResult out;
  out.set_total_hits(total);
  for (const WorkflowRow& r : rows) {
    const Workflow& wf = r.workflow;
    conductor::proto::WorkflowSummary* s = out.add_results();
    s->set_workflow_type(wf.workflow_definition().name());
    s->set_version(wf.workflow_definition().version());
    s->set_workflow_id(wf.workflow_id());
    s->set_correlation_id(wf.correlation_id());
    s->set_start_time(Iso8601(r.start_time));
    s->set_update_time(Iso8601(r.update_time));
    s->set_end_time(Iso8601(wf.end_time()));
    s->set_status(wf.status());
    s->set_input(ToJson(wf.input()));
    s->set_output(ToJson(wf.output()));
    s->set_reason_for_incompletion(wf.reason_for_incompletion());
    if (wf.end_time() > 0) s->set_execution_time(wf.end_time() - r.start_time);
    s->set_priority(wf.priority());
    *s->mutable_task_to_domain() = wf.task_to_domain();
    s->set_parent_workflow_id(wf.parent_workflow_id());
    for (const auto& n : wf.failed_task_names()) s->add_failed_task_names(n);
    s->set_failed_reference_task_names(absl::StrJoin(wf.failed_reference_task_names(), ","));
  }
  return out;
}

void Engine::PauseWorkflow(const std::string& workflow_id, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    if (ws->deciding) return absl::UnavailableError("workflow is being decided; retry later");
    // The decider's RetryWorkflow creates the new attempts and decides; it runs
    // in DecideLocked's loop so that children and parents are handled alike.
    pending_retry_ = true;
    retry_error_ = absl::OkStatus();
    DecideLocked(*ws, txn);
    pending_retry_ = false;
    RETURN_IF_ERROR(retry_error_);
    WriteWorkflowLocked(*ws, txn);
    return absl::OkStatus();
  });
}

void Engine::RestartWorkflow(const std::string& workflow_id, bool use_latest_definitions,
                             Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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
      [done, id](absl::Status s) {
        if (s.ok()) {
          done(id);
        } else {
          done(s);
        }
      },
      [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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
          if (!IsSystemTask(t.task_type())) EnqueueLocked(*ws, t, now, txn);
        }
        DecideLocked(*ws, txn);
        return absl::OkStatus();
      });
}

void Engine::RemoveWorkflow(const std::string& workflow_id, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    ASSIGN_OR_RETURN(WorkflowState * ws, FindWorkflowLocked(workflow_id));
    DecideLocked(*ws, txn);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// Tasks

uint64_t Engine::Poll(const std::string& queue_name, const std::string& worker_id, int count,
                      int64_t timeout_ms, PollCallback callback) {
  std::vector<Task> tasks;
  std::vector<std::function<void()>> deferred;
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    auto& qp = queues_[queue_name];
    if (!qp) qp = std::make_unique<Queue>();
    Txn txn;
    if (!stopping_) tasks = TakeTasksLocked(*qp, worker_id, count, txn);
    SubmitLocked(txn, nullptr);
    deferred = std::move(txn.deferred);
    if (tasks.empty() && timeout_ms > 0 && !stopping_) {
      id = next_waiter_id_++;
      auto w = std::make_unique<Waiter>();
      w->queue_name = queue_name;
      w->worker_id = worker_id;
      w->count = count;
      w->callback = std::move(callback);
      // Long-poll timeouts run on real time even with an injected clock, so a
      // test that drives the clock still gets its empty polls back.
      int64_t deadline = RealNowMs() + timeout_ms;
      w->deadline_ms = deadline;
      waiters_[id] = std::move(w);
      qp->waiters.push_back(id);
      poll_timers_.emplace(deadline, id);
      ArmTimerLocked(deadline);
    }
  }
  for (auto& f : deferred) f();
  if (id == 0) callback(std::move(tasks));
  return id;
}

void Engine::ReturnTasks(const std::vector<Task>& tasks) {
  std::vector<std::function<void()>> deferred;
  {
    absl::MutexLock lock(&mu_);
    Txn txn;
    int64_t now = clock_.NowMs();
    for (const Task& given : tasks) {
      auto it = task_workflow_.find(given.task_id());
      if (it == task_workflow_.end()) continue;
      auto wit = workflows_.find(it->second);
      if (wit == workflows_.end()) continue;
      WorkflowState& ws = *wit->second;
      Task* t = FindTaskLocked(ws, given.task_id());
      // Only the delivery that failed is undone, not anything that came after it.
      if (t == nullptr || t->status() != Task::IN_PROGRESS ||
          t->poll_count() != given.poll_count() || IsTerminal(ws.wf.status())) {
        continue;
      }
      t->set_status(Task::SCHEDULED);
      t->set_update_time(now);
      WriteTaskLocked(ws, *t, txn);
      EnqueueLocked(ws, *t, now, txn);
    }
    SubmitLocked(txn, nullptr);
    deferred = std::move(txn.deferred);
  }
  for (auto& f : deferred) f();
}

bool Engine::CancelPoll(uint64_t poll_id) {
  absl::MutexLock lock(&mu_);
  auto it = waiters_.find(poll_id);
  if (it == waiters_.end()) return false;
  RemoveWaiterLocked(it);
  return true;
}

void Engine::RemoveWaiterLocked(
    absl::flat_hash_map<uint64_t, std::unique_ptr<Waiter>>::iterator it) {
  // Parked polls per queue are few (one per idle worker thread), so a linear
  // erase keeps the queue's list from growing with every expired poll.
  auto qit = queues_.find(it->second->queue_name);
  if (qit != queues_.end()) {
    auto& ids = qit->second->waiters;
    ids.erase(std::remove(ids.begin(), ids.end(), it->first), ids.end());
  }
  waiters_.erase(it);
}

void Engine::UpdateTask(conductor::proto::TaskResult result, Done done) {
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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
        EnqueueLocked(*ws, *t, now + result.callback_after_seconds() * 1000, txn);
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
  Mutate(std::move(done), [&](Txn& txn) ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
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

std::vector<std::pair<std::string, int64_t>> Engine::QueueSizes() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& [name, q] : queues_) out.emplace_back(name, q->items.size());
  std::sort(out.begin(), out.end());
  return out;
}

int64_t Engine::QueueSize(const std::string& queue_name) const {
  absl::MutexLock lock(&mu_);
  auto it = queues_.find(queue_name);
  return it == queues_.end() ? 0 : static_cast<int64_t>(it->second->items.size());
}

}  // namespace cmig::orchestrator
