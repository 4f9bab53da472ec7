#include "worker/task_result.h"

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/worker/fake_task_client.h"
#include "worker/backoff.h"

namespace cmig::worker {
namespace {

using ::cmig::testing::FakeTaskClient;
using ::cmig::testing::MakeTask;
using ::cmig::testing::StatusIs;
using conductor::proto::TaskResult;
using ::testing::HasSubstr;

class FakeClock final : public Clock {
 public:
  absl::Time Now() override { return now_; }
  void SleepFor(absl::Duration d) override {
    sleeps_.push_back(d);
    now_ += d;
  }
  const std::vector<absl::Duration>& sleeps() const { return sleeps_; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1000000);
  std::vector<absl::Duration> sleeps_;
};

TEST(StatusForHandlerErrorTest, BadInputIsTerminalEverythingElseRetryable) {
  EXPECT_EQ(StatusForHandlerError(absl::InvalidArgumentError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::FailedPreconditionError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::NotFoundError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::PermissionDeniedError("x")),
            TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_EQ(StatusForHandlerError(absl::UnavailableError("x")), TaskResult::FAILED);
  EXPECT_EQ(StatusForHandlerError(absl::DeadlineExceededError("x")), TaskResult::FAILED);
  EXPECT_EQ(StatusForHandlerError(absl::InternalError("x")), TaskResult::FAILED);
  EXPECT_EQ(StatusForHandlerError(absl::UnknownError("x")), TaskResult::FAILED);
  EXPECT_EQ(StatusForHandlerError(absl::ResourceExhaustedError("x")), TaskResult::FAILED);
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

TEST(ResultReporterTest, RetriesThroughAnOutageUntilAccepted) {
  FakeTaskClient client;
  FakeClock clock;
  client.FailUpdates(6, absl::UnavailableError("connection refused"));
  ResultReporter reporter(client, clock, {absl::Milliseconds(100), absl::Seconds(1)});
  TaskResult r = MakeTaskResult(MakeTask("t", "id1"), tasks::TaskOutcome{}, "w1", {});
  int failed = 0;
  ASSERT_OK(
      reporter.Report(r, clock.Now() + absl::Minutes(5), [&](const absl::Status&) { ++failed; }));
  EXPECT_EQ(failed, 6);
  ASSERT_EQ(client.results().size(), 1u);
  EXPECT_EQ(client.results()[0].task_id(), "id1");
  // Backoff between attempts: never zero, growing, capped.
  ASSERT_EQ(clock.sleeps().size(), 6u);
  for (absl::Duration d : clock.sleeps()) {
    EXPECT_GE(d, absl::Milliseconds(50));
    EXPECT_LE(d, absl::Seconds(1));
  }
  EXPECT_GT(clock.sleeps().back(), clock.sleeps().front());
}

TEST(ResultReporterTest, StopsWhenTheServerSaysRetryCannotHelp) {
  FakeTaskClient client;
  FakeClock clock;
  client.FailUpdates(100, absl::NotFoundError("no such task"));
  ResultReporter reporter(client, clock, {});
  TaskResult r = MakeTaskResult(MakeTask("t", "id1"), tasks::TaskOutcome{}, "w1", {});
  int failed = 0;
  EXPECT_THAT(
      reporter.Report(r, clock.Now() + absl::Minutes(5), [&](const absl::Status&) { ++failed; }),
      StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(client.rejected_updates(), 1);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(ResultReporterTest, GivesUpWhenTheResponseTimeoutMakesTheResultMoot) {
  FakeTaskClient client;
  FakeClock clock;
  client.FailUpdates(1000000, absl::UnavailableError("down"));
  ResultReporter reporter(client, clock, {absl::Milliseconds(100), absl::Seconds(2)});
  TaskResult r = MakeTaskResult(MakeTask("t", "id1"), tasks::TaskOutcome{}, "w1", {});
  const absl::Time start = clock.Now();
  EXPECT_THAT(reporter.Report(r, start + absl::Seconds(30)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("id1")));
  EXPECT_GE(clock.Now(), start + absl::Seconds(30));
  EXPECT_LE(clock.Now(), start + absl::Seconds(31));
  // Capped backoff: about 30 s / 1-2 s per try, not a busy loop, not one try.
  EXPECT_GT(client.rejected_updates(), 10);
  EXPECT_LT(client.rejected_updates(), 60);
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
