#include "worker/worker.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "client/task_event_loop.h"
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

// When slots free up one at a time (short tasks), waiting a moment for half of
// them lets one BatchPoll fetch several tasks instead of one poll per task.
// Long tasks pay at most this delay before a free slot is offered.
constexpr absl::Duration kBatchWindow = absl::Milliseconds(5);

class Worker::Impl {
 public:
  // `loop` is borrowed; when null, the worker runs its own TaskEventLoop over `grpc`.
  Impl(client::TaskClient& client, client::AsyncTaskClient* loop,
       client::GrpcOrchestratorClient* grpc, const tasks::HandlerRegistry& registry,
       WorkerOptions options, WorkerMetrics* metrics, const Clock& clock)
      : client_(client),
        clock_(clock),
        registry_(registry),
        options_(std::move(options)),
        metrics_(metrics != nullptr ? metrics : &own_metrics_),
        own_loop_(loop == nullptr ? std::make_unique<client::TaskEventLoop>(*grpc) : nullptr),
        loop_(loop != nullptr ? *loop : *own_loop_) {}

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
  // An executor's running task and its lease. The executor writes it at the
  // start and end of each task; the loop reads it only when an extension
  // falls due, so its lock is practically never contended.
  struct Slot {
    absl::Mutex mu;
    // Owned by the executor; null when idle.
    const Task* task ABSL_GUARDED_BY(mu) = nullptr;
    absl::Duration response_timeout ABSL_GUARDED_BY(mu);
    absl::Time last_extended ABSL_GUARDED_BY(mu);
    absl::Time next_extension ABSL_GUARDED_BY(mu);
  };

  struct TypeState {
    TypeState(std::string type_name, TaskTypeOptions type_options, tasks::TaskHandler* h,
              const WorkerOptions& o, uint64_t seed)
        : type(std::move(type_name)),
          options(std::move(type_options)),
          handler(h),
          empty_backoff(o.poll_interval, o.max_empty_poll_backoff, seed),
          error_backoff(o.poll_interval, o.max_error_backoff, seed + 1) {}

    const std::string type;
    const TaskTypeOptions options;
    tasks::TaskHandler* const handler;

    // Touched only on the loop thread.
    int busy = 0;  // polled and not yet reported: queued, executing or reporting
    bool polling = false;
    bool backing_off = false;
    bool batch_timer_set = false;
    Backoff empty_backoff;
    Backoff error_backoff;

    // Polled and not yet executed: queued or executing. The execution slots
    // are what a poll fills; a result on its way to the orchestrator holds
    // none, so the next poll need not wait for the previous results to land.
    // Raised by the loop, lowered by executors.
    std::atomic<int> running{0};

    // One per executor: the task it runs, for lease upkeep.
    std::vector<std::unique_ptr<Slot>> slots;

    // The executors' queue. Each type has its own lock so its executors never
    // contend with another type's.
    absl::Mutex mu;
    absl::CondVar ready;
    std::deque<Task> queue ABSL_GUARDED_BY(mu);
    bool closed ABSL_GUARDED_BY(mu) = false;
    // Executors waiting for a task.
    int idle ABSL_GUARDED_BY(mu) = 0;
    // An idle executor has been signalled and has not taken the lock yet. One
    // at a time: it signals the next if tasks remain, so a batch of short
    // tasks wakes a few executors rather than one per task, and a batch of
    // long ones still spreads over all of them.
    bool waking ABSL_GUARDED_BY(mu) = false;
    std::vector<std::thread> executors;
  };

  // A finished task's result on its way to the orchestrator.
  struct Delivery {
    TypeState* type;
    TaskResult result;
    absl::Duration run_time;
    // The handler's error; OK when it succeeded.
    absl::Status handler_error;
    // When the task's response timeout makes the result moot.
    absl::Time give_up_at;
    // Set at the first rejected attempt; most results never need it.
    std::optional<ResultRetry> retry;
  };

  class Context;

  // On the loop thread.
  void MaybePoll(TypeState& t, bool batch_window_over);
  void StartPoll(TypeState& t, int free_slots);
  void OnPolled(TypeState& t, absl::Time started, absl::StatusOr<std::vector<Task>> polled);
  void BackOff(TypeState& t, absl::Duration wait);
  void OnUpdated(std::unique_ptr<Delivery> delivery, const absl::Status& status);
  void Finish(TypeState& t);
  void CheckLeases(int64_t scheduled_ns);
  void OnLeaseExtended(TypeState& t, const std::string& task_id, const std::string& workflow_id,
                       absl::Time sent, const absl::Status& status);

  // On executor threads.
  void ExecuteLoop(TypeState& t, Slot& slot);
  // Signals one idle executor when tasks wait and none is on its way.
  static void WakeAnExecutorLocked(TypeState& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.mu);
  void RunTask(TypeState& t, Slot& slot, const Task& task);
  void ExtendLeaseNow(TypeState& t, const Task& task);

  // From any thread: makes sure a lease check runs by `due`.
  void ScheduleLeaseCheck(absl::Time due);

  // From any thread.
  void Send(std::unique_ptr<Delivery> delivery);
  void JoinAll();

  client::TaskClient& client_;
  const Clock& clock_;
  const tasks::HandlerRegistry& registry_;
  const WorkerOptions options_;
  WorkerMetrics own_metrics_;
  WorkerMetrics* const metrics_;
  // Set when the worker was given a gRPC client to make its own loop from.
  const std::unique_ptr<client::TaskEventLoop> own_loop_;
  client::AsyncTaskClient& loop_;
  // Set once Shutdown begins; handlers wait for it on the worker's clock.
  mutable absl::Mutex shutdown_mu_;
  bool shutdown_requested_ ABSL_GUARDED_BY(shutdown_mu_) = false;

  // Lifecycle and drain accounting.
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int total_busy_ ABSL_GUARDED_BY(mu_) = 0;
  int polls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;

  // When the next lease check is scheduled (Unix nanoseconds; max: none). A
  // task schedules one only when its extension falls due before that, not
  // on every task.
  std::atomic<int64_t> lease_check_at_{std::numeric_limits<int64_t>::max()};

  // Fixed after Start.
  std::vector<std::unique_ptr<TypeState>> types_;
  std::thread loop_thread_;
};

class Worker::Impl::Context final : public tasks::TaskContext {
 public:
  Context(Impl& impl, TypeState& type, const Task& task) : impl_(impl), type_(type), task_(task) {}

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
    log.set_created_time(absl::ToUnixMillis(impl_.clock_.Now()));
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(log));
  }

  void ReportProgress(absl::string_view what) override {
    AddLog(what);
    impl_.ExtendLeaseNow(type_, task_);
  }

  bool ShutdownRequested() const override {
    absl::MutexLock lock(&impl_.shutdown_mu_);
    return impl_.shutdown_requested_;
  }

  bool WaitForShutdown(absl::Duration timeout) const override {
    absl::MutexLock lock(&impl_.shutdown_mu_);
    return impl_.clock_.AwaitWithDeadline(impl_.shutdown_mu_,
                                          absl::Condition(&impl_.shutdown_requested_),
                                          impl_.clock_.Now() + timeout);
  }

  std::vector<TaskExecLog> TakePendingLogs() {
    absl::MutexLock lock(&mu_);
    return std::move(pending_);
  }

 private:
  Impl& impl_;
  TypeState& type_;
  const Task& task_;
  absl::Mutex mu_;
  std::vector<TaskExecLog> pending_ ABSL_GUARDED_BY(mu_);
};

absl::Status Worker::Impl::Start() {
  if (options_.worker_id.empty()) {
    return absl::InvalidArgumentError("worker: empty worker id");
  }
  if (options_.undelivered_per_thread < 1) {
    return absl::InvalidArgumentError(absl::StrCat("worker: undelivered_per_thread is ",
                                                   options_.undelivered_per_thread,
                                                   "; it must be at least 1"));
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
    auto it = options_.per_type.find(type);
    const TaskTypeOptions& type_options =
        it != options_.per_type.end() ? it->second : options_.defaults;
    if (type_options.threads < 1) {
      types_.clear();
      return absl::InvalidArgumentError(absl::StrCat("worker: task type ", type,
                                                     " has thread count ", type_options.threads,
                                                     "; it must be at least 1"));
    }
    types_.push_back(
        std::make_unique<TypeState>(type, type_options, registry_.Find(type), options_,
                                    std::hash<std::string>{}(options_.worker_id + type)));
    // Every served type shows in the metrics from the start, at zero.
    metrics_->AddInFlight(type, 0);
  }
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  loop_thread_ = std::thread([this] { loop_.Run(); });
  for (auto& t : types_) {
    for (int i = 0; i < t->options.threads; ++i) {
      t->slots.push_back(std::make_unique<Slot>());
    }
    for (int i = 0; i < t->options.threads; ++i) {
      t->executors.emplace_back(
          [this, ts = t.get(), slot = t->slots[i].get()] { ExecuteLoop(*ts, *slot); });
    }
    loop_.RunAt(absl::InfinitePast(), [this, ts = t.get()] { MaybePoll(*ts, false); });
    spdlog::info("worker {}: polling task type {} with {} thread(s){}", options_.worker_id, t->type,
                 t->options.threads,
                 t->options.domain.empty() ? "" : absl::StrCat(" in domain ", t->options.domain));
  }
  return absl::OkStatus();
}

void Worker::Impl::MaybePoll(TypeState& t, bool batch_window_over) {
  if (t.polling || t.backing_off) {
    return;
  }
  const int threads = t.options.threads;
  // Free execution slots, as long as the results waiting for the
  // orchestrator stay within bounds: an orchestrator that takes polls but not
  // results does not get more work handed out.
  const int running = t.running.load();
  const int undelivered = t.busy - running;
  const int room =
      std::min(threads - running, threads * options_.undelivered_per_thread - undelivered);
  if (room <= 0) {
    metrics_->RecordQueueFull(t.type);
    return;
  }
  if (room < std::max(1, threads / 2) && !batch_window_over) {
    if (!t.batch_timer_set) {
      t.batch_timer_set = true;
      loop_.RunAt(clock_.Now() + kBatchWindow, [this, &t] {
        t.batch_timer_set = false;
        MaybePoll(t, true);
      });
    }
    return;
  }
  StartPoll(t, room);
}

void Worker::Impl::StartPoll(TypeState& t, int free_slots) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return;
    }
    ++polls_in_flight_;
  }
  t.polling = true;
  const absl::Time started = clock_.Now();
  loop_.BatchPoll({.task_type = t.type,
                   .worker_id = options_.worker_id,
                   .domain = t.options.domain,
                   .count = free_slots,
                   .timeout = options_.poll_timeout},
                  [this, &t, started](absl::StatusOr<std::vector<Task>> polled) {
                    OnPolled(t, started, std::move(polled));
                  });
}

void Worker::Impl::OnPolled(TypeState& t, absl::Time started,
                            absl::StatusOr<std::vector<Task>> polled) {
  t.polling = false;
  const absl::Duration latency = clock_.Now() - started;
  metrics_->RecordPoll(t.type, latency, polled.ok());
  const int n = polled.ok() ? static_cast<int>(polled->size()) : 0;
  {
    // In one step, so a drain never sees neither the poll nor its tasks.
    absl::MutexLock lock(&mu_);
    --polls_in_flight_;
    total_busy_ += n;
  }
  if (!polled.ok()) {
    const absl::Duration wait = t.error_backoff.Next();
    // The first failure and then every tenth: an outage should be visible,
    // not flood the log.
    if (t.error_backoff.attempt() == 1 || t.error_backoff.attempt() % 10 == 0) {
      spdlog::warn("worker {}: poll of task type {} failed ({} in a row), next try in {}: {}",
                   options_.worker_id, t.type, t.error_backoff.attempt(),
                   absl::FormatDuration(wait), polled.status().ToString());
    }
    BackOff(t, wait);
    return;
  }
  if (t.error_backoff.attempt() > 0) {
    spdlog::info("worker {}: polling task type {} works again", options_.worker_id, t.type);
    t.error_backoff.Reset();
  }
  if (n == 0) {
    // A server that held the poll open already waited; one that answered at
    // once (no long-poll support) needs the client to wait instead.
    if (latency < options_.poll_timeout / 2) {
      BackOff(t, t.empty_backoff.Next());
    } else {
      t.empty_backoff.Reset();
      MaybePoll(t, false);
    }
    return;
  }
  t.empty_backoff.Reset();
  t.busy += n;
  t.running.fetch_add(n);
  metrics_->AddInFlight(t.type, n);
  {
    absl::MutexLock lock(&t.mu);
    for (Task& task : *polled) {
      t.queue.push_back(std::move(task));
    }
    WakeAnExecutorLocked(t);
  }
  MaybePoll(t, false);
}

void Worker::Impl::BackOff(TypeState& t, absl::Duration wait) {
  t.backing_off = true;
  loop_.RunAt(clock_.Now() + wait, [this, &t] {
    t.backing_off = false;
    MaybePoll(t, false);
  });
}

void Worker::Impl::ExecuteLoop(TypeState& t, Slot& slot) {
  // Handlers are throughput work. As SCHED_BATCH threads, executors woken
  // with a task do not preempt the loop thread in the middle of handing out a
  // batch or reading a response: fewer context switches per task, and polls
  // and lease extensions are never held up by busy handlers.
  sched_param param{};
  if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
    spdlog::debug("worker {}: executor for {} keeps the default scheduling policy: errno {}",
                  options_.worker_id, t.type, errno);
  }
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&t.mu);
      while (t.queue.empty() && !t.closed) {
        ++t.idle;
        t.ready.Wait(&t.mu);
        --t.idle;
        t.waking = false;
      }
      if (t.queue.empty()) {
        return;  // closed and nothing left: drained
      }
      task = std::move(t.queue.front());
      t.queue.pop_front();
      WakeAnExecutorLocked(t);
    }
    RunTask(t, slot, task);
  }
}

void Worker::Impl::WakeAnExecutorLocked(TypeState& t) {
  if (!t.queue.empty() && t.idle > 0 && !t.waking) {
    t.waking = true;
    t.ready.Signal();
  }
}

void Worker::Impl::RunTask(TypeState& t, Slot& slot, const Task& task) {
  const absl::Time polled_at = clock_.Now();
  const absl::Duration response_timeout = absl::Seconds(task.response_timeout_seconds());
  const bool leased = response_timeout > absl::ZeroDuration();
  const absl::Time due =
      leased ? polled_at + response_timeout * options_.lease_fraction : absl::InfiniteFuture();
  {
    absl::MutexLock lock(&slot.mu);
    slot.task = &task;
    slot.response_timeout = response_timeout;
    slot.last_extended = polled_at;
    slot.next_extension = due;
  }
  if (leased) {
    ScheduleLeaseCheck(due);
  }
  spdlog::debug("task_id={} workflow_id={} task_type={} started (attempt {})", task.task_id(),
                task.workflow_instance_id(), t.type, task.retry_count() + 1);

  Context context(*this, t, task);
  absl::StatusOr<tasks::TaskOutcome> outcome;
  try {
    outcome = t.handler->Execute(context);
  } catch (const std::exception& e) {
    outcome = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
  } catch (...) {
    outcome = absl::InternalError("handler threw a non-standard exception");
  }
  const absl::Duration run_time = clock_.Now() - polled_at;

  absl::Time last_extended;
  {
    absl::MutexLock lock(&slot.mu);
    last_extended = slot.last_extended;
    slot.task = nullptr;
  }

  if (!outcome.ok()) {
    const TaskResult::Status status = StatusForHandlerError(outcome.status());
    const std::string line = absl::StrCat(
        TaskResult::Status_Name(status), " by worker ", options_.worker_id, ": ",
        absl::StatusCodeToString(outcome.status().code()), ": ", outcome.status().message());
    context.AddLog(line);
    spdlog::warn("task_id={} workflow_id={} task_type={} {}", task.task_id(),
                 task.workflow_instance_id(), t.type, line);
  }
  auto delivery = std::make_unique<Delivery>(Delivery{
      .type = &t,
      .result = MakeTaskResult(task, outcome, options_.worker_id, context.TakePendingLogs()),
      .run_time = run_time,
      .handler_error = outcome.status(),
      .give_up_at = leased ? last_extended + response_timeout
                           : clock_.Now() + options_.result_retention_without_timeout,
      .retry = std::nullopt});
  // The slot is free for the next poll, which the loop considers when this
  // result's delivery completes.
  t.running.fetch_sub(1);
  Send(std::move(delivery));
}

void Worker::Impl::Send(std::unique_ptr<Delivery> delivery) {
  const TaskResult& result = delivery->result;
  loop_.UpdateTask(result,
                   [this, delivery = std::move(delivery)](const absl::Status& status) mutable {
                     OnUpdated(std::move(delivery), status);
                   });
}

void Worker::Impl::OnUpdated(std::unique_ptr<Delivery> delivery, const absl::Status& status) {
  TypeState& t = *delivery->type;
  const TaskResult& result = delivery->result;
  if (!delivery->retry.has_value()) {
    // Recorded here, on the loop thread, once per task: executors then share
    // no lock but their queue's.
    metrics_->RecordExecution(t.type, delivery->run_time,
                              delivery->handler_error.ok()
                                  ? ""
                                  : absl::StatusCodeToString(delivery->handler_error.code()));
  }
  if (!status.ok()) {
    metrics_->RecordUpdateError(t.type);
    if (loop_.stopped()) {
      spdlog::error(
          "task_id={} workflow_id={} task_type={} result {} not delivered: the worker stopped "
          "before the orchestrator accepted it ({})",
          result.task_id(), result.workflow_instance_id(), t.type,
          TaskResult::Status_Name(result.status()), status.ToString());
      return;
    }
    if (!delivery->retry.has_value()) {
      delivery->retry.emplace(
          delivery->give_up_at,
          ReportOptions{options_.update_initial_backoff, options_.update_max_backoff},
          std::hash<std::string>{}(result.task_id()));
    }
    absl::StatusOr<absl::Time> next = delivery->retry->NextAttempt(status, clock_.Now());
    if (next.ok()) {
      // The first rejection and every tenth: an outage shows, without a flood.
      const int failures = delivery->retry->failures();
      if (failures % 10 == 1) {
        spdlog::warn(
            "task_id={} workflow_id={} task_type={} result not accepted yet ({} attempts), "
            "retrying: {}",
            result.task_id(), result.workflow_instance_id(), t.type, failures, status.ToString());
      }
      loop_.RunAt(*next,
                  [this, delivery = std::move(delivery)]() mutable { Send(std::move(delivery)); });
      // The handler's slot is free all the same.
      MaybePoll(t, false);
      return;
    }
    spdlog::error("task_id={} workflow_id={} task_type={} result {} lost: {}", result.task_id(),
                  result.workflow_instance_id(), t.type, TaskResult::Status_Name(result.status()),
                  next.status().ToString());
  } else if (spdlog::should_log(spdlog::level::info)) {
    const int failures = delivery->retry.has_value() ? delivery->retry->failures() : 0;
    spdlog::info("task_id={} workflow_id={} task_type={} {} in {}{}", result.task_id(),
                 result.workflow_instance_id(), t.type, TaskResult::Status_Name(result.status()),
                 absl::FormatDuration(delivery->run_time),
                 failures > 0
                     ? absl::StrCat(" (result delivered after ", failures, " failed attempts)")
                     : "");
  }
  Finish(t);
}

void Worker::Impl::Finish(TypeState& t) {
  --t.busy;
  metrics_->AddInFlight(t.type, -1);
  {
    absl::MutexLock lock(&mu_);
    --total_busy_;
  }
  MaybePoll(t, false);
}

void Worker::Impl::ScheduleLeaseCheck(absl::Time due) {
  const int64_t due_ns = absl::ToUnixNanos(due);
  int64_t scheduled = lease_check_at_.load();
  while (due_ns < scheduled) {
    if (lease_check_at_.compare_exchange_weak(scheduled, due_ns)) {
      loop_.RunAt(due, [this, due_ns] { CheckLeases(due_ns); });
      return;
    }
  }
}

void Worker::Impl::CheckLeases(int64_t scheduled_ns) {
  // Only the check `lease_check_at_` names runs; one superseded by an earlier
  // check has nothing to do. Clearing the mark before reading the slots means
  // a task that starts during the scan schedules its own check.
  if (!lease_check_at_.compare_exchange_strong(scheduled_ns, std::numeric_limits<int64_t>::max())) {
    return;
  }
  struct Due {
    TypeState* type;
    std::string task_id, workflow_id;
  };
  const absl::Time now = clock_.Now();
  std::vector<Due> due;
  absl::Time next = absl::InfiniteFuture();
  for (auto& t : types_) {
    for (auto& slot : t->slots) {
      absl::MutexLock lock(&slot->mu);
      if (slot->task == nullptr) {
        continue;
      }
      if (slot->next_extension <= now) {
        due.push_back({t.get(), slot->task->task_id(), slot->task->workflow_instance_id()});
        // Retry a failed extension soon, well before the lease runs out; a
        // successful one moves this later.
        slot->next_extension = now + slot->response_timeout * ((1 - options_.lease_fraction) / 4);
      }
      next = std::min(next, slot->next_extension);
    }
  }
  // The next check is due at `next`, unless a task scheduled an earlier one
  // meanwhile.
  if (next != absl::InfiniteFuture()) {
    ScheduleLeaseCheck(next);
  }
  for (Due& d : due) {
    TaskResult extend;
    extend.set_task_id(d.task_id);
    extend.set_workflow_instance_id(d.workflow_id);
    extend.set_worker_id(options_.worker_id);
    extend.set_status(TaskResult::IN_PROGRESS);
    extend.set_extend_lease(true);
    loop_.UpdateTask(extend, [this, d = std::move(d), now](const absl::Status& status) {
      OnLeaseExtended(*d.type, d.task_id, d.workflow_id, now, status);
    });
  }
}

void Worker::Impl::OnLeaseExtended(TypeState& t, const std::string& task_id,
                                   const std::string& workflow_id, absl::Time sent,
                                   const absl::Status& status) {
  if (!status.ok()) {
    metrics_->RecordUpdateError(t.type);
    spdlog::warn("task_id={} workflow_id={} task_type={} lease extension failed: {}", task_id,
                 workflow_id, t.type, status.ToString());
    return;
  }
  metrics_->RecordLeaseExtension(t.type);
  spdlog::debug("task_id={} workflow_id={} task_type={} lease extended", task_id, workflow_id,
                t.type);
  for (auto& slot : t.slots) {
    absl::MutexLock lock(&slot->mu);
    if (slot->task == nullptr || slot->task->task_id() != task_id) {
      continue;
    }
    // The server extended from when it got the call, at or after `sent`.
    slot->last_extended = std::max(slot->last_extended, sent);
    slot->next_extension =
        std::max(slot->next_extension, sent + slot->response_timeout * options_.lease_fraction);
    return;
  }
  // Not found: the handler finished meanwhile.
}

void Worker::Impl::ExtendLeaseNow(TypeState& t, const Task& task) {
  TaskResult extend;
  extend.set_task_id(task.task_id());
  extend.set_workflow_instance_id(task.workflow_instance_id());
  extend.set_worker_id(options_.worker_id);
  extend.set_status(TaskResult::IN_PROGRESS);
  extend.set_extend_lease(true);
  const absl::Time sent = clock_.Now();
  OnLeaseExtended(t, task.task_id(), task.workflow_instance_id(), sent, client_.UpdateTask(extend));
}

absl::Status Worker::Impl::Shutdown(absl::Duration grace) {
  const absl::Time deadline = clock_.Now() + grace;
  {
    absl::MutexLock lock(&mu_);
    if (!started_) {
      return absl::OkStatus();
    }
    stopping_ = true;
  }
  {
    absl::MutexLock lock(&shutdown_mu_);
    shutdown_requested_ = true;
  }
  absl::MutexLock lock(&mu_);
  auto drained = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return polls_in_flight_ == 0 && total_busy_ == 0;
  };
  if (!clock_.AwaitWithDeadline(mu_, absl::Condition(&drained), deadline)) {
    std::vector<std::string> running;
    for (auto& t : types_) {
      for (auto& slot : t->slots) {
        absl::MutexLock slot_lock(&slot->mu);
        if (slot->task != nullptr) {
          running.push_back(slot->task->task_id());
        }
      }
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "worker ", options_.worker_id, ": ", total_busy_, " task(s) still in flight after ",
        absl::FormatDuration(grace), running.empty() ? "" : ": ", absl::StrJoin(running, ", ")));
  }
  return absl::OkStatus();
}

void Worker::Impl::JoinAll() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_) {
      return;
    }
    // A poll in flight may still bring tasks: they run before the executors go.
    auto no_poll = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return polls_in_flight_ == 0; };
    mu_.Await(absl::Condition(&no_poll));
  }
  for (auto& t : types_) {
    {
      absl::MutexLock lock(&t->mu);
      t->closed = true;
    }
    t->ready.SignalAll();
  }
  for (auto& t : types_) {
    for (auto& e : t->executors) {
      e.join();
    }
  }
  loop_.Stop();
  loop_thread_.join();
}

Worker::Worker(client::GrpcOrchestratorClient& client, const tasks::HandlerRegistry& registry,
               WorkerOptions options, WorkerMetrics* metrics, const Clock& clock)
    : impl_(std::make_unique<Impl>(client, nullptr, &client, registry, std::move(options), metrics,
                                   clock)) {}

Worker::Worker(client::TaskClient& client, client::AsyncTaskClient& loop,
               const tasks::HandlerRegistry& registry, WorkerOptions options,
               WorkerMetrics* metrics, const Clock& clock)
    : impl_(std::make_unique<Impl>(client, &loop, nullptr, registry, std::move(options), metrics,
                                   clock)) {}

Worker::~Worker() = default;

absl::Status Worker::Start() { return impl_->Start(); }

absl::Status Worker::Shutdown(absl::Duration grace) { return impl_->Shutdown(grace); }

int Worker::in_flight() const { return impl_->in_flight(); }

}  // namespace cmig::worker
