// Reviewing and approving a migration: field-level differences in plans, `definitions get` and
// `definitions diff` across two environments, and `migrate --apply-plan` applying a dry run as
// approved or refusing when the source or target changed since. Real orchestrators, workers and
// the migrationctl binary (tests/cli/migration_commands_fixture.h).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cli/migration_commands_fixture.h"

namespace cmig::cli::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ApprovedPlanTest : public MigrationCommandsTest {
 protected:
  // B holds pay_flow v1 with a description the source's lacks, and reserve_stock as in A.
  void SeedTargetDrift() {
    RegisterWorkflow(*b_.client, R"({"name":"pay_flow","version":1,"schemaVersion":2,
        "description":"edited in B","tasks":[
        {"name":"charge_card","taskReferenceName":"charge","type":"SIMPLE"}]})");
    RegisterTaskDef(
        *b_.client,
        R"({"name":"reserve_stock","retryCount":1,"timeoutSeconds":60,"responseTimeoutSeconds":30})");
  }

  // A dry run of order_flow under conflict strategy update; its workflow id.
  std::string DryRun() {
    RunResult r =
        Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--conflict-strategy",
             "update", "--dry-run", "--wait", "--poll-interval", "20ms", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r;
    return Field(ParseOut(r), "workflowId").string_value();
  }

  // Replaces a definition that exists (register refuses to).
  void ReplaceWorkflow(client::MetadataClient& meta, const std::string& json) {
    auto def = WorkflowDefFromConductorJson(json, nullptr);
    ASSERT_TRUE(def.ok()) << def.status();
    ASSERT_OK(meta.UpdateWorkflowDefs({*def}));
  }

  std::string PayFlowDescription() {
    absl::StatusOr<conductor::proto::WorkflowDef> d = b_.client->GetWorkflowDef("pay_flow", 1);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->description() : "";
  }
};

TEST_F(ApprovedPlanTest, DefinitionsGetAndDiffReadEitherEnvironment) {
  SeedSource();
  SeedTargetDrift();
  AddTargetEnvironment();

  RunResult here = Cli({"definitions", "get", "workflow", "pay_flow"});
  ASSERT_EQ(here.exit_code, 0) << here;
  google::protobuf::Value a_def = ParseOut(here);
  EXPECT_EQ(Field(a_def, "name").string_value(), "pay_flow");
  EXPECT_EQ(Field(a_def, "version").number_value(), 1);
  RunResult there = Cli({"definitions", "get", "workflow", "pay_flow@1", "--environment", "B"});
  ASSERT_EQ(there.exit_code, 0) << there;
  EXPECT_EQ(Field(ParseOut(there), "description").string_value(), "edited in B");
  RunResult missing = Cli({"definitions", "get", "task", "no_such_task"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("has no task no_such_task"));

  RunResult diff = Cli({"definitions", "diff", "workflow", "pay_flow", "--target", "B"});
  ASSERT_EQ(diff.exit_code, 0) << diff;
  EXPECT_THAT(diff.out, HasSubstr("workflow pay_flow v1"));
  EXPECT_THAT(diff.out, HasSubstr("description: \"edited in B\" -> (absent)"));
  RunResult same = Cli({"definitions", "diff", "task", "reserve_stock", "--target", "B"});
  ASSERT_EQ(same.exit_code, 0) << same;
  EXPECT_THAT(same.out, HasSubstr("identical"));
  RunResult absent = Cli({"definitions", "diff", "task", "charge_card", "--target", "B", "--json"});
  ASSERT_EQ(absent.exit_code, 0) << absent;
  google::protobuf::Value a = ParseOut(absent);
  EXPECT_FALSE(Field(a, "inTarget").bool_value());
  EXPECT_FALSE(Field(a, "identical").bool_value());

  RunResult bad_kind = Cli({"definitions", "diff", "schedule", "x", "--target", "B"});
  EXPECT_NE(bad_kind.exit_code, 0);
  EXPECT_THAT(bad_kind.err, HasSubstr("unknown definition kind 'schedule'"));
  RunResult bad_env = Cli({"definitions", "diff", "task", "x", "--target", "nowhere"});
  EXPECT_NE(bad_env.exit_code, 0);
  EXPECT_THAT(bad_env.err, HasSubstr("unknown environment 'nowhere'; known: B"));
}

TEST_F(ApprovedPlanTest, ADryRunIsAppliedAsApprovedAndRefusedWhenTheTargetChangedSince) {
  SeedSource();
  SeedTargetDrift();
  StartWorkers();
  AddTargetEnvironment();

  // The dry run shows the update with the field it changes.
  RunResult shown =
      Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--conflict-strategy", "update",
           "--dry-run", "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(shown.exit_code, 0) << shown;
  EXPECT_THAT(shown.out, HasSubstr("Differences (target -> package):"));
  EXPECT_THAT(shown.out, HasSubstr("workflow pay_flow v1:\n    description: \"edited in B\" -> "
                                   "(absent)"));

  const std::string approved = DryRun();
  ASSERT_FALSE(approved.empty());
  // Someone changes the target after the approval: the run refuses and says what changed.
  RegisterTaskDef(
      *b_.client,
      R"({"name":"charge_card","retryCount":5,"timeoutSeconds":60,"responseTimeoutSeconds":30})");
  RunResult refused =
      Cli({"migrate", "--apply-plan", approved, "--wait", "--poll-interval", "20ms"});
  EXPECT_NE(refused.exit_code, 0) << refused;
  EXPECT_THAT(refused.out, HasSubstr("applying dry run " + approved + " as approved"));
  EXPECT_THAT(refused.out, HasSubstr("the target changed since dry run " + approved));
  EXPECT_THAT(refused.out, HasSubstr("Changed since the approved dry run:\n  - task definition "
                                     "'charge_card': the dry run planned CREATE, now UPDATE"));
  EXPECT_EQ(PayFlowDescription(), "edited in B") << "nothing may be applied";
  EXPECT_TRUE(absl::IsNotFound(b_.client->GetWorkflowDef("order_flow", 1).status()));

  // A new dry run over the target as it is now applies exactly as approved.
  const std::string again = DryRun();
  RunResult applied = Cli({"migrate", "--apply-plan", again, "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(applied.exit_code, 0) << applied;
  EXPECT_THAT(applied.out, HasSubstr("applied and verified"));
  EXPECT_EQ(PayFlowDescription(), "");
  EXPECT_OK(b_.client->GetWorkflowDef("order_flow", 1).status());
  absl::StatusOr<conductor::proto::TaskDef> charge = b_.client->GetTaskDef("charge_card");
  ASSERT_TRUE(charge.ok()) << charge.status();
  EXPECT_EQ(charge->retry_count(), 2);
}

TEST_F(ApprovedPlanTest, ASourceChangedSinceTheDryRunIsRefusedBeforeThePush) {
  SeedSource();
  StartWorkers();
  AddTargetEnvironment();
  const std::string approved = DryRun();
  ASSERT_FALSE(approved.empty());
  ReplaceWorkflow(*a_.client, R"({"name":"pay_flow","version":1,"schemaVersion":2,
      "description":"changed after the review","tasks":[
      {"name":"charge_card","taskReferenceName":"charge","type":"SIMPLE"}]})");
  RunResult refused =
      Cli({"migrate", "--apply-plan", approved, "--wait", "--poll-interval", "20ms"});
  EXPECT_NE(refused.exit_code, 0) << refused;
  EXPECT_THAT(refused.out + refused.err,
              HasSubstr("the source changed since dry run " + approved + " was approved"));
  EXPECT_THAT(refused.out + refused.err, HasSubstr("workflow 'pay_flow' version 1 changed"));
  EXPECT_THAT(refused.out + refused.err, Not(HasSubstr("push  COMPLETED")));
  EXPECT_TRUE(absl::IsNotFound(b_.client->GetWorkflowDef("pay_flow", 1).status()));
}

TEST_F(ApprovedPlanTest, OnlyACompletedDryRunCanBeApplied) {
  SeedSource();
  StartWorkers();
  AddTargetEnvironment();
  RunResult real = Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--wait",
                        "--poll-interval", "20ms", "--json"});
  ASSERT_EQ(real.exit_code, 0) << real;
  const std::string id = Field(ParseOut(real), "workflowId").string_value();
  RunResult not_dry = Cli({"migrate", "--apply-plan", id});
  EXPECT_NE(not_dry.exit_code, 0);
  EXPECT_THAT(not_dry.err, HasSubstr("--apply-plan " + id + ": it is no dry run"));
  RunResult with_flags = Cli({"migrate", "--apply-plan", id, "--workflow", "order_flow"});
  EXPECT_NE(with_flags.exit_code, 0);
  EXPECT_THAT(with_flags.err, HasSubstr("drop --workflow"));
}

}  // namespace
}  // namespace cmig::cli::test
