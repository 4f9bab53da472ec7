// The worker runtime: what it sends, and when. Against a scripted TaskService over loopback gRPC
// where the transport matters, and against an in-memory loop on a clock the test moves where
// time does (backoff, retries, leases, grace periods).
#include "worker/worker.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

#include "absl/synchronization/notification.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fn_handler.h"
#include "tests/worker/fake_clock.h"
#include "tests/worker/fake_task_server.h"

namespace cmig::worker {
namespace {

using ::cmig::testing::FakeClock;
using ::cmig::testing::FakeTaskClient;
using ::cmig::testing::FakeTaskLoop;
using ::cmig::testing::FakeTaskServer;
using ::cmig::testing::FnHandler;
using ::cmig::testing::MakeTask;
using ::cmig::testing::RunClockUntil;
using ::cmig::testing::StatusIs;
using ::cmig::testing::WaitFor;
using conductor::proto::TaskResult;
using ::testing::HasSubstr;

WorkerOptions FastOptions() {
  WorkerOptions o;
  o.worker_id = "test-worker";
  o.poll_timeout = absl::Milliseconds(50);
  o.poll_interval = absl::Milliseconds(10);
  o.max_empty_poll_backoff = absl::Milliseconds(20);
  o.max_error_backoff = absl::Milliseconds(200);
  o.update_initial_backoff = absl::Milliseconds(5);
  o.update_max_backoff = absl::Milliseconds(20);
  return o;
}

TEST(WorkerTest, ExecutesTasksAndReportsOutcomes) {
  FakeTaskServer server;
  FakeTaskClient& client = server.fake();
  tasks::HandlerRegistry registry;
  ASSERT_OK(registry.Register("ok", std::make_unique<FnHandler>([](tasks::TaskContext& ctx) {
                                tasks::TaskOutcome out;
                                (*out.output.mutable_fields())["echo"] = *ctx.Input("x");
                                ctx.AddLog("did it");
                                return out;
                              })));
  ASSERT_OK(registry.Register("bad", std::make_unique<FnHandler>([](tasks::TaskContext&) {
                                return absl::InvalidArgumentError("input 'x': not a workflow name");
                              })));
  ASSERT_OK(registry.Register("flaky", std::make_unique<FnHandler>([](tasks::TaskContext&) {
                                return absl::UnavailableError("target unreachable");
                              })));
  ASSERT_OK(registry.Register(
      "throws",
      std::make_unique<FnHandler>([](tasks::TaskContext&) -> absl::StatusOr<tasks::TaskOutcome> {
        throw std::runtime_error("boom");
      })));
  auto ok_task = MakeTask("ok", "t-ok");
  (*ok_task.mutable_input_data())["x"].set_string_value("hello");
  client.Enqueue(ok_task);
  client.Enqueue(MakeTask("bad", "t-bad"));
  client.Enqueue(MakeTask("flaky", "t-flaky"));
  client.Enqueue(MakeTask("throws", "t-throws"));

  WorkerMetrics metrics;
  Worker worker(server.client(), registry, FastOptions(), &metrics);
  ASSERT_OK(worker.Start());
  ASSERT_TRUE(WaitFor(
      [&] { return client.Holds([](FakeTaskClient& c) { return c.results().size() == 4; }); }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));

  std::map<std::string, TaskResult> by_id;
  for (const auto& r : client.results()) by_id[r.task_id()] = r;
  EXPECT_EQ(by_id["t-ok"].status(), TaskResult::COMPLETED);
  EXPECT_EQ(by_id["t-ok"].output_data().at("echo").string_value(), "hello");
  EXPECT_EQ(by_id["t-ok"].worker_id(), "test-worker");
  EXPECT_EQ(by_id["t-bad"].status(), TaskResult::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_THAT(by_id["t-bad"].reason_for_incompletion(), HasSubstr("not a workflow name"));
  EXPECT_EQ(by_id["t-flaky"].status(), TaskResult::FAILED);
  EXPECT_EQ(by_id["t-throws"].status(), TaskResult::FAILED);
  EXPECT_THAT(by_id["t-throws"].reason_for_incompletion(), HasSubstr("boom"));
  EXPECT_THAT(client.logs("t-ok"), ::testing::ElementsAre("did it"));
  // Every failure says why in the task's log too.
  ASSERT_EQ(client.logs("t-bad").size(), 1u);
  EXPECT_THAT(client.logs("t-bad")[0], HasSubstr("not a workflow name"));
  EXPECT_EQ(metrics.Count("task_execute_error", "throws"), 1);
  EXPECT_EQ(metrics.Count("task_in_flight", "ok"), 0);
  // Every poll named the worker.
  for (const auto& p : client.polls()) EXPECT_EQ(p.worker_id, "test-worker");
}

TEST(WorkerTest, PollsNoMoreThanFreeSlotsAndRunsAtMostThreadsAtOnce) {
  FakeTaskServer server;
  FakeTaskClient& client = server.fake();
  tasks::HandlerRegistry registry;
  absl::Mutex mu;
  int running = 0, peak = 0;
  absl::Notification release;
  ASSERT_OK(registry.Register("slow", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                {
                                  absl::MutexLock lock(&mu);
                                  peak = std::max(peak, ++running);
                                }
                                release.WaitForNotification();
                                absl::MutexLock lock(&mu);
                                --running;
                                return tasks::TaskOutcome{};
                              })));
  for (int i = 0; i < 10; ++i) client.Enqueue(MakeTask("slow", absl::StrCat("t", i)));
  WorkerOptions options = FastOptions();
  options.per_type["slow"].threads = 3;
  options.per_type["slow"].domain = "blue";
  WorkerMetrics metrics;
  Worker worker(server.client(), registry, options, &metrics);
  ASSERT_OK(worker.Start());
  // Three in flight, and the poller waits for a slot instead of polling.
  ASSERT_TRUE(
      WaitFor([&] { return client.Holds([](FakeTaskClient& c) { return !c.polls().empty(); }); }));
  {
    absl::MutexLock lock(&mu);
    auto three = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return running == 3; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&three), absl::Seconds(10)));
  }
  EXPECT_EQ(worker.in_flight(), 3);
  release.Notify();
  ASSERT_TRUE(WaitFor(
      [&] { return client.Holds([](FakeTaskClient& c) { return c.results().size() == 10; }); }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));
  EXPECT_EQ(peak, 3);
  for (const auto& p : client.polls()) {
    EXPECT_GE(p.count, 1);
    EXPECT_LE(p.count, 3);
    EXPECT_EQ(p.domain, "blue");
    EXPECT_EQ(p.timeout, absl::Milliseconds(50));
  }
  EXPECT_EQ(client.polls().front().count, 3);
  EXPECT_GE(metrics.Count("task_execution_queue_full", "slow"), 1);
}

TEST(WorkerTest, BacksOffWhenPollsFail) {
  FakeTaskClient client;
  FakeClock clock;
  FakeTaskLoop loop(client, clock);
  client.FailPolls(6, absl::UnavailableError("connection refused"));
  tasks::HandlerRegistry registry;
  ASSERT_OK(registry.Register(
      "t", std::make_unique<FnHandler>([](tasks::TaskContext&) { return tasks::TaskOutcome{}; })));
  client.Enqueue(MakeTask("t", "after-outage"));
  WorkerOptions options = FastOptions();
  options.poll_interval = absl::Milliseconds(20);
  options.max_error_backoff = absl::Milliseconds(80);
  Worker worker(client, loop, registry, options, nullptr, clock);
  ASSERT_OK(worker.Start());
  ASSERT_TRUE(RunClockUntil(clock, [&] {
    return client.Holds([](FakeTaskClient& c) { return c.results().size() == 1; });
  }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));
  const auto times = client.poll_times();
  ASSERT_GE(times.size(), 7u);
  // Each retry waited, by the worker's clock, at least half of its backoff step: no busy loop.
  for (int i = 1; i < 7; ++i) {
    EXPECT_GE(times[i] - times[i - 1], absl::Milliseconds(10)) << "poll " << i;
  }
}

TEST(WorkerTest, ResultSurvivesRejectedUpdatesAndLogsTravelWithIt) {
  FakeTaskClient client;
  FakeClock clock;
  FakeTaskLoop loop(client, clock);
  client.FailUpdates(4, absl::UnavailableError("orchestrator restarting"));
  client.FailAddLog(true);
  tasks::HandlerRegistry registry;
  ASSERT_OK(registry.Register("t", std::make_unique<FnHandler>([](tasks::TaskContext& ctx) {
                                ctx.AddLog("step log while the server is down");
                                return tasks::TaskOutcome{};
                              })));
  client.Enqueue(MakeTask("t", "t1"));
  WorkerMetrics metrics;
  Worker worker(client, loop, registry, FastOptions(), &metrics, clock);
  ASSERT_OK(worker.Start());
  ASSERT_TRUE(RunClockUntil(clock, [&] {
    return client.Holds([](FakeTaskClient& c) { return c.results().size() == 1; });
  }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));
  const TaskResult r = client.results()[0];
  EXPECT_EQ(r.status(), TaskResult::COMPLETED);
  ASSERT_EQ(r.logs_size(), 1);
  EXPECT_EQ(r.logs(0).log(), "step log while the server is down");
  EXPECT_EQ(metrics.Count("task_update_error", "t"), 4);
}

TEST(WorkerTest, PollsWhileResultsAreOnTheirWayButNotWithoutBound) {
  FakeTaskClient client;
  FakeClock clock;
  FakeTaskLoop loop(client, clock);
  client.FailUpdates(1000, absl::UnavailableError("results not taken"));
  tasks::HandlerRegistry registry;
  std::atomic<int> executed{0};
  ASSERT_OK(registry.Register("t", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                ++executed;
                                return tasks::TaskOutcome{};
                              })));
  for (int i = 0; i < 5; ++i) client.Enqueue(MakeTask("t", absl::StrCat("t", i)));
  WorkerOptions options = FastOptions();
  options.defaults.threads = 1;
  options.undelivered_per_thread = 2;
  Worker worker(client, loop, registry, options, nullptr, clock);
  ASSERT_OK(worker.Start());
  // The one slot is free again once a handler returns, though its result is
  // not delivered: a second task runs. Then two results wait, the cap for
  // one thread, and polling stops while both keep being retried.
  ASSERT_TRUE(RunClockUntil(clock, [&] {
    return client.Holds([](FakeTaskClient& c) { return c.rejected_updates() >= 20; });
  }));
  EXPECT_EQ(executed.load(), 2);
  EXPECT_TRUE(client.Holds([](FakeTaskClient& c) { return c.polls().size() == 2; }));
  EXPECT_EQ(worker.in_flight(), 2);
  // Results taken again: the held ones land and the rest of the queue runs.
  client.FailUpdates(0, absl::OkStatus());
  ASSERT_TRUE(RunClockUntil(clock, [&] {
    return client.Holds([](FakeTaskClient& c) { return c.results().size() == 5; });
  }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));
  EXPECT_EQ(executed.load(), 5);
}

TEST(WorkerTest, ExtendsTheLeaseOfALongHandler) {
  FakeTaskClient client;
  FakeClock clock;
  FakeTaskLoop loop(client, clock);
  tasks::HandlerRegistry registry;
  absl::Notification release;
  ASSERT_OK(registry.Register("long", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                release.WaitForNotification();
                                return tasks::TaskOutcome{};
                              })));
  client.Enqueue(MakeTask("long", "t1", /*response_timeout_seconds=*/60));
  WorkerMetrics metrics;
  Worker worker(client, loop, registry, FastOptions(), &metrics, clock);
  ASSERT_OK(worker.Start());
  // Two extensions: the lease was renewed past the 60 s response timeout, in a minute and a
  // half of the worker's clock.
  ASSERT_TRUE(RunClockUntil(
      clock,
      [&] { return client.Holds([](FakeTaskClient& c) { return c.lease_extensions("t1") >= 2; }); },
      absl::Seconds(1)));
  EXPECT_TRUE(client.Holds([](FakeTaskClient& c) { return c.results().empty(); }));
  release.Notify();
  ASSERT_TRUE(RunClockUntil(clock, [&] {
    return client.Holds([](FakeTaskClient& c) { return c.results().size() == 1; });
  }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));
  for (const auto& u : client.updates()) {
    if (!u.extend_lease()) continue;
    EXPECT_EQ(u.status(), TaskResult::IN_PROGRESS);
    EXPECT_EQ(u.task_id(), "t1");
    EXPECT_EQ(u.workflow_instance_id(), "wf-t1");
  }
  EXPECT_GE(metrics.Count("task_lease_extend", "long"), 2);
  // After the result no more extensions.
  const int extensions = client.lease_extensions("t1");
  EXPECT_FALSE(client.updates().back().extend_lease());
  EXPECT_EQ(client.lease_extensions("t1"), extensions);
}

TEST(WorkerTest, ExtendsTheLeasesOfLongHandlersWithDifferentTimeouts) {
  FakeTaskClient client;
  FakeClock clock;
  FakeTaskLoop loop(client, clock);
  tasks::HandlerRegistry registry;
  absl::Notification release;
  ASSERT_OK(registry.Register("long", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                release.WaitForNotification();
                                return tasks::TaskOutcome{};
                              })));
  // Each task's first extension falls due at a different time, and whichever
  // starts second may need the earlier check: both leases must be kept.
  client.Enqueue(MakeTask("long", "slow", /*response_timeout_seconds=*/120));
  client.Enqueue(MakeTask("long", "fast", /*response_timeout_seconds=*/60));
  WorkerOptions options = FastOptions();
  options.defaults.threads = 2;
  Worker worker(client, loop, registry, options, nullptr, clock);
  ASSERT_OK(worker.Start());
  ASSERT_TRUE(RunClockUntil(
      clock,
      [&] {
        return client.Holds([](FakeTaskClient& c) {
          return c.lease_extensions("fast") >= 2 && c.lease_extensions("slow") >= 1;
        });
      },
      absl::Seconds(1)));
  EXPECT_TRUE(client.Holds([](FakeTaskClient& c) { return c.results().empty(); }));
  release.Notify();
  ASSERT_TRUE(RunClockUntil(clock, [&] {
    return client.Holds([](FakeTaskClient& c) { return c.results().size() == 2; });
  }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));
}

TEST(WorkerTest, ProgressLogsAndExtendsTheLeaseAtOnce) {
  FakeTaskServer server;
  FakeTaskClient& client = server.fake();
  tasks::HandlerRegistry registry;
  ASSERT_OK(registry.Register("t", std::make_unique<FnHandler>([](tasks::TaskContext& ctx) {
                                ctx.ReportProgress("3 of 10 definitions fetched");
                                return tasks::TaskOutcome{};
                              })));
  client.Enqueue(MakeTask("t", "t1", /*response_timeout_seconds=*/600));
  Worker worker(server.client(), registry, FastOptions());
  ASSERT_OK(worker.Start());
  ASSERT_TRUE(WaitFor(
      [&] { return client.Holds([](FakeTaskClient& c) { return c.results().size() == 1; }); }));
  ASSERT_OK(worker.Shutdown(absl::Seconds(5)));
  // Long before 2/3 of 600 s: the extension came from the progress report.
  EXPECT_EQ(client.lease_extensions("t1"), 1);
  EXPECT_THAT(client.logs("t1"), ::testing::ElementsAre("3 of 10 definitions fetched"));
}

TEST(WorkerTest, ShutdownDrainsInFlightTasksAndStopsPolling) {
  FakeTaskServer server;
  FakeTaskClient& client = server.fake();
  tasks::HandlerRegistry registry;
  std::atomic<bool> saw_shutdown{false};
  absl::Notification started;
  ASSERT_OK(registry.Register("t", std::make_unique<FnHandler>([&](tasks::TaskContext& ctx) {
                                started.Notify();
                                saw_shutdown = ctx.WaitForShutdown(absl::Seconds(30));
                                tasks::TaskOutcome out;
                                (*out.output.mutable_fields())["drained"].set_bool_value(true);
                                return out;
                              })));
  client.Enqueue(MakeTask("t", "t1"));
  Worker worker(server.client(), registry, FastOptions());
  ASSERT_OK(worker.Start());
  started.WaitForNotification();
  ASSERT_OK(worker.Shutdown(absl::Seconds(10)));
  EXPECT_TRUE(saw_shutdown);
  ASSERT_EQ(client.results().size(), 1u);
  EXPECT_EQ(client.results()[0].status(), TaskResult::COMPLETED);
  const size_t polls = client.polls().size();
  client.Enqueue(MakeTask("t", "t2"));
  EXPECT_FALSE(WaitFor(
      [&] { return client.Holds([&](FakeTaskClient& c) { return c.polls().size() > polls; }); },
      absl::Milliseconds(200)));
}

TEST(WorkerTest, ShutdownReportsTasksStillRunningAfterGrace) {
  FakeTaskServer server;
  FakeTaskClient& client = server.fake();
  tasks::HandlerRegistry registry;
  absl::Notification started, release;
  ASSERT_OK(registry.Register("t", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                started.Notify();
                                release.WaitForNotification();
                                return tasks::TaskOutcome{};
                              })));
  client.Enqueue(MakeTask("t", "stuck"));
  Worker worker(server.client(), registry, FastOptions());
  ASSERT_OK(worker.Start());
  started.WaitForNotification();
  EXPECT_THAT(worker.Shutdown(absl::Milliseconds(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("stuck")));
  release.Notify();  // lets the destructor join
}

TEST(WorkerTest, ShutdownGracePeriodIsMeasuredByTheWorkersClock) {
  FakeTaskClient client;
  FakeClock clock;
  FakeTaskLoop loop(client, clock);
  tasks::HandlerRegistry registry;
  absl::Notification started, release;
  absl::Notification saw_shutdown;
  ASSERT_OK(registry.Register("t", std::make_unique<FnHandler>([&](tasks::TaskContext& ctx) {
                                started.Notify();
                                // A handler's wait for the shutdown also reads the worker's
                                // clock: an hour, yet it ends when the shutdown begins.
                                if (ctx.WaitForShutdown(absl::Hours(1))) saw_shutdown.Notify();
                                release.WaitForNotification();
                                return tasks::TaskOutcome{};
                              })));
  client.Enqueue(MakeTask("t", "stuck"));
  Worker worker(client, loop, registry, FastOptions(), nullptr, clock);
  ASSERT_OK(worker.Start());
  started.WaitForNotification();
  absl::Status drained;
  absl::Notification returned;
  std::thread shutdown([&] {
    drained = worker.Shutdown(absl::Hours(1));
    returned.Notify();
  });
  saw_shutdown.WaitForNotification();
  // An hour of grace on the worker's clock, which does not move by itself.
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  clock.Advance(absl::Hours(1));
  shutdown.join();
  EXPECT_THAT(drained, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("stuck")));
  release.Notify();  // lets the destructor join
}

TEST(WorkerTest, StartRejectsBadConfiguration) {
  FakeTaskServer server;
  tasks::HandlerRegistry empty;
  EXPECT_THAT(Worker(server.client(), empty, FastOptions()).Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  tasks::HandlerRegistry registry;
  ASSERT_OK(registry.Register(
      "t", std::make_unique<FnHandler>([](tasks::TaskContext&) { return tasks::TaskOutcome{}; })));
  WorkerOptions zero = FastOptions();
  zero.per_type["t"].threads = 0;
  EXPECT_THAT(Worker(server.client(), registry, zero).Start(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("thread count")));
  WorkerOptions no_cap = FastOptions();
  no_cap.undelivered_per_thread = 0;
  EXPECT_THAT(Worker(server.client(), registry, no_cap).Start(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("undelivered_per_thread")));
  WorkerOptions no_id = FastOptions();
  no_id.worker_id = "";
  EXPECT_THAT(Worker(server.client(), registry, no_id).Start(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

}  // namespace
}  // namespace cmig::worker
