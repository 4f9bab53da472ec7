// migrationctl env / secret / migrate and the offline template / export / inspect / import round
// trip, run as the real binary against two embedded orchestrators (source A, target B), each
// with an in-process worker running the real migration handlers and workflows.
#include <pwd.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "definitions/canonical.h"
#include "gmock/gmock.h"
#include "tests/cli/migration_commands_fixture.h"

namespace cmig::cli::test {
namespace {

using conductor::proto::Workflow;
using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(MigrationCommandsTest, RestEnvironmentsAreAddedByUrlAndTested) {
  // An Orkes stand-in: REST, an operator token, access keys.
  std::unique_ptr<orchestrator::OrchestratorServer> rest =
      StartServer("rest.db", "rest-admin", /*http=*/true);
  ASSERT_NE(rest, nullptr);
  const std::string api = rest->http_address() + "/api";
  client::ClientOptions admin;
  admin.address = rest->address();
  admin.token = "rest-admin";
  auto keys = client::GrpcExtensionsClient::Create(admin);
  ASSERT_OK(keys.status());
  auto key = (*keys)->CreateAccessKey();
  ASSERT_OK(key.status());

  ASSERT_EQ(Cli({"secret", "put", "r-key"}, {}, key->key_secret()).exit_code, 0);
  RunResult add = Cli({"env", "add", "R", "--address", api, "--access-key-id", key->key_id(),
                       "--access-key-secret", "r-key"});
  ASSERT_EQ(add.exit_code, 0) << add;
  EXPECT_THAT(add.out, HasSubstr("(REST)"));
  RunResult ok = Cli({"env", "test", "R"});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.out, HasSubstr("REST " + api + " answers and accepts the credentials"));
  RunResult table = Cli({"env", "list"});
  EXPECT_THAT(table.out, HasSubstr("REST"));
  EXPECT_THAT(table.out, HasSubstr("key " + key->key_id() + ", secret in r-key"));

  // A wrong key secret: the test fails naming the environment, and prints no secret.
  ASSERT_EQ(Cli({"secret", "put", "r-key"}, {}, "not-the-secret").exit_code, 0);
  RunResult refused = Cli({"env", "test", "R"});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_THAT(refused.err, HasSubstr("environment 'R'"));
  EXPECT_THAT(refused.err, Not(HasSubstr("not-the-secret")));
  // Nothing answers at this address.
  ASSERT_EQ(Cli({"env", "add", "gone", "--address", "http://127.0.0.1:9/api"}).exit_code, 0);
  RunResult unreachable = Cli({"env", "test", "gone"});
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable;
  EXPECT_THAT(unreachable.err, HasSubstr("environment 'gone' (REST http://127.0.0.1:9/api)"));

  // Addresses and credentials that cannot work are refused before anything is stored.
  RunResult scheme = Cli({"env", "add", "X", "--address", "ftp://x/api"});
  EXPECT_EQ(scheme.exit_code, 2) << scheme;
  EXPECT_THAT(scheme.err, HasSubstr("the scheme 'ftp://' is not one of"));
  RunResult grpc_key = Cli({"env", "add", "Y", "--address", "host:1", "--access-key-id", "k",
                            "--access-key-secret", "s"});
  EXPECT_EQ(grpc_key.exit_code, 2) << grpc_key;
  EXPECT_THAT(grpc_key.err, HasSubstr("access keys are exchanged for tokens over REST"));
  EXPECT_TRUE(absl::IsNotFound(a_.ext->GetEnvironment("X").status()));
  EXPECT_TRUE(absl::IsNotFound(a_.ext->GetEnvironment("Y").status()));
}

TEST_F(MigrationCommandsTest, EnvironmentsAndSecrets) {
  RunResult put = Cli({"secret", "put", "b-token"}, {}, "tok-of-b\n");
  ASSERT_EQ(put.exit_code, 0) << put;
  EXPECT_THAT(put.out, Not(HasSubstr("tok-of-b")));
  auto stored = a_.ext->GetSecret("b-token");
  ASSERT_OK(stored.status());
  EXPECT_EQ(*stored, "tok-of-b");  // the trailing newline is not part of it

  WriteFile(dir_ + "/ledger.key", "k3y");
  RunResult from_file = Cli({"secret", "put", "ledger_key", "--from-file", dir_ + "/ledger.key"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file;
  EXPECT_EQ(*a_.ext->GetSecret("ledger_key"), "k3y");

  RunResult empty = Cli({"secret", "put", "nothing"}, {}, "");
  EXPECT_EQ(empty.exit_code, 2) << empty;
  EXPECT_THAT(empty.err, HasSubstr("never on the command line"));

  RunResult list = Cli({"secret", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, Not(HasSubstr("tok-of-b")));
  google::protobuf::Value names = ParseOut(list);
  ASSERT_EQ(Field(names, "secrets").list_value().values_size(), 2);
  EXPECT_EQ(Field(names, "secrets").list_value().values(0).string_value(), "b-token");

  RunResult add = Cli({"env", "add", "B", "--address", b_.server->address(), "--token-secret",
                       "b-token", "--use-tls", "--root-ca-file", "/etc/ca.pem"});
  ASSERT_EQ(add.exit_code, 0) << add;
  RunResult warn = Cli({"env", "add", "C", "--address", "c:1", "--token-secret", "c-token"});
  ASSERT_EQ(warn.exit_code, 0) << warn;
  EXPECT_THAT(warn.out, HasSubstr("secret 'c-token' does not exist yet"));

  RunResult envs = Cli({"env", "list", "--json"});
  ASSERT_EQ(envs.exit_code, 0) << envs;
  google::protobuf::Value v = ParseOut(envs);
  const auto& e = Field(v, "environments").list_value();
  ASSERT_EQ(e.values_size(), 2);
  EXPECT_EQ(Field(e.values(0), "id").string_value(), "B");
  EXPECT_EQ(Field(e.values(0), "address").string_value(), b_.server->address());
  EXPECT_TRUE(Field(e.values(0), "useTls").bool_value());
  EXPECT_EQ(Field(e.values(0), "tlsRootCaFile").string_value(), "/etc/ca.pem");
  EXPECT_EQ(Field(e.values(0), "tokenSecret").string_value(), "b-token");

  RunResult table = Cli({"env", "list"});
  EXPECT_THAT(table.out, HasSubstr("b-token"));
  EXPECT_THAT(table.out, HasSubstr(b_.server->address()));

  RunResult gone = Cli({"env", "remove", "nowhere"});
  EXPECT_EQ(gone.exit_code, 1) << gone;
  EXPECT_THAT(gone.err, HasSubstr("unknown environment 'nowhere'; known: B, C"));
  ASSERT_EQ(Cli({"env", "remove", "C"}).exit_code, 0);
  EXPECT_TRUE(absl::IsNotFound(a_.ext->GetEnvironment("C").status()));

  ASSERT_EQ(Cli({"secret", "delete", "ledger_key"}).exit_code, 0);
  EXPECT_TRUE(absl::IsNotFound(a_.ext->GetSecret("ledger_key").status()));
  RunResult no_secret = Cli({"secret", "delete", "ledger_key"});
  EXPECT_EQ(no_secret.exit_code, 1);
  EXPECT_THAT(no_secret.err, HasSubstr("no secret named 'ledger_key'"));

  RunResult no_address = Cli({"env", "add", "D"});
  EXPECT_EQ(no_address.exit_code, 2);
  EXPECT_THAT(no_address.err, HasSubstr("--address"));
}

TEST_F(MigrationCommandsTest, MigrateWaitShowsProgressAndReport) {
  SeedSource();
  StartWorkers();
  AddTargetEnvironment();
  RunResult r = Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--source", "A",
                     "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(r.exit_code, 0) << r;
  // Progress lines for the outgoing steps, then the report.
  EXPECT_THAT(r.out, HasSubstr("fetch  COMPLETED  attempt 0"));
  EXPECT_THAT(r.out, HasSubstr("push  COMPLETED"));
  EXPECT_THAT(r.out, HasSubstr("verify_target  COMPLETED"));
  EXPECT_THAT(r.out, HasSubstr("Report"));
  EXPECT_THAT(r.out, HasSubstr("A -> B"));
  EXPECT_THAT(r.out, HasSubstr("pay_flow"));
  EXPECT_THAT(r.out, HasSubstr("create"));
  EXPECT_THAT(r.out, HasSubstr("Verification: ok"));
  // The sub-workflow and task definitions arrived with it.
  EXPECT_OK(b_.client->GetWorkflowDef("order_flow", 1).status());
  EXPECT_OK(b_.client->GetWorkflowDef("pay_flow", 1).status());
  EXPECT_OK(b_.client->GetTaskDef("charge_card").status());

  // Again, as JSON: everything is unchanged now.
  RunResult j = Cli({"migrate", "--target", "B", "--workflow", "order_flow@1", "--task",
                     "reserve_stock", "--wait", "--poll-interval", "20ms", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  EXPECT_THAT(j.err, HasSubstr("fetch"));  // progress goes to stderr with --json
  google::protobuf::Value v = ParseOut(j);
  EXPECT_EQ(Field(v, "status").string_value(), "COMPLETED");
  const auto& report = Field(v, "report");
  ASSERT_TRUE(report.has_struct_value()) << j;
  EXPECT_TRUE(Field(Field(report, "verification"), "ok").bool_value());
  const auto& items = Field(Field(report, "incoming"), "items").list_value();
  ASSERT_EQ(items.values_size(), 4) << j.out;
  for (const auto& i : items.values()) {
    EXPECT_EQ(Field(i, "status").string_value(), "ITEM_ACTION_UNCHANGED") << j.out;
  }

  // The history of the migration names every step.
  std::string id = Field(v, "workflowId").string_value();
  RunResult h = Cli({"history", id});
  ASSERT_EQ(h.exit_code, 0) << h;
  for (const char* step : {"fetch", "discover", "build_package", "push", "await_incoming"}) {
    EXPECT_THAT(h.out, HasSubstr(step));
  }
  // ... and the incoming workflow it started in B, read through B's environment definition.
  EXPECT_THAT(h.out, HasSubstr("Incoming workflow"));
  for (const char* step : {"cmig_validate_package", "cmig_plan_migration", "cmig_apply_migration",
                           "cmig_verify_applied"}) {
    EXPECT_THAT(h.out, HasSubstr(step));
  }
  RunResult hj = Cli({"history", id, "--json"});
  ASSERT_EQ(hj.exit_code, 0) << hj;
  google::protobuf::Value hv = ParseOut(hj);
  const auto& incoming = Field(hv, "incoming");
  EXPECT_EQ(Field(incoming, "environment").string_value(), "B");
  EXPECT_EQ(Field(incoming, "status").string_value(), "COMPLETED") << hj.out;
  EXPECT_EQ(Field(incoming, "workflowType").string_value(), "incoming_migration_request");
  EXPECT_GE(Field(incoming, "attempts").list_value().values_size(), 5);
  RunResult list = Cli({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list;
  const google::protobuf::Value listed = ParseOut(list);
  EXPECT_EQ(Field(listed, "totalHits").number_value(), 2);
  // Each row says what it moved and with which package.
  const auto& newest = Field(listed, "migrations").list_value().values(0);
  EXPECT_THAT(WriteJson(Field(newest, "selection")), HasSubstr("order_flow"));
  EXPECT_EQ(Field(newest, "packageDigest").string_value(),
            Field(Field(v, "report"), "packageDigest").string_value());
  // ... and who started it: this process's user, at this host.
  const passwd* me = getpwuid(geteuid());
  ASSERT_NE(me, nullptr);
  EXPECT_THAT(Field(newest, "startedBy").string_value(),
              ::testing::StartsWith(absl::StrCat(me->pw_name, "@")));
  RunResult table = Cli({"list"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_THAT(table.out, HasSubstr("SELECTION"));
  EXPECT_THAT(table.out, HasSubstr(absl::StrCat(" ", me->pw_name, "@")));
  EXPECT_THAT(table.out, HasSubstr("order_flow@1, task reserve_stock"));
}

// As Conductor treats them: a worker task with no task definition in the source runs with a
// default one, and a failure workflow named by "$workflow.input.NAME" is read at run time. Neither
// blocks the migration; the report says what the first means.
TEST_F(MigrationCommandsTest, ATaskWithoutADefinitionAndAFailureWorkflowFromInputMigrate) {
  RegisterWorkflow(*a_.client, R"({"name":"loose_flow","version":1,"schemaVersion":2,
      "failureWorkflow":"$workflow.input.failureWfName","tasks":[
      {"name":"undeclared_worker","taskReferenceName":"u","type":"SIMPLE"}]})");
  StartWorkers();
  AddTargetEnvironment();
  RunResult strict = Cli({"migrate", "--target", "B", "--workflow", "loose_flow",
                          "--require-task-definitions", "--wait", "--poll-interval", "20ms"});
  EXPECT_EQ(strict.exit_code, 1) << strict;
  EXPECT_THAT(strict.out + strict.err,
              HasSubstr("needs task definition 'undeclared_worker', which is neither in the "
                        "package nor in the target"));
  EXPECT_FALSE(b_.client->GetWorkflowDef("loose_flow", 1).ok());

  RunResult r = Cli({"migrate", "--target", "B", "--workflow", "loose_flow", "--wait",
                     "--poll-interval", "20ms"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("Runs with Conductor's default task definition, as in the source:"
                               "\n  - undeclared_worker (used by loose_flow v1 task u (name))"));
  EXPECT_THAT(r.out,
              HasSubstr("'$workflow.input.failureWfName' in loose_flow v1 (failureWorkflow)"));
  EXPECT_THAT(r.out, HasSubstr("Verification: ok"));
  ASSERT_OK_AND_ASSIGN(auto arrived, b_.client->GetWorkflowDef("loose_flow", 1));
  EXPECT_EQ(arrived.failure_workflow(), "$workflow.input.failureWfName");
  EXPECT_FALSE(b_.client->GetTaskDef("undeclared_worker").ok());
}

// One workflow of the set needs a sub-workflow that exists nowhere. By default nothing migrates;
// with --on-blocked skip the rest migrates and the report names what was left out and why: the
// same in a dry run, online and for an imported package.
TEST_F(MigrationCommandsTest, OnBlockedSkipMigratesTheRestAndNamesWhatWasLeftOut) {
  RegisterTaskDef(
      *a_.client,
      R"({"name":"good_task","retryCount":1,"timeoutSeconds":60,"responseTimeoutSeconds":30})");
  RegisterTaskDef(
      *a_.client,
      R"({"name":"bad_task","retryCount":1,"timeoutSeconds":60,"responseTimeoutSeconds":30})");
  RegisterWorkflow(*a_.client, R"({"name":"good_flow","version":1,"schemaVersion":2,"tasks":[
      {"name":"good_task","taskReferenceName":"g","type":"SIMPLE"}]})");
  RegisterWorkflow(*a_.client, R"({"name":"bad_flow","version":1,"schemaVersion":2,"tasks":[
      {"name":"bad_task","taskReferenceName":"b","type":"SIMPLE"},
      {"name":"child","taskReferenceName":"c","type":"SUB_WORKFLOW",
       "subWorkflowParam":{"name":"nowhere_flow","version":1}}]})");
  StartWorkers();
  AddTargetEnvironment();

  RunResult all_or_nothing =
      Cli({"migrate", "--target", "B", "--all-workflows", "--wait", "--poll-interval", "20ms"});
  EXPECT_EQ(all_or_nothing.exit_code, 1) << all_or_nothing;
  EXPECT_FALSE(b_.client->GetWorkflowDef("good_flow", 1).ok());

  const auto expect_left_out = [](const RunResult& r) {
    EXPECT_THAT(r.out, HasSubstr("left out: a definition it needs is missing"));
    EXPECT_THAT(r.out, HasSubstr("references workflow 'nowhere_flow' version 1"));
    EXPECT_THAT(r.out, HasSubstr("left out: only workflows that are left out need it"));
    EXPECT_THAT(r.out, HasSubstr("on-blocked skip left out 2 item(s)"));
  };
  RunResult dry = Cli({"migrate", "--target", "B", "--all-workflows", "--on-blocked", "skip",
                       "--dry-run", "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(dry.exit_code, 0) << dry;
  expect_left_out(dry);
  EXPECT_FALSE(b_.client->GetWorkflowDef("good_flow", 1).ok());

  // Exported and imported: the policy is given at import.
  const std::string config = dir_ + "/export.textproto";
  WriteFile(config, absl::StrCat("source { environment: \"dev\" address: \"", server_->address(),
                                 "\" }\nselection { all_workflows: true }\n"));
  const std::string package = dir_ + "/set.json";
  RunResult e = RunCli({"export", "--config", config, "--output", package});
  ASSERT_EQ(e.exit_code, 0) << e;
  RunResult imp_dry =
      RunCli({"import", "--input", package, "--server", b_.server->address(), "--on-blocked",
              "skip", "--dry-run", "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(imp_dry.exit_code, 0) << imp_dry;
  expect_left_out(imp_dry);
  EXPECT_FALSE(b_.client->GetWorkflowDef("good_flow", 1).ok());

  RunResult r = Cli({"migrate", "--target", "B", "--all-workflows", "--on-blocked", "skip",
                     "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(r.exit_code, 0) << r;
  expect_left_out(r);
  EXPECT_THAT(r.out, HasSubstr("Verification: ok"));
  EXPECT_OK(b_.client->GetWorkflowDef("good_flow", 1).status());
  EXPECT_OK(b_.client->GetTaskDef("good_task").status());
  EXPECT_FALSE(b_.client->GetWorkflowDef("bad_flow", 1).ok());
  EXPECT_FALSE(b_.client->GetTaskDef("bad_task").ok());
}

TEST_F(MigrationCommandsTest, EventHandlersAreSelectedByNameOrAllAndExported) {
  SeedSource();
  conductor::proto::EventHandler on_order;
  on_order.set_name("on_order");
  on_order.set_event("sqs:orders");
  on_order.set_active(true);
  auto* start = on_order.add_actions()->mutable_start_workflow();
  start->set_name("order_flow");
  start->set_version(1);
  ASSERT_OK(a_.client->AddEventHandler(on_order));
  conductor::proto::EventHandler on_paid = on_order;
  on_paid.set_name("on_paid");
  on_paid.set_event("conductor:pay_flow:paid");
  on_paid.mutable_actions(0)->mutable_start_workflow()->set_name("pay_flow");
  ASSERT_OK(a_.client->AddEventHandler(on_paid));
  StartWorkers();
  AddTargetEnvironment();

  RunResult one = Cli({"migrate", "--target", "B", "--event-handler", "on_order", "--wait",
                       "--poll-interval", "20ms"});
  ASSERT_EQ(one.exit_code, 0) << one;
  EXPECT_THAT(one.out, HasSubstr("event_handler  on_order"));
  // The workflow it starts came with it.
  EXPECT_OK(b_.client->GetWorkflowDef("order_flow", 1).status());
  auto handlers = b_.client->ListEventHandlers();
  ASSERT_OK(handlers.status());
  ASSERT_EQ(handlers->size(), 1u);
  EXPECT_EQ(CanonicalJson((*handlers)[0]), CanonicalJson(on_order));

  RunResult all = Cli(
      {"migrate", "--target", "B", "--all-event-handlers", "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(all.exit_code, 0) << all;
  handlers = b_.client->ListEventHandlers();
  ASSERT_OK(handlers.status());
  EXPECT_EQ(handlers->size(), 2u);

  RunResult missing = Cli(
      {"migrate", "--target", "B", "--event-handler", "nope", "--wait", "--poll-interval", "20ms"});
  EXPECT_EQ(missing.exit_code, 1) << missing;
  EXPECT_THAT(missing.err, HasSubstr("event handler 'nope'"));

  // Offline: the export config names handlers too.
  const std::string config = dir_ + "/export.textproto";
  ASSERT_EQ(Cli({"template", "--output", config}).exit_code, 0);
  WriteFile(config,
            absl::StrReplaceAll(
                ReadFile(config),
                {{"address: \"\"", absl::StrCat("address: \"", server_->address(), "\"")},
                 {"# event_handlers: \"on_order_shipped\"", "event_handlers: \"on_paid\""}}));
  const std::string package = dir_ + "/handlers.cmigpkg.json";
  RunResult e = RunCli({"export", "--config", config, "--output", package});
  ASSERT_EQ(e.exit_code, 0) << e;
  RunResult inspect = RunCli({"inspect", package});
  ASSERT_EQ(inspect.exit_code, 0) << inspect;
  EXPECT_THAT(inspect.out, HasSubstr("event_handler  on_paid"));
  EXPECT_THAT(inspect.out, HasSubstr("via event_handler:on_paid"));
}

TEST_F(MigrationCommandsTest, MigrateDryRunChangesNothing) {
  SeedSource();
  StartWorkers();
  AddTargetEnvironment();
  RunResult r = Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--dry-run", "--wait",
                     "--poll-interval", "20ms"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("dry run"));
  EXPECT_TRUE(absl::IsNotFound(b_.client->GetWorkflowDef("order_flow", 1).status()));
}

TEST_F(MigrationCommandsTest, FailedMigrationExitsNonZeroWithTheReason) {
  SeedSource();
  // B holds a different order_flow v1: with the default conflict strategy (fail) it blocks.
  RegisterWorkflow(*b_.client, R"({"name":"order_flow","version":1,"schemaVersion":2,"tasks":[
      {"name":"other","taskReferenceName":"other","type":"SIMPLE"}]})");
  StartWorkers();
  AddTargetEnvironment();
  RunResult r = Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--wait",
                     "--poll-interval", "20ms"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("ended FAILED"));
  // The cause in full, once, without Conductor's task wrappers or status codes around it.
  EXPECT_THAT(r.err, HasSubstr("conflict strategy fail blocks the apply: use skip or update, or "
                               "new-version"));
  EXPECT_THAT(r.err, Not(HasSubstr("failed with status")));
  EXPECT_THAT(r.err, Not(HasSubstr("FAILED_PRECONDITION")));
  // The rollback that followed says the target was not changed.
  EXPECT_THAT(r.err, HasSubstr("rolled back by workflow"));
  EXPECT_THAT(r.err, HasSubstr("nothing to restore"));
  // The report of the failed step is shown: the conflicting item, by name.
  EXPECT_THAT(r.out, HasSubstr("Report"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("workflow +order_flow +v1 +v1 +conflict"));
}

TEST_F(MigrationCommandsTest, WaitTimeoutGivesUpWaitingAndLeavesTheMigrationRunning) {
  SeedSource();
  AddTargetEnvironment();
  // No worker polls A: the migration cannot progress, and --wait-timeout ends the wait.
  RunResult r = Cli({"migrate", "--target", "B", "--workflow", "order_flow", "--wait",
                     "--poll-interval", "20ms", "--wait-timeout", "300ms", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("gave up waiting for workflow"));
  EXPECT_THAT(r.err, HasSubstr("after 300ms; it is still RUNNING"));
  // Giving up waiting does not stop the migration: it is still there to follow.
  RunResult list = Cli({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list;
  EXPECT_EQ(Field(ParseOut(list), "totalHits").number_value(), 1) << list.out;
  EXPECT_THAT(list.out, HasSubstr("RUNNING"));
}

TEST_F(MigrationCommandsTest, MigrateErrors) {
  AddTargetEnvironment();
  RunResult unknown = Cli({"migrate", "--target", "prod", "--workflow", "x"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("unknown environment 'prod'; known: B"));

  RunResult nothing = Cli({"migrate", "--target", "B"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing;
  EXPECT_THAT(nothing.err, HasSubstr("selects nothing"));

  RunResult bad_version = Cli({"migrate", "--target", "B", "--workflow", "x@latest"});
  EXPECT_EQ(bad_version.exit_code, 2) << bad_version;
  EXPECT_THAT(bad_version.err, HasSubstr("--workflow: 'x@latest'"));

  RunResult bad_strategy =
      Cli({"migrate", "--target", "B", "--workflow", "x", "--conflict-strategy", "merge"});
  EXPECT_EQ(bad_strategy.exit_code, 2) << bad_strategy;
  EXPECT_THAT(bad_strategy.err, HasSubstr("'merge' is not a conflict strategy"));

  RunResult help = Cli({"migrate", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--conflict-strategy"));
  EXPECT_THAT(help.out, HasSubstr("Examples:"));
}

TEST_F(MigrationCommandsTest, ExportInspectImportRoundTrip) {
  SeedSource();
  StartWorker(b_, "B");
  const std::string config = dir_ + "/export.textproto";
  RunResult t = Cli({"template", "--output", config});
  ASSERT_EQ(t.exit_code, 0) << t;
  RunResult again = Cli({"template", "--output", config});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_THAT(again.err, HasSubstr("pass --overwrite"));
  // Fill in the template: the source's address and a selection.
  std::string text = ReadFile(config);
  text = absl::StrReplaceAll(
      text, {{"address: \"\"", absl::StrCat("address: \"", server_->address(), "\"")},
             {"# workflows: \"order_flow\"", "workflows: \"order_flow@1\""}});
  WriteFile(config, text);

  const std::string package = dir_ + "/orders.cmigpkg.json";
  // No CMIG_SERVER: the address comes from the config.
  RunResult e = RunCli({"export", "--config", config, "--output", package, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e;
  google::protobuf::Value exported = ParseOut(e);
  EXPECT_EQ(Field(exported, "sourceEnvironment").string_value(), "dev");
  EXPECT_EQ(Field(exported, "workflowDefs").number_value(), 2);
  EXPECT_EQ(Field(exported, "taskDefs").number_value(), 2);
  std::string digest = Field(exported, "digest").string_value();
  EXPECT_EQ(digest.size(), 64u);

  RunResult overwrite = RunCli({"export", "--config", config, "--output", package});
  EXPECT_EQ(overwrite.exit_code, 1);
  EXPECT_THAT(overwrite.err, HasSubstr("pass --overwrite"));

  RunResult inspect = RunCli({"inspect", package});
  ASSERT_EQ(inspect.exit_code, 0) << inspect;
  EXPECT_THAT(inspect.out, HasSubstr(digest));
  EXPECT_THAT(inspect.out, HasSubstr("Checks: ok"));
  EXPECT_THAT(inspect.out, HasSubstr("via workflow:order_flow:1"));
  RunResult ij = RunCli({"inspect", package, "--json"});
  ASSERT_EQ(ij.exit_code, 0) << ij;
  google::protobuf::Value iv = ParseOut(ij);
  EXPECT_TRUE(Field(iv, "valid").bool_value());
  EXPECT_EQ(Field(iv, "digest").string_value(), digest);
  EXPECT_EQ(Field(iv, "items").list_value().values_size(), 4);

  // A dry run first, then the import, both waited for.
  RunResult dry = RunCli({"import", "--input", package, "--server", b_.server->address(),
                          "--target", "prod", "--dry-run", "--wait", "--poll-interval", "20ms"});
  ASSERT_EQ(dry.exit_code, 0) << dry;
  EXPECT_THAT(dry.out, HasSubstr("validate  COMPLETED"));
  // The report names the target as the operator does, not by its address.
  EXPECT_THAT(dry.out, HasSubstr(" -> prod\n"));
  EXPECT_THAT(dry.out, HasSubstr("create"));
  EXPECT_TRUE(absl::IsNotFound(b_.client->GetWorkflowDef("order_flow", 1).status()));

  RunResult imp =
      RunCli({"import", "--input", package, "--server", b_.server->address(), "--conflict-strategy",
              "update", "--wait", "--poll-interval", "20ms", "--json"});
  ASSERT_EQ(imp.exit_code, 0) << imp;
  google::protobuf::Value iv2 = ParseOut(imp);
  EXPECT_EQ(Field(iv2, "status").string_value(), "COMPLETED");
  EXPECT_EQ(Field(iv2, "workflowType").string_value(), "incoming_migration_request");
  EXPECT_TRUE(Field(Field(Field(iv2, "report"), "verification"), "ok").bool_value()) << imp.out;
  EXPECT_OK(b_.client->GetWorkflowDef("order_flow", 1).status());
  EXPECT_OK(b_.client->GetWorkflowDef("pay_flow", 1).status());
  EXPECT_OK(b_.client->GetTaskDef("reserve_stock").status());
}

// An export of more definitions than it is worth reading one at a time lists the source once;
// what it finds must be what reading one by one finds: here the older versions that the latest
// ones pin (flow_i v2 runs flow_{i-1} v1), which a listing of latest versions alone would miss.
TEST_F(MigrationCommandsTest, AnExportOfManyWorkflowsFindsThePinnedOlderVersionsToo) {
  constexpr int kFlows = 70;  // past migration::kListSourceWhenSelectingAtLeast
  for (int i = 0; i < kFlows; ++i) {
    ASSERT_NO_FATAL_FAILURE(RegisterTaskDef(
        *a_.client, absl::StrCat(R"({"name":"task_)", i, R"(","ownerEmail":"o@x"})")));
    const std::string work =
        absl::StrCat(R"({"name":"task_)", i, R"(","taskReferenceName":"work","type":"SIMPLE"})");
    ASSERT_NO_FATAL_FAILURE(RegisterWorkflow(
        *a_.client, absl::StrCat(R"({"name":"flow_)", i,
                                 R"(","version":1,"schemaVersion":2,"tasks":[)", work, "]}")));
    const std::string child =
        i == 0 ? ""
               : absl::StrCat(R"(,{"name":"flow_)", i - 1,
                              R"(","taskReferenceName":"child","type":"SUB_WORKFLOW",)",
                              R"("subWorkflowParam":{"name":"flow_)", i - 1, R"(","version":1}})");
    ASSERT_NO_FATAL_FAILURE(RegisterWorkflow(
        *a_.client,
        absl::StrCat(R"({"name":"flow_)", i, R"(","version":2,"schemaVersion":2,"tasks":[)", work,
                     child, "]}")));
  }
  std::string selection;
  for (int i = 0; i < kFlows; ++i) absl::StrAppend(&selection, " workflows: \"flow_", i, "\"");
  const std::string config = dir_ + "/export.textproto";
  WriteFile(config, absl::StrCat("source { environment: \"dev\" address: \"", server_->address(),
                                 "\" }\nselection {", selection, " }\n"));
  const std::string package = dir_ + "/many.json";
  RunResult e = RunCli({"export", "--config", config, "--output", package, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e;
  google::protobuf::Value exported = ParseOut(e);
  // Every latest version, and the first version of every workflow but the last.
  EXPECT_EQ(Field(exported, "workflowDefs").number_value(), 2 * kFlows - 1);
  EXPECT_EQ(Field(exported, "taskDefs").number_value(), kFlows);

  RunResult inspect = RunCli({"inspect", package});
  ASSERT_EQ(inspect.exit_code, 0) << inspect;
  EXPECT_THAT(inspect.out, HasSubstr("Checks: ok"));
  EXPECT_THAT(inspect.out, HasSubstr("via workflow:flow_1:2"));
}

TEST_F(MigrationCommandsTest, PackageWithSecretValuesIsNotImportedInlineIntoAServerWithoutAStore) {
  RegisterTaskDef(*a_.client, R"({"name":"charge_card","ownerEmail":"o@x"})");
  RegisterWorkflow(*a_.client, R"({"name":"pay","version":1,"schemaVersion":2,"tasks":[
      {"name":"charge_card","taskReferenceName":"c","type":"SIMPLE",
       "inputParameters":{"k":"${workflow.secrets.card_key}"}}]})");
  RunResult put = Cli({"secret", "put", "card_key"}, {}, "card-secret-value\n");
  ASSERT_EQ(put.exit_code, 0) << put;
  const std::string config = dir_ + "/export.textproto";
  WriteFile(config,
            absl::StrCat("source { environment: \"dev\" address: \"", server_->address(),
                         "\" }\nselection { workflows: \"pay\" }\ninclude_secrets: true\n"));
  const std::string package = dir_ + "/p.json";
  RunResult e = RunCli({"export", "--config", config, "--output", package});
  ASSERT_EQ(e.exit_code, 0) << e;
  ASSERT_THAT(ReadFile(package), HasSubstr("card-secret-value"));
  // Secret values inside: the file is its owner's alone.
  namespace fs = std::filesystem;
  EXPECT_EQ(fs::status(package).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // As conductor-oss: no package store, so the package could only go into the workflow input.
  orchestrator::ServerOptions options;
  options.db_path = dir_ + "/plain.db";
  options.conductor_api_only = true;
  auto plain = orchestrator::OrchestratorServer::Start(options);
  ASSERT_OK(plain.status());
  RunResult imp = RunCli({"import", "--input", package, "--server", (*plain)->address()});
  EXPECT_EQ(imp.exit_code, 1) << imp;
  EXPECT_THAT(imp.err, HasSubstr("carries secret values"));
  EXPECT_THAT(imp.err, HasSubstr("no package store"));
  EXPECT_THAT(imp.out + imp.err, ::testing::Not(HasSubstr("card-secret-value")));
}

// A package's names are shown, never obeyed: escape sequences and bytes that are not UTF-8
// reach the terminal as visible escapes, in the summary and in the errors that quote them.
TEST_F(MigrationCommandsTest, HostileNamesInAPackageAreShownEscaped) {
  const std::string hostile = "esc\x1b[31mRED\x1b]0;title\x07\x1b[2Jname";
  conductor::proto::TaskDef def;
  def.set_name(hostile);
  def.set_retry_count(2);
  ASSERT_OK(a_.client->CreateTaskDefs({def}));
  const std::string config = dir_ + "/export.textproto";
  WriteFile(config, absl::StrCat("source { environment: \"dev\" address: \"", server_->address(),
                                 "\" }\nselection { all_task_defs: true }\n"));
  const std::string package = dir_ + "/p.json";
  RunResult e = RunCli({"export", "--config", config, "--output", package});
  ASSERT_EQ(e.exit_code, 0) << e;
  const std::string shown = "esc\\x1b[31mRED\\x1b]0;title\\x07\\x1b[2Jname";

  RunResult inspect = RunCli({"inspect", package});
  ASSERT_EQ(inspect.exit_code, 0) << inspect;
  EXPECT_THAT(inspect.out, HasSubstr(shown));
  EXPECT_THAT(inspect.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(inspect.out, Not(HasSubstr("\x07")));

  // Tampered: the error names the item, escaped.
  std::string json = ReadFile(package);
  ASSERT_THAT(json, HasSubstr("retryCount\\\":2"));
  WriteFile(package, absl::StrReplaceAll(json, {{"retryCount\\\":2", "retryCount\\\":9"}}));
  RunResult tampered = RunCli({"inspect", package});
  EXPECT_EQ(tampered.exit_code, 1) << tampered;
  EXPECT_THAT(tampered.err, HasSubstr(shown));
  EXPECT_THAT(tampered.err, Not(HasSubstr("\x1b")));

  // Not UTF-8 at all: the parse error shows the bytes as escapes.
  WriteFile(package, "{\"formatVersion\": \"\xff\xfe\x1b[2J\"}");
  RunResult junk = RunCli({"inspect", package});
  EXPECT_EQ(junk.exit_code, 1) << junk;
  EXPECT_THAT(junk.err, Not(HasSubstr("\xff")));
  EXPECT_THAT(junk.err, Not(HasSubstr("\x1b")));

  // Past the size limit: refused before it is read, naming the limit.
  WriteFile(package, std::string(200, ' '));
  RunResult big = RunCli({"inspect", package, "--max-package-bytes", "100"});
  EXPECT_EQ(big.exit_code, 1) << big;
  EXPECT_THAT(big.err, HasSubstr("is 200 bytes, more than the limit of 100 bytes"));
}

TEST_F(MigrationCommandsTest, TamperedPackageIsRejectedNamingTheItem) {
  SeedSource();
  const std::string config = dir_ + "/export.textproto";
  WriteFile(config, absl::StrCat("source { environment: \"dev\" address: \"", server_->address(),
                                 "\" }\nselection { task_defs: \"charge_card\" }\n"));
  const std::string package = dir_ + "/p.json";
  RunResult e = RunCli({"export", "--config", config, "--output", package});
  ASSERT_EQ(e.exit_code, 0) << e;
  std::string json = ReadFile(package);
  // Change the retry count inside the item's canonical JSON.
  ASSERT_THAT(json, HasSubstr("retryCount\\\":2"));
  WriteFile(package, absl::StrReplaceAll(json, {{"retryCount\\\":2", "retryCount\\\":9"}}));

  RunResult inspect = RunCli({"inspect", package});
  EXPECT_EQ(inspect.exit_code, 1) << inspect;
  EXPECT_THAT(inspect.err, HasSubstr("task definition 'charge_card'"));
  EXPECT_THAT(inspect.err, HasSubstr("does not match"));
  RunResult ij = RunCli({"inspect", package, "--json"});
  EXPECT_EQ(ij.exit_code, 1);
  google::protobuf::Value v = ParseOut(ij);  // one document, not two
  EXPECT_FALSE(Field(v, "valid").bool_value());

  RunResult imp = RunCli({"import", "--input", package, "--server", b_.server->address()});
  EXPECT_EQ(imp.exit_code, 1) << imp;
  EXPECT_THAT(imp.err, HasSubstr("charge_card"));
  auto started =
      b_.client->SearchWorkflows({.query = "workflowType = 'incoming_migration_request'"});
  ASSERT_OK(started.status());
  EXPECT_EQ(started->total_hits, 0);

  WriteFile(package, "{\"formatVersion\": 1, \"bogus\": true}");
  RunResult junk = RunCli({"inspect", package});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_THAT(junk.err, HasSubstr("is not a migration package"));
}

TEST_F(MigrationCommandsTest, MalformedConfigNamesTheField) {
  const std::string config = dir_ + "/c.textproto";
  const std::string out = dir_ + "/p.json";
  WriteFile(config, "source { environment: \"dev\" }\nselection { workflow: \"a\" }\n");
  RunResult syntax = Cli({"export", "--config", config, "--output", out});
  EXPECT_EQ(syntax.exit_code, 2) << syntax;
  EXPECT_THAT(syntax.err, HasSubstr(config + ":2:"));
  EXPECT_THAT(syntax.err, HasSubstr("no field named \"workflow\""));

  WriteFile(config,
            "source { environment: \"dev\" }\nselection { workflows: \"a\" }\n"
            "import_options { conflict_strategy: \"merge\" }\n");
  RunResult value = Cli({"export", "--config", config, "--output", out});
  EXPECT_EQ(value.exit_code, 2) << value;
  EXPECT_THAT(value.err, HasSubstr("import_options.conflict_strategy: 'merge'"));

  // The source in the config is down: the error names its address, not --server's default.
  auto gone = StartServer("gone.db");
  std::string gone_address = gone->address();
  gone.reset();
  WriteFile(config, absl::StrCat("source { environment: \"dev\" address: \"", gone_address,
                                 "\" }\nselection { workflows: \"a\" }\n"));
  RunResult down = RunCli({"export", "--config", config, "--output", out});
  EXPECT_EQ(down.exit_code, 1) << down;
  EXPECT_THAT(down.err, HasSubstr(absl::StrCat("cannot reach the server at ", gone_address)));

  WriteFile(config, "selection { workflows: \"a@x\" }\n");
  RunResult env = Cli({"export", "--config", config, "--output", out});
  EXPECT_EQ(env.exit_code, 2) << env;
  EXPECT_THAT(env.err, HasSubstr("source.environment"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace cmig::cli::test
