#include "worker/worker.h"

#include <unistd.h>

#include <deque>
#include <exception>
#include <functional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "spdlog/spdlog.h"
#include "worker/backoff.h"
#include "worker/clock.h"
#include "worker/task_result.h"

namespace cmig::worker {

using conductor::proto::Task;
using conductor::proto::TaskExecLog;
using conductor::proto::TaskResult;

std::string DefaultWorkerId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    return absl::StrCat("worker-", getpid());
  }
  return absl::StrCat(host, "-", getpid());
}

class Worker::Impl {
 public:
  Impl(client::TaskClient& client, const tasks::HandlerRegistry& registry, WorkerOptions options,
       WorkerMetrics* metrics)
      : client_(client),
        registry_(registry),
        options_(std::move(options)),
        metrics_(metrics != nullptr ? metrics : &own_metrics_),
        reporter_(client, RealClock(),
                  ReportOptions{options_.update_initial_backoff, options_.update_max_backoff}) {}

  ~Impl() {
    (void)Shutdown(absl::ZeroDuration());
    JoinAll();
  }

  absl::Status Start();
  absl::Status Shutdown(absl::Duration grace);
  int in_flight() const {
    absl::MutexLock lock(&mu_);
    return total_busy_;
  }

 private:
  struct TypeState {
    std::string type;
    TaskTypeOptions options;
    tasks::TaskHandler* handler = nullptr;
    // Each type has its own lock so its poller and executors never contend
    // with another type's.
    absl::Mutex mu;
    std::deque<Task> queue ABSL_GUARDED_BY(mu);
    int busy ABSL_GUARDED_BY(mu) = 0;  // queued + executing + reporting
    bool poller_done ABSL_GUARDED_BY(mu) = false;
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::thread poller;
    std::vector<std::thread> executors;
  };

  // A task whose handler is running: its lease is kept alive.
  struct Lease {
    std::string type;
    std::string workflow_id;
    absl::Duration response_timeout;
    absl::Time last_extended;
    absl::Time next_extension;
  };

  class Context;

  void PollLoop(TypeState& t);
  void ExecuteLoop(TypeState& t);
  void RunTask(TypeState& t, const Task& task);
  void LeaseLoop();
  // Sends one lease extension; true when the orchestrator accepted it.
  bool ExtendLease(const std::string& task_id, const std::string& workflow_id,
                   const std::string& type);
  void ExtendLeaseNow(const Task& task);
  // Waits `d` or until shutdown starts.
  void WaitUnlessStopping(TypeState& t, absl::Duration d);
  void JoinAll();

  client::TaskClient& client_;
  const tasks::HandlerRegistry& registry_;
  const WorkerOptions options_;
  WorkerMetrics own_metrics_;
  WorkerMetrics* const metrics_;
  ResultReporter reporter_;
  absl::Notification shutdown_requested_;

  // Lifecycle and drain accounting.
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int total_busy_ ABSL_GUARDED_BY(mu_) = 0;
  int pollers_running_ ABSL_GUARDED_BY(mu_) = 0;

  // Leases of running handlers. The lease thread sleeps until the earliest
  // extension is due; it is woken only when a new lease falls due before
  // that, not on every task, which would cost a context switch per task.
  absl::Mutex lease_mu_;
  bool lease_stop_ ABSL_GUARDED_BY(lease_mu_) = false;
  uint64_t lease_generation_ ABSL_GUARDED_BY(lease_mu_) = 0;
  absl::Time lease_wakeup_at_ ABSL_GUARDED_BY(lease_mu_) = absl::InfiniteFuture();
  std::map<std::string, Lease> leases_ ABSL_GUARDED_BY(lease_mu_);

  // Fixed after Start.
  std::vector<std::unique_ptr<TypeState>> types_;
  std::thread lease_thread_;
};

class Worker::Impl::Context final : public tasks::TaskContext {
 public:
  Context(Impl& impl, const Task& task) : impl_(impl), task_(task) {}

  const Task& task() const override { return task_; }

  void AddLog(absl::string_view line) override {
    absl::Status s = impl_.client_.AddLog(task_.task_id(), line);
    if (s.ok()) {
      return;
    }
    spdlog::debug("task_id={} workflow_id={} task_type={} log line kept for the result: {}",
                  task_.task_id(), task_.workflow_instance_id(), task_.task_type(), s.ToString());
    TaskExecLog log;
    log.set_task_id(task_.task_id());
    log.set_log(std::string(line));
    log.set_created_time(absl::ToUnixMillis(absl::Now()));
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(log));
  }

  void ReportProgress(absl::string_view what) override {
    AddLog(what);
    impl_.ExtendLeaseNow(task_);
  }

  bool ShutdownRequested() const override { return impl_.shutdown_requested_.HasBeenNotified(); }

  bool WaitForShutdown(absl::Duration timeout) const override {
    return impl_.shutdown_requested_.WaitForNotificationWithTimeout(timeout);
  }

  std::vector<TaskExecLog> TakePendingLogs() {
    absl::MutexLock lock(&mu_);
    return std::move(pending_);
  }

 private:
  Impl& impl_;
  const Task& task_;
  absl::Mutex mu_;
  std::vector<TaskExecLog> pending_ ABSL_GUARDED_BY(mu_);
};

absl::Status Worker::Impl::Start() {
  if (options_.worker_id.empty()) {
    return absl::InvalidArgumentError("worker: empty worker id");
  }
  std::vector<std::string> task_types = registry_.task_types();
  if (task_types.empty()) {
    return absl::FailedPreconditionError("worker: no task handlers registered");
  }
  {
    absl::MutexLock lock(&mu_);
    if (started_) {
      return absl::FailedPreconditionError("worker: already started");
    }
  }
  for (const std::string& type : task_types) {
    auto t = std::make_unique<TypeState>();
    t->type = type;
    auto it = options_.per_type.find(type);
    t->options = it != options_.per_type.end() ? it->second : options_.defaults;
    if (t->options.threads < 1) {
      types_.clear();
      return absl::InvalidArgumentError(absl::StrCat("worker: task type ", type,
                                                     " has thread count ", t->options.threads,
                                                     "; it must be at least 1"));
    }
    t->handler = registry_.Find(type);
    // Every served type shows in the metrics from the start, at zero.
    metrics_->AddInFlight(type, 0);
    types_.push_back(std::move(t));
  }
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
    pollers_running_ = static_cast<int>(types_.size());
  }
  lease_thread_ = std::thread([this] { LeaseLoop(); });
  for (auto& t : types_) {
    for (int i = 0; i < t->options.threads; ++i) {
      t->executors.emplace_back([this, ts = t.get()] { ExecuteLoop(*ts); });
    }
    t->poller = std::thread([this, ts = t.get()] { PollLoop(*ts); });
    spdlog::info("worker {}: polling task type {} with {} thread(s){}", options_.worker_id, t->type,
                 t->options.threads,
                 t->options.domain.empty() ? "" : absl::StrCat(" in domain ", t->options.domain));
  }
  return absl::OkStatus();
}

void Worker::Impl::WaitUnlessStopping(TypeState& t, absl::Duration d) {
  absl::MutexLock lock(&t.mu);
  t.mu.AwaitWithTimeout(absl::Condition(&t.stopping), d);
}

// When slots free up one at a time (short tasks), waiting a moment for half of
// them lets one BatchPoll fetch several tasks instead of one poll per task.
// Long tasks pay at most this delay before a free slot is offered.
constexpr absl::Duration kBatchWindow = absl::Milliseconds(5);

void Worker::Impl::PollLoop(TypeState& t) {
  const uint64_t seed = std::hash<std::string>{}(options_.worker_id + t.type);
  Backoff empty_backoff(options_.poll_interval, options_.max_empty_poll_backoff, seed);
  Backoff error_backoff(options_.poll_interval, options_.max_error_backoff, seed + 1);
  const int threads = t.options.threads;
  while (true) {
    int free_slots = 0;
    {
      absl::MutexLock lock(&t.mu);
      if (t.busy >= threads && !t.stopping) {
        metrics_->RecordQueueFull(t.type);
      }
      const int half = threads - std::max(1, threads / 2);
      auto half_free = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.mu) {
        return t.stopping || t.busy <= half;
      };
      auto one_free = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.mu) {
        return t.stopping || t.busy < threads;
      };
      if (!t.mu.AwaitWithTimeout(absl::Condition(&half_free), kBatchWindow)) {
        t.mu.Await(absl::Condition(&one_free));
      }
      if (t.stopping) {
        break;
      }
      free_slots = threads - t.busy;
    }
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<Task>> polled =
        client_.BatchPoll({.task_type = t.type,
                           .worker_id = options_.worker_id,
                           .domain = t.options.domain,
                           .count = free_slots,
                           .timeout = options_.poll_timeout});
    const absl::Duration latency = absl::Now() - start;
    metrics_->RecordPoll(t.type, latency, polled.ok());
    if (!polled.ok()) {
      const absl::Duration wait = error_backoff.Next();
      // The first failure and then every tenth: an outage should be visible,
      // not flood the log.
      if (error_backoff.attempt() == 1 || error_backoff.attempt() % 10 == 0) {
        spdlog::warn("worker {}: poll of task type {} failed ({} in a row), next try in {}: {}",
                     options_.worker_id, t.type, error_backoff.attempt(),
                     absl::FormatDuration(wait), polled.status().ToString());
      }
      WaitUnlessStopping(t, wait);
      continue;
    }
    if (error_backoff.attempt() > 0) {
      spdlog::info("worker {}: polling task type {} works again", options_.worker_id, t.type);
      error_backoff.Reset();
    }
    if (polled->empty()) {
      // A server that held the poll open already waited; one that answered
      // at once (no long-poll support) needs the client to wait instead.
      if (latency < options_.poll_timeout / 2) {
        WaitUnlessStopping(t, empty_backoff.Next());
      } else {
        empty_backoff.Reset();
      }
      continue;
    }
    empty_backoff.Reset();
    metrics_->AddInFlight(t.type, static_cast<int>(polled->size()));
    {
      // Counted for the drain before the executors can finish them.
      absl::MutexLock lock(&mu_);
      total_busy_ += static_cast<int>(polled->size());
    }
    absl::MutexLock lock(&t.mu);
    for (Task& task : *polled) {
      t.queue.push_back(std::move(task));
      ++t.busy;
    }
  }
  {
    absl::MutexLock lock(&t.mu);
    t.poller_done = true;
  }
  absl::MutexLock lock(&mu_);
  --pollers_running_;
}

void Worker::Impl::ExecuteLoop(TypeState& t) {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&t.mu);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.mu) {
        return !t.queue.empty() || t.poller_done;
      };
      t.mu.Await(absl::Condition(&ready));
      if (t.queue.empty()) {
        return;  // poller gone and nothing left: drained
      }
      task = std::move(t.queue.front());
      t.queue.pop_front();
    }
    RunTask(t, task);
    metrics_->AddInFlight(t.type, -1);
    {
      absl::MutexLock lock(&t.mu);
      --t.busy;
    }
    absl::MutexLock lock(&mu_);
    --total_busy_;
  }
}

void Worker::Impl::RunTask(TypeState& t, const Task& task) {
  const absl::Time polled_at = absl::Now();
  const absl::Duration response_timeout = absl::Seconds(task.response_timeout_seconds());
  if (response_timeout > absl::ZeroDuration()) {
    const absl::Time due = polled_at + response_timeout * options_.lease_fraction;
    absl::MutexLock lock(&lease_mu_);
    leases_[task.task_id()] =
        Lease{t.type, task.workflow_instance_id(), response_timeout, polled_at, due};
    if (due < lease_wakeup_at_) {
      ++lease_generation_;
    }
  }
  spdlog::debug("task_id={} workflow_id={} task_type={} started (attempt {})", task.task_id(),
                task.workflow_instance_id(), t.type, task.retry_count() + 1);

  Context context(*this, task);
  absl::StatusOr<tasks::TaskOutcome> outcome;
  try {
    outcome = t.handler->Execute(context);
  } catch (const std::exception& e) {
    outcome = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
  } catch (...) {
    outcome = absl::InternalError("handler threw a non-standard exception");
  }
  const absl::Duration run_time = absl::Now() - polled_at;
  metrics_->RecordExecution(t.type, run_time,
                            outcome.ok() ? "" : absl::StatusCodeToString(outcome.status().code()));

  absl::Time last_extended = polled_at;
  {
    absl::MutexLock lock(&lease_mu_);
    auto it = leases_.find(task.task_id());
    if (it != leases_.end()) {
      last_extended = it->second.last_extended;
      leases_.erase(it);
    }
  }

  TaskResult result;
  if (!outcome.ok()) {
    const TaskResult::Status status = StatusForHandlerError(outcome.status());
    const std::string line = absl::StrCat(
        TaskResult::Status_Name(status), " by worker ", options_.worker_id, ": ",
        absl::StatusCodeToString(outcome.status().code()), ": ", outcome.status().message());
    context.AddLog(line);
    spdlog::warn("task_id={} workflow_id={} task_type={} {}", task.task_id(),
                 task.workflow_instance_id(), t.type, line);
  }
  result = MakeTaskResult(task, outcome, options_.worker_id, context.TakePendingLogs());

  const absl::Time give_up_at = response_timeout > absl::ZeroDuration()
                                    ? last_extended + response_timeout
                                    : absl::Now() + options_.result_retention_without_timeout;
  int failed_attempts = 0;
  absl::Status reported = reporter_.Report(result, give_up_at, [&](const absl::Status& error) {
    metrics_->RecordUpdateError(t.type);
    // The first rejection and every tenth: an outage shows, without a flood.
    if (failed_attempts++ % 10 == 0) {
      spdlog::warn(
          "task_id={} workflow_id={} task_type={} result not accepted yet ({} "
          "attempts), retrying: {}",
          task.task_id(), task.workflow_instance_id(), t.type, failed_attempts, error.ToString());
    }
  });
  if (!reported.ok()) {
    spdlog::error("task_id={} workflow_id={} task_type={} result {} lost: {}", task.task_id(),
                  task.workflow_instance_id(), t.type, TaskResult::Status_Name(result.status()),
                  reported.ToString());
    return;
  }
  spdlog::info("task_id={} workflow_id={} task_type={} {} in {}{}", task.task_id(),
               task.workflow_instance_id(), t.type, TaskResult::Status_Name(result.status()),
               absl::FormatDuration(run_time),
               failed_attempts > 0
                   ? absl::StrCat(" (result delivered after ", failed_attempts, " failed attempts)")
                   : "");
}

bool Worker::Impl::ExtendLease(const std::string& task_id, const std::string& workflow_id,
                               const std::string& type) {
  TaskResult extend;
  extend.set_task_id(task_id);
  extend.set_workflow_instance_id(workflow_id);
  extend.set_worker_id(options_.worker_id);
  extend.set_status(TaskResult::IN_PROGRESS);
  extend.set_extend_lease(true);
  absl::Status s = client_.UpdateTask(extend);
  if (!s.ok()) {
    metrics_->RecordUpdateError(type);
    spdlog::warn("task_id={} workflow_id={} task_type={} lease extension failed: {}", task_id,
                 workflow_id, type, s.ToString());
    return false;
  }
  metrics_->RecordLeaseExtension(type);
  spdlog::debug("task_id={} workflow_id={} task_type={} lease extended", task_id, workflow_id,
                type);
  return true;
}

void Worker::Impl::ExtendLeaseNow(const Task& task) {
  if (!ExtendLease(task.task_id(), task.workflow_instance_id(), task.task_type())) {
    return;
  }
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&lease_mu_);
  auto it = leases_.find(task.task_id());
  if (it == leases_.end()) {
    return;
  }
  // Only later than before: the lease thread's current deadline stays valid.
  it->second.last_extended = now;
  it->second.next_extension = now + it->second.response_timeout * options_.lease_fraction;
}

void Worker::Impl::LeaseLoop() {
  struct Due {
    std::string task_id, workflow_id, type;
  };
  absl::MutexLock lock(&lease_mu_);
  while (!lease_stop_) {
    absl::Time next = absl::InfiniteFuture();
    for (const auto& [id, lease] : leases_) {
      next = std::min(next, lease.next_extension);
    }
    const uint64_t generation = lease_generation_;
    lease_wakeup_at_ = next;
    auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lease_mu_) {
      return lease_stop_ || lease_generation_ != generation;
    };
    if (lease_mu_.AwaitWithDeadline(absl::Condition(&changed), next)) {
      continue;
    }
    const absl::Time now = absl::Now();
    std::vector<Due> due;
    for (auto& [id, lease] : leases_) {
      if (lease.next_extension > now) {
        continue;
      }
      due.push_back({id, lease.workflow_id, lease.type});
      // Retry a failed extension soon, well before the lease runs out.
      lease.next_extension = now + lease.response_timeout * ((1 - options_.lease_fraction) / 4);
    }
    lease_mu_.Unlock();
    std::vector<std::pair<std::string, absl::Time>> extended;
    for (const Due& d : due) {
      if (ExtendLease(d.task_id, d.workflow_id, d.type)) {
        extended.emplace_back(d.task_id, absl::Now());
      }
    }
    lease_mu_.Lock();
    for (const auto& [id, at] : extended) {
      auto it = leases_.find(id);
      if (it == leases_.end()) {
        continue;
      }
      it->second.last_extended = at;
      it->second.next_extension = at + it->second.response_timeout * options_.lease_fraction;
    }
  }
}

absl::Status Worker::Impl::Shutdown(absl::Duration grace) {
  const absl::Time deadline = absl::Now() + grace;
  {
    absl::MutexLock lock(&mu_);
    if (!started_) {
      return absl::OkStatus();
    }
    stopping_ = true;
  }
  for (auto& t : types_) {
    absl::MutexLock lock(&t->mu);
    t->stopping = true;
  }
  if (!shutdown_requested_.HasBeenNotified()) {
    shutdown_requested_.Notify();
  }
  absl::MutexLock lock(&mu_);
  auto drained = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pollers_running_ == 0 && total_busy_ == 0;
  };
  if (!mu_.AwaitWithDeadline(absl::Condition(&drained), deadline)) {
    std::vector<std::string> running;
    {
      absl::MutexLock lease_lock(&lease_mu_);
      for (const auto& [id, lease] : leases_) {
        running.push_back(id);
      }
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "worker ", options_.worker_id, ": ", total_busy_, " task(s) still in flight after ",
        absl::FormatDuration(grace), running.empty() ? "" : ": ", absl::StrJoin(running, ", ")));
  }
  return absl::OkStatus();
}

void Worker::Impl::JoinAll() {
  for (auto& t : types_) {
    if (t->poller.joinable()) {
      t->poller.join();
    }
    for (auto& e : t->executors) {
      if (e.joinable()) {
        e.join();
      }
    }
  }
  {
    absl::MutexLock lock(&lease_mu_);
    lease_stop_ = true;
  }
  if (lease_thread_.joinable()) {
    lease_thread_.join();
  }
}

Worker::Worker(client::TaskClient& client, const tasks::HandlerRegistry& registry,
               WorkerOptions options, WorkerMetrics* metrics)
    : impl_(std::make_unique<Impl>(client, registry, std::move(options), metrics)) {}

Worker::~Worker() = default;

absl::Status Worker::Start() { return impl_->Start(); }

absl::Status Worker::Shutdown(absl::Duration grace) { return impl_->Shutdown(grace); }

int Worker::in_flight() const { return impl_->in_flight(); }

}  // namespace cmig::worker
