// TaskEventLoop against a TaskService on a loopback port: completions arrive
// on the loop thread, errors read like the blocking client's, timers keep
// their order, and Stop ends the loop without losing a call in flight.
#include "client/task_event_loop.h"

#include <grpcpp/grpcpp.h>

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/status_matchers.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::client {
namespace {

using ::cmig::testing::StatusIs;
using conductor::proto::Task;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

namespace ctasks = ::conductor::grpc::tasks;

// BatchPoll streams `count` tasks; task type "fails-midway" streams one and
// then fails, "down" fails at once. UpdateTask of "gone" is NotFound; of
// "slow" waits until released.
class ScriptedTaskService final : public ctasks::TaskService::Service {
 public:
  ::grpc::Status BatchPoll(::grpc::ServerContext* context, const ctasks::BatchPollRequest* request,
                           ::grpc::ServerWriter<Task>* writer) override {
    RecordAuthorization(context);
    if (request->task_type() == "down") {
      return ::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "draining");
    }
    const int n = request->task_type() == "fails-midway" ? 1 : request->count();
    for (int i = 0; i < n; ++i) {
      Task t;
      t.set_task_id(request->task_type() + "-" + std::to_string(i));
      t.set_task_type(request->task_type());
      writer->Write(t);
    }
    if (request->task_type() == "fails-midway") {
      return ::grpc::Status(::grpc::StatusCode::INTERNAL, "queue read failed");
    }
    return ::grpc::Status::OK;
  }

  ::grpc::Status UpdateTask(::grpc::ServerContext* context,
                            const ctasks::UpdateTaskRequest* request,
                            ctasks::UpdateTaskResponse*) override {
    RecordAuthorization(context);
    const std::string& id = request->result().task_id();
    if (id == "gone") {
      return ::grpc::Status(::grpc::StatusCode::NOT_FOUND, "No such task found by id: gone");
    }
    if (id == "slow") {
      slow_arrived_.Notify();
      release_slow_.WaitForNotification();
    }
    return ::grpc::Status::OK;
  }

  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  absl::Notification& slow_arrived() { return slow_arrived_; }
  absl::Notification& release_slow() { return release_slow_; }

 private:
  void RecordAuthorization(::grpc::ServerContext* context) {
    auto it = context->client_metadata().find("authorization");
    absl::MutexLock lock(&mu_);
    authorization_ = it == context->client_metadata().end()
                         ? ""
                         : std::string(it->second.data(), it->second.size());
  }

  absl::Mutex mu_;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  absl::Notification slow_arrived_;
  absl::Notification release_slow_;
};

class TaskEventLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ClientOptions options;
    options.address = "127.0.0.1:" + std::to_string(port);
    options.token = "tok-secret";
    options.call_timeout = absl::Seconds(5);
    auto client = GrpcOrchestratorClient::Create(options);
    ASSERT_OK(client.status());
    client_ = *std::move(client);
    loop_ = std::make_unique<TaskEventLoop>(*client_);
    thread_ = std::thread([this] {
      loop_thread_id_ = std::this_thread::get_id();
      loop_->Run();
    });
  }
  void TearDown() override {
    StopAndJoin();
    loop_.reset();
    server_->Shutdown();
  }
  void StopAndJoin() {
    loop_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  ScriptedTaskService service_;
  std::unique_ptr<::grpc::Server> server_;
  std::unique_ptr<GrpcOrchestratorClient> client_;
  std::unique_ptr<TaskEventLoop> loop_;
  std::thread thread_;
  std::thread::id loop_thread_id_;
};

TEST_F(TaskEventLoopTest, PollAndUpdateCompleteOnTheLoopThreadWithTheToken) {
  absl::Notification polled, updated;
  absl::StatusOr<std::vector<Task>> tasks;
  absl::Status update = absl::UnknownError("not run");
  std::thread::id poll_thread, update_thread;
  loop_->BatchPoll({.task_type = "fetch", .worker_id = "w", .count = 3},
                   [&](absl::StatusOr<std::vector<Task>> got) {
                     tasks = std::move(got);
                     poll_thread = std::this_thread::get_id();
                     polled.Notify();
                   });
  conductor::proto::TaskResult result;
  result.set_task_id("fetch-0");
  loop_->UpdateTask(result, [&](absl::Status s) {
    update = s;
    update_thread = std::this_thread::get_id();
    updated.Notify();
  });
  ASSERT_TRUE(polled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(updated.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_OK(tasks.status());
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[2].task_id(), "fetch-2");
  EXPECT_OK(update);
  EXPECT_EQ(poll_thread, loop_thread_id_);
  EXPECT_EQ(update_thread, loop_thread_id_);
  EXPECT_EQ(service_.authorization(), "Bearer tok-secret");
}

TEST_F(TaskEventLoopTest, ErrorsNameTheCallNotTheTokenAndStreamedTasksAreKept) {
  absl::Notification done[3];
  absl::Status gone, down;
  absl::StatusOr<std::vector<Task>> midway;
  conductor::proto::TaskResult result;
  result.set_task_id("gone");
  loop_->UpdateTask(result, [&](absl::Status s) {
    gone = s;
    done[0].Notify();
  });
  loop_->BatchPoll({.task_type = "down", .worker_id = "w"},
                   [&](absl::StatusOr<std::vector<Task>> got) {
                     down = got.status();
                     done[1].Notify();
                   });
  loop_->BatchPoll({.task_type = "fails-midway", .worker_id = "w", .count = 5},
                   [&](absl::StatusOr<std::vector<Task>> got) {
                     midway = std::move(got);
                     done[2].Notify();
                   });
  for (auto& d : done) ASSERT_TRUE(d.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(
      gone, StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("UpdateTask gone at 127.0.0.1:"),
                                                        Not(HasSubstr("tok-secret")))));
  EXPECT_THAT(down, StatusIs(absl::StatusCode::kUnavailable,
                             AllOf(HasSubstr("BatchPoll down"), HasSubstr("draining"))));
  // The task streamed before the failure is leased to us: it is delivered.
  ASSERT_OK(midway.status());
  ASSERT_EQ(midway->size(), 1u);
  EXPECT_EQ((*midway)[0].task_id(), "fails-midway-0");
}

TEST_F(TaskEventLoopTest, TimersRunInDeadlineOrderNotBeforeTheirTime) {
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<bool> on_time;
  absl::Notification last;
  const absl::Time start = absl::Now();
  auto record = [&](int i, absl::Time when) {
    absl::MutexLock lock(&mu);
    order.push_back(i);
    on_time.push_back(absl::Now() >= when);
    if (order.size() == 3) last.Notify();
  };
  const absl::Time t2 = start + absl::Milliseconds(60);
  const absl::Time t1 = start + absl::Milliseconds(20);
  loop_->RunAt(t2, [&, t2] { record(2, t2); });
  loop_->RunAt(t1, [&, t1] { record(1, t1); });
  loop_->RunAt(absl::InfinitePast(), [&] { record(0, start); });
  ASSERT_TRUE(last.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(on_time, ::testing::Each(true));
}

TEST_F(TaskEventLoopTest, StopDropsPendingTimersAndLaterCallsAndRunReturns) {
  std::atomic<int> ran{0};
  loop_->RunAt(absl::Now() + absl::Hours(1), [&] { ++ran; });
  StopAndJoin();  // returns although the timer is an hour away
  EXPECT_TRUE(loop_->stopped());
  conductor::proto::TaskResult result;
  result.set_task_id("after-stop");
  loop_->UpdateTask(result, [&](absl::Status) { ++ran; });
  loop_->BatchPoll({.task_type = "fetch", .worker_id = "w"},
                   [&](absl::StatusOr<std::vector<Task>>) { ++ran; });
  loop_->RunAt(absl::InfinitePast(), [&] { ++ran; });
  EXPECT_EQ(ran.load(), 0);
}

TEST_F(TaskEventLoopTest, StopLetsACallInFlightFinish) {
  absl::Status status = absl::UnknownError("not run");
  conductor::proto::TaskResult result;
  result.set_task_id("slow");
  loop_->UpdateTask(result, [&](absl::Status s) { status = s; });
  ASSERT_TRUE(service_.slow_arrived().WaitForNotificationWithTimeout(absl::Seconds(10)));
  loop_->Stop();
  service_.release_slow().Notify();
  thread_.join();  // Run returns only once the call has completed
  EXPECT_OK(status);
}

TEST_F(TaskEventLoopTest, DestroyedWithoutRunCompletesWhatWasStarted) {
  absl::Status status = absl::UnknownError("not run");
  {
    TaskEventLoop loop(*client_);
    conductor::proto::TaskResult result;
    result.set_task_id("t");
    loop.UpdateTask(result, [&](absl::Status s) { status = s; });
  }
  EXPECT_OK(status);
}

}  // namespace
}  // namespace cmig::client
