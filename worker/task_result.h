// Turning a handler's return into a Conductor TaskResult, and delivering it.
//
// A finished result is the only record of work done; the worker keeps
// sending it through orchestrator outages, as ResultRetry says, until the
// orchestrator accepts it or the task's response timeout has handed the task
// to someone else anyway.
#ifndef CMIG_WORKER_TASK_RESULT_H_
#define CMIG_WORKER_TASK_RESULT_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/task_client.h"
#include "conductor/model/task.pb.h"
#include "conductor/model/taskresult.pb.h"
#include "tasks/task_handler.h"
#include "worker/backoff.h"

namespace cmig::worker {

// FAILED_WITH_TERMINAL_ERROR for InvalidArgument, FailedPrecondition,
// NotFound and PermissionDenied (bad input or environment: retrying cannot
// help) and ResourceExhausted (too large to send); FAILED for every other
// error, so the task definition's retry policy applies.
conductor::proto::TaskResult::Status StatusForHandlerError(const absl::Status& error);

// The result for `task`: COMPLETED, IN_PROGRESS with callbackAfterSeconds, or
// a failure whose reasonForIncompletion is the error's code and message.
// `logs` (lines that could not be sent with AddLog) travel in the result.
conductor::proto::TaskResult MakeTaskResult(const conductor::proto::Task& task,
                                            const absl::StatusOr<tasks::TaskOutcome>& outcome,
                                            absl::string_view worker_id,
                                            std::vector<conductor::proto::TaskExecLog> logs);

// Whether an UpdateTask error may succeed later (server unreachable,
// overloaded, restarting) rather than never (unknown task, malformed result).
bool IsRetryableUpdateError(const absl::Status& status);

struct ReportOptions {
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
};

// When to send a result again after the orchestrator did not accept it.
//
//   ResultRetry retry(give_up_at, options, seed);
//   absl::StatusOr<absl::Time> next = retry.NextAttempt(update_error, now);
//   if (!next.ok()) { /* lost: log next.status() */ }
//
// Thread-safety: not thread-safe; one per result.
class ResultRetry {
 public:
  // `give_up_at`: when the task's response timeout has handed it to another
  // worker anyway, so the result no longer matters.
  ResultRetry(absl::Time give_up_at, ReportOptions options, uint64_t seed);

  // After an attempt failed with `error` at `now`: the time of the next
  // attempt (capped jittered backoff, never past `give_up_at`); or the status
  // to give up with: `error` itself when retrying cannot fix it,
  // DeadlineExceeded wrapping it once `give_up_at` has passed.
  absl::StatusOr<absl::Time> NextAttempt(const absl::Status& error, absl::Time now);

  // Failed attempts so far.
  int failures() const { return failures_; }

 private:
  const absl::Time give_up_at_;
  Backoff backoff_;
  int failures_ = 0;
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_TASK_RESULT_H_
