// Definitions written to hurt the orchestrator: a workflow that starts itself, as its own
// sub-workflow or as its own failure workflow, ends after a bounded chain with a reason saying
// why, and the server keeps serving.
#include "orchestrator_testing.h"

namespace cmig::orchestrator::test {
namespace {

using ::testing::HasSubstr;

class HostileInputTest : public OrchestratorTest {};

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

}  // namespace
}  // namespace cmig::orchestrator::test
