// What a migration step (or any worker task) implements: one method, task in,
// result out.
//
//   class FetchDefinitions final : public cmig::tasks::TaskHandler {
//    public:
//     absl::StatusOr<cmig::tasks::TaskOutcome> Execute(cmig::tasks::TaskContext& ctx) override {
//       const google::protobuf::Value* source = ctx.Input("source");
//       if (source == nullptr) return absl::InvalidArgumentError("input 'source' is missing");
//       ctx.AddLog("fetching 12 workflow definitions");
//       cmig::tasks::TaskOutcome outcome;
//       (*outcome.output.mutable_fields())["count"].set_number_value(12);
//       return outcome;
//     }
//   };
//
// The worker runtime (worker/worker.h) turns the returned value into a
// Conductor TaskResult:
//   - OK, callback_after == 0        -> COMPLETED with `output`.
//   - OK, callback_after > 0         -> IN_PROGRESS with callbackAfterSeconds: the
//     orchestrator hands the same task (same id, with this `output` as its
//     output_data) back after the delay. This is how a step waits for
//     something without holding a thread.
//   - InvalidArgument, FailedPrecondition, NotFound, PermissionDenied
//                                    -> FAILED_WITH_TERMINAL_ERROR: retrying cannot help.
//   - any other error                -> FAILED: retried per the task definition.
// The status message becomes reasonForIncompletion and a log line, so it must
// say what failed (which definition, which field) and must never contain a
// secret. A handler that throws is reported as FAILED, never crashes the
// worker.
//
// Thread-safety: one handler object serves every task of its type, from
// several pool threads at once; Execute must be safe to call concurrently.
#ifndef CMIG_TASKS_TASK_HANDLER_H_
#define CMIG_TASKS_TASK_HANDLER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "conductor/model/task.pb.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::tasks {

struct TaskOutcome {
  // Becomes the task's outputData.
  google::protobuf::Struct output;
  // > 0: not done yet, call back after this delay (rounded up to whole
  // seconds, Conductor's unit).
  absl::Duration callback_after = absl::ZeroDuration();
};

// The task being executed and the ways a handler talks back while it runs.
// Owned by the worker; valid only during Execute.
class TaskContext {
 public:
  virtual ~TaskContext() = default;

  // The polled task as the orchestrator sent it (input_data, retry_count,
  // poll_count, output_data of an earlier IN_PROGRESS round, ...).
  virtual const conductor::proto::Task& task() const = 0;

  // One input parameter, or nullptr when the task's input does not have it.
  const google::protobuf::Value* Input(absl::string_view name) const {
    auto it = task().input_data().find(std::string(name));
    return it == task().input_data().end() ? nullptr : &it->second;
  }

  // Appends a line to the task's execution log (step-level history in the
  // orchestrator). Sent right away; if the orchestrator cannot be reached the
  // line travels with the task's result instead. Never blocks longer than one
  // RPC deadline. Must not contain secrets.
  virtual void AddLog(absl::string_view line) = 0;

  // Says the step is alive and how far it got: logs `what` and extends the
  // task's lease now, so a long step is not given away even before the
  // worker's own lease timer fires.
  virtual void ReportProgress(absl::string_view what) = 0;

  // True once the worker is shutting down; a long handler may return early
  // (for example with a callback) to finish within the grace period.
  virtual bool ShutdownRequested() const = 0;

  // Blocks until the worker starts shutting down (true) or `timeout` passes
  // (false): for a handler that waits on something external and wants to
  // wake early to finish within the grace period.
  virtual bool WaitForShutdown(absl::Duration timeout) const = 0;
};

class TaskHandler {
 public:
  virtual ~TaskHandler() = default;

  virtual absl::StatusOr<TaskOutcome> Execute(TaskContext& context) = 0;
};

}  // namespace cmig::tasks

#endif  // CMIG_TASKS_TASK_HANDLER_H_
