// Conductor's BatchPoll and UpdateTask started without blocking, plus timers, with every
// completion delivered on one thread: what the worker runtime (worker/worker.h) needs to keep
// many tasks in flight from a single bookkeeping thread. client::TaskEventLoop implements it over
// gRPC; tests implement it over an in-memory fake and a clock they move by hand.
//
//   AsyncTaskClient& loop = ...;
//   std::thread thread([&] { loop.Run(); });
//   loop.BatchPoll(request, [](absl::StatusOr<std::vector<conductor::proto::Task>> tasks) { ... });
//   loop.RunAt(when, [] { ... });
//   loop.Stop();
//   thread.join();
//
// Thread-safety: BatchPoll, UpdateTask, RunAt and Stop may be called from any thread, callbacks
// included. Callbacks run on the Run() thread one at a time and must not block.
#ifndef CMIG_CLIENT_ASYNC_TASK_CLIENT_H_
#define CMIG_CLIENT_ASYNC_TASK_CLIENT_H_

#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/task_client.h"
#include "conductor/model/task.pb.h"
#include "conductor/model/taskresult.pb.h"

namespace cmig::client {

class AsyncTaskClient {
 public:
  using PollCallback =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<conductor::proto::Task>>) &&>;
  using UpdateCallback = absl::AnyInvocable<void(absl::Status) &&>;
  using TimerCallback = absl::AnyInvocable<void() &&>;

  virtual ~AsyncTaskClient() = default;

  // Starts a BatchPoll; `done` gets what a blocking TaskClient::BatchPoll would return.
  virtual void BatchPoll(const BatchPollRequest& request, PollCallback done) = 0;

  // Starts an UpdateTask of `result`; `done` gets its status.
  virtual void UpdateTask(const conductor::proto::TaskResult& result, UpdateCallback done) = 0;

  // Runs `fn` on the Run() thread at `when` (as soon as possible when past). Implementations say
  // which clock `when` is read on.
  virtual void RunAt(absl::Time when, TimerCallback fn) = 0;

  // Runs completions on the calling thread until Stop() has been called and every call started
  // before it has completed.
  virtual void Run() = 0;

  // Drops pending timers without running them; calls in flight complete. From then on
  // BatchPoll, UpdateTask and RunAt drop their callbacks unrun. Idempotent.
  virtual void Stop() = 0;

  // Whether Stop has been called.
  virtual bool stopped() const = 0;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_ASYNC_TASK_CLIENT_H_
