// End to end, the rollback: an incoming migration terminated after it changed the target is
// rolled back, the outgoing migration says how the target was restored, and a rollback restores
// nothing over a definition changed by hand since the apply wrote it.
#include <string>

#include "absl/synchronization/notification.h"
#include "tests/worker/migration_e2e_fixture.h"
#include "workflows/lifecycle.h"

namespace cmig::e2e {
namespace {

// Step `ref` of `out` failed terminally on its first attempt: retrying could not have helped.
void ExpectFailedOnceTerminally(const Workflow& out, const std::string& ref) {
  const Task* step = FindTask(out, ref);
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->status(), Task::FAILED_WITH_TERMINAL_ERROR) << step->reason_for_incompletion();
  int attempts = 0;
  for (const Task& t : out.tasks()) attempts += t.reference_task_name() == ref ? 1 : 0;
  EXPECT_EQ(attempts, 1) << ref << " was retried";
}

TEST_F(MigrationE2eTest, AnIncomingMigrationTerminatedAfterItChangedTheTargetIsRolledBack) {
  SeedSource();
  absl::Notification written_some, terminated;
  tasks::MigrationDeps paused;
  paused.apply_batch_size = 1;
  // Two definitions are written, then the apply waits for the operator to terminate it.
  paused.before_apply_write = [&](const ApplyStep&, int index) -> absl::Status {
    if (index == 2) {
      written_some.Notify();
      terminated.WaitForNotificationWithTimeout(absl::Seconds(30));
    }
    return absl::OkStatus();
  };
  StartWorker(a_);
  StartWorker(b_, paused);
  const DefinitionHashes before = Hashes(b_);
  const std::string id = StartMigration(kSelectOrder, "{}");
  ASSERT_TRUE(written_some.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_NE(Hashes(b_), before) << "the apply has changed the target";
  // The operator terminates the incoming workflow with Conductor's own API, in the target.
  auto incoming = b_.client->GetWorkflowsByCorrelationId(
      "incoming_migration_request", tasks::IncomingCorrelationId(id), true, false);
  ASSERT_OK(incoming.status());
  ASSERT_EQ(incoming->size(), 1u);
  const std::string incoming_id = incoming->front().workflow_id();
  ASSERT_OK(b_.client->TerminateWorkflow(incoming_id, "stopped by the operator"));
  terminated.Notify();

  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("ended TERMINATED"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("stopped by the operator"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("rolled back by workflow"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("removed 2 definitions"));
  EXPECT_EQ(Hashes(b_), before) << "the target is as before the migration";
  ASSERT_OK_AND_ASSIGN(Workflow ended, b_.client->GetWorkflowStatus(incoming_id, false));
  ASSERT_OK_AND_ASSIGN(std::optional<Workflow> rollback, workflows::RollbackOf(*b_.client, ended));
  ASSERT_TRUE(rollback.has_value());
  EXPECT_EQ(rollback->status(), Workflow::COMPLETED);
  // The apply wrote nothing more once its workflow had ended.
  const Workflow incoming_now = Wait(b_, incoming_id);
  const Task* apply = FindTask(incoming_now, "apply");
  ASSERT_NE(apply, nullptr);
  EXPECT_NE(apply->status(), Task::COMPLETED);
}

TEST_F(MigrationE2eTest, ARollbackLeavesADefinitionChangedByHandSinceTheApplyAndNamesIt) {
  SeedSource();
  tasks::MigrationDeps faulty;
  faulty.apply_batch_size = 1;
  // audit_flow is written first of the workflows; while ledger_flow is being written, someone
  // edits audit_flow in the target by hand, and the apply then fails.
  faulty.before_apply_write = [this](const ApplyStep& step, int index) -> absl::Status {
    if (step.kind == v1::ITEM_KIND_WORKFLOW_DEF && step.workflow_def.name() == "ledger_flow") {
      PutWorkflow(b_, WorkflowJson("audit_flow", 1, {SimpleTask("audit_entry")}, "hand edit"));
      return absl::FailedPreconditionError(absl::StrCat("injected failure at write ", index));
    }
    return absl::OkStatus();
  };
  StartWorker(a_);
  StartWorker(b_, faulty);
  const std::string id = StartMigration(kSelectOrder, "{}");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("injected failure"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("rolled back by workflow"));
  EXPECT_THAT(out.reason_for_incompletion(),
              HasSubstr("changed in the target since the migration wrote them: workflow "
                        "'audit_flow' version 1"));
  // The hand edit stands; the task definitions the apply created are gone.
  const DefinitionHashes after = Hashes(b_);
  ASSERT_EQ(after.count("wf:audit_flow:1"), 1u);
  auto edited = b_.client->GetWorkflowDef("audit_flow", 1);
  ASSERT_OK(edited.status());
  EXPECT_EQ(edited->description(), "hand edit");
  EXPECT_EQ(after.size(), 1u) << "everything else the apply wrote was removed";
}

TEST_F(MigrationE2eTest, RetryingABlockedMigrationAfterTheTargetIsFixedPlansAgainAndCompletes) {
  SeedSource();
  // B holds another payment_flow v1: under strategy fail the plan is blocked.
  PutWorkflow(b_, WorkflowJson("payment_flow", 1, {SimpleTask("charge_card")}, "B's own"));
  StartWorkers();
  const std::string id = StartMigration(kSelectOrder, "{}");
  Workflow failed = Wait(a_, id);
  ASSERT_EQ(failed.status(), Workflow::FAILED);
  EXPECT_THAT(failed.reason_for_incompletion(), HasSubstr("payment_flow"));
  const Workflow first = Incoming(id);
  ASSERT_EQ(first.status(), Workflow::FAILED);

  // The operator makes B's payment_flow the same as A's, then retries the migration: one command.
  PutWorkflow(
      b_, WorkflowJson("payment_flow", 1,
                       {SimpleTask("charge_card"), SubWorkflowTask("ledger", "ledger_flow", 2)}));
  ASSERT_OK(a_.client->RetryWorkflow(id, /*resume_subworkflow_tasks=*/false));
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  v1::MigrationReport report = ReportOf(out.output().at("report"));
  EXPECT_EQ(Count(report, v1::ITEM_ACTION_CONFLICT), 0);
  EXPECT_EQ(Hashes(a_), Hashes(b_));

  // A second incoming workflow planned against B as it is now; the first stays in history.
  auto incoming = b_.client->GetWorkflowsByCorrelationId(
      "incoming_migration_request", tasks::IncomingCorrelationId(id), true, false);
  ASSERT_OK(incoming.status());
  ASSERT_EQ(incoming->size(), 2u);
  const std::string second_id = out.output().at("incomingWorkflowId").string_value();
  EXPECT_NE(second_id, first.workflow_id());
  ASSERT_OK_AND_ASSIGN(Workflow second, b_.client->GetWorkflowStatus(second_id, false));
  EXPECT_EQ(second.status(), Workflow::COMPLETED);
  ASSERT_OK_AND_ASSIGN(Workflow first_now, b_.client->GetWorkflowStatus(first.workflow_id(), true));
  EXPECT_EQ(first_now.status(), Workflow::FAILED);
  int awaits = 0;
  for (const Task& t : out.tasks()) awaits += t.reference_task_name() == "await_incoming";
  EXPECT_EQ(awaits, 2) << "both attempts stay in the outgoing history";
}

// Terminated through Conductor's own API, the outgoing migration tells no one and starts no
// failure workflow; the source's worker follows the termination: the incoming workflow in the
// target is ended and rolled back, so nothing is applied when the target's worker comes back.
TEST_F(MigrationE2eTest, AnOutgoingMigrationTerminatedWithConductorsApiEndsItsIncomingOne) {
  SeedSource();
  tasks::MigrationDeps following;
  following.follow_terminations_every = absl::Milliseconds(50);
  StartWorker(a_, following);  // B's worker is down: the incoming workflow waits there
  const DefinitionHashes before = Hashes(b_);
  const std::string id = StartMigration(kSelectOrder, "{}");
  std::string incoming_id;
  ASSERT_TRUE(cmig::testing::WaitFor(
      [&] {
        auto list = b_.client->GetWorkflowsByCorrelationId(
            "incoming_migration_request", tasks::IncomingCorrelationId(id), true, false);
        if (!list.ok() || list->empty()) return false;
        incoming_id = list->front().workflow_id();
        return true;
      },
      absl::Seconds(20), absl::Milliseconds(20)))
      << "the push never started the incoming workflow";
  // Terminated once the push is done: the incoming workflow waits in B for its worker.
  ASSERT_TRUE(cmig::testing::WaitFor(
      [&] {
        return AnyTask(*a_.client, id, [](const Task& t) {
          return t.reference_task_name() == "push" && t.status() == Task::COMPLETED;
        });
      },
      absl::Seconds(20), absl::Milliseconds(20)))
      << "the push step never completed";
  ASSERT_OK(a_.client->TerminateWorkflow(id, "stopped in Conductor's UI"));

  Workflow ended =
      cmig::testing::WaitForWorkflow(*b_.client, incoming_id, cmig::testing::WorkflowEnded,
                                     absl::Seconds(20), absl::Milliseconds(20));
  EXPECT_EQ(ended.status(), Workflow::TERMINATED);
  EXPECT_THAT(ended.reason_for_incompletion(),
              HasSubstr(absl::StrCat("outgoing migration ", id,
                                     " was terminated: stopped in Conductor's UI")));
  // The worker starts the rollback just after it ends the incoming workflow.
  std::optional<Workflow> rollback;
  ASSERT_TRUE(cmig::testing::WaitFor(
      [&] {
        absl::StatusOr<std::optional<Workflow>> r = workflows::RollbackOf(*b_.client, ended);
        if (r.ok()) rollback = *r;
        return rollback.has_value();
      },
      absl::Seconds(20), absl::Milliseconds(20)))
      << "the ended incoming workflow is rolled back";
  StartWorker(b_);
  Workflow rolled_back = Wait(b_, rollback->workflow_id());
  EXPECT_EQ(rolled_back.status(), Workflow::COMPLETED) << rolled_back.reason_for_incompletion();
  EXPECT_EQ(Hashes(b_), before) << "nothing was applied";
}

// A target that refuses the token is not retried with backoff: the push fails at once, naming
// the environment and the secret that holds its token, and nothing reaches the target; once the
// secret is fixed, a retry completes the migration.
TEST_F(MigrationE2eTest, ATargetThatRefusesTheTokenFailsAtOnceNamingTheEnvironmentAndSecret) {
  SeedSource();
  StartWorkers();
  ASSERT_OK(a_.ext->PutSecret("b-token", "not-the-token-b-accepts"));
  const DefinitionHashes before = Hashes(b_);
  const std::string id = StartMigration(kSelectOrder, "{}");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  ExpectFailedOnceTerminally(out, "push");
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("environment 'B'"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("secret 'b-token'"));
  EXPECT_THAT(out.reason_for_incompletion(), Not(HasSubstr("not-the-token-b-accepts")));
  EXPECT_EQ(Hashes(b_), before);
  // Fixed as the message says, a retry of the same migration goes through.
  ASSERT_OK(a_.ext->PutSecret("b-token", b_.token));
  ASSERT_OK(a_.client->RetryWorkflow(id, /*resume_subworkflow_tasks=*/false));
  Workflow retried = Wait(a_, id);
  EXPECT_EQ(retried.status(), Workflow::COMPLETED) << retried.reason_for_incompletion();
  EXPECT_NE(Hashes(b_), before);
}

// A target whose package store takes less than the package: the push fails at once (no retries
// with backoff), naming the environment and the limit to raise, and nothing reaches the target.
class SmallPackageStoreTest : public MigrationE2eTest {
 protected:
  void SetUp() override {
    b_.max_package_bytes = 512;
    MigrationE2eTest::SetUp();
  }
};

TEST_F(SmallPackageStoreTest, APackageLargerThanTheTargetAcceptsFailsAtOnceNamingTheLimit) {
  SeedSource();
  StartWorkers();
  const DefinitionHashes before = Hashes(b_);
  Workflow out = Wait(a_, StartMigration(kSelectOrder, "{}"));
  ASSERT_EQ(out.status(), Workflow::FAILED);
  ExpectFailedOnceTerminally(out, "push");
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("'B'"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("at most 512 bytes"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("--max_package_bytes"));
  EXPECT_EQ(Hashes(b_), before);
}

}  // namespace
}  // namespace cmig::e2e
