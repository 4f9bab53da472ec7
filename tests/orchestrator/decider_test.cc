#include "orchestrator/decider.h"

#include <map>
#include <string>
#include <vector>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace cmig::orchestrator {
namespace {

using conductor::proto::Task;
using conductor::proto::TaskDef;
using conductor::proto::Workflow;
using conductor::proto::WorkflowDef;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

google::protobuf::Value Num(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}
google::protobuf::Value Str(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

// Drives one workflow through Decide with a fake clock, counter ids and in-memory task defs,
// playing the engine's part (poll, update, sub-workflow end) by editing tasks directly.
class DeciderTest : public ::testing::Test {
 protected:
  void Start(const std::string& def_json, const std::string& input_json = "{}") {
    WorkflowDef def;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(def_json, &def).ok()) << def_json;
    *wf_.mutable_workflow_definition() = def;
    wf_.set_workflow_id("wf-1");
    wf_.set_correlation_id("corr-1");
    google::protobuf::Struct input;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(input_json, &input).ok());
    wf_.mutable_input()->insert(input.fields().begin(), input.fields().end());
  }

  void AddTaskDef(const std::string& json) {
    TaskDef def;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &def).ok()) << json;
    defs_[def.name()] = def;
  }

  Decision Run() {
    absl::StatusOr<Decision> d = Decide(
        wf_,
        [this](const std::string& name) -> const TaskDef* {
          auto it = defs_.find(name);
          return it == defs_.end() ? nullptr : &it->second;
        },
        [this] { return "t" + std::to_string(++next_id_); }, now_);
    EXPECT_OK(d.status());
    if (d.ok()) ExpectIdempotent();
    return d.ok() ? *std::move(d) : Decision{};
  }

  // Every decision in these tests is checked: deciding again at once changes nothing.
  void ExpectIdempotent() {
    Workflow again = wf_;
    absl::StatusOr<Decision> d = Decide(
        again,
        [this](const std::string& name) -> const TaskDef* {
          auto it = defs_.find(name);
          return it == defs_.end() ? nullptr : &it->second;
        },
        [] { return std::string("unexpected-new-task"); }, now_);
    ASSERT_OK(d.status());
    EXPECT_THAT(d->changed_task_ids, IsEmpty());
    EXPECT_THAT(d->enqueue_task_ids, IsEmpty());
    EXPECT_TRUE(d->start_workflows.empty());
    EXPECT_THAT(d->canceled_task_ids, IsEmpty());
    EXPECT_FALSE(d->workflow_changed);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again, wf_));
  }

  absl::Status RunStatus() {
    return Decide(
               wf_, [](const std::string&) -> const TaskDef* { return nullptr; },
               [this] { return "t" + std::to_string(++next_id_); }, now_)
        .status();
  }

  Task* Latest(const std::string& ref) {
    for (int i = wf_.tasks_size() - 1; i >= 0; --i) {
      if (wf_.tasks(i).reference_task_name() == ref) return wf_.mutable_tasks(i);
    }
    return nullptr;
  }

  std::vector<std::string> Refs(const std::vector<std::string>& ids) {
    std::vector<std::string> refs;
    for (const std::string& id : ids) {
      for (const Task& t : wf_.tasks()) {
        if (t.task_id() == id) refs.push_back(t.reference_task_name());
      }
    }
    return refs;
  }

  // What the engine does when a worker polls the task.
  void Poll(const std::string& ref) {
    Task* t = Latest(ref);
    ASSERT_NE(t, nullptr) << ref;
    t->set_status(Task::IN_PROGRESS);
    t->set_start_time(now_);
    t->set_update_time(now_);
    t->set_worker_id("worker-1");
  }

  void Finish(const std::string& ref, Task::Status status,
              const std::map<std::string, google::protobuf::Value>& output = {},
              const std::string& reason = "") {
    Task* t = Latest(ref);
    ASSERT_NE(t, nullptr) << ref;
    if (t->status() == Task::SCHEDULED) Poll(ref);
    t->set_status(status);
    t->set_end_time(now_);
    t->set_update_time(now_);
    t->set_reason_for_incompletion(reason);
    for (const auto& [k, v] : output) (*t->mutable_output_data())[k] = v;
  }

  Workflow wf_;
  std::map<std::string, TaskDef> defs_;
  int next_id_ = 0;
  int64_t now_ = 1'000'000;
};

constexpr char kTwoSimple[] = R"({
  "name": "two", "version": 1, "schemaVersion": 2,
  "tasks": [
    {"name": "a", "taskReferenceName": "a1", "type": "SIMPLE", "retryCount": -1,
     "inputParameters": {"x": "${workflow.input.x}", "id": "${workflow.workflowId}"}},
    {"name": "b", "taskReferenceName": "b1", "type": "SIMPLE", "retryCount": -1,
     "inputParameters": {"y": "${a1.output.val}", "msg": "got ${a1.output.val}!"}}
  ],
  "outputParameters": {"res": "${b1.output.r}", "first": "${a1.output.val}"}
})";

TEST_F(DeciderTest, SequentialTasksRunInOrderAndOutputParametersResolve) {
  Start(kTwoSimple, R"({"x": 7})");
  Decision d = Run();
  ASSERT_EQ(wf_.tasks_size(), 1);
  const Task& a = wf_.tasks(0);
  EXPECT_EQ(a.reference_task_name(), "a1");
  EXPECT_EQ(a.task_type(), "a");
  EXPECT_EQ(a.status(), Task::SCHEDULED);
  EXPECT_EQ(a.seq(), 1);
  EXPECT_EQ(a.scheduled_time(), now_);
  EXPECT_EQ(a.workflow_instance_id(), "wf-1");
  EXPECT_EQ(a.correlation_id(), "corr-1");
  EXPECT_EQ(a.input_data().at("x").number_value(), 7);
  EXPECT_EQ(a.input_data().at("id").string_value(), "wf-1");
  EXPECT_THAT(d.enqueue_task_ids, ElementsAre(a.task_id()));
  EXPECT_THAT(d.changed_task_ids, ElementsAre(a.task_id()));
  EXPECT_FALSE(d.workflow_changed);

  now_ += 100;
  Finish("a1", Task::COMPLETED, {{"val", Num(3)}});
  d = Run();
  ASSERT_EQ(wf_.tasks_size(), 2);
  const Task& b = wf_.tasks(1);
  EXPECT_EQ(b.reference_task_name(), "b1");
  EXPECT_EQ(b.seq(), 2);
  EXPECT_EQ(b.input_data().at("y").number_value(), 3);
  EXPECT_EQ(b.input_data().at("msg").string_value(), "got 3!");
  EXPECT_TRUE(wf_.tasks(0).executed());
  EXPECT_THAT(d.enqueue_task_ids, ElementsAre(b.task_id()));

  now_ += 100;
  Finish("b1", Task::COMPLETED, {{"r", Str("done")}});
  d = Run();
  EXPECT_TRUE(d.workflow_changed);
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
  EXPECT_EQ(wf_.end_time(), now_);
  EXPECT_EQ(wf_.output().at("res").string_value(), "done");
  EXPECT_EQ(wf_.output().at("first").number_value(), 3);
  EXPECT_FALSE(d.next_wake_ms.has_value());
}

TEST_F(DeciderTest, DecideIsIdempotent) {
  Start(kTwoSimple, R"({"x": 1})");
  Run();
  Workflow before = wf_;
  Decision again = Run();
  EXPECT_THAT(again.changed_task_ids, IsEmpty());
  EXPECT_THAT(again.enqueue_task_ids, IsEmpty());
  EXPECT_FALSE(again.workflow_changed);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(wf_, before));

  Finish("a1", Task::COMPLETED);
  Run();
  before = wf_;
  again = Run();
  EXPECT_THAT(again.changed_task_ids, IsEmpty());
  EXPECT_EQ(wf_.tasks_size(), 2);

  Finish("b1", Task::COMPLETED);
  Run();
  ASSERT_EQ(wf_.status(), Workflow::COMPLETED);
  again = Run();
  EXPECT_FALSE(again.workflow_changed);
  EXPECT_THAT(again.changed_task_ids, IsEmpty());
}

TEST_F(DeciderTest, WithoutOutputParametersTheLastTaskOutputIsTheWorkflowOutput) {
  Start(R"({"name": "w", "tasks": [
    {"name": "a", "taskReferenceName": "a1", "type": "SIMPLE"},
    {"name": "b", "taskReferenceName": "b1", "type": "SIMPLE"}]})");
  Run();
  Finish("a1", Task::COMPLETED, {{"k", Str("from-a")}});
  Run();
  Finish("b1", Task::COMPLETED, {{"k", Str("from-b")}});
  Run();
  ASSERT_EQ(wf_.status(), Workflow::COMPLETED);
  EXPECT_EQ(wf_.output().at("k").string_value(), "from-b");
}

TEST_F(DeciderTest, StartDelayAndDomainsApplyToNewTasks) {
  Start(R"({"name": "w", "tasks": [
    {"name": "a", "taskReferenceName": "a1", "type": "SIMPLE", "startDelay": 5},
    {"name": "b", "taskReferenceName": "b1", "type": "CUSTOM_WORKER"}]})");
  (*wf_.mutable_task_to_domain())["*"] = "everyone";
  (*wf_.mutable_task_to_domain())["CUSTOM_WORKER"] = "d1,special";
  Decision d = Run();
  EXPECT_EQ(Latest("a1")->callback_after_seconds(), 5);
  EXPECT_EQ(Latest("a1")->domain(), "everyone");
  Finish("a1", Task::COMPLETED);
  d = Run();
  // An unknown type is a worker task queued under its type; without poll data Conductor
  // picks the last domain listed.
  Task* b = Latest("b1");
  EXPECT_EQ(b->task_type(), "CUSTOM_WORKER");
  EXPECT_EQ(b->domain(), "special");
  EXPECT_THAT(d.enqueue_task_ids, ElementsAre(b->task_id()));
}

TEST_F(DeciderTest, TaskDefinitionInputTemplateFillsGaps) {
  AddTaskDef(R"({"name": "a", "inputTemplate": {"region": "eu", "x": "fallback",
                                                "who": "${workflow.workflowId}"}})");
  Start(R"({"name": "w", "tasks": [
    {"name": "a", "taskReferenceName": "a1", "type": "SIMPLE",
     "inputParameters": {"x": "${workflow.input.missing}", "region": "us"}}]})");
  Run();
  const auto& in = Latest("a1")->input_data();
  EXPECT_EQ(in.at("region").string_value(), "us");   // the workflow task wins
  EXPECT_EQ(in.at("x").string_value(), "fallback");  // null falls back to the template
  EXPECT_EQ(in.at("who").string_value(), "wf-1");    // template values are resolved too
}

TEST_F(DeciderTest, EmptyDefinitionCompletesAtOnce) {
  Start(R"({"name": "empty"})");
  Decision d = Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
  EXPECT_EQ(wf_.reason_for_incompletion(), "No tasks found to be executed");
  EXPECT_TRUE(d.workflow_changed);
}

// ---- Retries -----------------------------------------------------------------------------------

struct DelayCase {
  std::string def_json;
  std::vector<int64_t> delays;  // for retry_count 0, 1, 2, ...
};

TEST(RetryDelaySecondsTest, MatchesConductorFormulas) {
  const std::vector<DelayCase> cases = {
      {R"({"retryLogic": "FIXED", "retryDelaySeconds": 5})", {5, 5, 5, 5}},
      {R"({"retryLogic": "FIXED", "retryDelaySeconds": 50, "maxRetryDelaySeconds": 20})", {20, 20}},
      {R"({"retryLogic": "LINEAR_BACKOFF", "retryDelaySeconds": 2, "backoffScaleFactor": 3})",
       {6, 12, 18, 24}},
      {R"({"retryLogic": "LINEAR_BACKOFF", "retryDelaySeconds": 2, "backoffScaleFactor": 3,
           "maxRetryDelaySeconds": 15})",
       {6, 12, 15, 15}},
      // Proto3 leaves backoffScaleFactor at 0 when unset, and Conductor multiplies by it.
      {R"({"retryLogic": "LINEAR_BACKOFF", "retryDelaySeconds": 2})", {0, 0}},
      {R"({"retryLogic": "EXPONENTIAL_BACKOFF", "retryDelaySeconds": 3})", {3, 6, 12, 24, 48}},
      {R"({"retryLogic": "EXPONENTIAL_BACKOFF", "retryDelaySeconds": 3,
           "maxRetryDelaySeconds": 10})",
       {3, 6, 10, 10}},
  };
  for (const DelayCase& c : cases) {
    TaskDef def;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(c.def_json, &def).ok());
    for (size_t i = 0; i < c.delays.size(); ++i) {
      EXPECT_EQ(RetryDelaySeconds(def, static_cast<int>(i)), c.delays[i])
          << c.def_json << " retry " << i;
    }
  }
}

TEST(RetryDelaySecondsTest, OverflowSaturatesLikeJavaInts) {
  TaskDef def;
  def.set_retry_logic(TaskDef::EXPONENTIAL_BACKOFF);
  def.set_retry_delay_seconds(1000);
  EXPECT_EQ(RetryDelaySeconds(def, 21), 2'097'152'000);
  // 1000 * 2^22 wraps to a negative int in Java, which Conductor resets to Integer.MAX_VALUE.
  EXPECT_EQ(RetryDelaySeconds(def, 22), INT32_MAX);
  def.set_max_retry_delay_seconds(3600);
  EXPECT_EQ(RetryDelaySeconds(def, 22), 3600);
  EXPECT_EQ(RetryDelaySeconds(def, 40), 3600);

  // (int) Math.pow(2, 31) saturates at Integer.MAX_VALUE and 5 * that wraps to a positive int.
  TaskDef wraps;
  wraps.set_retry_logic(TaskDef::EXPONENTIAL_BACKOFF);
  wraps.set_retry_delay_seconds(5);
  EXPECT_EQ(RetryDelaySeconds(wraps, 31), 2'147'483'643);

  TaskDef linear;
  linear.set_retry_logic(TaskDef::LINEAR_BACKOFF);
  linear.set_retry_delay_seconds(1 << 20);
  linear.set_backoff_scale_factor(1 << 10);
  EXPECT_EQ(RetryDelaySeconds(linear, 1), INT32_MAX);
}

constexpr char kOneTask[] = R"({"name": "w", "tasks": [
  {"name": "job", "taskReferenceName": "job1", "type": "SIMPLE", "retryCount": -1}]})";

TEST_F(DeciderTest, FailedTaskIsRetriedAsANewAttemptWithBackoff) {
  AddTaskDef(R"({"name": "job", "retryCount": 2, "retryLogic": "EXPONENTIAL_BACKOFF",
                 "retryDelaySeconds": 4, "responseTimeoutSeconds": 60})");
  Start(kOneTask);
  Run();
  std::string first_id = Latest("job1")->task_id();
  Finish("job1", Task::FAILED, {}, "boom");
  Decision d = Run();
  ASSERT_EQ(wf_.tasks_size(), 2);
  const Task& old = wf_.tasks(0);
  const Task& retry = wf_.tasks(1);
  EXPECT_TRUE(old.retried());
  EXPECT_EQ(old.status(), Task::FAILED);
  EXPECT_NE(retry.task_id(), first_id);
  EXPECT_EQ(retry.retried_task_id(), first_id);
  EXPECT_EQ(retry.retry_count(), 1);
  EXPECT_EQ(retry.status(), Task::SCHEDULED);
  EXPECT_EQ(retry.callback_after_seconds(), 4);
  EXPECT_EQ(retry.scheduled_time(), now_);
  EXPECT_EQ(retry.seq(), 2);
  EXPECT_TRUE(retry.worker_id().empty());
  EXPECT_EQ(retry.reason_for_incompletion(), "boom");
  EXPECT_THAT(d.enqueue_task_ids, ElementsAre(retry.task_id()));
  EXPECT_THAT(d.changed_task_ids, UnorderedElementsAre(first_id, retry.task_id()));

  Finish("job1", Task::FAILED, {}, "boom again");
  Run();
  ASSERT_EQ(wf_.tasks_size(), 3);
  EXPECT_EQ(wf_.tasks(2).retry_count(), 2);
  EXPECT_EQ(wf_.tasks(2).callback_after_seconds(), 8);

  Finish("job1", Task::FAILED, {}, "third strike");
  d = Run();
  EXPECT_EQ(wf_.tasks_size(), 3);
  EXPECT_EQ(wf_.status(), Workflow::FAILED);
  EXPECT_EQ(
      wf_.reason_for_incompletion(),
      "Task " + wf_.tasks(2).task_id() + " failed with status: FAILED and reason: 'third strike'");
  EXPECT_THAT(wf_.failed_reference_task_names(), ElementsAre("job1"));
  EXPECT_THAT(wf_.failed_task_names(), ElementsAre("job"));
  EXPECT_TRUE(d.workflow_changed);
}

TEST_F(DeciderTest, WorkflowTaskRetryCountOverridesTheDefinition) {
  AddTaskDef(R"({"name": "job", "retryCount": 5, "retryDelaySeconds": 1})");
  Start(R"({"name": "w", "tasks": [
    {"name": "job", "taskReferenceName": "job1", "type": "SIMPLE", "retryCount": 0}]})");
  Run();
  Finish("job1", Task::FAILED);
  Run();
  EXPECT_EQ(wf_.tasks_size(), 1);
  EXPECT_EQ(wf_.status(), Workflow::FAILED);
}

TEST_F(DeciderTest, TaskWithoutItsWorkflowTaskFallsBackToTheDefinition) {
  AddTaskDef(R"({"name": "job", "retryCount": 1, "retryDelaySeconds": 3})");
  Start(kOneTask);
  Run();
  Finish("job1", Task::FAILED);
  Latest("job1")->clear_workflow_task();
  Run();
  ASSERT_EQ(wf_.tasks_size(), 2);
  EXPECT_EQ(wf_.tasks(1).callback_after_seconds(), 3);
}

TEST_F(DeciderTest, TerminalErrorIsNeverRetried) {
  AddTaskDef(R"({"name": "job", "retryCount": 5})");
  Start(kOneTask);
  Run();
  Finish("job1", Task::FAILED_WITH_TERMINAL_ERROR, {}, "bad input");
  Run();
  EXPECT_EQ(wf_.tasks_size(), 1);
  EXPECT_EQ(wf_.status(), Workflow::FAILED);
  EXPECT_THAT(wf_.reason_for_incompletion(), HasSubstr("bad input"));
  EXPECT_THAT(wf_.failed_reference_task_names(), ElementsAre("job1"));
}

TEST_F(DeciderTest, SimpleTaskWithoutDefinitionGetsConductorDefaults) {
  Start(kOneTask);
  Run();
  EXPECT_EQ(Latest("job1")->response_timeout_seconds(), 3600);
  Finish("job1", Task::FAILED);
  Run();
  // An ad-hoc SIMPLE TaskDef retries 3 times, 60 seconds apart.
  ASSERT_EQ(wf_.tasks_size(), 2);
  EXPECT_EQ(wf_.tasks(1).callback_after_seconds(), 60);
}

TEST_F(DeciderTest, OptionalTaskFailureLetsTheWorkflowContinue) {
  AddTaskDef(R"({"name": "a", "retryCount": 0})");
  Start(R"({"name": "w", "tasks": [
    {"name": "a", "taskReferenceName": "a1", "type": "SIMPLE", "optional": true,
     "retryCount": -1},
    {"name": "b", "taskReferenceName": "b1", "type": "SIMPLE"}]})");
  Run();
  Finish("a1", Task::FAILED, {}, "flaky");
  Run();
  EXPECT_EQ(Latest("a1")->status(), Task::COMPLETED_WITH_ERRORS);
  ASSERT_NE(Latest("b1"), nullptr);
  Finish("b1", Task::COMPLETED);
  Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
}

// ---- Timeouts ----------------------------------------------------------------------------------

TEST_F(DeciderTest, SilentWorkerTimesOutAfterResponseTimeoutAndTaskIsRetried) {
  AddTaskDef(R"({"name": "job", "retryCount": 1, "retryDelaySeconds": 2,
                 "responseTimeoutSeconds": 10})");
  Start(kOneTask);
  Run();
  Poll("job1");
  int64_t polled_at = now_;
  now_ += 5000;
  Decision d = Run();
  EXPECT_THAT(d.changed_task_ids, IsEmpty());
  ASSERT_TRUE(d.next_wake_ms.has_value());
  EXPECT_EQ(*d.next_wake_ms, polled_at + 10'000);

  now_ = polled_at + 9'999;
  Run();
  EXPECT_EQ(Latest("job1")->status(), Task::IN_PROGRESS);

  now_ = polled_at + 10'000;
  d = Run();
  ASSERT_EQ(wf_.tasks_size(), 2);
  EXPECT_EQ(wf_.tasks(0).status(), Task::TIMED_OUT);
  EXPECT_THAT(wf_.tasks(0).reason_for_incompletion(), HasSubstr("responseTimeout: 10"));
  EXPECT_TRUE(wf_.tasks(0).retried());
  EXPECT_EQ(wf_.tasks(1).status(), Task::SCHEDULED);
  EXPECT_EQ(wf_.tasks(1).callback_after_seconds(), 2);
  EXPECT_EQ(wf_.tasks(1).retry_count(), 1);
  EXPECT_THAT(d.enqueue_task_ids, ElementsAre(wf_.tasks(1).task_id()));

  // The second attempt also goes silent; no retries are left, so the workflow times out. Its
  // callbackAfterSeconds (the retry delay) extends the response deadline, as in Conductor.
  Poll("job1");
  now_ += 11'999;
  Run();
  EXPECT_EQ(wf_.status(), Workflow::RUNNING);
  now_ += 1;
  Run();
  EXPECT_EQ(wf_.status(), Workflow::TIMED_OUT);
}

TEST_F(DeciderTest, ProgressUpdatesPushTheResponseDeadline) {
  AddTaskDef(R"({"name": "job", "retryCount": 0, "responseTimeoutSeconds": 10})");
  Start(kOneTask);
  Run();
  Poll("job1");
  now_ += 8000;
  Latest("job1")->set_update_time(now_);
  Latest("job1")->set_callback_after_seconds(5);
  Decision d = Run();
  EXPECT_EQ(*d.next_wake_ms, now_ + 15'000);
  now_ += 14'000;
  Run();
  EXPECT_EQ(Latest("job1")->status(), Task::IN_PROGRESS);
}

TEST_F(DeciderTest, PollTimeoutTimesOutATaskNobodyPicksUp) {
  AddTaskDef(R"({"name": "job", "retryCount": 0, "pollTimeoutSeconds": 30,
                 "timeoutPolicy": "RETRY"})");
  Start(kOneTask);
  int64_t scheduled = now_;
  Decision d = Run();
  EXPECT_EQ(*d.next_wake_ms, scheduled + 30'000);
  now_ = scheduled + 30'000;
  Run();
  EXPECT_EQ(wf_.tasks(0).status(), Task::TIMED_OUT);
  EXPECT_THAT(wf_.tasks(0).reason_for_incompletion(), HasSubstr("Task poll timed out"));
  EXPECT_EQ(wf_.status(), Workflow::TIMED_OUT);
}

TEST_F(DeciderTest, TaskTimeoutPolicies) {
  struct Case {
    std::string policy;
    Task::Status task_status;
    Workflow::WorkflowStatus workflow_status;
    int tasks;
  };
  for (const Case& c : std::vector<Case>{{"TIME_OUT_WF", Task::TIMED_OUT, Workflow::TIMED_OUT, 1},
                                         {"RETRY", Task::TIMED_OUT, Workflow::RUNNING, 2},
                                         {"ALERT_ONLY", Task::IN_PROGRESS, Workflow::RUNNING, 1}}) {
    SCOPED_TRACE(c.policy);
    wf_ = Workflow();
    defs_.clear();
    AddTaskDef(R"({"name": "job", "retryCount": 1, "timeoutSeconds": 60,
                   "responseTimeoutSeconds": 0, "timeoutPolicy": ")" +
               c.policy + R"("})");
    Start(kOneTask);
    Run();
    Poll("job1");
    Decision d = Run();
    if (c.policy != "ALERT_ONLY") EXPECT_EQ(*d.next_wake_ms, now_ + 60'000);
    now_ += 60'000;
    d = Run();
    EXPECT_EQ(wf_.tasks(0).status(), c.task_status);
    EXPECT_EQ(wf_.status(), c.workflow_status);
    EXPECT_EQ(wf_.tasks_size(), c.tasks);
    if (c.policy == "ALERT_ONLY") EXPECT_FALSE(d.next_wake_ms.has_value());
  }
}

TEST_F(DeciderTest, TotalTimeoutSpansEveryAttempt) {
  AddTaskDef(R"({"name": "job", "retryCount": 10, "retryDelaySeconds": 20,
                 "responseTimeoutSeconds": 0, "totalTimeoutSeconds": 50,
                 "timeoutPolicy": "RETRY"})");
  Start(kOneTask);
  int64_t first = now_;
  Decision d = Run();
  EXPECT_EQ(*d.next_wake_ms, first + 50'000);
  now_ += 10'000;
  Finish("job1", Task::FAILED);
  Run();
  ASSERT_EQ(wf_.tasks_size(), 2);  // 10 s spent: a second attempt, 20 s later
  now_ = first + 50'000;           // the budget runs out while the retry waits
  Run();
  EXPECT_EQ(wf_.tasks(1).status(), Task::TIMED_OUT);
  EXPECT_THAT(wf_.tasks(1).reason_for_incompletion(), HasSubstr("exceeded total timeout of 50"));
  EXPECT_EQ(wf_.tasks_size(), 2);  // and no third attempt
  EXPECT_EQ(wf_.status(), Workflow::TIMED_OUT);
}

TEST_F(DeciderTest, WorkflowTimeoutTimesOutTheWorkflow) {
  Start(R"({"name": "w", "timeoutSeconds": 100, "timeoutPolicy": "TIME_OUT_WF", "tasks": [
    {"name": "job", "taskReferenceName": "job1", "type": "SIMPLE"}]})");
  int64_t start = now_;
  Decision d = Run();
  EXPECT_EQ(*d.next_wake_ms, start + 100'000);
  Poll("job1");
  now_ = start + 100'000;
  d = Run();
  EXPECT_EQ(wf_.status(), Workflow::TIMED_OUT);
  EXPECT_THAT(wf_.reason_for_incompletion(), HasSubstr("Workflow timed out after 100 seconds"));
  EXPECT_EQ(wf_.tasks(0).status(), Task::CANCELED);
  EXPECT_THAT(d.canceled_task_ids, ElementsAre(wf_.tasks(0).task_id()));
}

// Seconds too large for milliseconds in an int64_t mean "practically never", not an overflow to
// a negative limit that times everything out at once.
TEST_F(DeciderTest, HugeTimeoutsNeverFire) {
  AddTaskDef(R"({"name": "job", "retryCount": 0, "timeoutSeconds": 9223372036854775807,
                 "responseTimeoutSeconds": 9223372036854775807,
                 "totalTimeoutSeconds": 9223372036854775807,
                 "pollTimeoutSeconds": 2147483647, "timeoutPolicy": "TIME_OUT_WF"})");
  Start(R"({"name": "w", "timeoutSeconds": 9223372036854775807, "timeoutPolicy": "TIME_OUT_WF",
    "tasks": [{"name": "job", "taskReferenceName": "job1", "type": "SIMPLE"}]})");
  Decision d = Run();
  ASSERT_TRUE(d.next_wake_ms.has_value());
  EXPECT_GT(*d.next_wake_ms, now_ + 1'000'000'000'000LL);  // decades away
  Poll("job1");
  Latest("job1")->set_callback_after_seconds(INT64_MAX);
  now_ += 365LL * 24 * 3600 * 1000;  // a year later
  d = Run();
  EXPECT_EQ(Latest("job1")->status(), Task::IN_PROGRESS);
  EXPECT_EQ(wf_.status(), Workflow::RUNNING);
  ASSERT_TRUE(d.next_wake_ms.has_value());
  EXPECT_GT(*d.next_wake_ms, now_);
}

// ---- SWITCH / DECISION -------------------------------------------------------------------------

constexpr char kSwitchDef[] = R"({"name": "w", "tasks": [
  {"name": "sw", "taskReferenceName": "sw1", "type": "SWITCH",
   "evaluatorType": "%s", "expression": "%s",
   "inputParameters": {"kind": "${workflow.input.kind}"},
   "decisionCases": {
     "a": {"tasks": [{"name": "ta", "taskReferenceName": "ta1", "type": "SIMPLE"},
                     {"name": "ta2", "taskReferenceName": "ta2", "type": "SIMPLE"}]},
     "b": {"tasks": [{"name": "tb", "taskReferenceName": "tb1", "type": "SIMPLE"}]},
     "none": {}},
   "defaultCase": [{"name": "td", "taskReferenceName": "td1", "type": "SIMPLE"}]},
  {"name": "after", "taskReferenceName": "after1", "type": "SIMPLE"}]})";

std::string SwitchDef(const std::string& evaluator, const std::string& expression) {
  char buf[4096];
  std::snprintf(buf, sizeof(buf), kSwitchDef, evaluator.c_str(), expression.c_str());
  return buf;
}

TEST_F(DeciderTest, SwitchSchedulesTheSelectedCase) {
  struct Case {
    std::string evaluator, expression, kind, first_ref;
  };
  const std::vector<Case> cases = {
      {"value-param", "kind", "a", "ta1"},
      {"value-param", "kind", "b", "tb1"},
      {"value-param", "kind", "zzz", "td1"},
      {"value-param", "kind", "none", "after1"},  // an empty case does not fall back to default
      {"javascript", "$.kind == 'b' ? 'b' : 'a'", "b", "tb1"},
      {"javascript", "$.kind == 'b' ? 'b' : 'a'", "q", "ta1"},
      {"javascript", "$.kind", "zzz", "td1"},
      {"graaljs", "($.kind === 'a') ? 'a' : 'other'", "a", "ta1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.evaluator + " " + c.expression + " " + c.kind);
    wf_ = Workflow();
    Start(SwitchDef(c.evaluator, c.expression), R"({"kind": ")" + c.kind + R"("})");
    Decision d = Run();
    Task* sw = Latest("sw1");
    ASSERT_NE(sw, nullptr);
    EXPECT_EQ(sw->status(), Task::COMPLETED);
    EXPECT_EQ(sw->task_type(), "SWITCH");
    ASSERT_NE(Latest(c.first_ref), nullptr);
    EXPECT_EQ(Latest(c.first_ref)->status(), Task::SCHEDULED);
    EXPECT_THAT(Refs(d.enqueue_task_ids), ElementsAre(c.first_ref));
  }
}

TEST_F(DeciderTest, SwitchCaseRunsToItsEndThenTheWorkflowContinues) {
  Start(SwitchDef("value-param", "kind"), R"({"kind": "a"})");
  Run();
  EXPECT_EQ(Latest("sw1")->output_data().at("selectedCase").string_value(), "a");
  Finish("ta1", Task::COMPLETED);
  Run();
  ASSERT_NE(Latest("ta2"), nullptr);
  Finish("ta2", Task::COMPLETED);
  Run();
  ASSERT_NE(Latest("after1"), nullptr);
  EXPECT_EQ(Latest("tb1"), nullptr);
  Finish("after1", Task::COMPLETED, {{"z", Num(1)}});
  Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
}

TEST_F(DeciderTest, UnsupportedScriptIsRejectedNamingTheTask) {
  Start(SwitchDef("javascript", "$.kind.toUpperCase()"), R"({"kind": "a"})");
  absl::Status s = RunStatus();
  EXPECT_THAT(s, testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'sw1'")));
  EXPECT_THAT(s.message(), HasSubstr("function and method calls"));
  EXPECT_EQ(wf_.tasks_size(), 0);  // a rejected decision changes nothing
}

TEST_F(DeciderTest, UnknownEvaluatorIsRejected) {
  Start(SwitchDef("python", "x"), R"({"kind": "a"})");
  EXPECT_THAT(RunStatus(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("python")));
}

TEST_F(DeciderTest, DecisionUsesCaseValueParamOrCaseExpression) {
  for (const std::string& how :
       {std::string(R"("caseValueParam": "kind")"),
        std::string(R"("caseExpression": "$.kind == 'x' ? 'yes' : 'no'")")}) {
    SCOPED_TRACE(how);
    wf_ = Workflow();
    Start(R"({"name": "w", "tasks": [
      {"name": "d", "taskReferenceName": "d1", "type": "DECISION", )" +
              how + R"(,
       "inputParameters": {"kind": "${workflow.input.kind}"},
       "decisionCases": {"x": {"tasks": [{"name": "tx", "taskReferenceName": "tx1"}]},
                         "yes": {"tasks": [{"name": "tx", "taskReferenceName": "tx1"}]}},
       "defaultCase": [{"name": "td", "taskReferenceName": "td1", "type": "SIMPLE"}]}]})",
          R"({"kind": "x"})");
    Run();
    EXPECT_EQ(Latest("d1")->task_type(), "DECISION");
    EXPECT_EQ(Latest("d1")->status(), Task::COMPLETED);
    ASSERT_NE(Latest("tx1"), nullptr);
    EXPECT_EQ(Latest("td1"), nullptr);
    Finish("tx1", Task::COMPLETED);
    Run();
    EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
  }
}

// ---- FORK / JOIN -------------------------------------------------------------------------------

constexpr char kForkDef[] = R"({"name": "w", "tasks": [
  {"name": "fork", "taskReferenceName": "fork1", "type": "FORK_JOIN", "forkTasks": [
    {"tasks": [{"name": "l", "taskReferenceName": "l1", "type": "SIMPLE"},
               {"name": "l", "taskReferenceName": "l2", "type": "SIMPLE"}]},
    {"tasks": [{"name": "r", "taskReferenceName": "r1", "type": "SIMPLE", "optional": %s,
                "retryCount": 0}]},
    {"tasks": [{"name": "sw", "taskReferenceName": "sw1", "type": "SWITCH",
                "evaluatorType": "value-param", "expression": "kind",
                "inputParameters": {"kind": "${workflow.input.kind}"},
                "decisionCases": {"go": {"tasks": [
                  {"name": "n", "taskReferenceName": "n1", "type": "SIMPLE"}]}}}]}
  ]},
  {"name": "join", "taskReferenceName": "join1", "type": "JOIN", "joinOn": ["l2", "r1", "sw1", "n1"]},
  {"name": "end", "taskReferenceName": "end1", "type": "SIMPLE",
   "inputParameters": {"left": "${join1.output.l2.v}"}}]})";

std::string ForkDef(bool optional) {
  char buf[4096];
  std::snprintf(buf, sizeof(buf), kForkDef, optional ? "true" : "false");
  return buf;
}

TEST_F(DeciderTest, ForkSchedulesEveryBranchAndJoinWaitsForAll) {
  Start(ForkDef(false), R"({"kind": "go"})");
  Decision d = Run();
  EXPECT_EQ(Latest("fork1")->task_type(), "FORK");
  EXPECT_EQ(Latest("fork1")->status(), Task::COMPLETED);
  EXPECT_EQ(Latest("join1")->status(), Task::IN_PROGRESS);
  EXPECT_EQ(Latest("sw1")->status(), Task::COMPLETED);  // nested SWITCH inside the fork
  EXPECT_THAT(Refs(d.enqueue_task_ids), UnorderedElementsAre("l1", "r1", "n1"));

  Finish("l1", Task::COMPLETED);
  Finish("r1", Task::COMPLETED, {{"rv", Num(2)}});
  Finish("n1", Task::COMPLETED);
  Run();
  EXPECT_EQ(Latest("join1")->status(), Task::IN_PROGRESS);  // l2 still missing
  ASSERT_NE(Latest("l2"), nullptr);
  EXPECT_EQ(Latest("end1"), nullptr);

  Finish("l2", Task::COMPLETED, {{"v", Str("left")}});
  d = Run();
  const Task* join = Latest("join1");
  EXPECT_EQ(join->status(), Task::COMPLETED);
  EXPECT_EQ(join->output_data().at("r1").struct_value().fields().at("rv").number_value(), 2);
  ASSERT_NE(Latest("end1"), nullptr);
  EXPECT_EQ(Latest("end1")->input_data().at("left").string_value(), "left");
  Finish("end1", Task::COMPLETED);
  Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
}

TEST_F(DeciderTest, FailedBranchFailsTheWorkflowAndCancelsTheRest) {
  Start(ForkDef(false), R"({"kind": "go"})");
  Run();
  Finish("r1", Task::FAILED, {}, "right broke");
  Decision d = Run();
  EXPECT_EQ(wf_.status(), Workflow::FAILED);
  EXPECT_EQ(Latest("l1")->status(), Task::CANCELED);
  EXPECT_EQ(Latest("join1")->status(), Task::CANCELED);
  EXPECT_THAT(Refs(d.canceled_task_ids), UnorderedElementsAre("l1", "n1", "join1"));
}

TEST_F(DeciderTest, JoinKeepsWaitingForAReferenceThatNeverRan) {
  Start(ForkDef(true), R"({"kind": "skip"})");  // the SWITCH picks no branch
  Run();
  Finish("l1", Task::COMPLETED);
  Finish("r1", Task::FAILED, {}, "meh");
  Run();
  Finish("l2", Task::COMPLETED);
  Run();
  // n1 never ran, so the JOIN on it keeps waiting, exactly as Conductor's join would.
  EXPECT_EQ(Latest("join1")->status(), Task::IN_PROGRESS);
  EXPECT_EQ(Latest("r1")->status(), Task::COMPLETED_WITH_ERRORS);
}

TEST_F(DeciderTest, JoinCompletesWithErrorsAfterAnOptionalBranchFailed) {
  Start(ForkDef(true), R"({"kind": "go"})");
  Run();
  Finish("r1", Task::FAILED, {}, "meh");
  Run();
  Finish("l1", Task::COMPLETED);
  Finish("n1", Task::COMPLETED);
  Run();
  Finish("l2", Task::COMPLETED);
  Run();
  const Task* join = Latest("join1");
  EXPECT_EQ(join->status(), Task::COMPLETED_WITH_ERRORS);
  EXPECT_EQ(join->reason_for_incompletion(),
            "r/" + Latest("r1")->task_id() + " completed with errors");
  ASSERT_NE(Latest("end1"), nullptr);
  Finish("end1", Task::COMPLETED);
  Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
  EXPECT_THAT(wf_.failed_reference_task_names(), IsEmpty());
}

TEST_F(DeciderTest, ForkWithoutJoinIsRejected) {
  Start(R"({"name": "w", "tasks": [
    {"name": "fork", "taskReferenceName": "fork1", "type": "FORK_JOIN", "forkTasks": [
      {"tasks": [{"name": "l", "taskReferenceName": "l1", "type": "SIMPLE"}]}]}]})");
  EXPECT_THAT(RunStatus(), testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("followed by a JOIN")));
}

// ---- SUB_WORKFLOW ------------------------------------------------------------------------------

TEST_F(DeciderTest, SubWorkflowIsStartedAndWaitedFor) {
  Start(R"({"name": "parent", "tasks": [
    {"name": "child", "taskReferenceName": "child1", "type": "SUB_WORKFLOW",
     "subWorkflowParam": {"name": "child_wf", "version": 3, "taskToDomain": {"*": "dom"}},
     "inputParameters": {"p": "${workflow.input.p}"}},
    {"name": "next", "taskReferenceName": "next1", "type": "SIMPLE",
     "inputParameters": {"c": "${child1.output.result}"}}]})",
        R"({"p": "v"})");
  Decision d = Run();
  Task* child = Latest("child1");
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->status(), Task::IN_PROGRESS);
  EXPECT_THAT(d.enqueue_task_ids, IsEmpty());
  ASSERT_EQ(d.start_workflows.size(), 1u);
  const WorkflowStart& s = d.start_workflows[0];
  EXPECT_EQ(s.kind, WorkflowStart::Kind::kSubWorkflow);
  EXPECT_EQ(s.parent_task_id, child->task_id());
  EXPECT_EQ(s.request.name(), "child_wf");
  EXPECT_EQ(s.request.version(), 3);
  EXPECT_EQ(s.request.input().at("p").string_value(), "v");
  EXPECT_EQ(s.request.correlation_id(), "corr-1");
  EXPECT_EQ(s.request.task_to_domain().at("*"), "dom");

  // Nothing more happens until the engine reports the child's end.
  d = Run();
  EXPECT_TRUE(d.start_workflows.empty());
  EXPECT_THAT(d.changed_task_ids, IsEmpty());

  Latest("child1")->set_sub_workflow_id("child-wf-id");
  Finish("child1", Task::COMPLETED, {{"result", Num(42)}});
  Run();
  ASSERT_NE(Latest("next1"), nullptr);
  EXPECT_EQ(Latest("next1")->input_data().at("c").number_value(), 42);
}

TEST_F(DeciderTest, InlineSubWorkflowCarriesItsDefinition) {
  Start(R"({"name": "parent", "tasks": [
    {"name": "child", "taskReferenceName": "child1", "type": "SUB_WORKFLOW",
     "subWorkflowParam": {"name": "ignored", "workflowDefinition": {
        "name": "inline_child", "version": 1,
        "tasks": [{"name": "x", "taskReferenceName": "x1", "type": "SIMPLE",
                   "inputParameters": {"own": "${workflow.input.childInput}"}}]}}}]})");
  Decision d = Run();
  ASSERT_EQ(d.start_workflows.size(), 1u);
  EXPECT_EQ(d.start_workflows[0].request.name(), "inline_child");
  const auto& child_task = d.start_workflows[0].request.workflow_def().tasks(0);
  EXPECT_EQ(child_task.task_reference_name(), "x1");
  // The child's expressions are the child's: the parent does not resolve them.
  EXPECT_EQ(child_task.input_parameters().at("own").string_value(), "${workflow.input.childInput}");
}

TEST_F(DeciderTest, InlineSubWorkflowMayUseConductorsJsonShape) {
  // Conductor's own JSON: decisionCases hold bare lists, forkTasks lists of lists, and a
  // missing retryCount means "use the task definition's".
  Start(R"({"name": "parent", "tasks": [
    {"name": "child", "taskReferenceName": "child1", "type": "SUB_WORKFLOW",
     "subWorkflowParam": {"name": "x", "workflowDefinition": {
        "name": "inline_child",
        "tasks": [
          {"name": "sw", "taskReferenceName": "sw1", "type": "SWITCH",
           "evaluatorType": "value-param", "expression": "k",
           "decisionCases": {"a": [{"name": "x", "taskReferenceName": "x1", "type": "SIMPLE"}]}},
          {"name": "f", "taskReferenceName": "f1", "type": "FORK_JOIN",
           "forkTasks": [[{"name": "y", "taskReferenceName": "y1", "type": "SIMPLE",
                           "retryCount": 2}]]},
          {"name": "j", "taskReferenceName": "j1", "type": "JOIN", "joinOn": ["y1"]}]}}}]})");
  Decision d = Run();
  ASSERT_EQ(d.start_workflows.size(), 1u);
  const WorkflowDef& def = d.start_workflows[0].request.workflow_def();
  ASSERT_EQ(def.tasks_size(), 3);
  EXPECT_EQ(def.tasks(0).retry_count(), -1);
  EXPECT_EQ(def.tasks(0).decision_cases().at("a").tasks(0).task_reference_name(), "x1");
  EXPECT_EQ(def.tasks(0).decision_cases().at("a").tasks(0).retry_count(), -1);
  EXPECT_EQ(def.tasks(1).fork_tasks(0).tasks(0).task_reference_name(), "y1");
  EXPECT_EQ(def.tasks(1).fork_tasks(0).tasks(0).retry_count(), 2);
}

TEST_F(DeciderTest, FailedSubWorkflowFailsTheParent) {
  Start(R"({"name": "parent", "tasks": [
    {"name": "child", "taskReferenceName": "child1", "type": "SUB_WORKFLOW",
     "subWorkflowParam": {"name": "child_wf"}}]})");
  Run();
  Finish("child1", Task::FAILED, {}, "child failed");
  Run();
  EXPECT_EQ(wf_.status(), Workflow::FAILED);  // ad-hoc definitions of system tasks never retry
}

// ---- TERMINATE and failureWorkflow -------------------------------------------------------------

TEST_F(DeciderTest, TerminateCompletesTheWorkflowWithItsOutputAndCancelsTheRest) {
  Start(R"({"name": "w", "tasks": [
    {"name": "fork", "taskReferenceName": "fork1", "type": "FORK_JOIN", "forkTasks": [
      {"tasks": [{"name": "slow", "taskReferenceName": "slow1", "type": "SIMPLE"}]},
      {"tasks": [{"name": "quick", "taskReferenceName": "quick1", "type": "SIMPLE"},
                 {"name": "term", "taskReferenceName": "term1", "type": "TERMINATE",
                  "inputParameters": {"terminationStatus": "COMPLETED",
                                      "workflowOutput": {"answer": "${quick1.output.a}"}}}]}]},
    {"name": "join", "taskReferenceName": "join1", "type": "JOIN", "joinOn": ["slow1", "term1"]},
    {"name": "never", "taskReferenceName": "never1", "type": "SIMPLE"}]})");
  Run();
  Poll("slow1");
  Finish("quick1", Task::COMPLETED, {{"a", Num(5)}});
  Decision d = Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
  EXPECT_EQ(wf_.output().at("answer").number_value(), 5);
  EXPECT_THAT(wf_.reason_for_incompletion(), HasSubstr("COMPLETED by TERMINATE task"));
  EXPECT_EQ(Latest("slow1")->status(), Task::CANCELED);
  EXPECT_THAT(Refs(d.canceled_task_ids), UnorderedElementsAre("slow1", "join1"));
  EXPECT_EQ(Latest("never1"), nullptr);
}

TEST_F(DeciderTest, TerminateInsideASwitchCaseStopsEverythingElse) {
  Start(R"({"name": "w", "tasks": [
    {"name": "fork", "taskReferenceName": "fork1", "type": "FORK_JOIN", "forkTasks": [
      {"tasks": [{"name": "a", "taskReferenceName": "a1", "type": "SIMPLE"},
                 {"name": "a", "taskReferenceName": "a2", "type": "SIMPLE"}]},
      {"tasks": [{"name": "sw", "taskReferenceName": "sw1", "type": "SWITCH",
                  "evaluatorType": "value-param", "expression": "k",
                  "inputParameters": {"k": "${workflow.input.k}"},
                  "decisionCases": {"stop": {"tasks": [
                    {"name": "t", "taskReferenceName": "term1", "type": "TERMINATE",
                     "inputParameters": {"terminationStatus": "TERMINATED"}}]}}}]}]},
    {"name": "join", "taskReferenceName": "join1", "type": "JOIN", "joinOn": ["a2", "sw1"]}]})",
        R"({"k": "stop"})");
  Decision d = Run();
  EXPECT_EQ(wf_.status(), Workflow::TERMINATED);
  EXPECT_THAT(wf_.reason_for_incompletion(), HasSubstr("TERMINATED by TERMINATE task"));
  EXPECT_EQ(Latest("a1")->status(), Task::CANCELED);
  EXPECT_EQ(Latest("a2"), nullptr);
  EXPECT_THAT(d.enqueue_task_ids, IsEmpty());  // a1 was canceled before it reached a queue
}

constexpr char kFailingWithHandler[] = R"({"name": "w", "failureWorkflow": "cleanup",
  "failureWorkflowVersion": 2, "tasks": [
  {"name": "job", "taskReferenceName": "job1", "type": "SIMPLE", "retryCount": 0}]})";

TEST_F(DeciderTest, FailureWorkflowStartsWithConductorsInput) {
  Start(kFailingWithHandler, R"({"source": "prod"})");
  (*wf_.mutable_task_to_domain())["*"] = "d";
  Run();
  Finish("job1", Task::FAILED, {}, "nope");
  Decision d = Run();
  ASSERT_EQ(wf_.status(), Workflow::FAILED);
  ASSERT_EQ(d.start_workflows.size(), 1u);
  const WorkflowStart& s = d.start_workflows[0];
  EXPECT_EQ(s.kind, WorkflowStart::Kind::kFailureWorkflow);
  EXPECT_EQ(s.request.name(), "cleanup");
  EXPECT_EQ(s.request.version(), 2);
  EXPECT_EQ(s.request.correlation_id(), "corr-1");
  EXPECT_EQ(s.request.task_to_domain().at("*"), "d");
  const auto& in = s.request.input();
  EXPECT_EQ(in.at("source").string_value(), "prod");
  EXPECT_EQ(in.at("workflowId").string_value(), "wf-1");
  EXPECT_EQ(in.at("failureStatus").string_value(), "FAILED");
  EXPECT_EQ(in.at("failureTaskId").string_value(), wf_.tasks(0).task_id());
  EXPECT_EQ(in.at("reason").string_value(), wf_.reason_for_incompletion());
  EXPECT_EQ(in.at("failedWorkflow").struct_value().fields().at("workflowId").string_value(),
            "wf-1");
}

TEST_F(DeciderTest, TerminateWithFailedStatusFailsAndStartsTheFailureWorkflow) {
  Start(R"({"name": "w", "failureWorkflow": "${workflow.input.handler}", "tasks": [
    {"name": "term", "taskReferenceName": "term1", "type": "TERMINATE",
     "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "stop here",
                         "workflowOutput": "${workflow.input.handler}"}}]})",
        R"({"handler": "on_fail"})");
  Decision d = Run();
  EXPECT_EQ(wf_.status(), Workflow::FAILED);
  EXPECT_EQ(wf_.reason_for_incompletion(), "stop here");
  EXPECT_EQ(wf_.output().at("output").string_value(), "on_fail");
  ASSERT_EQ(d.start_workflows.size(), 1u);
  EXPECT_EQ(d.start_workflows[0].request.name(), "on_fail");
  EXPECT_EQ(d.start_workflows[0].request.input().at("failureTaskId").string_value(),
            Latest("term1")->task_id());
}

TEST_F(DeciderTest, InvalidTerminationStatusFailsTheWorkflow) {
  Start(R"({"name": "w", "tasks": [
    {"name": "term", "taskReferenceName": "term1", "type": "TERMINATE",
     "inputParameters": {"terminationStatus": "MAYBE"}}]})");
  Run();
  EXPECT_EQ(Latest("term1")->status(), Task::FAILED);
  EXPECT_EQ(wf_.status(), Workflow::FAILED);
}

// ---- DO_WHILE ----------------------------------------------------------------------------------

constexpr char kLoopDef[] = R"({"name": "w", "tasks": [
  {"name": "loop", "taskReferenceName": "loop1", "type": "DO_WHILE",
   "loopCondition": "%s",
   "loopOver": [
     {"name": "a", "taskReferenceName": "a", "type": "SIMPLE", "retryCount": -1,
      "inputParameters": {"i": "${loop1.output.iteration}"}},
     {"name": "b", "taskReferenceName": "b", "type": "SIMPLE",
      "inputParameters": {"fromA": "${a.output.v}"}}]},
  {"name": "after", "taskReferenceName": "after1", "type": "SIMPLE",
   "inputParameters": {"n": "${loop1.output.iteration}"}}]})";

std::string LoopDef(const std::string& condition) {
  char buf[4096];
  std::snprintf(buf, sizeof(buf), kLoopDef, condition.c_str());
  return buf;
}

TEST_F(DeciderTest, DoWhileRunsItsBodyUntilTheConditionFails) {
  Start(LoopDef("$.loop1['iteration'] < 3"));
  Decision d = Run();
  EXPECT_EQ(Latest("loop1")->status(), Task::IN_PROGRESS);
  EXPECT_THAT(Refs(d.enqueue_task_ids), ElementsAre("a__1"));
  EXPECT_EQ(Latest("a__1")->iteration(), 1);
  EXPECT_EQ(Latest("a__1")->input_data().at("i").number_value(), 1);
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE(i);
    std::string a = "a__" + std::to_string(i), b = "b__" + std::to_string(i);
    Finish(a, Task::COMPLETED, {{"v", Num(i * 10)}});
    d = Run();
    ASSERT_NE(Latest(b), nullptr);
    EXPECT_EQ(Latest(b)->input_data().at("fromA").number_value(), i * 10);
    Finish(b, Task::COMPLETED, {{"w", Num(i)}});
    d = Run();
    if (i < 3) {
      EXPECT_THAT(Refs(d.enqueue_task_ids), ElementsAre("a__" + std::to_string(i + 1)));
    }
  }
  const Task* loop = Latest("loop1");
  EXPECT_EQ(loop->status(), Task::COMPLETED);
  EXPECT_EQ(loop->iteration(), 3);
  EXPECT_EQ(loop->output_data().at("iteration").number_value(), 3);
  EXPECT_EQ(loop->output_data()
                .at("2")
                .struct_value()
                .fields()
                .at("a")
                .struct_value()
                .fields()
                .at("v")
                .number_value(),
            20);
  ASSERT_NE(Latest("after1"), nullptr);
  EXPECT_EQ(Latest("after1")->input_data().at("n").number_value(), 3);
  Finish("after1", Task::COMPLETED);
  Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
}

TEST_F(DeciderTest, DoWhileConditionCanReadBodyOutputs) {
  Start(LoopDef("$.b.w != 2"));
  Run();
  Finish("a__1", Task::COMPLETED);
  Run();
  Finish("b__1", Task::COMPLETED, {{"w", Num(1)}});
  Run();
  Finish("a__2", Task::COMPLETED);
  Run();
  Finish("b__2", Task::COMPLETED, {{"w", Num(2)}});
  Run();
  EXPECT_EQ(Latest("loop1")->status(), Task::COMPLETED);
  EXPECT_EQ(Latest("a__3"), nullptr);
  EXPECT_NE(Latest("after1"), nullptr);
}

TEST_F(DeciderTest, DoWhileBodyTaskIsRetriedWithinItsIteration) {
  AddTaskDef(R"({"name": "a", "retryCount": 1, "retryDelaySeconds": 0})");
  Start(LoopDef("false"));
  Run();
  Finish("a__1", Task::FAILED, {}, "once");
  Run();
  Task* retry = Latest("a__1");
  EXPECT_EQ(retry->retry_count(), 1);
  EXPECT_EQ(retry->iteration(), 1);
  EXPECT_EQ(Latest("loop1")->status(), Task::IN_PROGRESS);
  Finish("a__1", Task::COMPLETED);
  Run();
  Finish("b__1", Task::COMPLETED);
  Run();
  EXPECT_EQ(Latest("loop1")->status(), Task::COMPLETED);
}

TEST_F(DeciderTest, EndlessLoopOfSystemTasksStopsAndAsksToBeCalledAgain) {
  Start(R"({"name": "w", "tasks": [
    {"name": "loop", "taskReferenceName": "loop1", "type": "DO_WHILE", "loopCondition": "true",
     "loopOver": [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}]}]})");
  absl::StatusOr<Decision> d = Decide(
      wf_, [](const std::string&) -> const TaskDef* { return nullptr; },
      [this] { return "t" + std::to_string(++next_id_); }, now_);
  ASSERT_OK(d.status());
  EXPECT_EQ(d->next_wake_ms, now_ + 1);
  EXPECT_EQ(wf_.status(), Workflow::RUNNING);
  EXPECT_GT(Latest("loop1")->iteration(), 10);
}

TEST_F(DeciderTest, DoWhileWithUnsupportedConditionIsRejected) {
  Start(LoopDef("$.loop1.iteration < Math.max(2, 3)"));
  EXPECT_THAT(RunStatus(), testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("'loop1': loopCondition")));
}

// ---- INLINE, SET_VARIABLE, NOOP ----------------------------------------------------------------

TEST_F(DeciderTest, InlineSetVariableAndNoopRunWithoutAWorker) {
  Start(R"({"name": "w", "tasks": [
    {"name": "calc", "taskReferenceName": "calc1", "type": "INLINE",
     "inputParameters": {"evaluatorType": "javascript", "n": "${workflow.input.n}",
                         "expression": "$.n > 2 ? 'big' : 'small'"}},
    {"name": "set", "taskReferenceName": "set1", "type": "SET_VARIABLE",
     "inputParameters": {"size": "${calc1.output.result}"}},
    {"name": "noop", "taskReferenceName": "noop1", "type": "NOOP"},
    {"name": "use", "taskReferenceName": "use1", "type": "SIMPLE",
     "inputParameters": {"size": "${workflow.variables.size}"}}]})",
        R"({"n": 5})");
  Decision d = Run();
  EXPECT_EQ(Latest("calc1")->status(), Task::COMPLETED);
  EXPECT_EQ(Latest("calc1")->output_data().at("result").string_value(), "big");
  EXPECT_EQ(Latest("set1")->status(), Task::COMPLETED);
  EXPECT_EQ(Latest("noop1")->status(), Task::COMPLETED);
  EXPECT_EQ(wf_.variables().at("size").string_value(), "big");
  EXPECT_TRUE(d.workflow_changed);
  EXPECT_THAT(Refs(d.enqueue_task_ids), ElementsAre("use1"));
  EXPECT_EQ(Latest("use1")->input_data().at("size").string_value(), "big");
}

TEST_F(DeciderTest, InlineScriptErrorsFailTheTaskOrAreRejected) {
  Start(R"({"name": "w", "tasks": [
    {"name": "calc", "taskReferenceName": "calc1", "type": "INLINE",
     "inputParameters": {"expression": "$.missing.x"}}]})");
  Run();
  EXPECT_EQ(Latest("calc1")->status(), Task::FAILED);
  EXPECT_EQ(wf_.status(), Workflow::FAILED);

  // A script that would build megabytes out of a large input fails its task, naming the limit.
  wf_ = Workflow();
  std::string joins = "$.s";
  for (int i = 0; i < 239; ++i) joins += "+$.s";
  Start(absl::StrCat(R"({"name": "w", "tasks": [
    {"name": "calc", "taskReferenceName": "calc1", "type": "INLINE",
     "inputParameters": {"s": "${workflow.input.s}", "expression": ")",
                     joins, R"("}}]})"),
        absl::StrCat(R"({"s": ")", std::string(100 << 10, 'a'), R"("})"));
  Run();
  EXPECT_EQ(Latest("calc1")->status(), Task::FAILED);
  // The size limit ends it (expressions_test checks which limit); on a slow machine the time limit
  // may come first. Either way the task fails with a RangeError naming a limit.
  EXPECT_THAT(Latest("calc1")->reason_for_incompletion(),
              ::testing::AllOf(HasSubstr("RangeError"), HasSubstr("limit of")));

  wf_ = Workflow();
  Start(R"js({"name": "w", "tasks": [
    {"name": "calc", "taskReferenceName": "calc1", "type": "INLINE",
     "inputParameters": {"expression": "(function() { return 1; })()"}}]})js");
  EXPECT_THAT(RunStatus(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'calc1'")));
}

// ---- RetryWorkflow -----------------------------------------------------------------------------

TEST_F(DeciderTest, RetryWorkflowResumesAtTheFailedStep) {
  Start(ForkDef(false), R"({"kind": "go"})");
  Run();
  Finish("l1", Task::COMPLETED);
  Run();
  Finish("r1", Task::FAILED_WITH_TERMINAL_ERROR, {}, "bad");
  Run();
  ASSERT_EQ(wf_.status(), Workflow::FAILED);
  std::string failed_id = Latest("r1")->task_id();
  int tasks_before = wf_.tasks_size();

  now_ += 5000;
  absl::StatusOr<Decision> d = RetryWorkflow(
      wf_, [](const std::string&) -> const TaskDef* { return nullptr; },
      [this] { return "t" + std::to_string(++next_id_); }, now_);
  ASSERT_OK(d.status());
  EXPECT_EQ(wf_.status(), Workflow::RUNNING);
  EXPECT_EQ(wf_.last_retried_time(), now_);
  EXPECT_TRUE(wf_.reason_for_incompletion().empty());
  EXPECT_TRUE(d->workflow_changed);
  // r1 failed and l2 / n1 were canceled when the workflow failed: each gets a new attempt.
  EXPECT_THAT(Refs(d->enqueue_task_ids), UnorderedElementsAre("r1", "l2", "n1"));
  EXPECT_EQ(wf_.tasks_size(), tasks_before + 3);
  Task* r1 = Latest("r1");
  EXPECT_EQ(r1->retried_task_id(), failed_id);
  EXPECT_EQ(r1->retry_count(), 1);
  EXPECT_EQ(r1->status(), Task::SCHEDULED);
  EXPECT_EQ(Latest("join1")->status(), Task::IN_PROGRESS);  // resumed in place
  EXPECT_EQ(Latest("l1")->status(), Task::COMPLETED);       // not re-run

  Finish("r1", Task::COMPLETED);
  Finish("l2", Task::COMPLETED);
  Finish("n1", Task::COMPLETED);
  Run();
  ASSERT_NE(Latest("end1"), nullptr);
  Finish("end1", Task::COMPLETED);
  Run();
  EXPECT_EQ(wf_.status(), Workflow::COMPLETED);
}

TEST_F(DeciderTest, RetryWorkflowRefusesRunningOrUnfailedWorkflows) {
  Start(kOneTask);
  Run();
  auto retry = [this] {
    return RetryWorkflow(
               wf_, [](const std::string&) -> const TaskDef* { return nullptr; },
               [this] { return "t" + std::to_string(++next_id_); }, now_)
        .status();
  };
  EXPECT_THAT(retry(),
              testing::StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("still running")));
  Finish("job1", Task::COMPLETED);
  Run();
  ASSERT_EQ(wf_.status(), Workflow::COMPLETED);
  EXPECT_THAT(retry(), testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                                         HasSubstr("no retryable tasks")));
}

// ---- Rejections and terminal workflows ---------------------------------------------------------

TEST_F(DeciderTest, UnsupportedSystemTaskTypeIsRejected) {
  Start(R"({"name": "w", "tasks": [
    {"name": "h", "taskReferenceName": "http1", "type": "HTTP"}]})");
  absl::Status s = RunStatus();
  EXPECT_THAT(s, testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'http1'")));
  EXPECT_THAT(s.message(), HasSubstr("HTTP"));
}

TEST_F(DeciderTest, DefinitionProblemsAnywhereAreFoundBeforeAnythingRuns) {
  // The HTTP task sits in a branch this run would never take; the definition is still one the
  // orchestrator cannot run, and nothing is scheduled.
  Start(R"({"name": "w", "tasks": [
    {"name": "a", "taskReferenceName": "a1", "type": "SIMPLE"},
    {"name": "sw", "taskReferenceName": "sw1", "type": "SWITCH",
     "evaluatorType": "value-param", "expression": "k",
     "decisionCases": {"never": {"tasks": [
       {"name": "h", "taskReferenceName": "http1", "type": "HTTP"}]}}}]})");
  EXPECT_THAT(RunStatus(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'http1'")));
  EXPECT_EQ(wf_.tasks_size(), 0);

  for (const std::string& bad :
       {std::string(R"({"name": "l", "taskReferenceName": "l1", "type": "DO_WHILE",
            "loopCondition": "true", "loopOver": [
              {"name": "l", "taskReferenceName": "l2", "type": "DO_WHILE",
               "loopCondition": "false", "loopOver": [{"name": "x", "taskReferenceName": "x1"}]}]})"),
        std::string(R"({"name": "l", "taskReferenceName": "l1", "type": "DO_WHILE",
            "items": "${workflow.input.list}", "loopOver": [{"name": "x", "taskReferenceName": "x1"}]})"),
        std::string(R"({"name": "d", "taskReferenceName": "d1", "type": "DECISION",
            "caseExpression": "if ($.a) 'x'"})"),
        std::string(R"({"name": "s", "taskReferenceName": "s1", "type": "SUB_WORKFLOW"})"),
        std::string(R"({"name": "i", "taskReferenceName": "i1", "type": "INLINE",
            "inputParameters": {"evaluatorType": "python", "expression": "1"}})")}) {
    SCOPED_TRACE(bad);
    wf_ = Workflow();
    Start(R"({"name": "w", "tasks": [)" + bad + "]}");
    EXPECT_THAT(RunStatus(), testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'")));
    EXPECT_EQ(wf_.tasks_size(), 0);
  }
}

TEST_F(DeciderTest, InlineExpressionFromInputIsCheckedWhenItResolves) {
  Start(R"({"name": "w", "tasks": [
    {"name": "calc", "taskReferenceName": "calc1", "type": "INLINE",
     "inputParameters": {"expression": "${workflow.input.script}"}}]})",
        R"js({"script": "Math.max(1, 2)"})js");
  Run();
  EXPECT_EQ(Latest("calc1")->status(), Task::FAILED);
  EXPECT_THAT(Latest("calc1")->reason_for_incompletion(), HasSubstr("unsupported script syntax"));
}

TEST_F(DeciderTest, DecidingATerminatedWorkflowCancelsWhatStillRuns) {
  Start(kTwoSimple);
  Run();
  Poll("a1");
  wf_.set_status(Workflow::TERMINATED);  // as the engine's TerminateWorkflow would
  Decision d = Run();
  EXPECT_EQ(Latest("a1")->status(), Task::CANCELED);
  EXPECT_THAT(Refs(d.canceled_task_ids), ElementsAre("a1"));
  EXPECT_EQ(wf_.tasks_size(), 1);
}

TEST_F(DeciderTest, PausedAndTerminalWorkflowsAreLeftAlone) {
  Start(kTwoSimple);
  wf_.set_status(Workflow::PAUSED);
  Decision d = Run();
  EXPECT_EQ(wf_.tasks_size(), 0);
  wf_.set_status(Workflow::TERMINATED);
  d = Run();
  EXPECT_EQ(wf_.tasks_size(), 0);
  EXPECT_FALSE(d.workflow_changed);
}

}  // namespace
}  // namespace cmig::orchestrator
