// The bad day, through the real migrationctl binary: terminating a migration ends both of its
// workflows and undoes what the incoming one changed, and the rollback shows in `list` and
// `history`.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "tasks/migration_handlers.h"
#include "tests/cli/migration_commands_fixture.h"
#include "tests/testing/wait_for.h"
#include "tests/testing/wait_for_workflow.h"
#include "workflows/lifecycle.h"

namespace cmig::cli::test {
namespace {

using conductor::proto::Workflow;
using ::testing::HasSubstr;

// The incoming workflows outgoing migration `outgoing_id` started in `side`.
std::vector<Workflow> IncomingOf(Side& side, const std::string& outgoing_id) {
  auto list = side.client->GetWorkflowsByCorrelationId(
      "incoming_migration_request", tasks::IncomingCorrelationId(outgoing_id),
      /*include_closed=*/true, /*include_tasks=*/false);
  return list.ok() ? *list : std::vector<Workflow>{};
}

class BadDayCommandsTest : public MigrationCommandsTest {
 protected:
  // Starts `migrate order_flow` to B while B's worker is down (as when a target's worker
  // restarts): the push starts the incoming workflow, which then waits. Sets `id` to the
  // outgoing migration's.
  void MigrateWithTheTargetsWorkerDown(std::string* id) {
    SeedSource();
    AddTargetEnvironment();
    ASSERT_NO_FATAL_FAILURE(StartWorker(a_, "A"));
    RunResult m = Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--json"});
    ASSERT_EQ(m.exit_code, 0) << m;
    *id = Field(ParseOut(m), "workflowId").string_value();
    ASSERT_TRUE(cmig::testing::WaitFor([&] { return IncomingOf(b_, *id).size() == 1; },
                                       absl::Seconds(20), absl::Milliseconds(20)))
        << "the push never started the incoming workflow";
    // ... and the push step has recorded it, so the outgoing workflow names it.
    ASSERT_TRUE(cmig::testing::WaitFor(
        [&] {
          absl::StatusOr<Workflow> wf = a_.client->GetWorkflowStatus(*id, true);
          if (!wf.ok()) return false;
          for (const auto& t : wf->tasks()) {
            if (t.reference_task_name() == "push" &&
                t.status() == conductor::proto::Task::COMPLETED) {
              return true;
            }
          }
          return false;
        },
        absl::Seconds(20), absl::Milliseconds(20)))
        << "the push step never completed";
  }
};

TEST_F(BadDayCommandsTest, TerminatingTheOutgoingMigrationEndsTheIncomingOneAndRollsItBack) {
  std::string id;
  ASSERT_NO_FATAL_FAILURE(MigrateWithTheTargetsWorkerDown(&id));
  const std::string incoming_id = IncomingOf(b_, id).front().workflow_id();
  // `status` says why the migration does not move: no worker polls the incoming step's type in B.
  RunResult status = Cli({"status", id});
  ASSERT_EQ(status.exit_code, 0) << status;
  EXPECT_THAT(status.out,
              HasSubstr(absl::StrCat("Waiting for workers:\n  - incoming workflow ", incoming_id,
                                     ": step validate is SCHEDULED, but no worker has polled "
                                     "cmig_validate_package on 'B' since it started")));
  // Retrying a migration that still runs says what to do instead of Conductor's raw answer.
  RunResult retry = Cli({"retry", id});
  EXPECT_EQ(retry.exit_code, 1) << retry;
  EXPECT_THAT(retry.err, HasSubstr("is still RUNNING"));
  EXPECT_THAT(retry.err, HasSubstr("migrationctl terminate"));

  RunResult t = Cli({"terminate", id, "--reason", "wrong target", "--json"});
  ASSERT_EQ(t.exit_code, 0) << t;
  const google::protobuf::Value tv = ParseOut(t);
  EXPECT_EQ(Field(tv, "status").string_value(), "TERMINATED");
  EXPECT_EQ(Field(tv, "incomingWorkflowId").string_value(), incoming_id);
  const std::string rollback_id = Field(tv, "rollbackWorkflowId").string_value();
  ASSERT_FALSE(rollback_id.empty()) << t;

  ASSERT_OK_AND_ASSIGN(Workflow incoming, b_.client->GetWorkflowStatus(incoming_id, false));
  EXPECT_EQ(incoming.status(), Workflow::TERMINATED);
  EXPECT_THAT(incoming.reason_for_incompletion(), HasSubstr("wrong target"));

  // The outgoing migration, followed from its start by `watch`, ended TERMINATED.
  RunResult watched = Cli({"watch", id, "--poll-interval", "20ms"});
  EXPECT_EQ(watched.exit_code, 1) << watched;
  EXPECT_THAT(watched.err, HasSubstr("ended TERMINATED: wrong target"));
  EXPECT_THAT(watched.out, HasSubstr("push  COMPLETED"));

  // When B's worker comes back, nothing is applied, and the rollback finds nothing to undo.
  ASSERT_NO_FATAL_FAILURE(StartWorker(b_, "B"));
  Workflow rollback =
      cmig::testing::WaitForWorkflow(*b_.client, rollback_id, cmig::testing::WorkflowEnded,
                                     absl::Seconds(30), absl::Milliseconds(20));
  ASSERT_EQ(rollback.status(), Workflow::COMPLETED) << rollback.reason_for_incompletion();
  EXPECT_THAT(b_.client->GetWorkflowDef("order_flow", 1).status(),
              cmig::testing::StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(b_.client->GetTaskDef("charge_card").status(),
              cmig::testing::StatusIs(absl::StatusCode::kNotFound, ::testing::_));

  // The rollback is listed in the target and is part of the incoming workflow's history.
  RunResult list = CliB({"list"});
  ASSERT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr(rollback_id));
  EXPECT_THAT(list.out, HasSubstr("rollback"));
  RunResult history = CliB({"history", incoming_id});
  ASSERT_EQ(history.exit_code, 0) << history;
  EXPECT_THAT(history.out, HasSubstr(absl::StrCat("Rollback workflow ", rollback_id)));
  EXPECT_THAT(history.out, HasSubstr("cmig_restore_snapshot"));
  // A second terminate finds everything ended and starts no second rollback.
  RunResult again = CliB({"terminate", incoming_id});
  EXPECT_NE(again.exit_code, 0) << again;
  ASSERT_OK_AND_ASSIGN(std::optional<Workflow> only, workflows::RollbackOf(*b_.client, incoming));
  ASSERT_TRUE(only.has_value());
  EXPECT_EQ(only->workflow_id(), rollback_id);
}

TEST_F(BadDayCommandsTest, WatchReattachesToAMigrationStartedWithoutWaiting) {
  std::string id;
  ASSERT_NO_FATAL_FAILURE(MigrateWithTheTargetsWorkerDown(&id));
  ASSERT_NO_FATAL_FAILURE(StartWorker(b_, "B"));
  RunResult w = Cli({"watch", id, "--poll-interval", "20ms"});
  ASSERT_EQ(w.exit_code, 0) << w;
  EXPECT_THAT(w.out, HasSubstr("verify_target  COMPLETED"));
  EXPECT_THAT(w.out, HasSubstr("Verification: ok"));
  EXPECT_OK(b_.client->GetWorkflowDef("order_flow", 1).status());
}

}  // namespace
}  // namespace cmig::cli::test
