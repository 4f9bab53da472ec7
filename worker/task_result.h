// Turning a handler's return into a Conductor TaskResult, and delivering it.
//
// A finished result is the only record of work done; ResultReporter keeps
// sending it through orchestrator outages until the orchestrator accepts it
// or the task's response timeout has handed the task to someone else anyway.
#ifndef CMIG_WORKER_TASK_RESULT_H_
#define CMIG_WORKER_TASK_RESULT_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/task_client.h"
#include "conductor/model/task.pb.h"
#include "conductor/model/taskresult.pb.h"
#include "tasks/task_handler.h"
#include "worker/clock.h"

namespace cmig::worker {

// FAILED_WITH_TERMINAL_ERROR for InvalidArgument, FailedPrecondition,
// NotFound and PermissionDenied (bad input or environment: retrying cannot
// help); FAILED for every other error, so the task definition's retry policy
// applies.
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

// Thread-safety: Report may be called from many threads at once.
class ResultReporter {
 public:
  // Borrows `client` and `clock`; both must outlive the reporter.
  ResultReporter(client::TaskClient& client, Clock& clock, ReportOptions options);

  // Sends `result` with UpdateTask until accepted (OK); until an error that
  // retrying cannot fix (that error); or until `give_up_at` passes
  // (DeadlineExceeded wrapping the last error). Blocks between attempts with
  // capped jittered backoff. `on_rejected`, when set, is called after every
  // attempt that failed, as it happens (metrics, logs).
  absl::Status Report(const conductor::proto::TaskResult& result, absl::Time give_up_at,
                      const std::function<void(const absl::Status&)>& on_rejected = {});

 private:
  client::TaskClient& client_;
  Clock& clock_;
  const ReportOptions options_;
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_TASK_RESULT_H_
