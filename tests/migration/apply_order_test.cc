#include "migration/apply_order.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/migration/migration_fixtures.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;
using ::cmig::testing::SimpleWf;
using ::cmig::testing::Wf;
using ::testing::ElementsAre;

cp::WorkflowDef Calls(const std::string& name, int version,
                      const std::vector<std::pair<std::string, int>>& subs) {
  cp::WorkflowDef def;
  def.set_name(name);
  def.set_version(version);
  for (const auto& [sub, v] : subs) {
    cp::WorkflowTask* t = def.add_tasks();
    t->set_name(absl::StrCat("call_", sub));
    t->set_task_reference_name(absl::StrCat("call_", sub, "_", v));
    t->set_type("SUB_WORKFLOW");
    t->mutable_sub_workflow_param()->set_name(sub);
    t->mutable_sub_workflow_param()->set_version(v);
  }
  return def;
}

std::vector<std::string> Names(const std::vector<cp::WorkflowDef>& defs,
                               const std::vector<int>& order) {
  std::vector<std::string> out;
  out.reserve(order.size());
  for (int i : order) {
    out.push_back(absl::StrCat(defs[i].name(), ":", defs[i].version()));
  }
  return out;
}

TEST(ApplyOrderTest, LeavesBeforeParentsWithTiesByName) {
  // a -> {c, b}, b -> d, c -> d; e independent; z -> a.
  std::vector<cp::WorkflowDef> defs = {
      Calls("z", 1, {{"a", 1}}), Calls("a", 1, {{"c", 1}, {"b", 1}}), Calls("e", 1, {}),
      Calls("c", 1, {{"d", 1}}), Calls("b", 1, {{"d", 1}}),           Calls("d", 1, {})};
  EXPECT_THAT(Names(defs, WorkflowApplyOrder(defs)),
              ElementsAre("d:1", "b:1", "c:1", "a:1", "e:1", "z:1"));
}

TEST(ApplyOrderTest, LatestReferencePointsAtHighestVersionInTheSet) {
  std::vector<cp::WorkflowDef> defs = {Calls("parent", 1, {{"child", 0}}), Calls("child", 2, {}),
                                       Calls("child", 1, {})};
  std::vector<std::string> order = Names(defs, WorkflowApplyOrder(defs));
  EXPECT_THAT(order, ElementsAre("child:1", "child:2", "parent:1"));
}

TEST(ApplyOrderTest, StartWorkflowAndFailureWorkflowAreEdgesToo) {
  cp::WorkflowDef parent = Wf(R"pb(
    name: "a"
    version: 1
    failure_workflow: "z_fail"
    tasks {
      name: "s"
      task_reference_name: "s"
      type: "START_WORKFLOW"
      input_parameters {
        key: "startWorkflow"
        value {
          struct_value {
            fields {
              key: "name"
              value { string_value: "y_started" }
            }
          }
        }
      }
    }
  )pb");
  std::vector<cp::WorkflowDef> defs = {parent, SimpleWf("z_fail", 1, "t"),
                                       SimpleWf("y_started", 1, "t")};
  EXPECT_THAT(Names(defs, WorkflowApplyOrder(defs)), ElementsAre("y_started:1", "z_fail:1", "a:1"));
}

TEST(ApplyOrderTest, CyclesAreOneComponentOrderedByNameAfterWhatTheyReference) {
  // x -> y -> x, y -> leaf; self -> self; top -> x.
  std::vector<cp::WorkflowDef> defs = {
      Calls("top", 1, {{"y", 1}}), Calls("y", 1, {{"x", 1}, {"leaf", 1}}),
      Calls("x", 1, {{"y", 1}}), Calls("leaf", 1, {}), Calls("self", 1, {{"self", 1}})};
  WorkflowComponents c = ComponentsInApplyOrder(defs);
  std::vector<std::string> flat;
  std::vector<bool> cyclic;
  for (size_t i = 0; i < c.components.size(); ++i) {
    flat.push_back(absl::StrJoin(Names(defs, c.components[i]), ","));
  }
  EXPECT_THAT(flat, ElementsAre("leaf:1", "self:1", "x:1,y:1", "top:1"));
  EXPECT_THAT(c.cyclic, ElementsAre(false, true, true, false));
}

TEST(ApplyOrderTest, LongChainDoesNotExhaustTheStack) {
  constexpr int kDepth = 20000;
  std::vector<cp::WorkflowDef> defs;
  defs.reserve(kDepth);
  for (int i = 0; i < kDepth; ++i) {
    defs.push_back(i + 1 < kDepth ? Calls(absl::StrCat("w", i), 1, {{absl::StrCat("w", i + 1), 1}})
                                  : Calls(absl::StrCat("w", i), 1, {}));
  }
  std::vector<int> order = WorkflowApplyOrder(defs);
  ASSERT_EQ(order.size(), static_cast<size_t>(kDepth));
  for (int i = 0; i < kDepth; ++i) {
    EXPECT_EQ(order[i], kDepth - 1 - i);
  }
}

}  // namespace
}  // namespace cmig::migration
