// A workflow driven to completion by a test worker over real gRPC: polling,
// updates, input expressions, logs, and BatchPoll's Conductor limits.
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using ::cmig::testing::StatusIs;
using conductor::proto::TaskResult;

class WorkflowRunTest : public OrchestratorTest {
 protected:
  void DefineThreeSteps() {
    WorkflowDef def;
    def.set_name("three_steps");
    def.set_version(1);
    WorkflowTask a = SimpleTask("step_a", "a");
    (*a.mutable_input_parameters())["who"] = Str("${workflow.input.name}");
    WorkflowTask b = SimpleTask("step_b", "b");
    (*b.mutable_input_parameters())["prev"] = Str("${a.output.greeting}");
    WorkflowTask c = SimpleTask("step_c", "c");
    *def.add_tasks() = a;
    *def.add_tasks() = b;
    *def.add_tasks() = c;
    (*def.mutable_output_parameters())["final"] = Str("${c.output.result}");
    ASSERT_OK(client().CreateWorkflowDef(def));
  }
};

TEST_F(WorkflowRunTest, ThreeSequentialTasksComplete) {
  DefineThreeSteps();
  auto id = client().Start("three_steps", {{"name", Str("ada")}}, "corr-1");
  ASSERT_OK(id.status());

  auto a = client().PollOne("step_a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->workflow_instance_id(), *id);
  EXPECT_EQ(a->status(), Task::IN_PROGRESS);
  EXPECT_EQ(a->input_data().at("who").string_value(), "ada");
  ASSERT_OK(client().Update(*a, TaskResult::COMPLETED, {{"greeting", Str("hi ada")}}));

  auto b = client().PollOne("step_b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->input_data().at("prev").string_value(), "hi ada");
  ts::AddLogRequest log;
  log.set_task_id(b->task_id());
  log.set_log("working on b");
  ts::AddLogResponse log_resp;
  ASSERT_TRUE(client().tasks->AddLog(client().Ctx().get(), log, &log_resp).ok());
  ASSERT_OK(client().Update(*b, TaskResult::COMPLETED));

  auto c = client().PollOne("step_c");
  ASSERT_TRUE(c.has_value());
  ASSERT_OK(client().Update(*c, TaskResult::COMPLETED, {{"result", Num(42)}}));

  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  auto wf = client().Get(*id);
  ASSERT_OK(wf.status());
  EXPECT_EQ(wf->correlation_id(), "corr-1");
  EXPECT_EQ(wf->output().at("final").number_value(), 42);
  ASSERT_EQ(wf->tasks_size(), 3);
  for (const Task& t : wf->tasks()) {
    EXPECT_EQ(t.status(), Task::COMPLETED) << t.reference_task_name();
    EXPECT_GT(t.end_time(), 0);
    EXPECT_EQ(t.worker_id(), "test-worker");
  }

  ts::GetTaskLogsRequest logs_req;
  logs_req.set_task_id(b->task_id());
  ts::GetTaskLogsResponse logs;
  ASSERT_TRUE(client().tasks->GetTaskLogs(client().Ctx().get(), logs_req, &logs).ok());
  ASSERT_EQ(logs.logs_size(), 1);
  EXPECT_EQ(logs.logs(0).log(), "working on b");

  ts::GetTaskRequest get_task;
  get_task.set_task_id(c->task_id());
  ts::GetTaskResponse got;
  ASSERT_TRUE(client().tasks->GetTask(client().Ctx().get(), get_task, &got).ok());
  EXPECT_EQ(got.task().status(), Task::COMPLETED);

  // A repeated result for a finished task is accepted and changes nothing.
  EXPECT_OK(client().Update(*c, TaskResult::FAILED));
  EXPECT_EQ(client().Status(*id), Workflow::COMPLETED);
}

TEST_F(WorkflowRunTest, LongPollWakesWhenATaskIsScheduled) {
  DefineThreeSteps();
  absl::StatusOr<std::vector<Task>> got;
  std::thread poller([&] { got = client().BatchPoll("step_a", 5, 5000); });
  // The poll is parked before the workflow starts (the test tolerates either order).
  auto id = client().Start("three_steps", {{"name", Str("x")}});
  ASSERT_OK(id.status());
  poller.join();
  ASSERT_OK(got.status());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].workflow_instance_id(), *id);
}

TEST_F(WorkflowRunTest, EmptyPollReturnsAfterTimeout) {
  absl::Time start = absl::Now();
  auto got = client().BatchPoll("nothing_here", 1, 150);
  ASSERT_OK(got.status());
  EXPECT_TRUE(got->empty());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(140));
}

TEST_F(WorkflowRunTest, PollTimeoutAboveFiveSecondsIsInvalid) {
  EXPECT_THAT(client().BatchPoll("x", 1, 5001).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST_F(WorkflowRunTest, DomainQueuesAreSeparate) {
  DefineThreeSteps();
  conductor::proto::StartWorkflowRequest req;
  req.set_name("three_steps");
  (*req.mutable_task_to_domain())["step_a"] = "blue";
  ws::StartWorkflowResponse resp;
  ASSERT_TRUE(client().workflows->StartWorkflow(client().Ctx().get(), req, &resp).ok());
  auto none = client().BatchPoll("step_a", 1, 100);
  ASSERT_OK(none.status());
  EXPECT_TRUE(none->empty());
  auto blue = client().BatchPoll("step_a", 1, 2000, "w", "blue");
  ASSERT_OK(blue.status());
  ASSERT_EQ(blue->size(), 1u);
  EXPECT_EQ((*blue)[0].domain(), "blue");
}

TEST_F(WorkflowRunTest, UnknownTaskUpdateIsNotFound) {
  Task t;
  t.set_task_id("no-such-task");
  EXPECT_THAT(client().Update(t, TaskResult::COMPLETED),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

}  // namespace
}  // namespace cmig::orchestrator::test

namespace cmig::orchestrator::test {
namespace {

class LongPollTest : public OrchestratorTest {};

TEST_F(LongPollTest, AbandonedPollDoesNotSwallowTheNextTask) {
  WorkflowDef def;
  def.set_name("single");
  def.set_version(1);
  *def.add_tasks() = SimpleTask("lonely", "l");
  ASSERT_OK(client().CreateWorkflowDef(def));
  {
    // The client gives up long before the poll's own 5 s timeout.
    ts::BatchPollRequest req;
    req.set_task_type("lonely");
    req.set_count(1);
    req.set_timeout(5000);
    auto ctx = client().Ctx(absl::Milliseconds(200));
    auto reader = client().tasks->BatchPoll(ctx.get(), req);
    Task t;
    EXPECT_FALSE(reader->Read(&t));
    // The server ends the poll at the caller's deadline; which side is first decides the code.
    ::grpc::StatusCode code = reader->Finish().error_code();
    EXPECT_TRUE(code == ::grpc::StatusCode::OK || code == ::grpc::StatusCode::DEADLINE_EXCEEDED)
        << code;
  }
  auto id = client().Start("single");
  ASSERT_OK(id.status());
  auto got = client().PollOne("lonely", absl::Seconds(3));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->workflow_instance_id(), *id);
}

}  // namespace
}  // namespace cmig::orchestrator::test
