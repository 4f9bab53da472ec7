// Definitions written to hurt the orchestrator: a workflow that starts itself, as its own
// sub-workflow or as its own failure workflow, ends after a bounded chain with a reason saying
// why, and the server keeps serving. Numbers out of range are refused at registration, and
// numbers too large for milliseconds do not overflow into timeouts that fire at once.
#include "absl/synchronization/notification.h"
#include "orchestrator/decider.h"
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using ::testing::HasSubstr;

class HostileInputTest : public OrchestratorTest {};

// One INLINE task that adds one to its input `a`.
WorkflowDef AddOneWorkflow() {
  WorkflowDef def;
  def.set_name("add_one");
  def.set_version(1);
  WorkflowTask add;
  add.set_name("add");
  add.set_task_reference_name("add");
  add.set_type("INLINE");
  (*add.mutable_input_parameters())["evaluatorType"] = Str("javascript");
  (*add.mutable_input_parameters())["expression"] = Str("$.a + 1");
  (*add.mutable_input_parameters())["a"] = Str("${workflow.input.a}");
  *def.add_tasks() = add;
  return def;
}

WorkflowDef OneSimpleTaskWorkflow(const std::string& name, const std::string& task) {
  WorkflowDef def;
  def.set_name(name);
  def.set_version(1);
  *def.add_tasks() = SimpleTask(task, task);
  return def;
}

// Lets a held script go at the end of a test, whatever happened, so that the server can stop.
class Release {
 public:
  explicit Release(absl::Notification& n) : n_(n) {}
  ~Release() {
    if (!n_.HasBeenNotified()) n_.Notify();
  }
  Release(const Release&) = delete;
  Release& operator=(const Release&) = delete;

 private:
  absl::Notification& n_;
};

TEST_F(HostileInputTest, WorkflowThatIsItsOwnSubWorkflowFailsAtTheChainLimit) {
  WorkflowDef def;
  def.set_name("ouroboros");
  def.set_version(1);
  WorkflowTask sub;
  sub.set_name("again");
  sub.set_task_reference_name("again");
  sub.set_type("SUB_WORKFLOW");
  sub.mutable_sub_workflow_param()->set_name("ouroboros");
  *def.add_tasks() = sub;
  ASSERT_OK(client().CreateWorkflowDef(def));

  ASSERT_OK_AND_ASSIGN(const std::string id, client().Start("ouroboros"));
  ASSERT_TRUE(WaitFor([&] { return client().Status(id) == Workflow::FAILED; }))
      << "status " << client().Status(id);

  // Follow the chain of children down to the one whose sub-workflow was refused.
  int chain = 0;
  std::string current = id;
  std::string deepest_reason;
  while (!current.empty()) {
    ASSERT_OK_AND_ASSIGN(Workflow wf, client().Get(current));
    ++chain;
    EXPECT_EQ(wf.status(), Workflow::FAILED) << "workflow " << chain << " of the chain";
    ASSERT_EQ(wf.tasks_size(), 1);
    deepest_reason = wf.tasks(0).reason_for_incompletion();
    current = wf.tasks(0).sub_workflow_id();
  }
  EXPECT_EQ(chain, 100);
  EXPECT_THAT(deepest_reason, HasSubstr("would be number 101 in a chain of sub-workflows and "
                                        "failure workflows; the limit is 100"));
  ASSERT_OK_AND_ASSIGN(Workflow top, client().Get(id));
  EXPECT_THAT(top.reason_for_incompletion(), HasSubstr("the limit is 100"));
}

TEST_F(HostileInputTest, WorkflowThatIsItsOwnFailureWorkflowStopsAtTheChainLimit) {
  WorkflowDef def;
  def.set_name("phoenix");
  def.set_version(1);
  def.set_failure_workflow("phoenix");
  WorkflowTask end;
  end.set_name("end");
  end.set_task_reference_name("end");
  end.set_type("TERMINATE");
  (*end.mutable_input_parameters())["terminationStatus"] = Str("FAILED");
  *def.add_tasks() = end;
  ASSERT_OK(client().CreateWorkflowDef(def));

  ASSERT_OK_AND_ASSIGN(const std::string id, client().Start("phoenix"));
  // Each failed workflow names the failure workflow it started; the hundredth starts none.
  int chain = 0;
  std::string current = id;
  while (!current.empty()) {
    std::optional<Workflow> wf;
    ASSERT_TRUE(WaitFor([&] {
      absl::StatusOr<Workflow> got = client().Get(current);
      if (!got.ok() || got->status() != Workflow::FAILED) return false;
      wf = *std::move(got);
      return true;
    })) << "workflow "
        << chain + 1 << " of the chain did not fail";
    ++chain;
    auto next = wf->output().find("conductor.failure_workflow");
    current = next == wf->output().end() ? "" : next->second.string_value();
  }
  EXPECT_EQ(chain, 100);
  // The server still serves.
  ASSERT_OK_AND_ASSIGN(Workflow first, client().Get(id, false));
  EXPECT_EQ(first.workflow_id(), id);
}

// Numbers out of Conductor's ranges are refused at registration, each named, and nothing is
// stored; numbers too large for milliseconds are accepted and mean "practically never".
TEST_F(HostileInputTest, OutOfRangeNumbersAreRefusedAtRegistration) {
  TaskDef bad;
  bad.set_name("negative");
  bad.set_retry_count(-1);
  bad.set_response_timeout_seconds(-1);
  TaskDef fine;
  fine.set_name("fine");
  md::CreateTasksRequest req;
  *req.add_defs() = fine;
  *req.add_defs() = bad;
  md::CreateTasksResponse resp;
  ::grpc::Status s = client().metadata->CreateTasks(client().Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("task definition negative: TaskDef retryCount: -1 "
                                           "must be >= 0; TaskDef responseTimeoutSeconds: -1 "
                                           "should be minimum 1 second"));
  md::GetTaskRequest get;
  get.set_task_type("fine");
  md::GetTaskResponse got;
  EXPECT_EQ(client().metadata->GetTask(client().Ctx().get(), get, &got).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  WorkflowDef wf;
  wf.set_name("negative_version");
  wf.set_version(-2);
  WorkflowTask t;
  t.set_name("fine");
  t.set_task_reference_name("fine");
  t.set_start_delay(-1);
  *wf.add_tasks() = t;
  absl::Status created = client().CreateWorkflowDef(wf);
  EXPECT_EQ(created.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(created.message(), HasSubstr("WorkflowDef version: -2 must be >= 0"));
  EXPECT_THAT(created.message(), HasSubstr("task fine: WorkflowTask startDelay: -1"));
  md::GetWorkflowRequest wreq;
  wreq.set_name("negative_version");
  md::GetWorkflowResponse wresp;
  EXPECT_EQ(client().metadata->GetWorkflow(client().Ctx().get(), wreq, &wresp).error_code(),
            ::grpc::StatusCode::NOT_FOUND);
}

// A task and a workflow whose timeouts are INT64_MAX seconds run: neither times out at once.
TEST_F(HostileInputTest, HugeTimeoutsDoNotFireAtOnce) {
  TaskDef def;
  def.set_name("patient");
  def.set_timeout_seconds(INT64_MAX);
  def.set_response_timeout_seconds(INT64_MAX);
  def.set_total_timeout_seconds(INT64_MAX);
  ASSERT_OK(client().CreateTaskDef(def));
  WorkflowDef wf;
  wf.set_name("patient_flow");
  wf.set_version(1);
  wf.set_timeout_seconds(INT64_MAX);
  WorkflowTask t;
  t.set_name("patient");
  t.set_task_reference_name("patient");
  t.set_type("SIMPLE");
  *wf.add_tasks() = t;
  ASSERT_OK(client().CreateWorkflowDef(wf));

  ASSERT_OK_AND_ASSIGN(const std::string id, client().Start("patient_flow"));
  std::optional<Task> task = client().PollOne("patient");
  ASSERT_TRUE(task.has_value());
  // A progress update asking to be called back in INT64_MAX seconds, then a decide.
  ts::UpdateTaskRequest progress;
  progress.mutable_result()->set_task_id(task->task_id());
  progress.mutable_result()->set_workflow_instance_id(id);
  progress.mutable_result()->set_status(conductor::proto::TaskResult::IN_PROGRESS);
  progress.mutable_result()->set_callback_after_seconds(INT64_MAX);
  ts::UpdateTaskResponse progressed;
  ASSERT_TRUE(client().tasks->UpdateTask(client().Ctx().get(), progress, &progressed).ok());
  // Not handed out again before its callback time.
  ASSERT_OK_AND_ASSIGN(std::vector<Task> again, client().BatchPoll("patient", 1, 100));
  EXPECT_TRUE(again.empty());
  ASSERT_OK_AND_ASSIGN(Workflow running, client().Get(id));
  EXPECT_EQ(running.status(), Workflow::RUNNING);
  ASSERT_EQ(running.tasks_size(), 1);
  EXPECT_EQ(running.tasks(0).status(), Task::IN_PROGRESS);
  ASSERT_OK(client().Update(*task, conductor::proto::TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(id) == Workflow::COMPLETED; }))
      << "status " << client().Status(id);
}

// Conductor's payload limits: a result whose output is larger fails its task for good, without
// keeping the output; a start whose input is larger is refused, naming the limit.
TEST_F(HostileInputTest, PayloadsPastTheLimitsAreRefused) {
  options_.limits.max_task_output_bytes = 1000;
  options_.limits.max_workflow_input_bytes = 1000;
  Restart();
  WorkflowDef wf;
  wf.set_name("chatty");
  wf.set_version(1);
  WorkflowTask t;
  t.set_name("talk");
  t.set_task_reference_name("talk");
  t.set_type("SIMPLE");
  *wf.add_tasks() = t;
  ASSERT_OK(client().CreateWorkflowDef(wf));

  absl::StatusOr<std::string> refused =
      client().Start("chatty", {{"blob", Str(std::string(2000, 'i'))}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("is greater than the permissible limit: 1000 bytes"));

  ASSERT_OK_AND_ASSIGN(const std::string id, client().Start("chatty", {{"small", Str("ok")}}));
  std::optional<Task> task = client().PollOne("talk");
  ASSERT_TRUE(task.has_value());
  ASSERT_OK(client().Update(*task, conductor::proto::TaskResult::COMPLETED,
                            {{"blob", Str(std::string(2000, 'o'))}}));
  ASSERT_OK_AND_ASSIGN(Workflow after, client().Get(id));
  ASSERT_EQ(after.tasks_size(), 1);
  EXPECT_EQ(after.tasks(0).status(), Task::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_THAT(after.tasks(0).reason_for_incompletion(),
              HasSubstr("is greater than the permissible limit: 1000 bytes"));
  EXPECT_TRUE(after.tasks(0).output_data().empty());
  EXPECT_EQ(after.status(), Workflow::FAILED);
}

// A request nested past protobuf's parsing depth is refused as a bad argument that says why, not
// as a method the server lacks; the server keeps serving.
TEST_F(HostileInputTest, ARequestNestedPastTheParsingDepthIsAnInvalidArgument) {
  google::protobuf::Value deep = Str("bottom");
  for (int i = 0; i < 300; ++i) {
    google::protobuf::Value outer;
    (*outer.mutable_struct_value()->mutable_fields())["n"] = std::move(deep);
    deep = std::move(outer);
  }
  absl::StatusOr<std::string> refused = client().Start("anything", {{"deep", deep}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("does not parse"));
  EXPECT_THAT(refused.status().message(), HasSubstr("nested"));
  WorkflowDef wf;
  wf.set_name("still_serving");
  wf.set_version(1);
  WorkflowTask t;
  t.set_name("x");
  t.set_task_reference_name("x");
  t.set_type("SIMPLE");
  *wf.add_tasks() = t;
  EXPECT_OK(client().CreateWorkflowDef(wf));
}

// An INLINE script runs outside the engine's lock: while one is held mid-evaluation, another
// workflow starts, is worked and completes; once the script is let go its workflow completes.
TEST_F(HostileInputTest, AnInlineScriptRunsWhileTheServerServesOtherCalls) {
  absl::Notification entered;
  absl::Notification release;
  options_.inline_runner = [&](Task& task) {
    entered.Notify();
    release.WaitForNotification();
    RunInlineTask(task);
  };
  Restart();
  Release let_go(release);
  ASSERT_OK(client().CreateWorkflowDef(AddOneWorkflow()));
  ASSERT_OK(client().CreateWorkflowDef(OneSimpleTaskWorkflow("other", "other_task")));

  ASSERT_OK_AND_ASSIGN(const std::string held, client().Start("add_one", {{"a", Num(41)}}));
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(30)));

  ASSERT_OK_AND_ASSIGN(const std::string other, client().Start("other"));
  std::optional<Task> task = client().PollOne("other_task");
  ASSERT_TRUE(task.has_value());
  ASSERT_OK(client().Update(*task, conductor::proto::TaskResult::COMPLETED));
  ASSERT_TRUE(WaitFor([&] { return client().Status(other) == Workflow::COMPLETED; }));
  ASSERT_OK_AND_ASSIGN(Workflow waiting, client().Get(held));
  EXPECT_EQ(waiting.status(), Workflow::RUNNING);
  ASSERT_EQ(waiting.tasks_size(), 1);
  EXPECT_EQ(waiting.tasks(0).status(), Task::IN_PROGRESS);

  release.Notify();
  ASSERT_TRUE(WaitFor([&] { return client().Status(held) == Workflow::COMPLETED; }));
  ASSERT_OK_AND_ASSIGN(Workflow done, client().Get(held));
  EXPECT_EQ(done.tasks(0).status(), Task::COMPLETED);
  EXPECT_EQ(done.tasks(0).output_data().at("result").number_value(), 42);
}

// A script whose evaluation did not end (here a runner that gives up; in production an engine
// stopping mid-evaluation) is evaluated again by the next start of the same database.
TEST_F(HostileInputTest, AnInlineScriptLeftUnfinishedRunsAfterTheRestart) {
  absl::Notification declined;
  options_.inline_runner = [&](Task&) { declined.Notify(); };
  Restart();
  ASSERT_OK(client().CreateWorkflowDef(AddOneWorkflow()));
  ASSERT_OK_AND_ASSIGN(const std::string id, client().Start("add_one", {{"a", Num(1)}}));
  ASSERT_TRUE(declined.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_OK_AND_ASSIGN(Workflow waiting, client().Get(id));
  ASSERT_EQ(waiting.tasks_size(), 1);
  EXPECT_EQ(waiting.tasks(0).status(), Task::IN_PROGRESS);

  options_.inline_runner = nullptr;
  Restart();
  ASSERT_TRUE(WaitFor([&] { return client().Status(id) == Workflow::COMPLETED; }))
      << "status " << client().Status(id);
  ASSERT_OK_AND_ASSIGN(Workflow done, client().Get(id));
  EXPECT_EQ(done.tasks(0).output_data().at("result").number_value(), 2);
}

}  // namespace
}  // namespace cmig::orchestrator::test
