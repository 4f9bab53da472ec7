// The engine around the decider, over real gRPC: SWITCH, FORK_JOIN/JOIN,
// SUB_WORKFLOW (the child's end completes the parent's task), a parent's
// termination reaching its child, and failureWorkflow.
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using conductor::proto::TaskResult;

class ConstructsTest : public OrchestratorTest {
 protected:
  void Define(const WorkflowDef& def) { ASSERT_OK(client().CreateWorkflowDef(def)); }
  void NoRetries(const std::string& name) {
    TaskDef def;
    def.set_name(name);
    def.set_retry_count(0);
    def.set_response_timeout_seconds(60);
    ASSERT_OK(client().CreateTaskDef(def));
  }
};

TEST_F(ConstructsTest, SwitchRunsTheMatchingCase) {
  WorkflowDef def;
  def.set_name("router");
  def.set_version(1);
  WorkflowTask sw;
  sw.set_name("route");
  sw.set_task_reference_name("route");
  sw.set_type("SWITCH");
  sw.set_evaluator_type("value-param");
  sw.set_expression("kind");
  (*sw.mutable_input_parameters())["kind"] = Str("${workflow.input.kind}");
  *(*sw.mutable_decision_cases())["fast"].add_tasks() = SimpleTask("fast_lane", "fast");
  *sw.add_default_case() = SimpleTask("slow_lane", "slow");
  *def.add_tasks() = sw;
  Define(def);

  auto id = client().Start("router", {{"kind", Str("fast")}});
  ASSERT_OK(id.status());
  auto fast = client().PollOne("fast_lane");
  ASSERT_TRUE(fast.has_value());
  EXPECT_EQ(fast->workflow_instance_id(), *id);
  ASSERT_OK(client().Update(*fast, TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  auto slow = client().BatchPoll("slow_lane", 1, 100);
  ASSERT_OK(slow.status());
  EXPECT_TRUE(slow->empty());
}

TEST_F(ConstructsTest, ForkRunsBranchesInParallelAndJoinWaitsForBoth) {
  WorkflowDef def;
  def.set_name("fan");
  def.set_version(1);
  WorkflowTask fork;
  fork.set_name("fork");
  fork.set_task_reference_name("fork");
  fork.set_type("FORK_JOIN");
  *fork.add_fork_tasks()->add_tasks() = SimpleTask("left_work", "left");
  *fork.add_fork_tasks()->add_tasks() = SimpleTask("right_work", "right");
  WorkflowTask join;
  join.set_name("join");
  join.set_task_reference_name("join");
  join.set_type("JOIN");
  join.add_join_on("left");
  join.add_join_on("right");
  *def.add_tasks() = fork;
  *def.add_tasks() = join;
  *def.add_tasks() = SimpleTask("after", "after");
  Define(def);

  auto id = client().Start("fan");
  ASSERT_OK(id.status());
  auto left = client().PollOne("left_work");
  auto right = client().PollOne("right_work");  // both scheduled before either ends
  ASSERT_TRUE(left.has_value());
  ASSERT_TRUE(right.has_value());
  ASSERT_OK(client().Update(*left, TaskResult::COMPLETED));
  auto early = client().BatchPoll("after", 1, 100);
  ASSERT_OK(early.status());
  EXPECT_TRUE(early->empty());  // JOIN still waits for the right branch
  ASSERT_OK(client().Update(*right, TaskResult::COMPLETED));
  auto after = client().PollOne("after");
  ASSERT_TRUE(after.has_value());
  ASSERT_OK(client().Update(*after, TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
}

class SubWorkflowTest : public ConstructsTest {
 protected:
  void SetUp() override {
    ConstructsTest::SetUp();
    WorkflowDef child;
    child.set_name("child");
    child.set_version(1);
    WorkflowTask step = SimpleTask("child_step", "step");
    (*step.mutable_input_parameters())["n"] = Str("${workflow.input.n}");
    *child.add_tasks() = step;
    (*child.mutable_output_parameters())["answer"] = Str("${step.output.answer}");
    Define(child);
    WorkflowDef parent;
    parent.set_name("parent");
    parent.set_version(1);
    WorkflowTask sub;
    sub.set_name("run_child");
    sub.set_task_reference_name("sub");
    sub.set_type("SUB_WORKFLOW");
    sub.mutable_sub_workflow_param()->set_name("child");
    sub.mutable_sub_workflow_param()->set_version(1);
    (*sub.mutable_input_parameters())["n"] = Num(7);
    *parent.add_tasks() = sub;
    (*parent.mutable_output_parameters())["from_child"] = Str("${sub.output.answer}");
    Define(parent);
  }
};

TEST_F(SubWorkflowTest, ChildEndCompletesTheParentTask) {
  auto id = client().Start("parent");
  ASSERT_OK(id.status());
  auto step = client().PollOne("child_step");
  ASSERT_TRUE(step.has_value());
  const std::string child_id = step->workflow_instance_id();
  EXPECT_NE(child_id, *id);
  EXPECT_EQ(step->input_data().at("n").number_value(), 7);
  auto parent = client().Get(*id);
  ASSERT_OK(parent.status());
  ASSERT_EQ(parent->tasks_size(), 1);
  EXPECT_EQ(parent->tasks(0).sub_workflow_id(), child_id);
  auto child = client().Get(child_id, false);
  ASSERT_OK(child.status());
  EXPECT_EQ(child->parent_workflow_id(), *id);

  ASSERT_OK(client().Update(*step, TaskResult::COMPLETED, {{"answer", Str("42")}}));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::COMPLETED; }));
  parent = client().Get(*id);
  ASSERT_OK(parent.status());
  EXPECT_EQ(parent->tasks(0).status(), Task::COMPLETED);
  EXPECT_EQ(parent->output().at("from_child").string_value(), "42");
  EXPECT_EQ(client().Status(child_id), Workflow::COMPLETED);
}

TEST_F(SubWorkflowTest, FailedChildFailsTheParentTask) {
  NoRetries("child_step");
  NoRetries("run_child");
  auto id = client().Start("parent");
  ASSERT_OK(id.status());
  auto step = client().PollOne("child_step");
  ASSERT_TRUE(step.has_value());
  ASSERT_OK(client().Update(*step, TaskResult::FAILED_WITH_TERMINAL_ERROR, {}, "broken"));
  ASSERT_TRUE(WaitFor([&] { return client().Status(*id) == Workflow::FAILED; }));
  auto parent = client().Get(*id);
  ASSERT_OK(parent.status());
  EXPECT_EQ(parent->tasks(0).status(), Task::FAILED);
  EXPECT_THAT(parent->tasks(0).reason_for_incompletion(), ::testing::HasSubstr("broken"));
}

TEST_F(SubWorkflowTest, TerminatingTheParentTerminatesTheChild) {
  auto id = client().Start("parent");
  ASSERT_OK(id.status());
  auto step = client().PollOne("child_step");
  ASSERT_TRUE(step.has_value());
  ws::TerminateWorkflowRequest req;
  req.set_workflow_id(*id);
  req.set_reason("stop");
  ws::TerminateWorkflowResponse resp;
  ASSERT_TRUE(client().workflows->TerminateWorkflow(client().Ctx().get(), req, &resp).ok());
  EXPECT_EQ(client().Status(step->workflow_instance_id()), Workflow::TERMINATED);
}

TEST_F(ConstructsTest, FailureWorkflowStartsWhenTheWorkflowFails) {
  WorkflowDef cleanup;
  cleanup.set_name("cleanup_flow");
  cleanup.set_version(1);
  WorkflowTask undo = SimpleTask("undo", "undo");
  (*undo.mutable_input_parameters())["failed"] = Str("${workflow.input.workflowId}");
  *cleanup.add_tasks() = undo;
  Define(cleanup);
  WorkflowDef main;
  main.set_name("fragile");
  main.set_version(1);
  main.set_failure_workflow("cleanup_flow");
  *main.add_tasks() = SimpleTask("breaks", "breaks");
  Define(main);

  auto id = client().Start("fragile");
  ASSERT_OK(id.status());
  auto t = client().PollOne("breaks");
  ASSERT_TRUE(t.has_value());
  ASSERT_OK(client().Update(*t, TaskResult::FAILED_WITH_TERMINAL_ERROR, {}, "nope"));
  auto u = client().PollOne("undo");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->input_data().at("failed").string_value(), *id);
  auto failed = client().Get(*id, false);
  ASSERT_OK(failed.status());
  EXPECT_EQ(failed->status(), Workflow::FAILED);
  EXPECT_EQ(failed->output().at("conductor.failure_workflow").string_value(),
            u->workflow_instance_id());
}

}  // namespace
}  // namespace cmig::orchestrator::test
