// Conductor's BatchPoll and UpdateTask as asynchronous gRPC calls, plus timers on the wall
// clock, all completing on one thread (client/async_task_client.h).
//
// A worker with many tasks in flight pays for every thread that sits in a
// blocking gRPC call: gRPC passes the socket between the blocked threads and
// wakes each caller in turn, several context switches per call. Here the one
// thread inside Run() reads the connection and runs every callback; any
// thread may start calls, and starting one never blocks on the server.
//
//   TaskEventLoop loop(client);
//   std::thread thread([&] { loop.Run(); });
//   loop.BatchPoll({.task_type = "fetch_definitions", .worker_id = id, .count = 4},
//                  [](absl::StatusOr<std::vector<conductor::proto::Task>> tasks) { ... });
//   loop.RunAt(absl::Now() + absl::Seconds(1), [] { ... });
//   ...
//   loop.Stop();  // pending timers are dropped; calls in flight finish
//   thread.join();
//
// Calls carry the client's deadline and bearer token, and fail with the same
// statuses as the client's blocking calls (see task_client.h).
//
// Thread-safety: BatchPoll, UpdateTask, RunAt and Stop may be called from any
// thread, callbacks included. Callbacks run on the Run() thread one at a time
// and must not block: they hold up every other completion.
#ifndef CMIG_CLIENT_TASK_EVENT_LOOP_H_
#define CMIG_CLIENT_TASK_EVENT_LOOP_H_

#include <grpcpp/completion_queue.h>

#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/async_task_client.h"
#include "client/grpc_client.h"
#include "client/task_client.h"
#include "conductor/grpc/task_service.grpc.pb.h"

namespace cmig::client {

class TaskEventLoop final : public AsyncTaskClient {
 public:
  // Borrows `client` (its channel, deadline and token); it must outlive the loop.
  explicit TaskEventLoop(const GrpcOrchestratorClient& client);
  // Stops the loop. Run() must have returned, or never have been called (the
  // destructor then completes what was started itself).
  ~TaskEventLoop() override;
  TaskEventLoop(const TaskEventLoop&) = delete;
  TaskEventLoop& operator=(const TaskEventLoop&) = delete;

  // Starts a BatchPoll; `done` gets what a blocking TaskClient::BatchPoll
  // would return. Tasks already streamed when the call fails are delivered,
  // not dropped: they are leased to this worker.
  void BatchPoll(const BatchPollRequest& request, PollCallback done) override;

  // Starts an UpdateTask of `result`; `done` gets its status.
  void UpdateTask(const conductor::proto::TaskResult& result, UpdateCallback done) override;

  // Runs `fn` on the loop thread at `when` by the wall clock (as soon as possible when past).
  void RunAt(absl::Time when, TimerCallback fn) override;

  // Runs completions on the calling thread until Stop() has been called and
  // every call started before it has completed (each within its deadline).
  void Run() override;

  // Drops pending timers without running them; calls in flight complete as
  // usual. From now on BatchPoll, UpdateTask and RunAt drop their callbacks
  // unrun. Idempotent.
  void Stop() override;

  // Whether Stop has been called.
  bool stopped() const override { return stopping_.load(); }

 private:
  class Op;
  class PollOp;
  class UpdateOp;
  class WakeOp;

  // Counts a call about to start; false once stopping.
  bool AdmitCall();
  // Uncounts a finished (or refused) call.
  void CallDone();
  // Shuts the queue down once stopping and nothing is left.
  void MaybeShutDownLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs the timers that are due.
  void RunDueTimers();

  const GrpcOrchestratorClient& client_;
  const std::unique_ptr<::conductor::grpc::tasks::TaskService::Stub> stub_;
  ::grpc::CompletionQueue queue_;
  std::atomic<bool> run_started_{false};
  // Calls are counted, not listed: starting one takes no lock.
  std::atomic<int> calls_in_flight_{0};
  std::atomic<bool> stopping_{false};

  mutable absl::Mutex mu_;
  bool queue_shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // Timers are kept here rather than as gRPC alarms: the loop thread waits
  // on the queue until the earliest one, so setting a timer from a callback
  // costs no wake-up of gRPC's own timer thread.
  std::multimap<absl::Time, TimerCallback> timers_ ABSL_GUARDED_BY(mu_);
  // When the loop thread's current wait ends (InfinitePast while it runs
  // callbacks). A timer set from another thread before that wakes it.
  absl::Time waiting_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_TASK_EVENT_LOOP_H_
