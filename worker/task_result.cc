#include "worker/task_result.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cmig::worker {

using conductor::proto::TaskResult;

TaskResult::Status StatusForHandlerError(const absl::Status& error) {
  switch (error.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    // Credentials an environment refused (after the client renewed its token once) are refused
    // again until the operator fixes the environment's secret.
    case absl::StatusCode::kUnauthenticated:
    // gRPC's answer to a message over the size limit, and the package store's to a package over
    // its limit: the same bytes will not fit on the next try.
    case absl::StatusCode::kResourceExhausted:
      return TaskResult::FAILED_WITH_TERMINAL_ERROR;
    default:
      return TaskResult::FAILED;
  }
}

TaskResult MakeTaskResult(const conductor::proto::Task& task,
                          const absl::StatusOr<tasks::TaskOutcome>& outcome,
                          absl::string_view worker_id,
                          std::vector<conductor::proto::TaskExecLog> logs) {
  TaskResult result;
  result.set_task_id(task.task_id());
  result.set_workflow_instance_id(task.workflow_instance_id());
  result.set_worker_id(std::string(worker_id));
  if (!outcome.ok()) {
    result.set_status(StatusForHandlerError(outcome.status()));
    result.set_reason_for_incompletion(absl::StrCat(
        absl::StatusCodeToString(outcome.status().code()), ": ", outcome.status().message()));
  } else {
    *result.mutable_output_data() = outcome->output.fields();
    if (outcome->callback_after > absl::ZeroDuration()) {
      result.set_status(TaskResult::IN_PROGRESS);
      // Conductor counts in whole seconds; rounding down would turn a short
      // wait into an immediate re-poll.
      result.set_callback_after_seconds(
          static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(outcome->callback_after))));
    } else {
      result.set_status(TaskResult::COMPLETED);
    }
  }
  for (auto& log : logs) {
    *result.add_logs() = std::move(log);
  }
  return result;
}

bool IsRetryableUpdateError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
      return false;
    default:
      return true;
  }
}

ResultRetry::ResultRetry(absl::Time give_up_at, ReportOptions options, uint64_t seed)
    : give_up_at_(give_up_at), backoff_(options.initial_backoff, options.max_backoff, seed) {}

absl::StatusOr<absl::Time> ResultRetry::NextAttempt(const absl::Status& error, absl::Time now) {
  ++failures_;
  if (!IsRetryableUpdateError(error)) {
    return error;
  }
  if (now >= give_up_at_) {
    return absl::DeadlineExceededError(
        absl::StrCat("not accepted before the task's response timeout (", failures_,
                     " attempts); last error: ", error.message()));
  }
  return std::min(now + backoff_.Next(), give_up_at_);
}

}  // namespace cmig::worker
