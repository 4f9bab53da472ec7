// End to end, secrets: what a migration with includeSecrets plans, writes, verifies and rolls
// back in the target, and that no value ever appears in task data, logs or history.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "tests/worker/migration_e2e_fixture.h"
#include "workflows/lifecycle.h"

namespace cmig::e2e {
namespace {

// The digest of the stored blob `ref` ("sha256:<digest>") names, from task `ref_name`'s output.
std::string BlobDigest(const Workflow& wf, const std::string& task_ref, const std::string& key) {
  const Task* t = FindTask(wf, task_ref);
  if (t == nullptr || !t->output_data().contains(key)) return "";
  const std::string ref = t->output_data().at(key).string_value();
  return absl::StartsWith(ref, "sha256:") ? ref.substr(7) : "";
}

void ExpectPackageGoneFrom(Environment& source, Environment& target, const Workflow& out) {
  const std::string here = BlobDigest(out, "build_package", "packageRef");
  const std::string there = BlobDigest(out, "push", "targetPackageRef");
  ASSERT_FALSE(here.empty());
  ASSERT_FALSE(there.empty());
  EXPECT_THAT(source.ext->GetBlob(here).status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_))
      << "the package with secret values is still in the source's store";
  EXPECT_THAT(target.ext->GetBlob(there).status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_))
      << "the package with secret values is still in the target's store";
}

// Secret values travel and overwrite what the target holds (strategy update).
constexpr char kSecretsUpdate[] =
    R"({"includeSecrets":true,"conflictStrategy":"CONFLICT_STRATEGY_UPDATE"})";

TEST_F(MigrationE2eTest, SecretValuesTravelOnlyWhenRequested) {
  SeedSource();
  ASSERT_OK(a_.ext->PutSecret("ledger_key", "ledger-secret-value"));
  StartWorkers();
  Workflow plain = Wait(a_, StartMigration(kSelectOrder, "{}"));
  ASSERT_EQ(plain.status(), Workflow::COMPLETED) << plain.reason_for_incompletion();
  EXPECT_THAT(b_.ext->GetSecret("ledger_key").status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));

  Workflow with = Wait(a_, StartMigration(kSelectOrder, R"({"includeSecrets":true})"));
  ASSERT_EQ(with.status(), Workflow::COMPLETED) << with.reason_for_incompletion();
  for (const Task& t : with.tasks()) {
    if (t.reference_task_name() == "build_package") {
      EXPECT_TRUE(t.output_data().at("containsSecretValues").bool_value());
    }
    EXPECT_THAT(t.DebugString(), ::testing::Not(HasSubstr("ledger-secret-value")));
  }
  ASSERT_OK_AND_ASSIGN(std::string value, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(value, "ledger-secret-value");
}

TEST_F(MigrationE2eTest, FailedApplyPutsBackPriorSecretValuesAndDeletesNewSecrets) {
  SeedSource();
  // audit_flow also needs a secret B does not have yet; ledger_key exists in B with its own value.
  PutWorkflow(a_,
              WorkflowJson("audit_flow", 1,
                           {SimpleTask("audit_entry", R"("k":"${workflow.secrets.audit_key}")")}));
  const std::vector<std::string> values = {"ledger-value-from-a", "audit-value-from-a",
                                           "ledger-value-of-b"};
  ASSERT_OK(a_.ext->PutSecret("ledger_key", values[0]));
  ASSERT_OK(a_.ext->PutSecret("audit_key", values[1]));
  ASSERT_OK(b_.ext->PutSecret("ledger_key", values[2]));
  // The secrets and the first definitions are written; the parents never arrive.
  tasks::MigrationDeps faulty = FailingAt("ledger_flow");
  StartWorker(a_);
  StartWorker(b_, faulty);
  DefinitionHashes before = Hashes(b_);
  const std::string id = StartMigration(kSelectOrder, kSecretsUpdate);
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("injected failure"));
  Workflow in = Incoming(id);
  ASSERT_EQ(in.status(), Workflow::FAILED);
  // The apply did overwrite ledger_key and create audit_key before it failed.
  const Task* apply = FindTask(in, "apply");
  ASSERT_NE(apply, nullptr);
  auto apply_logs = b_.client->GetTaskLogs(apply->task_id());
  ASSERT_OK(apply_logs.status());
  bool wrote = false;
  for (const auto& l : *apply_logs) wrote |= absl::StrContains(l.log(), "wrote 2 secret values");
  EXPECT_TRUE(wrote);
  const Task* snapshot = FindTask(in, "snapshot");
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->output_data().at("secrets").number_value(), 2);

  client::WorkflowSearchQuery q;
  q.query = "workflowType = 'incoming_migration_rollback'";
  auto found = b_.client->SearchWorkflows(q);
  ASSERT_OK(found.status());
  ASSERT_EQ(found->results.size(), 1u);
  Workflow rollback = Wait(b_, found->results[0].workflow_id());
  ASSERT_EQ(rollback.status(), Workflow::COMPLETED) << rollback.reason_for_incompletion();
  const Task* restore = FindTask(rollback, "restore");
  ASSERT_NE(restore, nullptr);
  EXPECT_EQ(restore->output_data().at("secretsRestored").number_value(), 1);
  EXPECT_EQ(restore->output_data().at("secretsRemoved").number_value(), 1);

  ASSERT_OK_AND_ASSIGN(std::string ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, values[2]) << "ledger_key has its value from before the migration";
  EXPECT_THAT(b_.ext->GetSecret("audit_key").status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(Backups(b_), ::testing::IsEmpty());
  EXPECT_EQ(Hashes(b_), before);
  ExpectPackageGoneFrom(a_, b_, out);
  // No value in either workflow's history, the rollback's, or the stored snapshot.
  ExpectNoSecretValues(*a_.client, out, values);
  ExpectNoSecretValues(*b_.client, in, values);
  ExpectNoSecretValues(*b_.client, rollback, values);
  const std::string snapshot_ref = snapshot->output_data().at("snapshotRef").string_value();
  ASSERT_TRUE(absl::StartsWith(snapshot_ref, "sha256:"));
  ASSERT_OK_AND_ASSIGN(std::string snapshot_bytes, b_.ext->GetBlob(snapshot_ref.substr(7)));
  for (const std::string& v : values) EXPECT_THAT(snapshot_bytes, ::testing::Not(HasSubstr(v)));
}

// An operator who sets a secret by hand while the migration runs keeps that value: the rollback
// restores nothing over it and names it, as it does for definitions.
TEST_F(MigrationE2eTest, ARollbackLeavesASecretChangedByHandSinceTheApplyAndNamesIt) {
  SeedSource();
  ASSERT_OK(a_.ext->PutSecret("ledger_key", "ledger-value-from-a"));
  ASSERT_OK(b_.ext->PutSecret("ledger_key", "ledger-value-of-b"));
  tasks::MigrationDeps faulty;
  // After the apply wrote the secret, the operator sets it by hand; then the apply fails.
  faulty.before_apply_write = [&](const ApplyStep&, int index) -> absl::Status {
    if (index > 0) return absl::OkStatus();
    EXPECT_OK(b_.ext->PutSecret("ledger_key", "set-by-hand-during-the-migration"));
    return absl::FailedPreconditionError("injected failure after the secrets were written");
  };
  StartWorker(a_);
  StartWorker(b_, faulty);
  const std::string id = StartMigration(kSelectOrder, kSecretsUpdate);
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  Workflow in = Incoming(id);
  ASSERT_OK_AND_ASSIGN(std::optional<Workflow> rollback, workflows::RollbackOf(*b_.client, in));
  ASSERT_TRUE(rollback.has_value());
  Workflow ended = Wait(b_, rollback->workflow_id());
  ASSERT_EQ(ended.status(), Workflow::COMPLETED) << ended.reason_for_incompletion();
  const Task* restore = FindTask(ended, "restore");
  ASSERT_NE(restore, nullptr);
  EXPECT_EQ(restore->output_data().at("secretsRestored").number_value(), 0);
  EXPECT_THAT(WriteJson(restore->output_data().at("changedSinceApply")),
              HasSubstr("secret 'ledger_key'"));
  ASSERT_OK_AND_ASSIGN(std::string ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, "set-by-hand-during-the-migration");
  EXPECT_THAT(Backups(b_), ::testing::IsEmpty());
  ExpectNoSecretValues(
      *b_.client, ended,
      {"ledger-value-from-a", "ledger-value-of-b", "set-by-hand-during-the-migration"});
}

TEST_F(MigrationE2eTest, AnIncomingWorkflowRetriedAfterItsRollbackFindsItsSecretPackageGone) {
  SeedSource();
  ASSERT_OK(a_.ext->PutSecret("ledger_key", "ledger-value-from-a"));
  ASSERT_OK(b_.ext->PutSecret("ledger_key", "ledger-value-of-b"));
  tasks::MigrationDeps faulty = FailingAt("ledger_flow");
  StartWorker(a_);
  StartWorker(b_, faulty);
  const std::string id = StartMigration(kSelectOrder, kSecretsUpdate);
  ASSERT_EQ(Wait(a_, id).status(), Workflow::FAILED);
  Workflow in = Incoming(id);
  ASSERT_EQ(in.status(), Workflow::FAILED);
  // Rollbacks in B, each waited for to its end.
  auto rollbacks = [&](size_t expected) {
    client::WorkflowSearchQuery q;
    q.query = "workflowType = 'incoming_migration_rollback'";
    std::vector<Workflow> out;
    std::vector<std::string> ids;
    const bool found_all = WaitFor(
        [&] {
          auto found = b_.client->SearchWorkflows(q);
          if (!found.ok() || found->results.size() < expected) return false;
          for (const auto& r : found->results) ids.push_back(r.workflow_id());
          return true;
        },
        absl::Seconds(30), absl::Milliseconds(25));
    if (!found_all) ADD_FAILURE() << "fewer than " << expected << " rollbacks";
    for (const std::string& rollback_id : ids) out.push_back(Wait(b_, rollback_id));
    return out;
  };
  ASSERT_EQ(rollbacks(1).size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::string ledger, b_.ext->GetSecret("ledger_key"));
  ASSERT_EQ(ledger, "ledger-value-of-b");
  EXPECT_THAT(Backups(b_), ::testing::IsEmpty());

  // The migration has ended: its package, with the secret values, is gone from B's store. The
  // operator retries the incoming workflow anyway: it cannot write the values again, says why,
  // and is rolled back again.
  ASSERT_OK(b_.client->RetryWorkflow(in.workflow_id(), false));
  std::vector<Workflow> both = rollbacks(2);
  Workflow retried = Wait(b_, in.workflow_id());
  EXPECT_EQ(retried.status(), Workflow::FAILED);
  EXPECT_THAT(retried.reason_for_incompletion(),
              HasSubstr("is not in this environment's blob store"));
  ASSERT_EQ(both.size(), 2u);
  for (const Workflow& r : both) {
    EXPECT_EQ(r.status(), Workflow::COMPLETED) << r.reason_for_incompletion();
  }
  ASSERT_OK_AND_ASSIGN(ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, "ledger-value-of-b") << "the prior value stays";
  EXPECT_THAT(Backups(b_), ::testing::IsEmpty());
}

TEST_F(MigrationE2eTest, SuccessfulMigrationWithSecretsLeavesNoBackupBehind) {
  SeedSource();
  ASSERT_OK(a_.ext->PutSecret("ledger_key", "ledger-value-from-a"));
  ASSERT_OK(b_.ext->PutSecret("ledger_key", "ledger-value-of-b"));
  StartWorkers();
  const std::string id = StartMigration(kSelectOrder, kSecretsUpdate);
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  Workflow in = Incoming(id);
  const Task* snapshot = FindTask(in, "snapshot");
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->output_data().at("secrets").number_value(), 1);
  ASSERT_OK_AND_ASSIGN(std::string ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, "ledger-value-from-a");
  EXPECT_THAT(Backups(b_), ::testing::IsEmpty());
  ExpectPackageGoneFrom(a_, b_, out);
  ExpectNoSecretValues(*a_.client, out, {"ledger-value-from-a", "ledger-value-of-b"});
  ExpectNoSecretValues(*b_.client, in, {"ledger-value-from-a", "ledger-value-of-b"});
}

// The secret item of `report` named `name`; fails the test when there is none.
v1::ItemReport SecretItem(const v1::MigrationReport& report, const std::string& name) {
  for (const v1::ItemReport& i : report.items()) {
    if (i.kind() == v1::ITEM_KIND_SECRET && i.name() == name) return i;
  }
  ADD_FAILURE() << "no secret item '" << name << "' in the report";
  return {};
}

bool ListedAsManual(const v1::MigrationReport& report, const std::string& secret) {
  for (const v1::Dependency& d : report.manual_dependencies()) {
    if (d.kind() == v1::DEPENDENCY_KIND_SECRET && d.name() == secret) return true;
  }
  return false;
}

TEST_F(MigrationE2eTest, ASecretHoldingAnotherValueInTheTargetConflictsAndIsKept) {
  SeedSource();
  ASSERT_OK(a_.ext->PutSecret("ledger_key", "ledger-value-from-a"));
  ASSERT_OK(b_.ext->PutSecret("ledger_key", "ledger-value-of-b"));
  StartWorkers();
  const DefinitionHashes before = Hashes(b_);
  // The default conflict strategy, fail.
  const std::string id = StartMigration(kSelectOrder, R"({"includeSecrets":true})");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("secret 'ledger_key'"));
  Workflow in = Incoming(id);
  ASSERT_EQ(in.status(), Workflow::FAILED);
  EXPECT_TRUE(in.output().at("blocked").bool_value());
  const v1::MigrationReport report = ReportOf(in.output().at("report"));
  const v1::ItemReport item = SecretItem(report, "ledger_key");
  EXPECT_EQ(item.status(), v1::ITEM_ACTION_CONFLICT);
  EXPECT_THAT(item.messages(0), HasSubstr("use skip or update"));
  ASSERT_OK_AND_ASSIGN(std::string ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, "ledger-value-of-b");
  EXPECT_EQ(Hashes(b_), before);
  EXPECT_THAT(Backups(b_), ::testing::IsEmpty());
  ExpectNoSecretValues(*a_.client, out, {"ledger-value-from-a", "ledger-value-of-b"});
  ExpectNoSecretValues(*b_.client, in, {"ledger-value-from-a", "ledger-value-of-b"});
}

TEST_F(MigrationE2eTest, SecretsArePlannedUnderEachConflictStrategyLikeDefinitions) {
  SeedSource();
  ASSERT_OK(a_.ext->PutSecret("ledger_key", "ledger-value-from-a"));
  ASSERT_OK(b_.ext->PutSecret("ledger_key", "ledger-value-of-b"));
  StartWorkers();
  // skip: the target keeps its value, and the secret is not one to provide by hand.
  Workflow skip = Wait(a_, StartMigration(kSelectOrder, R"({"includeSecrets":true,
      "conflictStrategy":"CONFLICT_STRATEGY_SKIP"})"));
  ASSERT_EQ(skip.status(), Workflow::COMPLETED) << skip.reason_for_incompletion();
  v1::MigrationReport report = ReportOf(skip.output().at("report"));
  EXPECT_EQ(SecretItem(report, "ledger_key").status(), v1::ITEM_ACTION_SKIP);
  EXPECT_FALSE(ListedAsManual(report, "ledger_key"));
  ASSERT_OK_AND_ASSIGN(std::string ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, "ledger-value-of-b");

  // A dry run under update lists the secret as an update and writes nothing.
  Workflow dry = Wait(a_, StartMigration(kSelectOrder, R"({"includeSecrets":true,
      "conflictStrategy":"CONFLICT_STRATEGY_UPDATE","dryRun":true})"));
  ASSERT_EQ(dry.status(), Workflow::COMPLETED) << dry.reason_for_incompletion();
  EXPECT_EQ(SecretItem(ReportOf(dry.output().at("incomingReport")), "ledger_key").status(),
            v1::ITEM_ACTION_UPDATE);
  ASSERT_OK_AND_ASSIGN(ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, "ledger-value-of-b");

  // update: overwritten, and verified.
  Workflow update = Wait(a_, StartMigration(kSelectOrder, kSecretsUpdate));
  ASSERT_EQ(update.status(), Workflow::COMPLETED) << update.reason_for_incompletion();
  report = ReportOf(update.output().at("report"));
  EXPECT_EQ(SecretItem(report, "ledger_key").status(), v1::ITEM_ACTION_UPDATE);
  EXPECT_FALSE(ListedAsManual(report, "ledger_key"));
  ASSERT_OK_AND_ASSIGN(ledger, b_.ext->GetSecret("ledger_key"));
  EXPECT_EQ(ledger, "ledger-value-from-a");

  // The same value again, under fail: unchanged, nothing blocks.
  Workflow again = Wait(a_, StartMigration(kSelectOrder, R"({"includeSecrets":true})"));
  ASSERT_EQ(again.status(), Workflow::COMPLETED) << again.reason_for_incompletion();
  report = ReportOf(again.output().at("report"));
  EXPECT_EQ(SecretItem(report, "ledger_key").status(), v1::ITEM_ACTION_UNCHANGED);
  EXPECT_GT(report.verification().checked(), 0);
  for (const Workflow* w : {&skip, &dry, &update, &again}) {
    ExpectNoSecretValues(*a_.client, *w, {"ledger-value-from-a", "ledger-value-of-b"});
  }
}

}  // namespace
}  // namespace cmig::e2e
