#include "definitions/definition_ranges.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig {
namespace {

using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;
using ::testing::AllOf;
using ::testing::HasSubstr;

TaskDef Task(const char* name) {
  TaskDef def;
  def.set_name(name);
  def.set_retry_count(3);
  def.set_timeout_seconds(600);
  def.set_response_timeout_seconds(60);
  return def;
}

TEST(DefinitionRangesTest, AnOrdinaryTaskDefinitionPasses) {
  EXPECT_TRUE(CheckTaskDefRanges(Task("fine")).ok());
  TaskDef unset;  // proto3 zeros: nothing given, nothing wrong
  unset.set_name("bare");
  EXPECT_TRUE(CheckTaskDefRanges(unset).ok());
  TaskDef huge = Task("huge");
  huge.set_timeout_seconds(INT64_MAX);
  huge.set_response_timeout_seconds(INT64_MAX);
  huge.set_total_timeout_seconds(INT64_MAX);
  EXPECT_TRUE(CheckTaskDefRanges(huge).ok());
}

TEST(DefinitionRangesTest, EveryNegativeNumberIsNamedInOneError) {
  TaskDef def = Task("bad");
  def.set_retry_count(-1);
  def.set_retry_delay_seconds(-5);
  def.set_response_timeout_seconds(-1);
  def.set_poll_timeout_seconds(-2);
  def.set_max_retry_delay_seconds(-3);
  def.set_backoff_jitter_ms(-4);
  def.set_total_timeout_seconds(-6);
  def.set_backoff_scale_factor(-7);
  absl::Status s = CheckTaskDefRanges(def);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("task definition bad: "), HasSubstr("retryCount: -1 must be >= 0"),
                    HasSubstr("retryDelaySeconds: -5 must be >= 0"),
                    HasSubstr("responseTimeoutSeconds: -1 should be minimum 1 second"),
                    HasSubstr("pollTimeoutSeconds: -2 must be >= 0"),
                    HasSubstr("maxRetryDelaySeconds: -3 must be >= 0"),
                    HasSubstr("backoffJitterMs: -4 must be >= 0"),
                    HasSubstr("totalTimeoutSeconds: -6 must be >= 0"),
                    HasSubstr("backoffScaleFactor: -7 must be >= 1")));
}

TEST(DefinitionRangesTest, TimeoutsMustNestAsConductorSays) {
  TaskDef def = Task("t");
  def.set_timeout_seconds(30);
  def.set_response_timeout_seconds(60);
  EXPECT_THAT(
      CheckTaskDefRanges(def).message(),
      HasSubstr("TaskDef: t responseTimeoutSeconds: 60 must be less than timeoutSeconds: 30"));
  def.set_response_timeout_seconds(30);
  def.set_total_timeout_seconds(20);
  EXPECT_THAT(CheckTaskDefRanges(def).message(),
              HasSubstr("TaskDef: t timeoutSeconds: 30 must be less than or equal to "
                        "totalTimeoutSeconds: 20"));
  def.set_total_timeout_seconds(30);
  EXPECT_TRUE(CheckTaskDefRanges(def).ok());
  // No timeout: any response timeout goes.
  def.set_timeout_seconds(0);
  def.set_response_timeout_seconds(3600);
  EXPECT_TRUE(CheckTaskDefRanges(def).ok());
}

TEST(DefinitionRangesTest, WorkflowNumbersAndNestedTasksAreChecked) {
  WorkflowDef wf;
  wf.set_name("w");
  wf.set_version(-1);
  wf.set_timeout_seconds(-10);
  WorkflowTask sw;
  sw.set_task_reference_name("pick");
  sw.set_type("SWITCH");
  WorkflowTask late;
  late.set_task_reference_name("late");
  late.set_start_delay(-3);
  *(*sw.mutable_decision_cases())["a"].add_tasks() = late;
  WorkflowTask inline_def;
  inline_def.set_task_reference_name("inline");
  *inline_def.mutable_task_definition() = Task("inner");
  inline_def.mutable_task_definition()->set_retry_count(-2);
  WorkflowTask loop;
  loop.set_task_reference_name("loop");
  *loop.add_loop_over() = inline_def;
  WorkflowTask child;
  child.set_task_reference_name("child");
  child.mutable_sub_workflow_param()->set_version(-4);
  *sw.add_default_case() = child;
  *wf.add_tasks() = sw;
  *wf.add_tasks() = loop;

  absl::Status s = CheckWorkflowDefRanges(wf);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("workflow definition w: "), HasSubstr("version: -1 must be >= 0"),
                    HasSubstr("timeoutSeconds: -10 must be >= 0"),
                    HasSubstr("task late: WorkflowTask startDelay: -3 must be greater than"),
                    HasSubstr("task inline: TaskDef retryCount: -2 must be >= 0"),
                    HasSubstr("task child: subWorkflowParam version: -4 must be >= 0")));

  wf.set_version(2);
  wf.set_timeout_seconds(INT64_MAX);
  wf.mutable_tasks(0)->mutable_decision_cases()->at("a").mutable_tasks(0)->set_start_delay(5);
  wf.mutable_tasks(1)->mutable_loop_over(0)->mutable_task_definition()->set_retry_count(0);
  wf.mutable_tasks(0)->mutable_default_case(0)->mutable_sub_workflow_param()->set_version(0);
  EXPECT_TRUE(CheckWorkflowDefRanges(wf).ok()) << CheckWorkflowDefRanges(wf);
}

}  // namespace
}  // namespace cmig
