// migrationctl status / history / list / retry / restart / terminate, and the errors every online
// command shares (unreachable server, rejected token, usage), run as the real binary against an
// embedded orchestrator.
#include <sstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "cli/workflow_view.h"
#include "gmock/gmock.h"
#include "tests/cli/cli_testing.h"

namespace cmig::cli::test {
namespace {

using conductor::proto::TaskResult;
using conductor::proto::Workflow;
using ::testing::HasSubstr;
using ::testing::Not;

class WorkflowCommandsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    // flaky_step fails once, then succeeds: two attempts of one step.
    RegisterTaskDef(*client_,
                    R"({"name":"flaky_step","retryCount":2,"retryLogic":"FIXED",)"
                    R"("retryDelaySeconds":0,"responseTimeoutSeconds":60,"timeoutSeconds":0})");
    RegisterTaskDef(*client_,
                    R"({"name":"last_step","retryCount":0,"retryLogic":"FIXED",)"
                    R"("retryDelaySeconds":0,"responseTimeoutSeconds":60,"timeoutSeconds":0})");
    RegisterChain(*client_, "two_steps", {"flaky_step", "last_step"});
  }

  // Runs two_steps to the end: flaky_step fails once ("boom") then completes, with a log line
  // on each attempt; last_step ends with `last`.
  std::string RunTwoSteps(TaskResult::Status last) {
    std::string id = Start(*client_, "two_steps");
    auto first = PollOne(*client_, "flaky_step", "worker-a");
    EXPECT_TRUE(first.has_value());
    if (!first) return id;
    EXPECT_OK(client_->AddLog(first->task_id(), "fetching from the source"));
    EXPECT_OK(Finish(*client_, *first, TaskResult::FAILED, "boom: source down", "worker-a"));
    auto second = PollOne(*client_, "flaky_step", "worker-b");
    EXPECT_TRUE(second.has_value());
    if (!second) return id;
    EXPECT_OK(client_->AddLog(second->task_id(), "fetched 3 definitions"));
    EXPECT_OK(Finish(*client_, *second, TaskResult::COMPLETED, "", "worker-b"));
    auto third = PollOne(*client_, "last_step", "worker-b");
    EXPECT_TRUE(third.has_value());
    if (!third) return id;
    EXPECT_OK(Finish(*client_, *third, last, last == TaskResult::COMPLETED ? "" : "target said no",
                     "worker-b"));
    WaitWorkflow(*client_, id, [](const Workflow& wf) { return wf.status() != Workflow::RUNNING; });
    return id;
  }
};

TEST_F(WorkflowCommandsTest, StatusShowsLatestAttemptOfEachStep) {
  std::string id = RunTwoSteps(TaskResult::COMPLETED);
  RunResult r = Cli({"status", id});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("two_steps v1"));
  EXPECT_THAT(r.out, HasSubstr("COMPLETED"));
  EXPECT_THAT(r.out, HasSubstr("flaky_step_ref"));
  EXPECT_THAT(r.out, HasSubstr("last_step_ref"));
  // Only the latest attempt: the failed one is history.
  EXPECT_THAT(r.out, Not(HasSubstr("boom")));

  RunResult j = Cli({"status", id, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  google::protobuf::Value v = ParseOut(j);
  EXPECT_EQ(Field(v, "workflowId").string_value(), id);
  EXPECT_EQ(Field(v, "workflowType").string_value(), "two_steps");
  EXPECT_EQ(Field(v, "status").string_value(), "COMPLETED");
  const auto& steps = Field(v, "steps").list_value();
  ASSERT_EQ(steps.values_size(), 2);
  EXPECT_EQ(Field(steps.values(0), "ref").string_value(), "flaky_step_ref");
  EXPECT_EQ(Field(steps.values(0), "attempt").number_value(), 1);
  EXPECT_EQ(Field(steps.values(0), "status").string_value(), "COMPLETED");
  EXPECT_EQ(Field(steps.values(0), "worker").string_value(), "worker-b");
}

TEST_F(WorkflowCommandsTest, HistoryListsEveryAttemptWithLogs) {
  std::string id = RunTwoSteps(TaskResult::COMPLETED);
  RunResult r = Cli({"history", id, "--logs"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("boom: source down"));
  EXPECT_THAT(r.out, HasSubstr("worker-a"));
  EXPECT_THAT(r.out, HasSubstr("fetching from the source"));
  EXPECT_THAT(r.out, HasSubstr("fetched 3 definitions"));

  RunResult j = Cli({"history", id, "--logs", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  google::protobuf::Value v = ParseOut(j);
  const auto& attempts = Field(v, "attempts").list_value();
  ASSERT_EQ(attempts.values_size(), 3);
  const auto& a0 = attempts.values(0);
  EXPECT_EQ(Field(a0, "task").string_value(), "flaky_step");
  EXPECT_EQ(Field(a0, "ref").string_value(), "flaky_step_ref");
  EXPECT_EQ(Field(a0, "status").string_value(), "FAILED");
  EXPECT_EQ(Field(a0, "attempt").number_value(), 0);
  EXPECT_EQ(Field(a0, "worker").string_value(), "worker-a");
  EXPECT_EQ(Field(a0, "reason").string_value(), "boom: source down");
  EXPECT_TRUE(Field(a0, "startTime").has_string_value());
  EXPECT_TRUE(Field(a0, "durationMs").has_number_value());
  ASSERT_EQ(Field(a0, "logs").list_value().values_size(), 1);
  EXPECT_EQ(Field(Field(a0, "logs").list_value().values(0), "log").string_value(),
            "fetching from the source");
  const auto& a1 = attempts.values(1);
  EXPECT_EQ(Field(a1, "status").string_value(), "COMPLETED");
  EXPECT_EQ(Field(a1, "attempt").number_value(), 1);
  EXPECT_EQ(Field(attempts.values(2), "ref").string_value(), "last_step_ref");
}

TEST_F(WorkflowCommandsTest, ListShowsMigrationsNewestFirst) {
  RegisterChain(*client_, "outgoing_migration_request", {"flaky_step"});
  RegisterChain(*client_, "incoming_migration_request", {"last_step"});
  std::string other = Start(*client_, "two_steps");
  std::string out1 = Start(*client_, "outgoing_migration_request",
                           {{"sourceEnvironment", "dev"}, {"targetEnvironment", "prod"}});
  std::string in1 = Start(*client_, "incoming_migration_request");
  std::string out2 = Start(*client_, "outgoing_migration_request",
                           {{"sourceEnvironment", "dev"}, {"targetEnvironment", "test"}});
  ASSERT_OK(client_->TerminateWorkflow(out1, "changed my mind"));

  RunResult j = Cli({"list", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  google::protobuf::Value v = ParseOut(j);
  const auto& m = Field(v, "migrations").list_value();
  ASSERT_EQ(m.values_size(), 3) << j;
  EXPECT_EQ(Field(v, "totalHits").number_value(), 3);
  std::set<std::string> ids;
  for (const auto& e : m.values()) ids.insert(Field(e, "workflowId").string_value());
  EXPECT_EQ(ids, (std::set<std::string>{out1, in1, out2}));  // not the other workflow
  for (const auto& e : m.values()) {
    if (Field(e, "workflowId").string_value() == out1) {
      EXPECT_EQ(Field(e, "status").string_value(), "TERMINATED");
      EXPECT_EQ(Field(e, "direction").string_value(), "outgoing");
      EXPECT_EQ(Field(e, "targetEnvironment").string_value(), "prod");
      EXPECT_EQ(Field(e, "reason").string_value(), "changed my mind");
    }
    if (Field(e, "workflowId").string_value() == in1) {
      EXPECT_EQ(Field(e, "direction").string_value(), "incoming");
    }
  }

  RunResult failed = Cli({"list", "--status", "terminated", "--json"});
  ASSERT_EQ(failed.exit_code, 0) << failed;
  google::protobuf::Value failed_doc = ParseOut(failed);
  const auto& only = Field(failed_doc, "migrations").list_value();
  ASSERT_EQ(only.values_size(), 1);
  EXPECT_EQ(Field(only.values(0), "workflowId").string_value(), out1);

  RunResult table = Cli({"list"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_THAT(table.out, HasSubstr(out2));
  EXPECT_THAT(table.out, HasSubstr("dev -> test"));
  EXPECT_THAT(table.out, Not(HasSubstr(other)));

  RunResult bad = Cli({"list", "--status", "SLEEPING"});
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_THAT(bad.err, HasSubstr("--status SLEEPING"));
}

TEST_F(WorkflowCommandsTest, ListLimitKeepsTheNewest) {
  RegisterChain(*client_, "outgoing_migration_request", {"flaky_step"});
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Start(*client_, "outgoing_migration_request"));
    // Distinct start times (milliseconds) make "newest" well defined: wait for the clock to move.
    int64_t started = absl::ToUnixMillis(absl::Now());
    while (absl::ToUnixMillis(absl::Now()) <= started + 1) {
    }
  }
  RunResult j = Cli({"list", "--limit", "2", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  google::protobuf::Value doc = ParseOut(j);
  const auto& m = Field(doc, "migrations").list_value();
  ASSERT_EQ(m.values_size(), 2);
  EXPECT_EQ(Field(m.values(0), "workflowId").string_value(), ids[2]);
  EXPECT_EQ(Field(m.values(1), "workflowId").string_value(), ids[1]);
}

TEST_F(WorkflowCommandsTest, RetryRunsTheFailedStepAgain) {
  std::string id = RunTwoSteps(TaskResult::FAILED);
  ASSERT_EQ(client_->GetWorkflowStatus(id, false)->status(), Workflow::FAILED);
  RunResult r = Cli({"retry", id, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  google::protobuf::Value v = ParseOut(r);
  EXPECT_EQ(Field(v, "action").string_value(), "retry");
  EXPECT_EQ(Field(v, "status").string_value(), "RUNNING");
  auto again = PollOne(*client_, "last_step");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->retry_count(), 1);
  ASSERT_OK(Finish(*client_, *again, TaskResult::COMPLETED));
  WaitWorkflow(*client_, id, [](const Workflow& wf) { return wf.status() == Workflow::COMPLETED; });
}

TEST_F(WorkflowCommandsTest, TerminateThenRestart) {
  std::string id = Start(*client_, "two_steps");
  RunResult t = Cli({"terminate", id, "--reason", "wrong target"});
  ASSERT_EQ(t.exit_code, 0) << t;
  EXPECT_THAT(t.out, HasSubstr("TERMINATED"));
  auto wf = client_->GetWorkflowStatus(id, false);
  ASSERT_OK(wf.status());
  EXPECT_EQ(wf->status(), Workflow::TERMINATED);
  EXPECT_THAT(wf->reason_for_incompletion(), HasSubstr("wrong target"));

  RunResult s = Cli({"status", id});
  EXPECT_THAT(s.out, HasSubstr("wrong target"));

  RunResult r = Cli({"restart", id, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(Field(ParseOut(r), "status").string_value(), "RUNNING");
  auto first = PollOne(*client_, "flaky_step");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->workflow_instance_id(), id);
}

// The orchestrator's client, counting the reads of a workflow and noting each wait for a change
// that was asked to wait (a stamp already seen).
class CountingClient final : public client::WorkflowClient {
 public:
  explicit CountingClient(client::GrpcOrchestratorClient& inner) : inner_(inner) {}
  absl::StatusOr<std::string> StartWorkflow(
      const conductor::proto::StartWorkflowRequest& r) override {
    return inner_.StartWorkflow(r);
  }
  absl::StatusOr<Workflow> GetWorkflowStatus(absl::string_view id, bool include_tasks) override {
    absl::MutexLock lock(&mu_);
    ++reads_;
    return inner_.GetWorkflowStatus(id, include_tasks);
  }
  absl::StatusOr<std::vector<Workflow>> GetWorkflowsByCorrelationId(absl::string_view name,
                                                                    absl::string_view c, bool a,
                                                                    bool b) override {
    return inner_.GetWorkflowsByCorrelationId(name, c, a, b);
  }
  absl::Status RetryWorkflow(absl::string_view id, bool r) override {
    return inner_.RetryWorkflow(id, r);
  }
  absl::Status RestartWorkflow(absl::string_view id, bool u) override {
    return inner_.RestartWorkflow(id, u);
  }
  absl::Status TerminateWorkflow(absl::string_view id, absl::string_view reason) override {
    return inner_.TerminateWorkflow(id, reason);
  }
  absl::StatusOr<client::WorkflowSearchResult> SearchWorkflows(
      const client::WorkflowSearchQuery& q) override {
    return inner_.SearchWorkflows(q);
  }
  absl::StatusOr<int64_t> WatchWorkflow(absl::string_view id, int64_t seen,
                                        absl::Duration timeout) override {
    if (seen != 0) {
      absl::MutexLock lock(&mu_);
      ++waits_;
    }
    return inner_.WatchWorkflow(id, seen, timeout);
  }
  int reads() const {
    absl::MutexLock lock(&mu_);
    return reads_;
  }
  // Whether `n` waits were asked for in all, within 30 s.
  bool AwaitWaits(int n) {
    absl::MutexLock lock(&mu_);
    target_ = n;
    return mu_.AwaitWithTimeout(absl::Condition(this, &CountingClient::Reached), absl::Seconds(30));
  }

 private:
  client::GrpcOrchestratorClient& inner_;
  mutable absl::Mutex mu_;
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  int waits_ ABSL_GUARDED_BY(mu_) = 0;
  int target_ ABSL_GUARDED_BY(mu_) = 0;
  bool Reached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waits_ >= target_; }
};

// --wait reads the workflow when it changed, not on a timer: between the changes the test makes
// it waits on the server, and it reads the workflow once per change (plus its first two looks).
TEST_F(WorkflowCommandsTest, WaitReadsTheWorkflowOnlyWhenItChanges) {
  std::string id = Start(*client_, "two_steps");
  CountingClient counting(*client_);
  absl::StatusOr<Workflow> waited;
  std::ostringstream progress;
  std::thread wait([&] {
    WaitOptions options;
    options.poll_interval = absl::Milliseconds(10);  // what a fallback to reading would use
    waited = WaitForWorkflow(counting, id, options, progress);
  });
  absl::Cleanup join = [&] {  // a failed assertion below ends the workflow, and so the wait
    if (!wait.joinable()) return;
    client_->TerminateWorkflow(id, "the test failed").IgnoreError();
    wait.join();
  };
  int waits = 1;
  ASSERT_TRUE(counting.AwaitWaits(waits));
  auto first = PollOne(*client_, "flaky_step", "worker-a");  // change 1
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(counting.AwaitWaits(++waits));
  ASSERT_OK(Finish(*client_, *first, TaskResult::COMPLETED, "", "worker-a"));  // change 2
  ASSERT_TRUE(counting.AwaitWaits(++waits));
  auto last = PollOne(*client_, "last_step", "worker-a");  // change 3
  ASSERT_TRUE(last.has_value());
  ASSERT_TRUE(counting.AwaitWaits(++waits));
  ASSERT_OK(Finish(*client_, *last, TaskResult::COMPLETED, "", "worker-a"));  // change 4: ended
  std::move(join).Invoke();
  ASSERT_OK(waited.status());
  EXPECT_EQ(waited->status(), Workflow::COMPLETED);
  // Two looks to begin with (the workflow, then after learning its stamp), one per change; a
  // change may also be seen on its own later, when the next one committed before the read.
  EXPECT_LE(counting.reads(), 2 + 4);
  EXPECT_THAT(progress.str(), HasSubstr("last_step_ref  COMPLETED"));
}

TEST_F(WorkflowCommandsTest, UnknownWorkflowIsNamed) {
  RunResult r = Cli({"status", "no-such-workflow"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("no-such-workflow"));
  RunResult j = Cli({"status", "no-such-workflow", "--json"});
  EXPECT_EQ(j.exit_code, 1);
  google::protobuf::Value v = ParseOut(j);
  EXPECT_EQ(Field(Field(v, "error"), "code").string_value(), "NOT_FOUND");
}

TEST_F(WorkflowCommandsTest, UnreachableServerNamesTheAddress) {
  auto gone = StartServer("gone.db");
  std::string address = gone->address();
  gone.reset();
  RunResult r = RunCli({"list", "--server", address});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("cannot reach the server at ", address)));
}

TEST_F(WorkflowCommandsTest, TokenIsCheckedAndRejectionExplained) {
  auto secured = StartServer("secured.db", "s3cret-token");
  ASSERT_NE(secured, nullptr);
  std::string address = secured->address();

  RunResult none = RunCli({"list", "--server", address});
  EXPECT_EQ(none.exit_code, 1) << none;
  EXPECT_THAT(none.err, HasSubstr("rejected the token"));
  EXPECT_THAT(none.err, HasSubstr("no token was given"));

  RunResult wrong = RunCli({"list", "--server", address}, {{"CMIG_TOKEN", "guess"}});
  EXPECT_EQ(wrong.exit_code, 1) << wrong;
  EXPECT_THAT(wrong.err, HasSubstr("rejected the token (token from CMIG_TOKEN)"));
  EXPECT_THAT(wrong.err, Not(HasSubstr("guess")));

  RunResult env_ok = RunCli({"list", "--server", address}, {{"CMIG_TOKEN", "s3cret-token"}});
  EXPECT_EQ(env_ok.exit_code, 0) << env_ok;

  std::string token_file = dir_ + "/token";
  WriteFile(token_file, "s3cret-token\n");
  RunResult file_ok = RunCli({"list", "--server", address, "--token-file", token_file, "--json"});
  EXPECT_EQ(file_ok.exit_code, 0) << file_ok;
  EXPECT_EQ(Field(ParseOut(file_ok), "totalHits").number_value(), 0);

  RunResult missing = RunCli({"list", "--server", address, "--token-file", dir_ + "/nope"});
  EXPECT_EQ(missing.exit_code, 2) << missing;
  EXPECT_THAT(missing.err, HasSubstr(dir_ + "/nope"));

  // A token is never a flag.
  RunResult flag = RunCli({"list", "--server", address, "--token", "s3cret-token"});
  EXPECT_EQ(flag.exit_code, 2) << flag;
  EXPECT_THAT(flag.err, HasSubstr("unknown flag --token"));
}

TEST_F(WorkflowCommandsTest, UsageErrorsAndHelp) {
  RunResult help = Cli({"history", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help;
  EXPECT_THAT(help.out, HasSubstr("Usage: migrationctl history ID"));
  EXPECT_THAT(help.out, HasSubstr("--logs"));
  EXPECT_THAT(help.out, HasSubstr("Examples:"));

  RunResult top = Cli({"help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* c : {"status", "history", "list", "retry", "restart", "terminate"}) {
    EXPECT_THAT(top.out, HasSubstr(c));
  }

  RunResult unknown = Cli({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'frobnicate'"));

  RunResult wrong_flag = Cli({"status", "x", "--logs"});
  EXPECT_EQ(wrong_flag.exit_code, 2);
  EXPECT_THAT(wrong_flag.err, HasSubstr("does not take --logs"));

  RunResult missing = Cli({"retry"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("usage: migrationctl retry ID"));

  RunResult bad_value = Cli({"list", "--limit", "many"});
  EXPECT_EQ(bad_value.exit_code, 2);
  EXPECT_THAT(bad_value.err, HasSubstr("--limit"));
}

}  // namespace
}  // namespace cmig::cli::test
