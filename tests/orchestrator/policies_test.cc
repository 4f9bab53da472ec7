// Task-definition policies as the engine applies them through the decider,
// driven over real gRPC with short real timeouts: a retry waits its delay, and
// a worker that goes silent loses its task to a new attempt.
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using conductor::proto::TaskResult;

class PoliciesTest : public OrchestratorTest {
 protected:
  void DefineOneStep(const TaskDef& def) {
    ASSERT_OK(client().CreateTaskDef(def));
    WorkflowDef wf;
    wf.set_name("one_step");
    wf.set_version(1);
    WorkflowTask t = SimpleTask(def.name(), "only");
    t.set_retry_count(-1);  // Conductor's sentinel: use the task definition's retryCount
    *wf.add_tasks() = t;
    ASSERT_OK(client().CreateWorkflowDef(wf));
  }
};

TEST_F(PoliciesTest, FailedTaskIsRetriedAfterItsDelay) {
  TaskDef def;
  def.set_name("flaky");
  def.set_retry_count(1);
  def.set_retry_logic(TaskDef::FIXED);
  def.set_retry_delay_seconds(1);
  DefineOneStep(def);
  auto id = client().Start("one_step");
  ASSERT_OK(id.status());

  auto first = client().PollOne("flaky");
  ASSERT_TRUE(first.has_value());
  ASSERT_OK(client().Update(*first, TaskResult::FAILED, {}, "boom"));
  absl::Time failed_at = absl::Now();

  auto second = client().PollOne("flaky", absl::Seconds(5));
  ASSERT_TRUE(second.has_value());
  EXPECT_GE(absl::Now() - failed_at, absl::Milliseconds(950));
  EXPECT_NE(second->task_id(), first->task_id());
  EXPECT_EQ(second->retry_count(), 1);
  EXPECT_EQ(second->retried_task_id(), first->task_id());
  ASSERT_OK(client().Update(*second, TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));

  auto wf = client().Get(*id);
  ASSERT_OK(wf.status());
  ASSERT_EQ(wf->tasks_size(), 2);  // both attempts are kept as history
  EXPECT_EQ(wf->tasks(0).status(), Task::FAILED);
  EXPECT_EQ(wf->tasks(0).reason_for_incompletion(), "boom");
  EXPECT_EQ(wf->tasks(1).status(), Task::COMPLETED);
}

TEST_F(PoliciesTest, TerminalErrorIsNotRetried) {
  TaskDef def;
  def.set_name("strict");
  def.set_retry_count(3);
  DefineOneStep(def);
  auto id = client().Start("one_step");
  ASSERT_OK(id.status());
  auto t = client().PollOne("strict");
  ASSERT_TRUE(t.has_value());
  ASSERT_OK(client().Update(*t, TaskResult::FAILED_WITH_TERMINAL_ERROR, {}, "bad input"));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::FAILED; }));
  auto wf = client().Get(*id);
  ASSERT_OK(wf.status());
  EXPECT_EQ(wf->tasks_size(), 1);
}

TEST_F(PoliciesTest, SilentWorkerLosesTaskAfterResponseTimeout) {
  TaskDef def;
  def.set_name("slow");
  def.set_retry_count(1);
  def.set_response_timeout_seconds(1);
  def.set_timeout_seconds(60);
  DefineOneStep(def);
  auto id = client().Start("one_step");
  ASSERT_OK(id.status());

  auto first = client().PollOne("slow");
  ASSERT_TRUE(first.has_value());
  absl::Time polled_at = absl::Now();
  // No update: the worker went silent.
  auto second = client().PollOne("slow", absl::Seconds(5));
  ASSERT_TRUE(second.has_value());
  EXPECT_GE(absl::Now() - polled_at, absl::Milliseconds(950));
  EXPECT_NE(second->task_id(), first->task_id());

  ts::GetTaskRequest get;
  get.set_task_id(first->task_id());
  ts::GetTaskResponse got;
  ASSERT_TRUE(client().tasks->GetTask(client().Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.task().status(), Task::TIMED_OUT);

  // The late worker's result for the timed-out attempt changes nothing.
  ASSERT_OK(client().Update(*first, TaskResult::COMPLETED));
  ASSERT_TRUE(client().tasks->GetTask(client().Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.task().status(), Task::TIMED_OUT);

  ASSERT_OK(client().Update(*second, TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

TEST_F(PoliciesTest, InProgressWithCallbackIsDeliveredAgainAfterTheDelay) {
  TaskDef def;
  def.set_name("waiter");
  DefineOneStep(def);
  auto id = client().Start("one_step");
  ASSERT_OK(id.status());
  auto first = client().PollOne("waiter");
  ASSERT_TRUE(first.has_value());
  ts::UpdateTaskRequest req;
  req.mutable_result()->set_task_id(first->task_id());
  req.mutable_result()->set_status(TaskResult::IN_PROGRESS);
  req.mutable_result()->set_callback_after_seconds(1);
  ts::UpdateTaskResponse resp;
  ASSERT_TRUE(client().tasks->UpdateTask(client().Ctx().get(), req, &resp).ok());
  absl::Time updated_at = absl::Now();

  auto again = client().PollOne("waiter", absl::Seconds(5));
  ASSERT_TRUE(again.has_value());
  EXPECT_GE(absl::Now() - updated_at, absl::Milliseconds(950));
  EXPECT_EQ(again->task_id(), first->task_id());  // same attempt, polled again
  EXPECT_EQ(again->poll_count(), 2);
  ASSERT_OK(client().Update(*again, TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

}  // namespace
}  // namespace cmig::orchestrator::test
