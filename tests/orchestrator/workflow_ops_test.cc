// WorkflowService operations over real gRPC: retry from the failed step,
// terminate, pause/resume, restart, rerun, remove, queries and search, and
// recovery of a running workflow across a server restart.
#include <thread>

#include "cmig/v1/workflow_watch.grpc.pb.h"
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using ::cmig::testing::StatusIs;
using conductor::proto::TaskResult;

class WorkflowOpsTest : public OrchestratorTest {
 protected:
  void SetUp() override {
    OrchestratorTest::SetUp();
    WorkflowDef def;
    def.set_name("pipeline");
    def.set_version(1);
    *def.add_tasks() = SimpleTask("p_one", "one");
    *def.add_tasks() = SimpleTask("p_two", "two");
    *def.add_tasks() = SimpleTask("p_three", "three");
    ASSERT_OK(client().CreateWorkflowDef(def));
  }

  void Complete(const std::string& type) {
    auto t = client().PollOne(type);
    ASSERT_TRUE(t.has_value()) << type;
    ASSERT_OK(client().Update(*t, TaskResult::COMPLETED));
  }

  ::grpc::Status Call(const std::function<::grpc::Status(::grpc::ClientContext*)>& f) {
    return f(client().Ctx().get());
  }
};

TEST_F(WorkflowOpsTest, RetryWorkflowResumesAtTheFailedStep) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  Complete("p_one");
  auto two = client().PollOne("p_two");
  ASSERT_TRUE(two.has_value());
  ASSERT_OK(client().Update(*two, TaskResult::FAILED, {}, "transient"));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::FAILED; }));

  ws::RetryWorkflowRequest req;
  req.set_workflow_id(*id);
  ws::RetryWorkflowResponse resp;
  ASSERT_TRUE(Call([&](auto* c) { return client().workflows->RetryWorkflow(c, req, &resp); }).ok());
  EXPECT_EQ(client().Status(*id), Workflow::RUNNING);

  // The next task handed out is a new attempt of step two, not step one again.
  auto again = client().PollOne("p_two");
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(again->task_id(), two->task_id());
  EXPECT_EQ(again->retried_task_id(), two->task_id());
  auto none = client().BatchPoll("p_one", 1, 100);
  ASSERT_OK(none.status());
  EXPECT_TRUE(none->empty());
  ASSERT_OK(client().Update(*again, TaskResult::COMPLETED));
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  auto wf = client().Get(*id);
  ASSERT_OK(wf.status());
  EXPECT_EQ(wf->tasks_size(), 4);  // one, two (failed), two (retried), three
}

// cmig.v1.WorkflowWatch through its generated stub: a watch answers with a new stamp when a
// change commits, with the same stamp when it times out, at once for an ended workflow.
TEST_F(WorkflowOpsTest, AWatchIsAnsweredWhenTheWorkflowChanges) {
  auto watch = cmig::v1::WorkflowWatch::NewStub(client().channel_);
  auto ask = [&](const std::string& id, int64_t seen,
                 int64_t timeout_ms) -> absl::StatusOr<int64_t> {
    cmig::v1::WatchWorkflowRequest req;
    req.set_workflow_id(id);
    req.set_seen_stamp(seen);
    req.set_timeout_ms(timeout_ms);
    cmig::v1::WatchWorkflowResponse resp;
    absl::Status s = FromGrpc(
        watch->WatchWorkflow(client().Ctx(absl::Seconds(70)).get(), req, &resp), "WatchWorkflow");
    if (!s.ok()) return s;
    return resp.stamp();
  };
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  ASSERT_OK_AND_ASSIGN(int64_t first, ask(*id, 0, 0));
  EXPECT_NE(first, 0);
  ASSERT_OK_AND_ASSIGN(int64_t unchanged, ask(*id, first, 50));  // nothing changes meanwhile
  EXPECT_EQ(unchanged, first);

  // A watch parked on `first` is answered by the poll that takes step one: a change that commits.
  absl::StatusOr<int64_t> answered;
  std::thread watcher([&] { answered = ask(*id, first, 60'000); });
  auto one = client().PollOne("p_one");
  watcher.join();
  ASSERT_TRUE(one.has_value());
  ASSERT_OK(answered.status());
  EXPECT_NE(*answered, first);
  EXPECT_NE(*answered, 0);
  // Stamps only move forward; the completion moves it again.
  ASSERT_OK(client().Update(*one, TaskResult::COMPLETED));
  ASSERT_OK_AND_ASSIGN(int64_t after_update, ask(*id, *answered, 0));
  EXPECT_GT(after_update, *answered);

  Complete("p_two");
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  // Ended: answered without waiting (the call's deadline is far shorter than its timeout).
  ASSERT_TRUE(WaitFor([&] {
    cmig::v1::WatchWorkflowRequest req;
    req.set_workflow_id(*id);
    req.set_seen_stamp(after_update);
    req.set_timeout_ms(60'000);
    cmig::v1::WatchWorkflowResponse resp;
    return watch->WatchWorkflow(client().Ctx(absl::Seconds(5)).get(), req, &resp).ok() &&
           resp.stamp() == 0;
  }));

  EXPECT_THAT(ask("no-such-workflow", 0, 0), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(ask(*id, 0, 60'001), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(ask("", 0, 0), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST_F(WorkflowOpsTest, RetryOfARunningWorkflowIsRejected) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  ws::RetryWorkflowRequest req;
  req.set_workflow_id(*id);
  ws::RetryWorkflowResponse resp;
  EXPECT_EQ(
      Call([&](auto* c) { return client().workflows->RetryWorkflow(c, req, &resp); }).error_code(),
      ::grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(WorkflowOpsTest, TerminateCancelsQueuedTasks) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  ASSERT_TRUE(WaitFor([&] {
    ts::QueueSizesRequest q;
    q.add_task_types("p_one");
    ts::QueueSizesResponse r;
    return Call([&](auto* c) { return client().tasks->GetQueueSizesForTasks(c, q, &r); }).ok() &&
           r.queue_for_task().at("p_one") == 1;
  }));
  ts::QueueInfoResponse info;
  ASSERT_TRUE(Call([&](auto* c) {
                return client().tasks->GetQueueInfo(c, ts::QueueInfoRequest(), &info);
              }).ok());
  EXPECT_EQ(info.queues().at("p_one"), 1);
  ws::TerminateWorkflowRequest req;
  req.set_workflow_id(*id);
  req.set_reason("operator said so");
  ws::TerminateWorkflowResponse resp;
  ASSERT_TRUE(
      Call([&](auto* c) { return client().workflows->TerminateWorkflow(c, req, &resp); }).ok());
  auto wf = client().Get(*id);
  ASSERT_OK(wf.status());
  EXPECT_EQ(wf->status(), Workflow::TERMINATED);
  EXPECT_EQ(wf->reason_for_incompletion(), "operator said so");
  EXPECT_EQ(wf->tasks(0).status(), Task::CANCELED);
  auto none = client().BatchPoll("p_one", 1, 100);
  ASSERT_OK(none.status());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(Call([&](auto* c) {
              return client().workflows->TerminateWorkflow(c, req, &resp);
            }).error_code(),
            ::grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(WorkflowOpsTest, PausedWorkflowSchedulesNothingUntilResumed) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  auto one = client().PollOne("p_one");
  ASSERT_TRUE(one.has_value());
  ws::PauseWorkflowRequest pause;
  pause.set_workflow_id(*id);
  ws::PauseWorkflowResponse pause_resp;
  ASSERT_TRUE(
      Call([&](auto* c) { return client().workflows->PauseWorkflow(c, pause, &pause_resp); }).ok());
  EXPECT_EQ(client().Status(*id), Workflow::PAUSED);
  ASSERT_OK(client().Update(*one, TaskResult::COMPLETED));
  auto none = client().BatchPoll("p_two", 1, 150);
  ASSERT_OK(none.status());
  EXPECT_TRUE(none->empty());

  ws::ResumeWorkflowRequest resume;
  resume.set_workflow_id(*id);
  ws::ResumeWorkflowResponse resume_resp;
  ASSERT_TRUE(Call([&](auto* c) {
                return client().workflows->ResumeWorkflow(c, resume, &resume_resp);
              }).ok());
  Complete("p_two");
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

TEST_F(WorkflowOpsTest, RestartRunsACompletedWorkflowAgain) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  Complete("p_one");
  Complete("p_two");
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  ws::RestartWorkflowRequest req;
  req.set_workflow_id(*id);
  ws::RestartWorkflowResponse resp;
  ASSERT_TRUE(
      Call([&](auto* c) { return client().workflows->RestartWorkflow(c, req, &resp); }).ok());
  EXPECT_EQ(client().Status(*id), Workflow::RUNNING);
  Complete("p_one");
  Complete("p_two");
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  auto wf = client().Get(*id);
  ASSERT_OK(wf.status());
  EXPECT_EQ(wf->tasks_size(), 3);
}

TEST_F(WorkflowOpsTest, RerunFromATaskDropsLaterAttempts) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  Complete("p_one");
  auto two = client().PollOne("p_two");
  ASSERT_TRUE(two.has_value());
  ASSERT_OK(client().Update(*two, TaskResult::COMPLETED));
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));

  conductor::proto::RerunWorkflowRequest req;
  req.set_re_run_from_workflow_id(*id);
  req.set_re_run_from_task_id(two->task_id());
  (*req.mutable_task_input())["again"] = Str("yes");
  ws::RerunWorkflowResponse resp;
  ASSERT_TRUE(Call([&](auto* c) { return client().workflows->RerunWorkflow(c, req, &resp); }).ok());
  EXPECT_EQ(resp.workflow_id(), *id);
  auto rerun = client().PollOne("p_two");
  ASSERT_TRUE(rerun.has_value());
  EXPECT_EQ(rerun->input_data().at("again").string_value(), "yes");
  ASSERT_OK(client().Update(*rerun, TaskResult::COMPLETED));
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

TEST_F(WorkflowOpsTest, QueriesFindWorkflowsByCorrelationTypeAndStatus) {
  auto a = client().Start("pipeline", {}, "order-7");
  auto b = client().Start("pipeline", {}, "order-8");
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  ws::TerminateWorkflowRequest term;
  term.set_workflow_id(*b);
  ws::TerminateWorkflowResponse term_resp;
  ASSERT_TRUE(Call([&](auto* c) {
                return client().workflows->TerminateWorkflow(c, term, &term_resp);
              }).ok());

  ws::GetWorkflowsRequest by_corr;
  by_corr.set_name("pipeline");
  by_corr.add_correlation_id("order-7");
  by_corr.add_correlation_id("order-8");
  ws::GetWorkflowsResponse found;
  ASSERT_TRUE(
      Call([&](auto* c) { return client().workflows->GetWorkflows(c, by_corr, &found); }).ok());
  ASSERT_EQ(found.workflows_by_id().at("order-7").workflows_size(), 1);
  EXPECT_EQ(found.workflows_by_id().at("order-7").workflows(0).workflow_id(), *a);
  EXPECT_EQ(found.workflows_by_id().at("order-8").workflows_size(), 0);  // closed excluded
  by_corr.set_include_closed(true);
  ASSERT_TRUE(
      Call([&](auto* c) { return client().workflows->GetWorkflows(c, by_corr, &found); }).ok());
  EXPECT_EQ(found.workflows_by_id().at("order-8").workflows_size(), 1);

  ws::GetRunningWorkflowsRequest running;
  running.set_name("pipeline");
  ws::GetRunningWorkflowsResponse running_resp;
  ASSERT_TRUE(Call([&](auto* c) {
                return client().workflows->GetRunningWorkflows(c, running, &running_resp);
              }).ok());
  ASSERT_EQ(running_resp.workflow_ids_size(), 1);
  EXPECT_EQ(running_resp.workflow_ids(0), *a);

  conductor::grpc::search::Request search;
  search.set_query("workflowType = 'pipeline' AND status = 'TERMINATED'");
  search.set_free_text("*");
  ws::WorkflowSummarySearchResult result;
  ASSERT_TRUE(Call([&](auto* c) { return client().workflows->Search(c, search, &result); }).ok());
  ASSERT_EQ(result.total_hits(), 1);
  EXPECT_EQ(result.results(0).workflow_id(), *b);
  EXPECT_EQ(result.results(0).workflow_type(), "pipeline");
  EXPECT_EQ(result.results(0).status(), Workflow::TERMINATED);

  search.set_query("workflowType = 'pipeline'");
  ASSERT_TRUE(Call([&](auto* c) { return client().workflows->Search(c, search, &result); }).ok());
  EXPECT_EQ(result.total_hits(), 2);

  ws::WorkflowSearchResult full;
  search.set_query("status IN (RUNNING, TERMINATED) AND workflowType = 'pipeline'");
  ASSERT_TRUE(Call([&](auto* c) { return client().workflows->SearchV2(c, search, &full); }).ok());
  ASSERT_EQ(full.total_hits(), 2);
  EXPECT_EQ(full.results(0).workflow_definition().name(), "pipeline");

  search.set_query("");
  search.set_free_text(*a);  // free text matches a workflow id or a correlation id
  ASSERT_TRUE(Call([&](auto* c) { return client().workflows->Search(c, search, &result); }).ok());
  ASSERT_EQ(result.total_hits(), 1);
  EXPECT_EQ(result.results(0).correlation_id(), "order-7");
  search.set_free_text("order-8");
  ASSERT_TRUE(Call([&](auto* c) { return client().workflows->Search(c, search, &result); }).ok());
  ASSERT_EQ(result.total_hits(), 1);
  EXPECT_EQ(result.results(0).workflow_id(), *b);

  search.set_free_text("*");
  search.set_query("owner = 'x'");
  EXPECT_EQ(
      Call([&](auto* c) { return client().workflows->Search(c, search, &result); }).error_code(),
      ::grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WorkflowOpsTest, RemoveDeletesTheWorkflow) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  ws::RemoveWorkflowRequest req;
  req.set_workflod_id(*id);
  ws::RemoveWorkflowResponse resp;
  ASSERT_TRUE(
      Call([&](auto* c) { return client().workflows->RemoveWorkflow(c, req, &resp); }).ok());
  EXPECT_THAT(client().Get(*id).status(), StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  auto none = client().BatchPoll("p_one", 1, 100);
  ASSERT_OK(none.status());
  EXPECT_TRUE(none->empty());
}

TEST_F(WorkflowOpsTest, RunningWorkflowContinuesAfterServerRestart) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  Complete("p_one");
  auto two = client().PollOne("p_two");  // polled but never answered before the restart
  ASSERT_TRUE(two.has_value());
  Restart();
  EXPECT_EQ(client().Status(*id), Workflow::RUNNING);
  // The accepted result of step one survives; step two is still ours to finish.
  ASSERT_OK(client().Update(*two, TaskResult::COMPLETED));
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

TEST_F(WorkflowOpsTest, ScheduledTaskIsStillQueuedAfterRestart) {
  auto id = client().Start("pipeline");
  ASSERT_OK(id.status());
  Restart();
  Complete("p_one");
  Complete("p_two");
  Complete("p_three");
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

}  // namespace
}  // namespace cmig::orchestrator::test
