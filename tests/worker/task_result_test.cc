#include "worker/task_result.h"

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/worker/fake_task_client.h"
#include "worker/backoff.h"

namespace cmig::worker {
namespace {

using ::cmig::testing::MakeTask;
using ::cmig::testing::StatusIs;
using conductor::proto::TaskResult;
using ::testing::HasSubstr;

TEST(StatusForHandlerErrorTest, BadInputIsTerminalEverythingElseRetryable) {
  EXPECT_EQ(StatusForHandlerError(absl::InvalidArgumentError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::FailedPreconditionError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::NotFoundError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::PermissionDeniedError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::UnauthenticatedError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::UnavailableError("x")), TaskResult::FAILED);
  EXPECT_EQ(StatusForHandlerError(absl::DeadlineExceededError("x")), TaskResult::FAILED);
  EXPECT_EQ(StatusForHandlerError(absl::InternalError("x")), TaskResult::FAILED);
  EXPECT_EQ(StatusForHandlerError(absl::UnknownError("x")), TaskResult::FAILED);
  // A message or package over a size limit: the same bytes will not fit on the next try.
  EXPECT_EQ(StatusForHandlerError(absl::ResourceExhaustedError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
}

TEST(MakeTaskResultTest, CompletedCarriesOutput) {
  tasks::TaskOutcome outcome;
  (*outcome.output.mutable_fields())["count"].set_number_value(3);
  TaskResult r = MakeTaskResult(MakeTask("t", "id1"), outcome, "w1", {});
  EXPECT_EQ(r.status(), TaskResult::COMPLETED);
  EXPECT_EQ(r.task_id(), "id1");
  EXPECT_EQ(r.workflow_instance_id(), "wf-id1");
  EXPECT_EQ(r.worker_id(), "w1");
  EXPECT_EQ(r.output_data().at("count").number_value(), 3);
  EXPECT_FALSE(r.extend_lease());
}

TEST(MakeTaskResultTest, CallbackIsInProgressRoundedUpToSeconds) {
  tasks::TaskOutcome outcome;
  outcome.callback_after = absl::Milliseconds(1500);
  TaskResult r = MakeTaskResult(MakeTask("t", "id1"), outcome, "w1", {});
  EXPECT_EQ(r.status(), TaskResult::IN_PROGRESS);
  EXPECT_EQ(r.callback_after_seconds(), 2);
}

TEST(MakeTaskResultTest, ErrorGivesReasonAndKeepsPendingLogs) {
  conductor::proto::TaskExecLog log;
  log.set_log("kept line");
  TaskResult r =
      MakeTaskResult(MakeTask("t", "id1"),
                     absl::InvalidArgumentError("workflow order_flow v2: bad ref"), "w1", {log});
  EXPECT_EQ(r.status(), TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_THAT(r.reason_for_incompletion(), HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(r.reason_for_incompletion(), HasSubstr("order_flow v2: bad ref"));
  ASSERT_EQ(r.logs_size(), 1);
  EXPECT_EQ(r.logs(0).log(), "kept line");
}

TEST(ResultRetryTest, BacksOffThroughAnOutage) {
  const absl::Time start = absl::FromUnixSeconds(1000000);
  ResultRetry retry(start + absl::Minutes(5), {absl::Milliseconds(100), absl::Seconds(1)}, 7);
  absl::Time now = start;
  std::vector<absl::Duration> waits;
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<absl::Time> next =
        retry.NextAttempt(absl::UnavailableError("connection refused"), now);
    ASSERT_OK(next.status());
    waits.push_back(*next - now);
    now = *next;
  }
  EXPECT_EQ(retry.failures(), 6);
  // Never zero (no busy loop), growing, capped.
  for (absl::Duration d : waits) {
    EXPECT_GE(d, absl::Milliseconds(50));
    EXPECT_LE(d, absl::Seconds(1));
  }
  EXPECT_GT(waits.back(), waits.front());
}

TEST(ResultRetryTest, StopsWhenTheServerSaysRetryCannotHelp) {
  const absl::Time now = absl::FromUnixSeconds(1000000);
  ResultRetry retry(now + absl::Minutes(5), {}, 7);
  EXPECT_THAT(retry.NextAttempt(absl::NotFoundError("no such task"), now),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no such task")));
  EXPECT_THAT(retry.NextAttempt(absl::InvalidArgumentError("bad result"), now),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(ResultRetryTest, GivesUpWhenTheResponseTimeoutMakesTheResultMoot) {
  const absl::Time start = absl::FromUnixSeconds(1000000);
  const absl::Time give_up_at = start + absl::Seconds(30);
  ResultRetry retry(give_up_at, {absl::Milliseconds(100), absl::Seconds(2)}, 7);
  absl::Time now = start;
  absl::Status gave_up;
  int attempts = 0;
  while (gave_up.ok()) {
    ++attempts;
    absl::StatusOr<absl::Time> next = retry.NextAttempt(absl::UnavailableError("down"), now);
    if (!next.ok()) {
      gave_up = next.status();
      break;
    }
    // Never scheduled past the point where the result stops mattering.
    ASSERT_LE(*next, give_up_at);
    now = *next;
  }
  EXPECT_THAT(gave_up, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("down")));
  EXPECT_EQ(now, give_up_at);
  // Capped backoff: about 30 s / 1-2 s per try, not a busy loop, not one try.
  EXPECT_GT(attempts, 10);
  EXPECT_LT(attempts, 60);
}

TEST(BackoffTest, JitteredCappedNeverZeroAndResets) {
  Backoff b(absl::Milliseconds(100), absl::Seconds(2), 42);
  std::vector<absl::Duration> seen;
  for (int i = 0; i < 20; ++i) seen.push_back(b.Next());
  EXPECT_GE(seen[0], absl::Milliseconds(50));
  EXPECT_LE(seen[0], absl::Milliseconds(100));
  for (absl::Duration d : seen) {
    EXPECT_GT(d, absl::ZeroDuration());
    EXPECT_LE(d, absl::Seconds(2));
  }
  EXPECT_GE(seen.back(), absl::Seconds(1));  // reached the cap's jitter band
  b.Reset();
  EXPECT_LE(b.Next(), absl::Milliseconds(100));
  // Different seeds spread a fleet.
  Backoff c(absl::Milliseconds(100), absl::Seconds(2), 43);
  Backoff d(absl::Milliseconds(100), absl::Seconds(2), 44);
  bool differ = false;
  for (int i = 0; i < 5; ++i) differ |= c.Next() != d.Next();
  EXPECT_TRUE(differ);
}

}  // namespace
}  // namespace cmig::worker
