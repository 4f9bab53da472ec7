// The worker runtime: polls an orchestrator for every registered task type,
// runs the handlers on a bounded pool per type, reports results, extends the
// leases of long steps, and drains on shutdown.
//
//   cmig::tasks::HandlerRegistry registry;  // filled at startup
//   cmig::worker::WorkerOptions options;
//   options.worker_id = cmig::worker::DefaultWorkerId();
//   cmig::worker::Worker worker(*client, registry, options, &metrics);
//   RETURN_IF_ERROR(worker.Start());
//   ...  // SIGTERM
//   absl::Status drained = worker.Shutdown(absl::Seconds(30));
//
// Per task type: BatchPoll with count = free slots (never more tasks than it
// can run at once), a long-poll timeout and the type's domain; `threads`
// executor threads run the handler. A slot is free again when its handler
// returns, while the result is still on its way, so polling and reporting
// overlap; past `undelivered_per_thread` x `threads` results waiting for the
// orchestrator, the type stops polling until some land. Empty polls and
// poll errors back off (jittered, capped), so a down orchestrator costs a
// few calls per second at most. Each finished result is kept and re-sent
// until the orchestrator accepts it or the task's response timeout makes it
// moot. A task whose handler runs past `lease_fraction` of its
// responseTimeoutSeconds gets UpdateTask(IN_PROGRESS, extend_lease=true), as
// often as needed, so the orchestrator does not give it to another worker.
//
// Uses only Conductor's TaskService RPCs, so it works against a Conductor
// server as well as the embedded orchestrator.
//
// One thread (a client::AsyncTaskClient: client::TaskEventLoop over gRPC, or
// a test's fake on a clock it moves) issues every poll, result and lease
// extension asynchronously and does the bookkeeping; executor threads only
// run handlers and hand results to it. No thread blocks in a gRPC call on the
// way of a task, which keeps the cost per task close to a single-threaded
// poll/update loop while tasks of every type run concurrently.
//
// Thread-safety: Start and Shutdown are called from one thread. Handlers are
// called concurrently (see tasks/task_handler.h).
#ifndef CMIG_WORKER_WORKER_H_
#define CMIG_WORKER_WORKER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/async_task_client.h"
#include "client/grpc_client.h"
#include "client/task_client.h"
#include "tasks/handler_registry.h"
#include "worker/clock.h"
#include "worker/metrics.h"

namespace cmig::worker {

struct TaskTypeOptions {
  // Size of the type's execution pool = the most tasks of this type in flight.
  int threads = 1;
  // Conductor task domain to poll; empty for the default queue.
  std::string domain;
};

struct WorkerOptions {
  // Sent with every poll and result; stable for the process (DefaultWorkerId).
  std::string worker_id;
  // Options for task types not in `per_type`.
  TaskTypeOptions defaults;
  std::map<std::string, TaskTypeOptions> per_type;
  // Server-side long-poll wait (Conductor caps it at 5 s).
  absl::Duration poll_timeout = absl::Seconds(1);
  // First backoff step after an empty or failed poll; doubles up to the caps.
  absl::Duration poll_interval = absl::Milliseconds(100);
  absl::Duration max_empty_poll_backoff = absl::Seconds(1);
  absl::Duration max_error_backoff = absl::Seconds(10);
  // Backoff between attempts to deliver a result.
  absl::Duration update_initial_backoff = absl::Milliseconds(200);
  absl::Duration update_max_backoff = absl::Seconds(10);
  // Results of a type not yet accepted by the orchestrator, per execution
  // thread, past which the type stops polling: bounds the results held when
  // the orchestrator takes polls but not results, while leaving room to poll
  // and report at once.
  int undelivered_per_thread = 4;
  // How long to keep trying to deliver a result of a task with no response
  // timeout (responseTimeoutSeconds 0).
  absl::Duration result_retention_without_timeout = absl::Hours(1);
  // Extend a lease when this fraction of responseTimeoutSeconds has passed
  // since the task was polled or its lease last extended.
  double lease_fraction = 2.0 / 3.0;
};

// "<host>-<pid>": stable for the life of the process, distinct per replica.
std::string DefaultWorkerId();

class Worker {
 public:
  // Borrows `client`, `registry`, `metrics` (optional) and `clock`: all must
  // outlive the worker. Every timestamp, deadline and timed wait of the worker
  // reads `clock`. Its timers fire on the event loop, which waits by the wall
  // clock: `clock` must advance with it.
  Worker(client::GrpcOrchestratorClient& client, const tasks::HandlerRegistry& registry,
         WorkerOptions options, WorkerMetrics* metrics = nullptr, const Clock& clock = RealClock());
  // The same over any TaskClient (AddLog, and the blocking lease extension a progress report
  // sends) and AsyncTaskClient (polls, results, lease extensions and timers), both borrowed.
  // `loop`'s timers must read `clock`.
  Worker(client::TaskClient& client, client::AsyncTaskClient& loop,
         const tasks::HandlerRegistry& registry, WorkerOptions options,
         WorkerMetrics* metrics = nullptr, const Clock& clock = RealClock());
  // Shuts down with no grace period if still running; blocks until every
  // handler has returned and its result has been sent once. A result still
  // waiting to be re-sent after a rejection is dropped then (Shutdown with a
  // grace period is the way to drain).
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts polling every task type of the registry. FailedPrecondition: no
  // handlers, or already started. InvalidArgument: empty worker id or a
  // thread count below 1.
  absl::Status Start();

  // Stops polling (a poll in progress finishes and its tasks still run),
  // then waits until every in-flight task is executed and reported, or until
  // `grace` has passed. OK when drained; DeadlineExceeded naming the tasks
  // still running otherwise (their threads keep running: the caller decides
  // whether to exit the process). Idempotent.
  absl::Status Shutdown(absl::Duration grace);

  // Tasks polled and not yet reported, over all types.
  int in_flight() const;

 private:
  class Impl;
  const std::unique_ptr<Impl> impl_;
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_WORKER_H_
