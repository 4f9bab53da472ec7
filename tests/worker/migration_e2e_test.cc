// End to end: two embedded orchestrators (environments A and B) over loopback, each with bearer
// tokens and an in-process worker running the migration handlers, and the real migration
// workflows from workflows/. A migration is an outgoing_migration_request started in A.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/worker/migration_e2e_fixture.h"

namespace cmig::e2e {
namespace {

TEST_F(MigrationE2eTest, WorkflowWithThreeLevelsOfSubWorkflowsArrivesIdentical) {
  SeedSource();
  StartWorkers();
  const std::string id = StartMigration(kSelectOrder, "{}");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();

  // B holds exactly what A holds: 4 workflows, 4 task definitions, same canonical hashes.
  DefinitionHashes a = Hashes(a_), b = Hashes(b_);
  EXPECT_EQ(a.size(), 8u);
  EXPECT_EQ(a, b);

  v1::MigrationReport report = ReportOf(out.output().at("report"));
  EXPECT_TRUE(report.verification().ok());
  EXPECT_EQ(report.verification().checked(), 8);
  // One workflow selected: fetch read it by name instead of listing all of A (which also holds
  // the migration workflows), and discovery read what it references.
  for (const Task& t : out.tasks()) {
    if (t.reference_task_name() != "fetch") continue;
    EXPECT_FALSE(t.output_data().at("complete").bool_value());
    EXPECT_EQ(t.output_data().at("workflowDefs").number_value(), 1);
  }
  EXPECT_EQ(Count(report, v1::ITEM_ACTION_CREATE), 8);
  EXPECT_EQ(report.incoming().items_size(), 8);
  std::vector<std::string> timed;
  for (const auto& d : report.durations()) timed.push_back(d.step());
  EXPECT_THAT(timed, ::testing::IsSupersetOf({"fetch", "discover", "build_package", "push"}));
  std::vector<std::string> incoming_timed;
  for (const auto& d : report.incoming().durations()) incoming_timed.push_back(d.step());
  EXPECT_THAT(incoming_timed, ::testing::IsSupersetOf({"validate", "plan", "snapshot", "apply"}));
  bool secret_listed = false;
  for (const auto& d : report.manual_dependencies()) {
    secret_listed |= d.kind() == v1::DEPENDENCY_KIND_SECRET && d.name() == "ledger_key";
  }
  EXPECT_TRUE(secret_listed) << report.ShortDebugString();

  // Step history of both sides: every step ran and completed.
  std::vector<std::string> steps;
  for (const Task& t : out.tasks()) {
    if (t.task_type() == "SWITCH") continue;
    steps.push_back(t.reference_task_name());
  }
  // The await step reports IN_PROGRESS and is handed back: possibly several attempts.
  EXPECT_THAT(steps, ::testing::IsSupersetOf({"fetch", "discover", "build_package", "push",
                                              "await_incoming", "verify_target"}));
  Workflow in = Incoming(id);
  ASSERT_EQ(in.status(), Workflow::COMPLETED) << in.reason_for_incompletion();
  std::vector<std::string> in_steps;
  for (const Task& t : in.tasks()) {
    if (t.task_type() == "SWITCH") continue;
    EXPECT_EQ(t.status(), Task::COMPLETED) << t.reference_task_name();
    in_steps.push_back(t.reference_task_name());
  }
  EXPECT_THAT(in_steps,
              ::testing::ElementsAre("validate", "plan", "snapshot", "apply", "verify_applied"));
  // Each step says what it did in its execution log.
  for (const Task& t : in.tasks()) {
    if (t.reference_task_name() != "plan") continue;
    auto logs = b_.client->GetTaskLogs(t.task_id());
    ASSERT_OK(logs.status());
    ASSERT_FALSE(logs->empty());
    EXPECT_THAT(logs->back().log(), HasSubstr("plan: "));
  }
  // The token of B never appears in what either side recorded.
  EXPECT_THAT(out.DebugString(), ::testing::Not(HasSubstr(b_.token)));
  EXPECT_THAT(in.DebugString(), ::testing::Not(HasSubstr(b_.token)));
  for (const Task& t : out.tasks()) {
    auto logs = a_.client->GetTaskLogs(t.task_id());
    ASSERT_OK(logs.status());
    for (const auto& l : *logs) EXPECT_THAT(l.log(), ::testing::Not(HasSubstr(b_.token)));
  }
}

TEST_F(MigrationE2eTest, SecondRunReportsEverythingUnchangedAndWritesNothing) {
  SeedSource();
  StartWorkers();
  Workflow first = Wait(a_, StartMigration(kSelectOrder, "{}"));
  ASSERT_EQ(first.status(), Workflow::COMPLETED) << first.reason_for_incompletion();
  DefinitionHashes before = Hashes(b_);

  const std::string id = StartMigration(kSelectOrder, "{}");
  Workflow second = Wait(a_, id);
  ASSERT_EQ(second.status(), Workflow::COMPLETED) << second.reason_for_incompletion();
  v1::MigrationReport report = ReportOf(second.output().at("report"));
  EXPECT_EQ(Count(report, v1::ITEM_ACTION_UNCHANGED), 8);
  EXPECT_EQ(report.items_size(), 8);
  EXPECT_EQ(Hashes(b_), before);
  Workflow in = Incoming(id);
  EXPECT_EQ(in.output().at("applied").number_value(), 0);
}

TEST_F(MigrationE2eTest, APackageLeavesTheTargetWhenItsMigrationEndsAndStaysInTheSource) {
  SeedSource();
  StartWorkers();
  Workflow out = Wait(a_, StartMigration(kSelectOrder, "{}"));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  const Task* build = FindTask(out, "build_package");
  const Task* push = FindTask(out, "push");
  ASSERT_NE(build, nullptr);
  ASSERT_NE(push, nullptr);
  const std::string source_ref = build->output_data().at("packageRef").string_value();
  const std::string target_ref = push->output_data().at("targetPackageRef").string_value();
  ASSERT_TRUE(absl::StartsWith(source_ref, "sha256:")) << source_ref;
  ASSERT_TRUE(absl::StartsWith(target_ref, "sha256:")) << target_ref;
  // The source keeps it (the operator may download it); the target keeps no copy.
  EXPECT_OK(a_.ext->GetBlob(source_ref.substr(7)).status());
  EXPECT_THAT(b_.ext->GetBlob(target_ref.substr(7)).status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  // What fetch and discovery stored for retries is gone once the migration completed.
  for (const auto& [step, key] :
       {std::pair{"fetch", "definitionsRef"}, std::pair{"discover", "discoveryRef"}}) {
    const Task* t = FindTask(out, step);
    ASSERT_NE(t, nullptr) << step;
    const std::string ref = t->output_data().at(key).string_value();
    ASSERT_TRUE(absl::StartsWith(ref, "sha256:")) << ref;
    EXPECT_THAT(a_.ext->GetBlob(ref.substr(7)).status(),
                StatusIs(absl::StatusCode::kNotFound, ::testing::_))
        << step;
  }
}

// What the console and scripts do: environments and the migration itself over REST (libcurl),
// the definitions read back from the target over REST.
TEST_F(MigrationE2eTest, AMigrationStartedOverRestArrivesInTheTarget) {
  SeedSource();
  StartWorkers();
  orchestrator::test::RestClient a_rest(a_.server->http_address(),
                                        {absl::StrCat("X-Authorization: ", a_.token)});
  orchestrator::test::HttpResult envs = a_rest.Get("/api/cmig/environments");
  ASSERT_EQ(envs.status, 200) << envs.body;
  ASSERT_OK_AND_ASSIGN(google::protobuf::Value env_list, ParseJson(envs.body));
  ASSERT_EQ(env_list.list_value().values_size(), 1);
  EXPECT_EQ(env_list.list_value().values(0).struct_value().fields().at("id").string_value(), "B");

  orchestrator::test::HttpResult nowhere =
      a_rest.Post("/api/cmig/migrations",
                  absl::StrCat(R"({"targetEnvironment":"C","selection":)", kSelectOrder, "}"));
  EXPECT_EQ(nowhere.status, 400) << nowhere.body;
  EXPECT_EQ(
      a_rest.Post("/api/cmig/migrations", R"({"targetEnvironment":"B","selection":{}})").status,
      400);

  orchestrator::test::HttpResult started =
      a_rest.Post("/api/cmig/migrations",
                  absl::StrCat(R"({"sourceEnvironment":"A","targetEnvironment":"B",)",
                               R"("startedBy":"console: alice","selection":)", kSelectOrder, "}"));
  ASSERT_EQ(started.status, 200) << started.body;
  ASSERT_OK_AND_ASSIGN(google::protobuf::Value answer, ParseJson(started.body));
  const std::string id = answer.struct_value().fields().at("workflowId").string_value();
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  // Who started it is part of the migration's record.
  EXPECT_EQ(out.input().at("startedBy").string_value(), "console: alice");

  orchestrator::test::RestClient b_rest(b_.server->http_address(),
                                        {absl::StrCat("X-Authorization: ", b_.token)});
  orchestrator::test::HttpResult arrived = b_rest.Get("/api/metadata/workflow/order_flow");
  EXPECT_EQ(arrived.status, 200) << arrived.body;
}

// A dry run applied as approved over REST, as the console applies one: the run carries the
// approval and completes; what is no dry run is refused, naming why.
TEST_F(MigrationE2eTest, ADryRunIsAppliedAsApprovedOverRest) {
  SeedSource();
  StartWorkers();
  orchestrator::test::RestClient a_rest(a_.server->http_address(),
                                        {absl::StrCat("X-Authorization: ", a_.token)});
  auto start = [&](const std::string& body) {
    orchestrator::test::HttpResult r = a_rest.Post("/api/cmig/migrations", body);
    EXPECT_EQ(r.status, 200) << r.body;
    absl::StatusOr<google::protobuf::Value> v = ParseJson(r.body);
    return v.ok() ? v->struct_value().fields().at("workflowId").string_value() : std::string();
  };
  const std::string dry_run = start(
      absl::StrCat(R"({"sourceEnvironment":"A","targetEnvironment":"B","options":{"dryRun":true},)",
                   R"("selection":)", kSelectOrder, "}"));
  ASSERT_EQ(Wait(a_, dry_run).status(), Workflow::COMPLETED);
  const DefinitionHashes before = Hashes(b_);

  const std::string applied =
      start(absl::StrCat(R"({"applyDryRun":")", dry_run, R"(","startedBy":"console: bob"})"));
  Workflow out = Wait(a_, applied);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  const auto& options = out.input().at("options").struct_value().fields();
  EXPECT_EQ(
      options.at("approvedPlan").struct_value().fields().at("dryRunWorkflowId").string_value(),
      dry_run);
  EXPECT_EQ(out.input().at("startedBy").string_value(), "console: bob");
  EXPECT_NE(Hashes(b_), before);

  orchestrator::test::HttpResult refused =
      a_rest.Post("/api/cmig/migrations", absl::StrCat(R"({"applyDryRun":")", applied, R"("})"));
  EXPECT_GE(refused.status, 400) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("it is no dry run"));
}

TEST_F(MigrationE2eTest, DryRunEndsWithThePlanAndWritesNothing) {
  SeedSource();
  StartWorkers();
  DefinitionHashes before = Hashes(b_);
  const std::string id = StartMigration(kSelectOrder, R"({"dryRun":true})");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  EXPECT_TRUE(out.output().at("dryRun").bool_value());
  v1::MigrationReport report = ReportOf(out.output().at("incomingReport"));
  EXPECT_TRUE(report.dry_run());
  EXPECT_EQ(Count(report, v1::ITEM_ACTION_CREATE), 8);
  EXPECT_EQ(Hashes(b_), before);
  Workflow in = Incoming(id);
  EXPECT_EQ(in.status(), Workflow::COMPLETED);
  EXPECT_TRUE(in.output().contains("plan"));
  for (const Task& t : in.tasks()) EXPECT_NE(t.reference_task_name(), "apply");
}

TEST_F(MigrationE2eTest, TamperedPackageIsRejectedTerminallyAndChangesNothing) {
  SeedSource();
  StartWorkers();
  // A package as the source would build it, then one item altered after hashing.
  InMemoryDefinitionSource source;
  for (const char* name : {"audit_flow"}) {
    auto d = a_.client->GetWorkflowDef(name, 0);
    ASSERT_OK(d.status());
    source.AddWorkflowDef(*d);
  }
  auto t = a_.client->GetTaskDef("audit_entry");
  ASSERT_OK(t.status());
  source.AddTaskDef(*t);
  v1::Selection selection;
  selection.add_workflows()->set_name("audit_flow");
  ASSERT_OK_AND_ASSIGN(Discovery d, Discover(selection, source, {}));
  PackageHeader header;
  header.source_environment = "A";
  header.created_at = absl::Now();
  ASSERT_OK_AND_ASSIGN(BuiltPackage built, BuildPackage(d, header));
  v1::MigrationPackage tampered = built.package;
  std::string* json = tampered.mutable_items(0)->mutable_canonical_json();
  json->replace(json->find("audit_entry"), 11, "audit_evil_");
  const std::string bytes = PackageToJson(tampered).value();
  const std::string digest = Sha256Hex(bytes);
  ASSERT_OK(b_.ext->PutBlob(digest, bytes));
  DefinitionHashes before = Hashes(b_);

  conductor::proto::StartWorkflowRequest req;
  req.set_name("incoming_migration_request");
  (*req.mutable_input())["packageRef"].set_string_value("sha256:" + digest);
  (*req.mutable_input())["targetEnvironment"].set_string_value("B");
  ASSERT_OK_AND_ASSIGN(std::string id, b_.client->StartWorkflow(req));
  Workflow in = Wait(b_, id);
  ASSERT_EQ(in.status(), Workflow::FAILED);
  ASSERT_GE(in.tasks_size(), 1);
  EXPECT_EQ(in.tasks(0).reference_task_name(), "validate");
  EXPECT_EQ(in.tasks(0).status(), Task::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_THAT(in.tasks(0).reason_for_incompletion(), HasSubstr("rejected"));
  EXPECT_EQ(in.tasks_size(), 1) << "a terminal error is not retried";
  EXPECT_EQ(Hashes(b_), before);
}

TEST_F(MigrationE2eTest, PackageInputOfTheWrongTypeIsNamedNotReportedMissing) {
  StartWorkers();
  DefinitionHashes before = Hashes(b_);
  struct Case {
    const char* input;
    google::protobuf::Value value;
    const char* expected;
  };
  std::vector<Case> cases(3);
  cases[0] = {
      "package", {}, "input 'package' must be a JSON object (the package itself), not a string"};
  cases[0].value.set_string_value("{\"formatVersion\":1}");
  cases[1] = {
      "package", {}, "input 'package' must be a JSON object (the package itself), not a list"};
  cases[1].value.mutable_list_value()->add_values()->set_number_value(1);
  cases[2] = {"packageRef", {}, "input 'packageRef' must be a string, not a number"};
  cases[2].value.set_number_value(7);
  for (const Case& c : cases) {
    conductor::proto::StartWorkflowRequest req;
    req.set_name("incoming_migration_request");
    (*req.mutable_input())[c.input] = c.value;
    (*req.mutable_input())["targetEnvironment"].set_string_value("B");
    ASSERT_OK_AND_ASSIGN(std::string id, b_.client->StartWorkflow(req));
    Workflow in = Wait(b_, id);
    ASSERT_EQ(in.status(), Workflow::FAILED) << c.expected;
    ASSERT_GE(in.tasks_size(), 1);
    EXPECT_EQ(in.tasks(0).status(), Task::FAILED_WITH_TERMINAL_ERROR);
    EXPECT_THAT(in.tasks(0).reason_for_incompletion(), HasSubstr(c.expected));
  }
  EXPECT_EQ(Hashes(b_), before);
}

TEST_F(MigrationE2eTest, ConflictWithStrategyFailBlocksAndChangesNothing) {
  SeedSource();
  // B already has a different payment_flow v1.
  PutWorkflow(b_, WorkflowJson("payment_flow", 1, {SimpleTask("charge_card")}, "B's own"));
  PutTaskDef(
      b_,
      R"({"name":"charge_card","retryCount":3,"timeoutSeconds":60,"responseTimeoutSeconds":30,"ownerEmail":"o@x"})");
  StartWorkers();
  DefinitionHashes before = Hashes(b_);
  const std::string id =
      StartMigration(kSelectOrder, R"({"conflictStrategy":"CONFLICT_STRATEGY_FAIL"})");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("payment_flow"));
  Workflow in = Incoming(id);
  EXPECT_EQ(in.status(), Workflow::FAILED);
  EXPECT_TRUE(in.output().at("blocked").bool_value());
  EXPECT_EQ(Hashes(b_), before);

  // Resolved in B by hand, the migration restarted from its first step: the new run starts an
  // incoming workflow of its own rather than taking the failed one for its outcome.
  ASSERT_OK_AND_ASSIGN(conductor::proto::WorkflowDef source_payment,
                       a_.client->GetWorkflowDef("payment_flow", 1));
  ASSERT_OK(b_.client->UpdateWorkflowDefs({source_payment}));
  ASSERT_OK(a_.client->RestartWorkflow(id, /*use_latest_definitions=*/false));
  Workflow restarted = Wait(a_, id);
  ASSERT_EQ(restarted.status(), Workflow::COMPLETED) << restarted.reason_for_incompletion();
  auto incomings = b_.client->GetWorkflowsByCorrelationId(
      "incoming_migration_request", tasks::IncomingCorrelationId(id), true, false);
  ASSERT_OK(incomings.status());
  EXPECT_EQ(incomings->size(), 2u);
  EXPECT_NE(restarted.output().at("incomingWorkflowId").string_value(), in.workflow_id());
}

TEST_F(MigrationE2eTest, ConflictWithStrategySkipKeepsTargetAndUpdateOverwrites) {
  SeedSource();
  PutWorkflow(b_, WorkflowJson("audit_flow", 1, {SimpleTask("audit_entry")}, "B's own"));
  PutTaskDef(b_, R"({"name":"audit_entry","retryCount":0,"ownerEmail":"o@x"})");
  StartWorkers();
  const std::string b_audit = Hashes(b_).at("wf:audit_flow:1");

  Workflow skip =
      Wait(a_, StartMigration(kSelectOrder, R"({"conflictStrategy":"CONFLICT_STRATEGY_SKIP"})"));
  ASSERT_EQ(skip.status(), Workflow::COMPLETED) << skip.reason_for_incompletion();
  v1::MigrationReport r = ReportOf(skip.output().at("report"));
  EXPECT_EQ(Count(r, v1::ITEM_ACTION_SKIP), 2);
  EXPECT_EQ(Hashes(b_).at("wf:audit_flow:1"), b_audit);
  EXPECT_EQ(Hashes(b_).at("wf:order_flow:3"), Hashes(a_).at("wf:order_flow:3"));

  Workflow update =
      Wait(a_, StartMigration(kSelectOrder, R"({"conflictStrategy":"CONFLICT_STRATEGY_UPDATE"})"));
  ASSERT_EQ(update.status(), Workflow::COMPLETED) << update.reason_for_incompletion();
  EXPECT_EQ(Count(ReportOf(update.output().at("report")), v1::ITEM_ACTION_UPDATE), 2);
  EXPECT_EQ(Hashes(a_), Hashes(b_));
}

TEST_F(MigrationE2eTest, NewVersionStrategyTakesTheNextFreeVersionAndRewritesReferences) {
  SeedSource();
  PutWorkflow(b_, WorkflowJson("audit_flow", 1, {SimpleTask("audit_entry")}, "B's own"));
  StartWorkers();
  Workflow out = Wait(
      a_, StartMigration(kSelectOrder, R"({"versionStrategy":"VERSION_STRATEGY_NEW_VERSION"})"));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  DefinitionHashes b = Hashes(b_);
  EXPECT_TRUE(b.contains("wf:audit_flow:2")) << "audit_flow takes version 2 in B";
  EXPECT_TRUE(b.contains("wf:audit_flow:1"));
  auto ledger = b_.client->GetWorkflowDef("ledger_flow", 0);
  ASSERT_OK(ledger.status());
  EXPECT_EQ(ledger->tasks(1).sub_workflow_param().version(), 2);
}

TEST_F(MigrationE2eTest, FailureInTheMiddleOfApplyLeavesTargetExactlyAsBefore) {
  SeedSource();
  // B holds an older audit_flow that the migration overwrites (strategy update) before failing.
  PutWorkflow(b_, WorkflowJson("audit_flow", 1, {SimpleTask("audit_entry")}, "B's own"));
  // Task definitions and audit_flow are written; the parents never arrive.
  tasks::MigrationDeps faulty = FailingAt("ledger_flow");
  StartWorker(a_);
  StartWorker(b_, faulty);
  DefinitionHashes before = Hashes(b_);
  const std::string id =
      StartMigration(kSelectOrder, R"({"conflictStrategy":"CONFLICT_STRATEGY_UPDATE"})");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("injected failure"));
  // The rollback workflow restores the snapshot.
  WaitFor([&] { return Hashes(b_) == before; }, absl::Seconds(30), absl::Milliseconds(25));
  EXPECT_EQ(Hashes(b_), before);
  client::WorkflowSearchQuery q;
  q.query = "workflowType = 'incoming_migration_rollback'";
  auto found = b_.client->SearchWorkflows(q);
  ASSERT_OK(found.status());
  ASSERT_EQ(found->results.size(), 1u);
  Workflow rollback = Wait(b_, found->results[0].workflow_id());
  EXPECT_EQ(rollback.status(), Workflow::COMPLETED) << rollback.reason_for_incompletion();
  EXPECT_GT(rollback.output().at("removed").number_value(), 0);
  EXPECT_GT(rollback.output().at("restored").number_value(), 0);
}

TEST_F(MigrationE2eTest, CycleOfSubWorkflowsMigratesWithoutHanging) {
  PutTaskDef(a_, R"({"name":"tick","ownerEmail":"o@x"})");
  PutWorkflow(a_,
              WorkflowJson("cycle_a", 1, {SimpleTask("tick"), SubWorkflowTask("b", "cycle_b", 1)}));
  PutWorkflow(a_, WorkflowJson("cycle_b", 1, {SubWorkflowTask("a", "cycle_a", 1)}));
  StartWorkers();
  Workflow out =
      Wait(a_, StartMigration(R"({"workflows":[{"name":"cycle_a","version":1}]})", "{}"));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  EXPECT_EQ(Hashes(a_), Hashes(b_));
}

TEST_F(MigrationE2eTest, TargetUnreachableDuringPushIsRetriedUntilItIsBack) {
  SeedSource();
  StartWorker(a_);
  // B goes away before the migration starts; A's worker keeps failing the push (retryable).
  const int b_port = b_.port;
  b_.server->Shutdown();
  b_.server.reset();
  const std::string id = StartMigration(kSelectOrder, "{}");
  const bool push_failed = WaitFor(
      [&] {
        return AnyTask(*a_.client, id, [](const Task& t) {
          return t.reference_task_name() == "push" && t.status() == Task::FAILED;
        });
      },
      absl::Seconds(30), absl::Milliseconds(25));
  ASSERT_TRUE(push_failed);
  ASSERT_NO_FATAL_FAILURE(StartServer(b_, absl::StrCat("127.0.0.1:", b_port)));
  StartWorker(b_);
  Workflow out = Wait(a_, id, absl::Seconds(60));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  int push_attempts = 0;
  for (const Task& t : out.tasks()) push_attempts += t.reference_task_name() == "push" ? 1 : 0;
  EXPECT_GE(push_attempts, 2);
  EXPECT_EQ(Hashes(a_), Hashes(b_));
}

TEST_F(MigrationE2eTest, WithoutABlobStoreResultsTravelInlineWithinTheLimit) {
  SeedSource();
  tasks::MigrationDeps no_store;
  // As against a Conductor server: no cmig.v1.BlobStore in the source.
  StartWorker(a_, no_store, /*with_blob_store=*/false);
  StartWorker(b_);
  Workflow out = Wait(a_, StartMigration(kSelectOrder, "{}"));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  for (const Task& t : out.tasks()) {
    if (t.reference_task_name() == "build_package") {
      EXPECT_TRUE(absl::StartsWith(t.output_data().at("packageRef").string_value(), "inline:"));
    }
  }
  EXPECT_EQ(Hashes(a_), Hashes(b_));
}

TEST_F(MigrationE2eTest, WithoutABlobStoreAResultOverTheInlineLimitFailsClearly) {
  SeedSource();
  tasks::MigrationDeps small;
  small.inline_limit_bytes = 64;
  StartWorker(a_, small, /*with_blob_store=*/false);
  StartWorker(b_);
  Workflow out = Wait(a_, StartMigration(kSelectOrder, "{}"));
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("64-byte limit"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("no blob store"));
  EXPECT_TRUE(Hashes(b_).empty());
}

// ---- against Conductor-only servers ---------------------------------------------------------

// Environments A and/or B serve Conductor's API only (orchestrator --conductor_api_only), as a
// conductor-oss server does. A's worker resolves B from its own configuration: an environments
// list and B's token as $CMIG_SECRET_B_TOKEN, as migration-worker does with
// CMIG_ENVIRONMENTS_FILE and the process environment.
class PlainConductorMigrationTest : public MigrationE2eTest {
 protected:
  void SetUp() override {}
  void Start(bool a_conductor_only, bool b_conductor_only) {
    a_.conductor_api_only = a_conductor_only;
    b_.conductor_api_only = b_conductor_only;
    ASSERT_NO_FATAL_FAILURE(MigrationE2eTest::SetUp());
    ASSERT_OK_AND_ASSIGN(a_.config_environments,
                         migration::ConfigEnvironmentResolver::FromJson(
                             absl::StrCat(R"({"environments":[{"id":"B","address":")",
                                          b_.server->address(), R"(","tokenSecret":"b-token"}]})"),
                             "the test's environments"));
    const std::string token = b_.token;
    a_.config_secrets = std::make_unique<migration::ConfigSecretResolver>(
        "", [token](const std::string& var) -> std::optional<std::string> {
          if (var == "CMIG_SECRET_B_TOKEN") return token;
          return std::nullopt;
        });
    a_.fallback_environments = std::make_unique<migration::FallbackEnvironmentResolver>(
        *a_.environments, *a_.config_environments);
    a_.fallback_secrets =
        std::make_unique<migration::FallbackSecretResolver>(*a_.secrets, *a_.config_secrets);
  }

  // The seeded definitions `e` holds, read one by one (a Conductor server cannot list them).
  static DefinitionHashes SeededHashes(Environment& e) {
    DefinitionHashes out;
    const std::vector<std::pair<std::string, int>> workflows = {
        {"order_flow", 3}, {"payment_flow", 1}, {"ledger_flow", 2}, {"audit_flow", 1}};
    for (const auto& [name, version] : workflows) {
      auto w = e.client->GetWorkflowDef(name, version);
      if (w.ok()) out[absl::StrCat("wf:", name, ":", version)] = CanonicalHash(*w);
    }
    for (const char* name : {"reserve_stock", "charge_card", "write_ledger", "audit_entry"}) {
      auto t = e.client->GetTaskDef(name);
      if (t.ok()) out[absl::StrCat("task:", name)] = CanonicalHash(*t);
    }
    return out;
  }

  std::vector<conductor::proto::Workflow> IncomingWorkflows(const std::string& outgoing_id) {
    auto list = b_.client->GetWorkflowsByCorrelationId(
        "incoming_migration_request", tasks::IncomingCorrelationId(outgoing_id), true, false);
    EXPECT_OK(list.status());
    return list.ok() ? *list : std::vector<conductor::proto::Workflow>{};
  }
};

TEST_F(PlainConductorMigrationTest, BetweenConductorOnlyServersTheWorkerUsesItsOwnConfig) {
  ASSERT_NO_FATAL_FAILURE(Start(/*a_conductor_only=*/true, /*b_conductor_only=*/true));
  EXPECT_THAT(a_.ext->GetEnvironment("B").status(),
              StatusIs(absl::StatusCode::kUnimplemented, ::testing::_));
  SeedSource();
  StartWorkers();
  const std::string id = StartMigration(kSelectOrder, "{}");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  EXPECT_EQ(SeededHashes(b_).size(), 8u);
  EXPECT_EQ(SeededHashes(a_), SeededHashes(b_));
  v1::MigrationReport report = ReportOf(out.output().at("report"));
  EXPECT_TRUE(report.verification().ok());
  EXPECT_EQ(report.verification().checked(), 8);
  // One workflow selected: fetch read it by name instead of listing all of A (which also holds
  // the migration workflows), and discovery read what it references.
  for (const Task& t : out.tasks()) {
    if (t.reference_task_name() != "fetch") continue;
    EXPECT_FALSE(t.output_data().at("complete").bool_value());
    EXPECT_EQ(t.output_data().at("workflowDefs").number_value(), 1);
  }
  // With no blob store anywhere, every intermediate result and the package travelled inline.
  const Task* build = FindTask(out, "build_package");
  ASSERT_NE(build, nullptr);
  EXPECT_TRUE(absl::StartsWith(build->output_data().at("packageRef").string_value(), "inline:"));
  const Task* push = FindTask(out, "push");
  ASSERT_NE(push, nullptr);
  EXPECT_EQ(push->output_data().at("targetPackageRef").string_value(), "inline");
  Workflow in = Incoming(id);
  ASSERT_EQ(in.status(), Workflow::COMPLETED) << in.reason_for_incompletion();
  EXPECT_THAT(out.DebugString(), ::testing::Not(HasSubstr(b_.token)));
  EXPECT_THAT(in.DebugString(), ::testing::Not(HasSubstr(b_.token)));
}

TEST_F(PlainConductorMigrationTest, APackageOverTheInlineLimitFailsThePushClearly) {
  ASSERT_NO_FATAL_FAILURE(Start(/*a_conductor_only=*/false, /*b_conductor_only=*/true));
  SeedSource();
  tasks::MigrationDeps small;
  small.inline_limit_bytes = 64;
  StartWorker(a_, small);  // A keeps its results in its blob store; only the push goes inline
  StartWorker(b_);
  const std::string id = StartMigration(kSelectOrder, "{}");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("cannot pass the package inline"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("64-byte limit"));
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("environment 'B' has no blob store"));
  const Task* push = FindTask(out, "push");
  ASSERT_NE(push, nullptr);
  EXPECT_EQ(push->status(), Task::FAILED_WITH_TERMINAL_ERROR) << "retrying cannot help";
  EXPECT_THAT(IncomingWorkflows(id), ::testing::IsEmpty());
  EXPECT_THAT(SeededHashes(b_), ::testing::IsEmpty());
}

TEST_F(PlainConductorMigrationTest, SecretValuesNeverTravelInlineToAConductorOnlyTarget) {
  ASSERT_NO_FATAL_FAILURE(Start(/*a_conductor_only=*/false, /*b_conductor_only=*/true));
  SeedSource();
  ASSERT_OK(a_.ext->PutSecret("ledger_key", "ledger-secret-value"));
  StartWorkers();
  const std::string id = StartMigration(kSelectOrder, R"({"includeSecrets":true})");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("carries secret values"));
  EXPECT_THAT(IncomingWorkflows(id), ::testing::IsEmpty());
  EXPECT_THAT(SeededHashes(b_), ::testing::IsEmpty());
  ExpectNoSecretValues(*a_.client, out, {"ledger-secret-value"});
}

TEST_F(PlainConductorMigrationTest, RollbackOnAConductorOnlyTargetRestoresAllItCanAndNamesTheRest) {
  ASSERT_NO_FATAL_FAILURE(Start(/*a_conductor_only=*/false, /*b_conductor_only=*/true));
  SeedSource();
  // B's own audit_flow is overwritten (strategy update); ledger_flow is created; the failure
  // comes before payment_flow. Conductor's gRPC API can remove a task definition but not a
  // workflow definition.
  PutWorkflow(b_, WorkflowJson("audit_flow", 1, {SimpleTask("audit_entry")}, "B's own"));
  tasks::MigrationDeps faulty = FailingAt("payment_flow");
  StartWorker(a_);
  StartWorker(b_, faulty);
  DefinitionHashes before = SeededHashes(b_);
  ASSERT_EQ(before.size(), 1u);
  const std::string id =
      StartMigration(kSelectOrder, R"({"conflictStrategy":"CONFLICT_STRATEGY_UPDATE"})");
  Workflow out = Wait(a_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  client::WorkflowSearchQuery q;
  q.query = "workflowType = 'incoming_migration_rollback'";
  auto found = b_.client->SearchWorkflows(q);
  ASSERT_OK(found.status());
  ASSERT_EQ(found->results.size(), 1u);
  Workflow rollback = Wait(b_, found->results[0].workflow_id());
  // Everything but the created workflow is back; the rollback fails naming what is left.
  ASSERT_EQ(rollback.status(), Workflow::FAILED);
  EXPECT_THAT(rollback.reason_for_incompletion(), HasSubstr("cannot remove"));
  EXPECT_THAT(rollback.reason_for_incompletion(), HasSubstr("ledger_flow"));
  EXPECT_THAT(rollback.reason_for_incompletion(), HasSubstr("remove them by hand"));
  for (const char* restored_or_never_written : {"audit_flow", "payment_flow", "order_flow"}) {
    EXPECT_THAT(rollback.reason_for_incompletion(),
                ::testing::Not(HasSubstr(restored_or_never_written)));
  }
  DefinitionHashes after = SeededHashes(b_);
  EXPECT_EQ(after.at("wf:audit_flow:1"), before.at("wf:audit_flow:1"));
  after.erase("wf:ledger_flow:2");
  EXPECT_EQ(after, before) << "task definitions removed, audit_flow restored";
}

// The real migration-worker binary against A, with worker id `id`.
std::unique_ptr<testing::WorkerProcess> SpawnWorker(const std::string& address,
                                                    const std::string& token,
                                                    const std::string& id) {
  return std::make_unique<testing::WorkerProcess>(
      std::string(CMIG_BINARY_DIR) + "/worker/migration-worker",
      std::vector<std::string>{"--server=" + address, "--worker_id=" + id,
                               "--register_definitions=false", "--poll_timeout_ms=200",
                               "--poll_interval_ms=20", "--threads=2", "--log_level=warn"},
      std::vector<std::string>{"CONDUCTOR_AUTH_TOKEN=" + token});
}

TEST_F(MigrationE2eTest, WorkerProcessKilledWithSigkillMidMigrationStillCompletes) {
  SeedSource();
  StartWorker(b_);
  auto first = SpawnWorker(a_.server->address(), a_.token, "killed-worker");
  ASSERT_GT(first->pid(), 0);
  const std::string id = StartMigration(kSelectOrder, "{}");
  // Kill as soon as the process holds a step of the migration.
  const bool held = WaitFor(
      [&] {
        return AnyTask(*a_.client, id, [](const Task& t) {
          return t.worker_id() == "killed-worker" && t.status() == Task::IN_PROGRESS;
        });
      },
      absl::Seconds(30), absl::Milliseconds(5));
  ASSERT_TRUE(held);
  ASSERT_EQ(kill(first->pid(), SIGKILL), 0);
  const std::optional<int> status = first->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  auto second = SpawnWorker(a_.server->address(), a_.token, "second-worker");
  ASSERT_GT(second->pid(), 0);
  Workflow out = Wait(a_, id, absl::Seconds(60));
  second.reset();  // SIGKILL
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  EXPECT_EQ(Hashes(a_), Hashes(b_));
  bool second_worked = false;
  for (const Task& t : out.tasks()) second_worked |= t.worker_id() == "second-worker";
  EXPECT_TRUE(second_worked);
}

}  // namespace
}  // namespace cmig::e2e
