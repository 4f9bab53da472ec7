#include "migration/references.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/migration/migration_fixtures.h"

namespace cmig::migration {
namespace {

namespace cp = conductor::proto;
using ::cmig::testing::Wf;
using ::testing::ElementsAre;

cp::WorkflowDef Parent() {
  return Wf(R"pb(
    name: "parent"
    version: 1
    failure_workflow: "fw"
    tasks {
      name: "a"
      task_reference_name: "pinned"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "child" version: 1 }
    }
    tasks {
      name: "b"
      task_reference_name: "latest"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "child" }
    }
    tasks {
      name: "c"
      task_reference_name: "other"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "other" version: 1 }
    }
    tasks {
      name: "d"
      task_reference_name: "expr"
      type: "SUB_WORKFLOW"
      sub_workflow_param { name: "${workflow.input.x}" version: 1 }
    }
    tasks {
      name: "e"
      task_reference_name: "start"
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
              value { number_value: 1 }
            }
          }
        }
      }
    }
    tasks {
      name: "js"
      task_reference_name: "js"
      type: "INLINE"
      expression: "return '${workflow.env.STAGE}' + $.x"
    }
  )pb");
}

TEST(ReferencesTest, RewritesOnlyPinnedStaticReferencesTheMappingNames) {
  cp::WorkflowDef def = Parent();
  int calls = 0;
  int changed = RewriteWorkflowReferences(&def, [&](absl::string_view name, int32_t v) {
    ++calls;
    return name == "child" && v == 1 ? std::optional<int32_t>(7) : std::nullopt;
  });
  EXPECT_EQ(changed, 2);
  EXPECT_EQ(calls, 3);  // child (pinned), other, START_WORKFLOW child; not latest, not expressions
  EXPECT_EQ(def.tasks(0).sub_workflow_param().version(), 7);
  EXPECT_EQ(def.tasks(1).sub_workflow_param().version(), 0);
  EXPECT_EQ(def.tasks(2).sub_workflow_param().version(), 1);
  EXPECT_EQ(def.tasks(3).sub_workflow_param().version(), 1);
  EXPECT_EQ(def.tasks(4)
                .input_parameters()
                .at("startWorkflow")
                .struct_value()
                .fields()
                .at("version")
                .number_value(),
            7);
  // An unpinned failure workflow stays unpinned.
  EXPECT_EQ(def.failure_workflow_version(), 0);
}

TEST(ReferencesTest, ScanListsReferencesInDefinitionOrder) {
  WorkflowReferences refs = ScanWorkflow(Parent());
  std::vector<std::string> workflows;
  for (const auto& w : refs.workflows) {
    workflows.push_back(absl::StrCat(w.name, ":", w.version, "@", w.referrer.field()));
  }
  EXPECT_THAT(workflows,
              ElementsAre("fw:0@failureWorkflow", "child:1@subWorkflowParam.name",
                          "child:0@subWorkflowParam.name", "other:1@subWorkflowParam.name",
                          "child:1@inputParameters.startWorkflow.name"));
  ASSERT_EQ(refs.unresolved.size(), 1u);
  EXPECT_EQ(refs.unresolved[0].name(), "${workflow.input.x}");
  std::vector<std::string> env;
  for (const auto& d : refs.dependencies) {
    if (d.kind == v1::DEPENDENCY_KIND_ENVIRONMENT_VARIABLE) {
      env.push_back(absl::StrCat(d.name, "@", d.referrer.field()));
    }
  }
  EXPECT_THAT(env, ElementsAre("STAGE@expression"));
  // INLINE is not control flow: its task definition is optional, not required.
  ASSERT_FALSE(refs.task_defs.empty());
  EXPECT_EQ(refs.task_defs.back().name, "js");
  EXPECT_FALSE(refs.task_defs.back().required);
}

// Conductor reads a failureWorkflow that starts with '$' from the workflow's input when the
// workflow fails: an expression, never a workflow to fetch, pin or rewrite.
TEST(ReferencesTest, AFailureWorkflowFromTheInputIsAnExpression) {
  cp::WorkflowDef def = Wf(R"pb(
    name: "w"
    version: 1
    failure_workflow: "$workflow.input.failureWfName"
    failure_workflow_version: 2
    tasks { name: "t" task_reference_name: "t" type: "SIMPLE" }
  )pb");
  WorkflowReferences refs = ScanWorkflow(def);
  EXPECT_TRUE(refs.workflows.empty());
  ASSERT_EQ(refs.unresolved.size(), 1u);
  EXPECT_EQ(refs.unresolved[0].kind(), v1::UNRESOLVED_KIND_EXPRESSION);
  EXPECT_EQ(refs.unresolved[0].name(), "$workflow.input.failureWfName");
  EXPECT_EQ(refs.unresolved[0].referenced_by().field(), "failureWorkflow");
  EXPECT_EQ(RewriteWorkflowReferences(&def, [](absl::string_view, int32_t) { return 9; }), 0);
  EXPECT_EQ(def.failure_workflow_version(), 2);
}

}  // namespace
}  // namespace cmig::migration
