// Each retry logic's delays through the whole server, with an injected clock:
// a retry attempt stays invisible to pollers until the clock reaches its delay.
#include <atomic>

#include "orchestrator/clock.h"
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using conductor::proto::TaskResult;

class FakeClock final : public Clock {
 public:
  int64_t NowMs() const override { return now_.load(); }
  void Advance(absl::Duration d) { now_ += absl::ToInt64Milliseconds(d); }

 private:
  std::atomic<int64_t> now_{1'700'000'000'000};
};

struct Case {
  const char* name;
  TaskDef::RetryLogic logic;
  int backoff_scale_factor;
  std::vector<int> delays_s;  // before retry 1, retry 2
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class RetryDelaysTest : public OrchestratorTest, public ::testing::WithParamInterface<Case> {
 protected:
  void SetUp() override {
    options_.clock = &clock_;
    OrchestratorTest::SetUp();
  }
  FakeClock clock_;
};

TEST_P(RetryDelaysTest, RetryBecomesVisibleExactlyAfterItsDelay) {
  const Case& c = GetParam();
  TaskDef def;
  def.set_name("backoff");
  def.set_retry_count(static_cast<int>(c.delays_s.size()));
  def.set_retry_logic(c.logic);
  def.set_retry_delay_seconds(10);
  def.set_backoff_scale_factor(c.backoff_scale_factor);
  def.set_response_timeout_seconds(3600);
  ASSERT_OK(client().CreateTaskDef(def));
  WorkflowDef wf;
  wf.set_name("retrying");
  wf.set_version(1);
  WorkflowTask t = SimpleTask("backoff", "b");
  t.set_retry_count(-1);
  *wf.add_tasks() = t;
  ASSERT_OK(client().CreateWorkflowDef(wf));
  auto id = client().Start("retrying");
  ASSERT_OK(id.status());

  auto attempt = client().PollOne("backoff");
  ASSERT_TRUE(attempt.has_value());
  for (size_t i = 0; i < c.delays_s.size(); ++i) {
    ASSERT_OK(client().Update(*attempt, TaskResult::FAILED, {}, "again"));
    clock_.Advance(absl::Seconds(c.delays_s[i]) - absl::Milliseconds(500));
    auto early = client().BatchPoll("backoff", 1, 100);
    ASSERT_OK(early.status());
    EXPECT_TRUE(early->empty()) << "retry " << i + 1 << " visible before " << c.delays_s[i] << " s";
    clock_.Advance(absl::Milliseconds(500));
    attempt = client().PollOne("backoff", absl::Seconds(5));
    ASSERT_TRUE(attempt.has_value())
        << "retry " << i + 1 << " not visible after " << c.delays_s[i] << " s";
    EXPECT_EQ(attempt->retry_count(), static_cast<int>(i + 1));
  }
  ASSERT_OK(client().Update(*attempt, TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

INSTANTIATE_TEST_SUITE_P(
    Logics, RetryDelaysTest,
    ::testing::Values(Case{"Fixed", TaskDef::FIXED, 1, {10, 10}},
                      Case{"Linear", TaskDef::LINEAR_BACKOFF, 2, {20, 40}},
                      Case{"Exponential", TaskDef::EXPONENTIAL_BACKOFF, 1, {10, 20}}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cmig::orchestrator::test
