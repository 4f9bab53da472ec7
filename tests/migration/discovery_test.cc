#include "migration/discovery.h"

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/migration/migration_fixtures.h"

namespace cmig::migration {
namespace {

using ::cmig::testing::AddSourceEnvironment;
using ::cmig::testing::CountingSource;
using ::cmig::testing::StatusIs;
using ::cmig::testing::Td;
using ::cmig::testing::Wf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

v1::Selection Select(const std::string& name, int version = 0) {
  v1::Selection s;
  v1::WorkflowSelector* w = s.add_workflows();
  w->set_name(name);
  w->set_version(version);
  return s;
}

std::vector<std::string> WorkflowKeys(const Discovery& d) {
  std::vector<std::string> keys;
  for (const auto& w : d.workflows) {
    keys.push_back(absl::StrCat(w.def.name(), ":", w.def.version()));
  }
  return keys;
}

std::vector<std::string> TaskDefNames(const Discovery& d) {
  std::vector<std::string> names;
  for (const auto& t : d.task_defs) {
    names.push_back(t.def.name());
  }
  return names;
}

std::vector<std::string> DependencyNames(const Discovery& d, v1::DependencyKind kind) {
  std::vector<std::string> names;
  for (const auto& dep : d.report.dependencies()) {
    if (dep.kind() == kind) {
      names.push_back(dep.name());
    }
  }
  return names;
}

const v1::Dependency* FindDependency(const Discovery& d, v1::DependencyKind kind,
                                     const std::string& name) {
  for (const auto& dep : d.report.dependencies()) {
    if (dep.kind() == kind && dep.name() == name) {
      return &dep;
    }
  }
  return nullptr;
}

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { AddSourceEnvironment(&source_); }
  InMemoryDefinitionSource source_;
};

TEST_F(DiscoveryTest, FollowsEveryKindOfReferenceAtAnyDepth) {
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select("order_flow"), source_, {}));
  // Latest order_flow (2), three levels express -> packing (latest: 2) -> label, the
  // START_WORKFLOW target and the failure workflow; not order_flow 1, packing_flow 1, ping/pong.
  EXPECT_THAT(WorkflowKeys(d), ElementsAre("audit_flow:3", "express_flow:1", "label_flow:1",
                                           "order_cleanup:1", "order_flow:2", "packing_flow:2"));
  // audit_log comes from the inline sub-workflow, call_api is the optional definition of an HTTP
  // task, notify from the DO_WHILE body, ship_order from a FORK branch.
  EXPECT_THAT(TaskDefNames(d),
              ElementsAre("audit_log", "call_api", "charge_card", "notify", "ship_order"));
  EXPECT_TRUE(d.workflows[4].requested);
  EXPECT_EQ(d.workflows[4].discovered_from, "");
  EXPECT_FALSE(d.workflows[1].requested);
  EXPECT_EQ(d.workflows[1].discovered_from, "workflow:order_flow:2");
  EXPECT_EQ(d.workflows[2].discovered_from, "workflow:packing_flow:2");
}

TEST_F(DiscoveryTest, RecordsDependenciesThatAreNotMigrated) {
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select("order_flow"), source_, {}));
  EXPECT_THAT(DependencyNames(d, v1::DEPENDENCY_KIND_SECRET),
              ElementsAre("audit_token", "db", "stripe_key"));
  EXPECT_THAT(DependencyNames(d, v1::DEPENDENCY_KIND_ENVIRONMENT_VARIABLE), ElementsAre("REGION"));
  EXPECT_THAT(DependencyNames(d, v1::DEPENDENCY_KIND_EVENT_SINK),
              ElementsAre("kafka:status"));  // "conductor:order_events" is Conductor's own
  EXPECT_THAT(DependencyNames(d, v1::DEPENDENCY_KIND_TASK_TO_DOMAIN),
              ElementsAre("audit_log=audit", "ship_order=fast"));
  EXPECT_THAT(DependencyNames(d, v1::DEPENDENCY_KIND_SYSTEM_TASK_TYPE),
              ElementsAre("DO_WHILE", "DYNAMIC", "EVENT", "FORK_JOIN", "FORK_JOIN_DYNAMIC", "HTTP",
                          "JOIN", "START_WORKFLOW", "SUB_WORKFLOW", "SWITCH"));

  const v1::Dependency* secret = FindDependency(d, v1::DEPENDENCY_KIND_SECRET, "stripe_key");
  ASSERT_NE(secret, nullptr);
  ASSERT_EQ(secret->referenced_by_size(), 1);
  EXPECT_EQ(secret->referenced_by(0).workflow_name(), "order_flow");
  EXPECT_EQ(secret->referenced_by(0).workflow_version(), 2);
  EXPECT_EQ(secret->referenced_by(0).task_reference_name(), "charge");
  EXPECT_EQ(secret->referenced_by(0).field(), "inputParameters.apiKey");
  // Inside the inline sub-workflow, the task is named through its parent task.
  const v1::Dependency* inline_secret =
      FindDependency(d, v1::DEPENDENCY_KIND_SECRET, "audit_token");
  ASSERT_NE(inline_secret, nullptr);
  EXPECT_EQ(inline_secret->referenced_by(0).task_reference_name(), "inline_child/log");
  // SUB_WORKFLOW is used by three workflows: every referrer listed, sorted.
  const v1::Dependency* sub =
      FindDependency(d, v1::DEPENDENCY_KIND_SYSTEM_TASK_TYPE, "SUB_WORKFLOW");
  ASSERT_NE(sub, nullptr);
  std::vector<std::string> referrers;
  for (const auto& r : sub->referenced_by()) {
    referrers.push_back(absl::StrCat(r.workflow_name(), "/", r.task_reference_name()));
  }
  EXPECT_THAT(referrers,
              ElementsAre("express_flow/pack", "order_flow/by_expr", "order_flow/fulfil_express",
                          "order_flow/ghost", "order_flow/inline_child", "packing_flow/label"));
}

// A worker task whose task definition the source lacks runs there with Conductor's default one:
// a dependency to report, not a missing definition (unless definitions are required, below).
TEST_F(DiscoveryTest, AWorkerTaskWithoutADefinitionRunsWithTheDefault) {
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select("order_flow"), source_, {}));
  const v1::Dependency* by_default =
      FindDependency(d, v1::DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION, "missing_worker");
  ASSERT_NE(by_default, nullptr);
  ASSERT_EQ(by_default->referenced_by_size(), 1);
  EXPECT_EQ(by_default->referenced_by(0).workflow_name(), "order_flow");
  EXPECT_EQ(by_default->referenced_by(0).task_reference_name(), "missing_worker");
  std::vector<std::string> unresolved;
  for (const auto& u : d.report.unresolved()) unresolved.push_back(u.name());
  EXPECT_THAT(unresolved,
              UnorderedElementsAre("taskToRun", "forks", "${workflow.input.child}", "ghost_flow"));
}

TEST_F(DiscoveryTest, ReportsWhatCannotBeKnownStaticallyAndWhatIsMissing) {
  ASSERT_OK_AND_ASSIGN(Discovery d,
                       Discover(Select("order_flow"), source_, {.require_task_definitions = true}));
  std::vector<std::tuple<int, int, std::string, int, std::string>> got;
  for (const auto& u : d.report.unresolved()) {
    got.emplace_back(u.kind(), u.target_kind(), u.name(), u.version(),
                     u.referenced_by().task_reference_name());
    EXPECT_FALSE(u.detail().empty());
  }
  EXPECT_EQ(FindDependency(d, v1::DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION, "missing_worker"),
            nullptr);
  EXPECT_THAT(
      got, UnorderedElementsAre(
               std::make_tuple(v1::UNRESOLVED_KIND_DYNAMIC_TASK, v1::ITEM_KIND_TASK_DEF,
                               "taskToRun", 0, "dyn"),
               std::make_tuple(v1::UNRESOLVED_KIND_DYNAMIC_FORK, v1::ITEM_KIND_UNSPECIFIED, "forks",
                               0, "dynfork"),
               std::make_tuple(v1::UNRESOLVED_KIND_EXPRESSION, v1::ITEM_KIND_WORKFLOW_DEF,
                               "${workflow.input.child}", 0, "by_expr"),
               std::make_tuple(v1::UNRESOLVED_KIND_MISSING_DEFINITION, v1::ITEM_KIND_TASK_DEF,
                               "missing_worker", 0, "missing_worker"),
               std::make_tuple(v1::UNRESOLVED_KIND_MISSING_DEFINITION, v1::ITEM_KIND_WORKFLOW_DEF,
                               "ghost_flow", 1, "ghost")));
}

TEST_F(DiscoveryTest, CycleTerminatesAndVisitsEachDefinitionOnce) {
  CountingSource counting(source_);
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select("ping", 1), counting, {}));
  EXPECT_THAT(WorkflowKeys(d), ElementsAre("ping:1", "pong:1"));
  EXPECT_THAT(TaskDefNames(d), ElementsAre("notify"));
  EXPECT_EQ(counting.workflow_calls, 2);
  // Optional definitions of the two SUB_WORKFLOW tasks ("p", once) and notify.
  EXPECT_EQ(counting.task_def_calls, 2);
}

TEST_F(DiscoveryTest, LatestResolvesToHighestVersionAndPinnedVersionsStayDistinct) {
  v1::Selection s = Select("packing_flow", 1);
  s.add_workflows()->set_name("express_flow");
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(s, source_, {}));
  EXPECT_THAT(WorkflowKeys(d),
              ElementsAre("express_flow:1", "label_flow:1", "packing_flow:1", "packing_flow:2"));
  EXPECT_TRUE(d.workflows[2].requested);
  EXPECT_FALSE(d.workflows[3].requested);
}

TEST_F(DiscoveryTest, SelectedDefinitionsThatDoNotExistAreAllNamed) {
  v1::Selection s = Select("nope_flow");
  s.add_workflows()->set_name("order_flow");
  s.add_workflows()->set_name("order_flow");
  s.mutable_workflows(1)->set_version(7);
  s.add_task_defs("nope_task");
  EXPECT_THAT(Discover(s, source_, {}),
              StatusIs(absl::StatusCode::kNotFound,
                       ::testing::AllOf(HasSubstr("'nope_flow' (latest version)"),
                                        HasSubstr("'order_flow' version 7"),
                                        HasSubstr("task definition 'nope_task'"))));
}

TEST_F(DiscoveryTest, InvalidSelectionIsRejected) {
  EXPECT_THAT(Discover(v1::Selection(), source_, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names no workflow")));
  v1::Selection s = Select("");
  s.add_task_defs("");
  EXPECT_THAT(Discover(s, source_, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("workflows[0] has no name"),
                                        HasSubstr("task_defs[0] is empty"))));
}

TEST_F(DiscoveryTest, WithoutFollowingOnlyTheSelectionButStillItsDependencies) {
  v1::Selection s = Select("order_flow");
  s.add_task_defs("unused_task");
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(s, source_, {.follow_references = false}));
  EXPECT_THAT(WorkflowKeys(d), ElementsAre("order_flow:2"));
  EXPECT_THAT(TaskDefNames(d), ElementsAre("unused_task"));
  EXPECT_TRUE(d.task_defs[0].requested);
  EXPECT_THAT(DependencyNames(d, v1::DEPENDENCY_KIND_SECRET),
              ElementsAre("audit_token", "db", "stripe_key"));
}

TEST_F(DiscoveryTest, SourceErrorsOtherThanNotFoundAreReturned) {
  CountingSource failing(source_);
  failing.fail_with = absl::UnavailableError("connection refused");
  EXPECT_THAT(Discover(Select("order_flow"), failing, {}),
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::AllOf(HasSubstr("order_flow"), HasSubstr("connection refused"))));
}

TEST_F(DiscoveryTest, OutputIsDeterministic) {
  v1::Selection s = Select("ping");
  s.add_workflows()->set_name("order_flow");
  ASSERT_OK_AND_ASSIGN(Discovery a, Discover(s, source_, {}));
  // The same selection in another order.
  v1::Selection reversed = Select("order_flow");
  reversed.add_workflows()->set_name("ping");
  ASSERT_OK_AND_ASSIGN(Discovery b, Discover(reversed, source_, {}));
  EXPECT_EQ(WorkflowKeys(a), WorkflowKeys(b));
  EXPECT_EQ(TaskDefNames(a), TaskDefNames(b));
  EXPECT_EQ(a.report.SerializeAsString(), b.report.SerializeAsString());
}

TEST_F(DiscoveryTest, LiteralDynamicTaskNameIsFollowedAndEmbeddedDefinitionsAreEnough) {
  InMemoryDefinitionSource s;
  s.AddTaskDef(Td("picked"));
  s.AddWorkflowDef(Wf(R"pb(
    name: "dyn"
    version: 1
    tasks {
      name: "d"
      task_reference_name: "d"
      type: "DYNAMIC"
      dynamic_task_name_param: "which"
      input_parameters {
        key: "which"
        value { string_value: "picked" }
      }
    }
    tasks {
      name: "embedded_only"
      task_reference_name: "e"
      type: "SIMPLE"
      task_definition { name: "embedded_only" retry_count: 1 }
    }
  )pb"));
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select("dyn"), s, {}));
  EXPECT_THAT(TaskDefNames(d), ElementsAre("picked"));
  EXPECT_THAT(d.report.unresolved(), IsEmpty());
}

TEST_F(DiscoveryTest, InlineDefinitionGivenAsExpressionIsUnresolved) {
  InMemoryDefinitionSource s;
  s.AddWorkflowDef(Wf(R"pb(
    name: "p"
    version: 1
    tasks {
      name: "s"
      task_reference_name: "s"
      type: "SUB_WORKFLOW"
      sub_workflow_param {
        name: "x"
        workflow_definition { string_value: "${workflow.input.def}" }
      }
    }
    tasks {
      name: "sw"
      task_reference_name: "sw"
      type: "START_WORKFLOW"
      input_parameters {
        key: "startWorkflow"
        value { string_value: "${workflow.input.req}" }
      }
    }
  )pb"));
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select("p"), s, {}));
  ASSERT_EQ(d.report.unresolved_size(), 2);
  EXPECT_EQ(d.report.unresolved(0).kind(), v1::UNRESOLVED_KIND_EXPRESSION);
  EXPECT_EQ(d.report.unresolved(0).name(), "${workflow.input.def}");
  EXPECT_EQ(d.report.unresolved(1).referenced_by().task_reference_name(), "sw");
  EXPECT_THAT(WorkflowKeys(d), ElementsAre("p:1"));
}

TEST_F(DiscoveryTest, OptionalTaskDefinitionOfSystemTaskIsNotReportedWhenAbsent) {
  InMemoryDefinitionSource s;
  s.AddWorkflowDef(Wf(R"pb(
    name: "h"
    version: 1
    tasks { name: "no_def_http" task_reference_name: "h" type: "HTTP" }
  )pb"));
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(Select("h"), s, {}));
  EXPECT_THAT(TaskDefNames(d), IsEmpty());
  EXPECT_THAT(d.report.unresolved(), IsEmpty());
}

}  // namespace
}  // namespace cmig::migration
