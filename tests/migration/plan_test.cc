#include "migration/plan.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migration/apply_order.h"
#include "migration/discovery.h"
#include "migration/package.h"
#include "tests/migration/migration_fixtures.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;
using ::cmig::testing::AddSourceEnvironment;
using ::cmig::testing::CountingSource;
using ::cmig::testing::SimpleWf;
using ::cmig::testing::StatusIs;
using ::cmig::testing::Td;
using ::cmig::testing::Wf;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

v1::MigrationPackage MakePackage(InMemoryDefinitionSource& source, const v1::Selection& selection,
                                 v1::ConflictStrategy conflict, v1::VersionStrategy version,
                                 bool require_task_definitions = false,
                                 v1::OnBlocked on_blocked = v1::ON_BLOCKED_UNSPECIFIED) {
  auto d = Discover(selection, source, {.require_task_definitions = require_task_definitions});
  EXPECT_TRUE(d.ok()) << d.status();
  PackageHeader h;
  h.source_environment = "dev";
  h.created_at = absl::FromUnixSeconds(1790000000);
  h.options.set_conflict_strategy(conflict);
  h.options.set_version_strategy(version);
  h.options.set_require_task_definitions(require_task_definitions);
  h.options.set_on_blocked(on_blocked);
  h.selection = selection;
  auto built = BuildPackage(*d, h);
  EXPECT_TRUE(built.ok()) << built.status();
  return built->package;
}

v1::Selection Select(std::initializer_list<const char*> names) {
  v1::Selection s;
  for (const char* n : names) {
    s.add_workflows()->set_name(n);
  }
  return s;
}

// Writes what the plan asks for, the way the apply step will.
void Apply(const v1::MigrationPackage& p, const v1::MigrationPlan& plan,
           InMemoryDefinitionSource* target) {
  auto steps = StepsToApply(p, plan);
  ASSERT_TRUE(steps.ok()) << steps.status();
  for (const ApplyStep& s : *steps) {
    if (s.kind == v1::ITEM_KIND_TASK_DEF) {
      target->AddTaskDef(s.task_def);
    } else {
      target->AddWorkflowDef(s.workflow_def);
    }
  }
}

std::map<std::string, v1::PlannedItem> ByKey(const v1::MigrationPlan& plan) {
  std::map<std::string, v1::PlannedItem> out;
  for (const auto& i : plan.items()) {
    out[i.kind() == v1::ITEM_KIND_TASK_DEF ? i.name()
                                           : absl::StrCat(i.name(), ":", i.source_version())] = i;
  }
  return out;
}

std::vector<v1::ItemAction> Actions(const v1::MigrationPlan& plan) {
  std::vector<v1::ItemAction> out;
  for (const auto& i : plan.items()) {
    out.push_back(i.action());
  }
  return out;
}

int Position(const v1::MigrationPlan& plan, const std::string& name) {
  for (int i = 0; i < plan.items_size(); ++i) {
    if (plan.items(i).name() == name) {
      return i;
    }
  }
  return -1;
}

cp::WorkflowDef Parse(const std::string& json) {
  auto def = ParseWorkflowDef(json);
  EXPECT_TRUE(def.ok()) << def.status();
  return *def;
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddSourceEnvironment(&source_);
    // What order_flow needs but the source does not hold: the target provides it.
    target_.AddTaskDef(Td("missing_worker"));
    target_.AddWorkflowDef(SimpleWf("ghost_flow", 1, "missing_worker"));
  }

  v1::MigrationPlan PlanOk(const v1::MigrationPackage& p) {
    auto plan = PlanMigration(p, target_);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? *plan : v1::MigrationPlan();
  }

  InMemoryDefinitionSource source_;
  InMemoryDefinitionSource target_;
};

TEST_F(PlanTest, CreatesEverythingInDependencyOrderThenReplanIsAllUnchanged) {
  for (auto strategy : {v1::VERSION_STRATEGY_PRESERVE, v1::VERSION_STRATEGY_NEW_VERSION}) {
    SCOPED_TRACE(strategy);
    SetUp();
    target_ = InMemoryDefinitionSource();
    target_.AddTaskDef(Td("missing_worker"));
    target_.AddWorkflowDef(SimpleWf("ghost_flow", 1, "missing_worker"));
    v1::MigrationPackage p =
        MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL, strategy);
    v1::MigrationPlan plan = PlanOk(p);
    EXPECT_FALSE(plan.blocked()) << plan.DebugString();
    EXPECT_THAT(Actions(plan), Each(v1::ITEM_ACTION_CREATE));
    ASSERT_EQ(plan.items_size(), 11);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(plan.items(i).kind(), v1::ITEM_KIND_TASK_DEF);
    }
    // Leaves before parents.
    EXPECT_LT(Position(plan, "label_flow"), Position(plan, "packing_flow"));
    EXPECT_LT(Position(plan, "packing_flow"), Position(plan, "express_flow"));
    EXPECT_LT(Position(plan, "express_flow"), Position(plan, "order_flow"));
    EXPECT_LT(Position(plan, "audit_flow"), Position(plan, "order_flow"));
    EXPECT_LT(Position(plan, "order_cleanup"), Position(plan, "order_flow"));
    EXPECT_THAT(plan.version_mapping(), SizeIs(6));
    for (const auto& m : plan.version_mapping()) {
      EXPECT_EQ(m.source_version(), m.target_version()) << m.name();
    }
    ASSERT_THAT(plan.counts(), SizeIs(2));
    EXPECT_EQ(plan.counts(0).count(), 5);
    EXPECT_EQ(plan.counts(1).count(), 6);
    EXPECT_FALSE(plan.manual_dependencies().empty());
    EXPECT_EQ(plan.unresolved_size(), 4);
    EXPECT_THAT(plan.warnings(), ElementsAre(HasSubstr("4 reference(s)")));

    Apply(p, plan, &target_);
    EXPECT_TRUE(CanonicalJson(*target_.GetWorkflowDef("order_flow", 2)) ==
                CanonicalJson(*source_.GetWorkflowDef("order_flow", 2)));

    v1::MigrationPlan again = PlanOk(p);
    EXPECT_FALSE(again.blocked());
    EXPECT_THAT(Actions(again), Each(v1::ITEM_ACTION_UNCHANGED));
    auto steps = StepsToApply(p, again);
    ASSERT_OK(steps.status());
    EXPECT_THAT(*steps, IsEmpty());
  }
}

// A worker task without a task definition in the source runs there with Conductor's default one:
// it does not block, and the plan lists it.
TEST_F(PlanTest, AWorkerTaskWithoutADefinitionInTheSourceMigratesToRunWithTheDefault) {
  target_ = InMemoryDefinitionSource();
  target_.AddWorkflowDef(SimpleWf("ghost_flow", 1, "charge_card"));
  v1::MigrationPackage p = MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked()) << plan.DebugString();
  EXPECT_THAT(Actions(plan), Each(v1::ITEM_ACTION_CREATE));
  const v1::Dependency* listed = nullptr;
  for (const v1::Dependency& d : plan.manual_dependencies()) {
    if (d.kind() == v1::DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION) listed = &d;
  }
  ASSERT_NE(listed, nullptr) << plan.DebugString();
  EXPECT_EQ(listed->name(), "missing_worker");
  ASSERT_EQ(listed->referenced_by_size(), 1);
  EXPECT_EQ(listed->referenced_by(0).workflow_name(), "order_flow");
  EXPECT_EQ(listed->referenced_by(0).task_reference_name(), "missing_worker");
  for (const v1::UnresolvedReference& u : plan.unresolved()) {
    EXPECT_NE(u.name(), "missing_worker") << u.DebugString();
  }
}

TEST_F(PlanTest, PreflightBlocksNamingWorkflowTaskAndMissingDefinitionAllAtOnce) {
  target_ = InMemoryDefinitionSource();  // provides neither missing_worker nor ghost_flow
  v1::MigrationPackage p =
      MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL,
                  v1::VERSION_STRATEGY_PRESERVE, /*require_task_definitions=*/true);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_TRUE(plan.blocked());
  auto items = ByKey(plan);
  EXPECT_EQ(items["order_flow:2"].action(), v1::ITEM_ACTION_BLOCKED);
  EXPECT_EQ(items["express_flow:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_THAT(
      plan.blocking_problems(),
      ElementsAre(AllOf(HasSubstr("workflow 'order_flow' version 2, task 'missing_worker'"),
                        HasSubstr("needs task definition 'missing_worker', which is neither in "
                                  "the package nor in the target")),
                  AllOf(HasSubstr("workflow 'order_flow' version 2, task 'ghost'"),
                        HasSubstr("references workflow 'ghost_flow' version 1"))));
  EXPECT_THAT(StepsToApply(p, plan), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              HasSubstr("blocked by 2 problem(s)")));
}

// Under on-blocked skip, a workflow with a missing sub-workflow is left out with everything only
// it needed; another requested workflow still migrates, and the plan is not blocked.
TEST_F(PlanTest, OnBlockedSkipLeavesOutTheBlockedWorkflowAndWhatOnlyItNeeded) {
  target_ = InMemoryDefinitionSource();  // no ghost_flow: order_flow v2 is blocked
  v1::MigrationPackage p =
      MakePackage(source_, Select({"order_flow", "ping"}), v1::CONFLICT_STRATEGY_FAIL,
                  v1::VERSION_STRATEGY_PRESERVE, false, v1::ON_BLOCKED_SKIP);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked()) << plan.DebugString();
  EXPECT_THAT(plan.blocking_problems(), IsEmpty());
  auto items = ByKey(plan);
  EXPECT_EQ(items["order_flow:2"].action(), v1::ITEM_ACTION_LEFT_OUT);
  EXPECT_THAT(items["order_flow:2"].reasons(),
              ElementsAre("left out: a definition it needs is missing",
                          HasSubstr("references workflow 'ghost_flow' version 1")));
  for (const char* only_for_order_flow :
       {"express_flow:1", "packing_flow:2", "label_flow:1", "audit_flow:3", "order_cleanup:1",
        "charge_card", "ship_order", "audit_log", "call_api"}) {
    SCOPED_TRACE(only_for_order_flow);
    EXPECT_EQ(items[only_for_order_flow].action(), v1::ITEM_ACTION_LEFT_OUT);
    EXPECT_THAT(items[only_for_order_flow].reasons(),
                ElementsAre("left out: only workflows that are left out need it"));
  }
  // The cycle ping <-> pong and the task definition pong shares with order_flow's tree migrate.
  EXPECT_EQ(items["ping:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["pong:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["notify"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_THAT(plan.warnings(), Contains(HasSubstr("on-blocked skip left out 10 item(s)")));
  for (const auto& m : plan.version_mapping()) EXPECT_NE(m.name(), "order_flow");

  ASSERT_OK_AND_ASSIGN(auto steps, StepsToApply(p, plan));
  std::vector<std::string> written;
  for (const ApplyStep& s : steps) {
    written.push_back(s.kind == v1::ITEM_KIND_TASK_DEF ? s.task_def.name() : s.workflow_def.name());
  }
  EXPECT_THAT(written, ::testing::UnorderedElementsAre("notify", "ping", "pong"));
}

// A conflict deep in the tree leaves out every workflow above it, each naming what it depends
// on; with the default policy the same package is blocked.
TEST_F(PlanTest, OnBlockedSkipLeavesOutEveryWorkflowAboveAConflict) {
  cp::WorkflowDef changed = *source_.GetWorkflowDef("label_flow", 1);
  changed.set_description("edited in the target");
  target_.AddWorkflowDef(changed);
  v1::MigrationPackage strict =
      MakePackage(source_, Select({"express_flow", "ping"}), v1::CONFLICT_STRATEGY_FAIL,
                  v1::VERSION_STRATEGY_PRESERVE);
  EXPECT_TRUE(PlanOk(strict).blocked());

  v1::MigrationPackage p =
      MakePackage(source_, Select({"express_flow", "ping"}), v1::CONFLICT_STRATEGY_FAIL,
                  v1::VERSION_STRATEGY_PRESERVE, false, v1::ON_BLOCKED_SKIP);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked());
  auto items = ByKey(plan);
  EXPECT_EQ(items["label_flow:1"].action(), v1::ITEM_ACTION_LEFT_OUT);
  EXPECT_THAT(items["label_flow:1"].reasons(),
              ElementsAre("left out: it conflicts with the target's definition",
                          HasSubstr("conflict strategy fail")));
  EXPECT_THAT(items["packing_flow:2"].reasons(),
              ElementsAre("left out: it depends on workflow 'label_flow' version 1, which is "
                          "left out"));
  EXPECT_THAT(items["express_flow:1"].reasons(),
              ElementsAre("left out: it depends on workflow 'packing_flow' version 2, which is "
                          "left out"));
  EXPECT_EQ(items["ping:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["pong:1"].action(), v1::ITEM_ACTION_CREATE);
}

TEST_F(PlanTest, PreflightAcceptsDependenciesFromTargetOrEmbeddedDefinition) {
  InMemoryDefinitionSource s;
  s.AddWorkflowDef(Wf(R"pb(
    name: "w"
    version: 1
    tasks { name: "in_target" task_reference_name: "a" type: "SIMPLE" }
    tasks {
      name: "embedded"
      task_reference_name: "b"
      type: "SIMPLE"
      task_definition { name: "embedded" }
    }
    tasks {
      name: "s"
      task_reference_name: "c"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "sub" }
    }
  )pb"));
  v1::Selection sel = Select({"w"});
  auto d = Discover(sel, s, {});
  ASSERT_OK(d.status());
  PackageHeader h{.source_environment = "dev", .created_at = absl::UnixEpoch()};
  auto built = BuildPackage(*d, h);
  ASSERT_OK(built.status());
  target_.AddTaskDef(Td("in_target"));
  target_.AddWorkflowDef(SimpleWf("sub", 4, "in_target"));
  v1::MigrationPlan plan = PlanOk(built->package);
  EXPECT_FALSE(plan.blocked()) << plan.DebugString();
  EXPECT_THAT(Actions(plan), ElementsAre(v1::ITEM_ACTION_CREATE));
}

class ConflictTest : public PlanTest {
 protected:
  // The target holds the whole migration, then drifts: order_flow 2 and task notify differ.
  void Drift() {
    v1::MigrationPackage base = MakePackage(
        source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL, v1::VERSION_STRATEGY_PRESERVE);
    Apply(base, PlanOk(base), &target_);
    cp::WorkflowDef changed = *target_.GetWorkflowDef("order_flow", 2);
    changed.set_description("edited in the target");
    target_.AddWorkflowDef(changed);
    target_.AddTaskDef(Td("notify", /*retry_count=*/9));
  }
};

TEST_F(ConflictTest, FailReportsEveryConflictAndBlocks) {
  Drift();
  v1::MigrationPackage p = MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_TRUE(plan.blocked());
  auto items = ByKey(plan);
  EXPECT_EQ(items["order_flow:2"].action(), v1::ITEM_ACTION_CONFLICT);
  EXPECT_EQ(items["notify"].action(), v1::ITEM_ACTION_CONFLICT);
  EXPECT_EQ(items["express_flow:1"].action(), v1::ITEM_ACTION_UNCHANGED);
  EXPECT_NE(items["notify"].target_sha256(), items["notify"].planned_sha256());
  // Each conflict names the fields that differ, the target's value first.
  ASSERT_EQ(items["order_flow:2"].differences_size(), 1);
  EXPECT_EQ(items["order_flow:2"].differences(0).path(), "description");
  EXPECT_EQ(items["order_flow:2"].differences(0).target(), "\"edited in the target\"");
  ASSERT_EQ(items["notify"].differences_size(), 1);
  EXPECT_EQ(items["notify"].differences(0).path(), "retryCount");
  EXPECT_EQ(items["notify"].differences(0).target(), "9");
  EXPECT_THAT(plan.blocking_problems(),
              ElementsAre(HasSubstr("task definition 'notify' differs from the target's"),
                          AllOf(HasSubstr("workflow 'order_flow' version 2 differs"),
                                HasSubstr("conflict strategy fail"))));
  // The unspecified strategy is fail.
  v1::MigrationPackage unspecified =
      MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_UNSPECIFIED,
                  v1::VERSION_STRATEGY_UNSPECIFIED);
  EXPECT_TRUE(PlanOk(unspecified).blocked());
}

TEST_F(ConflictTest, SkipKeepsTheTargetsDefinitions) {
  Drift();
  v1::MigrationPackage p = MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_SKIP,
                                       v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked());
  auto items = ByKey(plan);
  EXPECT_EQ(items["order_flow:2"].action(), v1::ITEM_ACTION_SKIP);
  EXPECT_EQ(items["notify"].action(), v1::ITEM_ACTION_SKIP);
  auto steps = StepsToApply(p, plan);
  ASSERT_OK(steps.status());
  EXPECT_THAT(*steps, IsEmpty());
}

TEST_F(ConflictTest, UpdateOverwritesAndIsThenUnchanged) {
  Drift();
  v1::MigrationPackage p = MakePackage(source_, Select({"order_flow"}),
                                       v1::CONFLICT_STRATEGY_UPDATE, v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked());
  auto items = ByKey(plan);
  EXPECT_EQ(items["order_flow:2"].action(), v1::ITEM_ACTION_UPDATE);
  EXPECT_EQ(items["notify"].action(), v1::ITEM_ACTION_UPDATE);
  auto steps = StepsToApply(p, plan);
  ASSERT_OK(steps.status());
  ASSERT_THAT(*steps, SizeIs(2));
  EXPECT_EQ((*steps)[0].task_def.name(), "notify");
  EXPECT_EQ((*steps)[1].workflow_def.name(), "order_flow");
  Apply(p, plan, &target_);
  EXPECT_THAT(Actions(PlanOk(p)), Each(v1::ITEM_ACTION_UNCHANGED));
}

TEST_F(ConflictTest, NewVersionRewritesReferencesAcrossThePackage) {
  v1::MigrationPackage base = MakePackage(
      source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL, v1::VERSION_STRATEGY_PRESERVE);
  Apply(base, PlanOk(base), &target_);
  cp::WorkflowDef drifted = *target_.GetWorkflowDef("label_flow", 1);
  drifted.set_description("edited in the target");
  target_.AddWorkflowDef(drifted);
  // A target workflow outside the package that pins label_flow 1 keeps running it.
  target_.AddWorkflowDef(*ParseWorkflowDef(R"({"name":"legacy_flow","version":1,"tasks":[
      {"name":"label_flow","taskReferenceName":"lbl","type":"SUB_WORKFLOW",
       "subWorkflowParam":{"name":"label_flow","version":1}}]})"));

  v1::MigrationPackage p = MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_NEW_VERSION);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked()) << plan.DebugString();
  EXPECT_THAT(plan.warnings(),
              Contains(AllOf(HasSubstr("new-version: workflow 'label_flow' version 2 is written"),
                             HasSubstr("'legacy_flow' version 1, task 'lbl'"), HasSubstr("pins v1"),
                             Not(HasSubstr("packing_flow")))));
  auto items = ByKey(plan);
  // label_flow differs: version 2. packing_flow 2 pins label_flow 1: rewritten, so it differs
  // too and takes version 3. express_flow refers to packing_flow's latest: unchanged.
  EXPECT_EQ(items["label_flow:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["label_flow:1"].target_version(), 2);
  EXPECT_EQ(items["packing_flow:2"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["packing_flow:2"].target_version(), 3);
  EXPECT_NE(items["packing_flow:2"].planned_sha256(), items["packing_flow:2"].source_sha256());
  cp::WorkflowDef packing = Parse(items["packing_flow:2"].rewritten_json());
  EXPECT_EQ(packing.version(), 3);
  EXPECT_EQ(packing.tasks(1).sub_workflow_param().version(), 2);
  EXPECT_EQ(items["packing_flow:2"].planned_sha256(),
            Sha256Hex(items["packing_flow:2"].rewritten_json()));
  EXPECT_EQ(items["express_flow:1"].action(), v1::ITEM_ACTION_UNCHANGED);
  EXPECT_EQ(items["order_flow:2"].action(), v1::ITEM_ACTION_UNCHANGED);
  EXPECT_EQ(items["order_flow:2"].rewritten_json(), "");

  Apply(p, plan, &target_);
  EXPECT_EQ(target_.GetWorkflowDef("packing_flow", std::nullopt)->version(), 3);
  EXPECT_EQ(target_.GetWorkflowDef("label_flow", 1)->description(), "edited in the target");

  v1::MigrationPlan again = PlanOk(p);
  EXPECT_THAT(Actions(again), Each(v1::ITEM_ACTION_UNCHANGED));
  std::map<std::string, int> mapping;
  for (const auto& m : again.version_mapping()) {
    mapping[m.name()] = m.target_version();
  }
  EXPECT_EQ(mapping["label_flow"], 2);
  EXPECT_EQ(mapping["packing_flow"], 3);
  EXPECT_EQ(mapping["order_flow"], 2);
}

TEST_F(PlanTest, NewVersionRewritesStartWorkflowFailureWorkflowAndNestedReferences) {
  InMemoryDefinitionSource s;
  s.AddTaskDef(Td("t"));
  s.AddWorkflowDef(SimpleWf("child", 1, "t"));
  s.AddWorkflowDef(SimpleWf("fw", 1, "t"));
  s.AddWorkflowDef(Wf(R"pb(
    name: "parent"
    version: 1
    failure_workflow: "fw"
    failure_workflow_version: 1
    tasks {
      name: "sw"
      task_reference_name: "sw"
      type: "START_WORKFLOW"
      input_parameters {
        key: "startWorkflow"
        value {
          struct_value {
            fields {
              key: "name"
              value { string_value: "child" }
            }
            fields {
              key: "version"
              value { string_value: "1" }
            }
          }
        }
      }
    }
    tasks {
      name: "sel"
      task_reference_name: "sel"
      type: "SWITCH"
      evaluator_type: "value-param"
      expression: "x"
      decision_cases {
        key: "a"
        value {
          tasks {
            name: "loop"
            task_reference_name: "loop"
            type: "DO_WHILE"
            loop_over {
              name: "c"
              task_reference_name: "c"
              type: "SUB_WORKFLOW"
              sub_workflow_param { name: "child" version: 1 }
            }
          }
        }
      }
    }
    tasks {
      name: "inl"
      task_reference_name: "inl"
      type: "SUB_WORKFLOW"
      sub_workflow_param {
        name: "inl"
        workflow_definition {
          struct_value {
            fields {
              key: "name"
              value { string_value: "inl" }
            }
            fields {
              key: "version"
              value { number_value: 1 }
            }
            fields {
              key: "tasks"
              value {
                list_value {
                  values {
                    struct_value {
                      fields {
                        key: "name"
                        value { string_value: "c2" }
                      }
                      fields {
                        key: "taskReferenceName"
                        value { string_value: "c2" }
                      }
                      fields {
                        key: "type"
                        value { string_value: "SUB_WORKFLOW" }
                      }
                      fields {
                        key: "subWorkflowParam"
                        value {
                          struct_value {
                            fields {
                              key: "name"
                              value { string_value: "child" }
                            }
                            fields {
                              key: "version"
                              value { number_value: 1 }
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  )pb"));
  v1::MigrationPackage p = MakePackage(s, Select({"parent"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_NEW_VERSION);
  target_.AddTaskDef(Td("t"));
  target_.AddWorkflowDef(SimpleWf("child", 1, "other"));
  target_.AddWorkflowDef(SimpleWf("fw", 1, "other"));
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked()) << plan.DebugString();
  auto items = ByKey(plan);
  EXPECT_EQ(items["child:1"].target_version(), 2);
  EXPECT_EQ(items["fw:1"].target_version(), 2);
  // The name is new in the target: it keeps its source version.
  EXPECT_EQ(items["parent:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["parent:1"].target_version(), 1);
  cp::WorkflowDef parent = Parse(items["parent:1"].rewritten_json());
  EXPECT_EQ(parent.failure_workflow_version(), 2);
  EXPECT_EQ(parent.tasks(0)
                .input_parameters()
                .at("startWorkflow")
                .struct_value()
                .fields()
                .at("version")
                .string_value(),
            "2");
  EXPECT_EQ(
      parent.tasks(1).decision_cases().at("a").tasks(0).loop_over(0).sub_workflow_param().version(),
      2);
  auto inline_def =
      WorkflowDefFromValue(parent.tasks(2).sub_workflow_param().workflow_definition(), nullptr);
  ASSERT_OK(inline_def.status());
  EXPECT_EQ(inline_def->tasks(0).sub_workflow_param().version(), 2);
  EXPECT_THAT(plan.version_mapping(), SizeIs(3));

  Apply(p, plan, &target_);
  EXPECT_THAT(Actions(PlanOk(p)), Each(v1::ITEM_ACTION_UNCHANGED));
}

TEST_F(PlanTest, NewVersionGivesEachDifferingVersionItsOwnNextFreeVersion) {
  InMemoryDefinitionSource s;
  s.AddTaskDef(Td("t"));
  s.AddWorkflowDef(SimpleWf("w", 1, "t"));
  cp::WorkflowDef w2 = SimpleWf("w", 2, "t");
  w2.set_description("second");
  s.AddWorkflowDef(w2);
  v1::Selection sel;
  sel.add_workflows()->set_name("w");
  sel.mutable_workflows(0)->set_version(1);
  sel.add_workflows()->set_name("w");
  v1::MigrationPackage p =
      MakePackage(s, sel, v1::CONFLICT_STRATEGY_FAIL, v1::VERSION_STRATEGY_NEW_VERSION);
  target_.AddTaskDef(Td("t"));
  target_.AddWorkflowDef(SimpleWf("w", 1, "x"));
  target_.AddWorkflowDef(SimpleWf("w", 2, "y"));
  v1::MigrationPlan plan = PlanOk(p);
  auto items = ByKey(plan);
  EXPECT_EQ(items["w:1"].target_version(), 3);
  EXPECT_EQ(items["w:2"].target_version(), 4);
  EXPECT_EQ(items["w:1"].action(), v1::ITEM_ACTION_CREATE);
  Apply(p, plan, &target_);
  // w 2 is identical to the target's latest (4), w 1 to its version 3, no longer the latest:
  // both unchanged, nothing more is written.
  v1::MigrationPlan again = PlanOk(p);
  EXPECT_THAT(Actions(again), Each(v1::ITEM_ACTION_UNCHANGED));
  EXPECT_EQ(ByKey(again)["w:1"].target_version(), 3);
  EXPECT_EQ(ByKey(again)["w:2"].target_version(), 4);

  // A target that cannot list versions only recognises the same and the latest version.
  CountingSource no_list(target_);
  no_list.can_list = false;
  auto limited = PlanMigration(p, no_list);
  ASSERT_OK(limited.status());
  EXPECT_EQ(ByKey(*limited)["w:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(ByKey(*limited)["w:1"].target_version(), 5);
  EXPECT_EQ(ByKey(*limited)["w:2"].action(), v1::ITEM_ACTION_UNCHANGED);
}

TEST_F(PlanTest, NewVersionMapsACycleAsAUnit) {
  v1::MigrationPackage p = MakePackage(source_, Select({"ping"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_NEW_VERSION);
  v1::MigrationPlan first = PlanOk(p);
  EXPECT_THAT(Actions(first), Each(v1::ITEM_ACTION_CREATE));
  EXPECT_EQ(ByKey(first)["ping:1"].target_version(), 1);
  Apply(p, first, &target_);
  EXPECT_THAT(Actions(PlanOk(p)), Each(v1::ITEM_ACTION_UNCHANGED));

  // ping drifts in the target: the cycle is written again as a unit, pointing at itself.
  cp::WorkflowDef drifted = *target_.GetWorkflowDef("ping", 1);
  drifted.set_description("edited");
  target_.AddWorkflowDef(drifted);
  v1::MigrationPlan plan = PlanOk(p);
  auto items = ByKey(plan);
  EXPECT_EQ(items["ping:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["pong:1"].action(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(items["ping:1"].target_version(), 2);
  EXPECT_EQ(items["pong:1"].target_version(), 2);
  EXPECT_THAT(items["pong:1"].reasons(), ElementsAre(HasSubstr("part of a cycle")));
  EXPECT_EQ(Parse(items["ping:1"].rewritten_json()).tasks(0).sub_workflow_param().version(), 2);
  EXPECT_EQ(Parse(items["pong:1"].rewritten_json()).tasks(1).sub_workflow_param().version(), 2);
  Apply(p, plan, &target_);
  v1::MigrationPlan again = PlanOk(p);
  EXPECT_THAT(Actions(again), Each(v1::ITEM_ACTION_UNCHANGED));
  EXPECT_EQ(ByKey(again)["ping:1"].target_version(), 2);
}

TEST_F(PlanTest, PreserveCycleIsPlannedAndOrderedDeterministically) {
  v1::MigrationPackage p = MakePackage(source_, Select({"pong"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  ASSERT_EQ(plan.items_size(), 3);
  // Task definitions first; the cycle's members by (name, version).
  EXPECT_EQ(plan.items(0).name(), "notify");
  EXPECT_EQ(plan.items(1).name(), "ping");
  EXPECT_EQ(plan.items(2).name(), "pong");
  EXPECT_THAT(Actions(plan), Each(v1::ITEM_ACTION_CREATE));
  EXPECT_EQ(PlanOk(p).SerializeAsString(), plan.SerializeAsString());
}

TEST_F(PlanTest, AWorkflowThatStartsItselfIsWarnedAboutAndStillPlanned) {
  InMemoryDefinitionSource s;
  s.AddWorkflowDef(Wf(R"pb(
    name: "ouroboros"
    version: 2
    tasks {
      name: "again"
      task_reference_name: "again"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "ouroboros" }
    }
  )pb"));
  s.AddWorkflowDef(Wf(R"pb(
    name: "phoenix"
    version: 1
    failure_workflow: "phoenix"
    tasks { name: "noop" task_reference_name: "n" type: "NOOP" }
  )pb"));
  // Another version of itself is an ordinary reference.
  s.AddWorkflowDef(Wf(R"pb(
    name: "older"
    version: 1
    tasks { name: "noop" task_reference_name: "n" type: "NOOP" }
  )pb"));
  s.AddWorkflowDef(Wf(R"pb(
    name: "older"
    version: 2
    tasks {
      name: "prev"
      task_reference_name: "prev"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "older" version: 1 }
    }
  )pb"));
  v1::Selection selection = Select({"ouroboros", "phoenix"});
  v1::WorkflowSelector* older = selection.add_workflows();
  older->set_name("older");
  older->set_version(2);
  v1::MigrationPackage p =
      MakePackage(s, selection, v1::CONFLICT_STRATEGY_FAIL, v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  EXPECT_FALSE(plan.blocked());
  EXPECT_THAT(plan.warnings(),
              ElementsAre(HasSubstr("workflow 'ouroboros' version 2 starts itself (task 'again'"),
                          HasSubstr("workflow 'phoenix' version 1 starts itself")));
}

TEST_F(PlanTest, InvalidPackageIsRejectedBeforeReadingTheTarget) {
  v1::MigrationPackage p = MakePackage(source_, Select({"ping"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_PRESERVE);
  p.mutable_items(0)->set_canonical_json("{}");
  CountingSource counting(target_);
  EXPECT_THAT(PlanMigration(p, counting),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not match")));
  EXPECT_EQ(counting.workflow_calls + counting.task_def_calls, 0);
}

TEST_F(PlanTest, TargetErrorsArePassedThrough) {
  v1::MigrationPackage p = MakePackage(source_, Select({"ping"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_PRESERVE);
  CountingSource failing(target_);
  failing.fail_with = absl::DeadlineExceededError("slow");
  EXPECT_THAT(PlanMigration(p, failing),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("from the target")));
}

TEST_F(PlanTest, StepsRefuseAPlanOfAnotherPackage) {
  v1::MigrationPackage p = MakePackage(source_, Select({"ping"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  plan.set_package_digest("0");
  EXPECT_THAT(StepsToApply(p, plan),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not for package")));
}

TEST_F(PlanTest, ReportCarriesStatusesCountsAndDependencies) {
  v1::MigrationPackage p = MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_FAIL,
                                       v1::VERSION_STRATEGY_PRESERVE);
  v1::MigrationPlan plan = PlanOk(p);
  v1::MigrationReport r = ReportFromPlan(p, plan, "prod");
  EXPECT_EQ(r.source_environment(), "dev");
  EXPECT_EQ(r.target_environment(), "prod");
  EXPECT_EQ(r.package_digest(), p.digest());
  EXPECT_FALSE(r.blocked());
  ASSERT_EQ(r.items_size(), 11);
  EXPECT_EQ(r.items(0).status(), v1::ITEM_ACTION_CREATE);
  EXPECT_EQ(r.counts_size(), 2);
  EXPECT_EQ(r.version_mapping_size(), 6);
  EXPECT_EQ(r.manual_dependencies_size(), p.dependencies().dependencies_size());
  EXPECT_EQ(r.unresolved_size(), 4);
}

}  // namespace
}  // namespace cmig::migration

namespace cmig::migration {
namespace {

TEST_F(ConflictTest, StepsFromValidatedContentsEqualStepsParsedFromThePackage) {
  Drift();
  v1::MigrationPackage p =
      MakePackage(source_, Select({"order_flow"}), v1::CONFLICT_STRATEGY_UPDATE,
                  v1::VERSION_STRATEGY_NEW_VERSION);
  v1::MigrationPlan plan = PlanOk(p);
  ASSERT_FALSE(plan.blocked());
  auto contents = ValidatePackage(p);
  ASSERT_OK(contents.status());
  auto parsed = StepsToApply(p, plan);
  auto reused = StepsToApply(p, *contents, plan);
  ASSERT_OK(parsed.status());
  ASSERT_OK(reused.status());
  ASSERT_EQ(parsed->size(), reused->size());
  ASSERT_FALSE(parsed->empty());
  bool saw_new_version = false;
  for (size_t i = 0; i < parsed->size(); ++i) {
    EXPECT_EQ((*parsed)[i].kind, (*reused)[i].kind);
    EXPECT_EQ((*parsed)[i].task_def.SerializeAsString(), (*reused)[i].task_def.SerializeAsString());
    EXPECT_EQ(CanonicalJson((*parsed)[i].workflow_def), CanonicalJson((*reused)[i].workflow_def));
    saw_new_version |= (*reused)[i].workflow_def.name() == "order_flow" &&
                       (*reused)[i].workflow_def.version() == 3;
  }
  EXPECT_TRUE(saw_new_version);
}

}  // namespace
}  // namespace cmig::migration
