// The fixture of the migration command tests: two embedded orchestrators (source A, the
// fixture's server, and target B), each with an in-process worker running the real migration
// handlers and workflows, driven through the real migrationctl binary.
#ifndef CMIG_TESTS_CLI_MIGRATION_COMMANDS_FIXTURE_H_
#define CMIG_TESTS_CLI_MIGRATION_COMMANDS_FIXTURE_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/cli/cli_testing.h"
#include "tests/testing/migration_side.h"

namespace cmig::cli::test {

using Side = cmig::testing::MigrationSide;

class MigrationCommandsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    a_.server = std::move(server_);
    server_ = nullptr;
    b_.server = StartServer("b.db");
    ASSERT_NE(b_.server, nullptr);
    for (Side* s : {&a_, &b_}) ASSERT_NO_FATAL_FAILURE(Prepare(*s));
    // The fixture's server_ (CMIG_SERVER of Cli()) is the source.
    server_ = std::move(a_.server);
  }

  void TearDown() override {
    for (Side* s : {&a_, &b_}) {
      if (s->chores) s->chores->Stop();
      if (s->worker) s->worker->Shutdown(absl::Seconds(5)).IgnoreError();
      s->worker.reset();
    }
    b_.server.reset();
    CliTest::TearDown();
  }

  void Prepare(Side& s) {
    ASSERT_OK(s.Connect("", absl::Seconds(5)));
    ASSERT_OK(s.RegisterMigrationWorkflows({}));
  }

  void StartWorker(Side& s, const std::string& id) {
    tasks::MigrationDeps deps;
    deps.await_poll = absl::Seconds(1);
    ASSERT_OK(s.StartWorker(s.Deps(std::move(deps)),
                            cmig::testing::QuickWorkerOptions(absl::StrCat("worker-", id))));
  }

  void StartWorkers() {
    ASSERT_NO_FATAL_FAILURE(StartWorker(a_, "A"));
    ASSERT_NO_FATAL_FAILURE(StartWorker(b_, "B"));
  }

  // order_flow v1 -> SUB_WORKFLOW pay_flow v1; task definitions for both SIMPLE tasks.
  void SeedSource() {
    client::GrpcOrchestratorClient& a = *a_.client;
    RegisterTaskDef(
        a,
        R"({"name":"reserve_stock","retryCount":1,"timeoutSeconds":60,"responseTimeoutSeconds":30})");
    RegisterTaskDef(
        a,
        R"({"name":"charge_card","retryCount":2,"timeoutSeconds":60,"responseTimeoutSeconds":30})");
    RegisterWorkflow(a, R"({"name":"pay_flow","version":1,"schemaVersion":2,"tasks":[
        {"name":"charge_card","taskReferenceName":"charge","type":"SIMPLE"}]})");
    RegisterWorkflow(a, R"({"name":"order_flow","version":1,"schemaVersion":2,"tasks":[
        {"name":"reserve_stock","taskReferenceName":"reserve","type":"SIMPLE"},
        {"name":"pay_flow","taskReferenceName":"pay","type":"SUB_WORKFLOW",
         "subWorkflowParam":{"name":"pay_flow","version":1}}]})");
  }

  // Tells A where B is, through the CLI.
  void AddTargetEnvironment() {
    RunResult r = Cli({"env", "add", "B", "--address", b_.server->address()});
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  RunResult CliB(const std::vector<std::string>& args) {
    return RunCli(args, {{"CMIG_SERVER", b_.server->address()}});
  }

  Side a_, b_;
};

}  // namespace cmig::cli::test

#endif  // CMIG_TESTS_CLI_MIGRATION_COMMANDS_FIXTURE_H_
