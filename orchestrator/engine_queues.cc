// Task queues, parked long polls and timers in the engine (engine.h): what pollers are handed,
// when delayed tasks become visible, when parked polls expire and when workflows are decided
// again.
#include <algorithm>
#include <tuple>

#include "definitions/task_types.h"
#include "orchestrator/engine.h"
#include "orchestrator/engine_internal.h"

namespace cmig::orchestrator {

using conductor::proto::Task;
using engine_internal::IsTerminal;
using engine_internal::RealNowMs;

namespace {

// With a clock other than the system clock, timers re-read it this often.
constexpr int64_t kInjectedClockTickMs = 10;

}  // namespace

void Engine::EnqueueLocked(WorkflowState& ws, const Task& task, int64_t visible_at, Txn& txn) {
  std::string name = cmig::TaskQueueName(task.task_type(), task.domain());
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
    ExpireWatchesLocked(real_now, deferred);
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
    if (!watch_timers_.empty()) consider(watch_timers_.begin()->first, real_now);
    timer_wake_at_ = now + wait_ms;
    if (!system_clock_) wait_ms = std::min(wait_ms, kInjectedClockTickMs);
    if (wait_ms > 0) timer_cv_.WaitWithTimeout(&mu_, absl::Milliseconds(wait_ms));
  }
  mu_.Unlock();
}

uint64_t Engine::Poll(const std::string& queue_name, const std::string& worker_id, int count,
                      int64_t timeout_ms, PollCallback callback) {
  std::vector<Task> tasks;
  std::vector<std::function<void()>> deferred;
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    auto& qp = queues_[queue_name];
    if (!qp) qp = std::make_unique<Queue>();
    qp->last_worker_id = worker_id;
    qp->last_poll_ms = clock_.NowMs();
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
  // A parked poll (id != 0) took the callback; only an answered one (id == 0) still holds it.
  if (id == 0) callback(std::move(tasks));  // NOLINT(bugprone-use-after-move)
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

std::vector<std::pair<std::string, int64_t>> Engine::QueueSizes() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& [name, q] : queues_) out.emplace_back(name, q->items.size());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Engine::PollRecord> Engine::PollRecords(const std::string& task_type) const {
  absl::MutexLock lock(&mu_);
  std::vector<PollRecord> out;
  for (const auto& [name, q] : queues_) {
    if (q->last_poll_ms == 0) continue;  // held tasks, never polled
    // Queue names are "domain:type" or "type" (TaskQueueName).
    const size_t colon = name.find(':');
    PollRecord r;
    r.task_type = colon == std::string::npos ? name : name.substr(colon + 1);
    r.domain = colon == std::string::npos ? "" : name.substr(0, colon);
    if (!task_type.empty() && r.task_type != task_type) continue;
    r.worker_id = q->last_worker_id;
    r.last_poll_ms = q->last_poll_ms;
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const PollRecord& a, const PollRecord& b) {
    return std::tie(a.task_type, a.domain) < std::tie(b.task_type, b.domain);
  });
  return out;
}

int64_t Engine::QueueSize(const std::string& queue_name) const {
  absl::MutexLock lock(&mu_);
  auto it = queues_.find(queue_name);
  return it == queues_.end() ? 0 : static_cast<int64_t>(it->second->items.size());
}

}  // namespace cmig::orchestrator
