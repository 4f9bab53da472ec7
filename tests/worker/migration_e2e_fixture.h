// The fixture of the end-to-end migration tests: two embedded orchestrators (environments A
// and B) over loopback, each with bearer tokens and an in-process worker running the migration
// handlers, and the real migration workflows from workflows/. A migration is an
// outgoing_migration_request started in A.
#ifndef CMIG_TESTS_WORKER_MIGRATION_E2E_FIXTURE_H_
#define CMIG_TESTS_WORKER_MIGRATION_E2E_FIXTURE_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/json.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "migration/discovery.h"
#include "migration/package.h"
#include "orchestrator/server.h"
#include "tasks/migration_handlers.h"
#include "tests/orchestrator/rest_testing.h"
#include "tests/testing/definition_hashes.h"
#include "tests/testing/migration_side.h"
#include "tests/testing/wait_for.h"
#include "tests/testing/wait_for_workflow.h"
#include "tests/worker/worker_process.h"
#include "worker/worker.h"
#include "workflows/registration.h"

namespace cmig::e2e {

using ::cmig::testing::StatusIs;
using ::cmig::testing::WaitFor;
using ::cmig::testing::WaitForWorkflow;
using conductor::proto::Task;
using conductor::proto::Workflow;
using migration::ApplyStep;
using migration::BuildPackage;
using migration::BuiltPackage;
using migration::Discover;
using migration::Discovery;
using migration::InMemoryDefinitionSource;
using migration::PackageHeader;
using migration::PackageToJson;
using ::testing::HasSubstr;

// Every definition of an environment by key ("wf:name:version" / "task:name") -> canonical hash,
// the migration's own definitions left out.
using DefinitionHashes = std::map<std::string, std::string>;

using ::cmig::testing::IsMigrationDefinition;

struct Environment : cmig::testing::MigrationSide {
  std::string token;
  std::string db_path;
  int port = 0;
  // As conductor-oss: Conductor's API only, every extension UNIMPLEMENTED.
  bool conductor_api_only = false;
  // The server's --max_package_bytes; 0 keeps its default.
  int64_t max_package_bytes = 0;
  // The worker's own configuration, consulted when the server has no environment or secret
  // store (set: the worker resolves through the fallbacks, as migration-worker does).
  std::unique_ptr<migration::ConfigEnvironmentResolver> config_environments;
  std::unique_ptr<migration::ConfigSecretResolver> config_secrets;
  std::unique_ptr<migration::FallbackEnvironmentResolver> fallback_environments;
  std::unique_ptr<migration::FallbackSecretResolver> fallback_secrets;
};

// Whether one task of workflow `id` satisfies `pred`; false while the workflow cannot be read.
inline bool AnyTask(client::WorkflowClient& workflows, const std::string& id,
                    const std::function<bool(const Task&)>& pred) {
  auto wf = workflows.GetWorkflowStatus(id, /*include_tasks=*/true);
  if (!wf.ok()) return false;
  for (const Task& t : wf->tasks()) {
    if (pred(t)) return true;
  }
  return false;
}

class MigrationE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/migration_e2e_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    a_.id = "A";
    a_.token = "token-of-a";
    b_.id = "B";
    b_.token = "token-of-b";
    ASSERT_NO_FATAL_FAILURE(StartServer(a_, "127.0.0.1:0"));
    ASSERT_NO_FATAL_FAILURE(StartServer(b_, "127.0.0.1:0"));
    for (Environment* e : {&a_, &b_}) ASSERT_NO_FATAL_FAILURE(Connect(*e));
    // A knows how to reach B; B's token lives in A's secret store only (or, when A is a
    // Conductor-only server, in its worker's configuration).
    if (!a_.conductor_api_only) {
      v1::Environment target;
      target.set_id("B");
      target.set_address(b_.server->address());
      target.set_token_secret("b-token");
      ASSERT_OK(a_.ext->PutEnvironment(target));
      ASSERT_OK(a_.ext->PutSecret("b-token", b_.token));
    }
    for (Environment* e : {&a_, &b_}) ASSERT_NO_FATAL_FAILURE(RegisterMigrationDefinitions(*e));
  }

  void TearDown() override {
    for (Environment* e : {&a_, &b_}) {
      if (e->chores) e->chores->Stop();
      if (e->worker) e->worker->Shutdown(absl::Seconds(5)).IgnoreError();
      e->worker.reset();
    }
    for (Environment* e : {&a_, &b_}) {
      if (e->server) e->server->Shutdown();
    }
    std::filesystem::remove_all(dir_);
  }

  void StartServer(Environment& e, const std::string& listen) {
    e.db_path = absl::StrCat(dir_, "/", e.id, ".db");
    const std::string tokens = absl::StrCat(dir_, "/", e.id, ".tokens");
    std::ofstream(tokens) << e.token << "\n";
    orchestrator::ServerOptions options;
    options.db_path = e.db_path;
    options.listen_address = listen;
    options.tokens_file = tokens;
    options.conductor_api_only = e.conductor_api_only;
    if (e.max_package_bytes > 0) options.max_package_bytes = e.max_package_bytes;
    options.http_listen_address = "127.0.0.1:0";
    auto s = orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(s.status());
    e.server = *std::move(s);
    e.port = e.server->port();
  }

  void Connect(Environment& e) { ASSERT_OK(e.Connect(e.token, absl::Seconds(5))); }

  void RegisterMigrationDefinitions(Environment& e) {
    // A step held by a killed worker comes back within seconds.
    ASSERT_OK(e.RegisterMigrationWorkflows({.response_timeout_seconds = 3}));
  }

  void StartWorker(Environment& e, tasks::MigrationDeps extra = {}, bool with_blob_store = true) {
    tasks::MigrationDeps deps = e.Deps(std::move(extra));
    if (!with_blob_store) deps.blobs = nullptr;
    deps.secret_store = e.ext.get();
    if (e.fallback_environments) deps.environments = e.fallback_environments.get();
    if (e.fallback_secrets) deps.secrets = e.fallback_secrets.get();
    ASSERT_OK(e.StartWorker(std::move(deps),
                            cmig::testing::QuickWorkerOptions(absl::StrCat("worker-", e.id))));
  }
  void StartWorkers(tasks::MigrationDeps b_extra = {}) {
    ASSERT_NO_FATAL_FAILURE(StartWorker(a_));
    ASSERT_NO_FATAL_FAILURE(StartWorker(b_, std::move(b_extra)));
  }

  void PutWorkflow(Environment& e, const std::string& json) {
    auto def = WorkflowDefFromConductorJson(json, nullptr);
    ASSERT_OK(def.status());
    ASSERT_OK(e.client->UpdateWorkflowDefs({*def}));
  }
  void PutTaskDef(Environment& e, const std::string& json) {
    auto def = TaskDefFromConductorJson(json, nullptr);
    ASSERT_OK(def.status());
    ASSERT_OK(e.client->CreateTaskDefs({*def}));
  }
  static std::string SubWorkflowTask(const std::string& ref, const std::string& name, int version) {
    return absl::StrCat(R"({"name":")", name, R"(","taskReferenceName":")", ref,
                        R"(","type":"SUB_WORKFLOW","subWorkflowParam":{"name":")", name,
                        R"(","version":)", version, "}}");
  }
  static std::string SimpleTask(const std::string& name, const std::string& input = "") {
    return absl::StrCat(R"({"name":")", name, R"(","taskReferenceName":")", name,
                        R"(_ref","type":"SIMPLE","inputParameters":{)", input, "}}");
  }
  static std::string WorkflowJson(const std::string& name, int version,
                                  const std::vector<std::string>& tasks,
                                  const std::string& description = "") {
    std::string list;
    for (const auto& t : tasks) absl::StrAppend(&list, list.empty() ? "" : ",", t);
    return absl::StrCat(R"({"name":")", name, R"(","version":)", version,
                        R"(,"schemaVersion":2,"description":")", description, R"(","tasks":[)",
                        list, "]}");
  }

  // order_flow -> payment_flow -> ledger_flow -> audit_flow (three levels of sub-workflows), task
  // definitions for every SIMPLE task, a secret reference in the ledger.
  void SeedSource() {
    for (const char* t : {"reserve_stock", "charge_card", "write_ledger", "audit_entry"}) {
      PutTaskDef(
          a_,
          absl::StrCat(
              R"({"name":")", t,
              R"(","retryCount":3,"timeoutSeconds":60,"responseTimeoutSeconds":30,"ownerEmail":"o@x"})"));
    }
    PutWorkflow(a_, WorkflowJson("audit_flow", 1, {SimpleTask("audit_entry")}));
    PutWorkflow(
        a_, WorkflowJson("ledger_flow", 2,
                         {SimpleTask("write_ledger", R"("key":"${workflow.secrets.ledger_key}")"),
                          SubWorkflowTask("audit", "audit_flow", 1)}));
    PutWorkflow(
        a_, WorkflowJson("payment_flow", 1,
                         {SimpleTask("charge_card"), SubWorkflowTask("ledger", "ledger_flow", 2)}));
    PutWorkflow(
        a_, WorkflowJson("order_flow", 3,
                         {SimpleTask("reserve_stock"), SubWorkflowTask("pay", "payment_flow", 1)}));
  }

  static DefinitionHashes Hashes(Environment& e) {
    return cmig::testing::DefinitionHashesOf(*e.client);
  }

  std::string StartMigration(const std::string& selection_json, const std::string& options_json) {
    conductor::proto::StartWorkflowRequest req;
    req.set_name("outgoing_migration_request");
    auto& in = *req.mutable_input();
    in["sourceEnvironment"].set_string_value("A");
    in["targetEnvironment"].set_string_value("B");
    auto selection = ParseJson(selection_json);
    EXPECT_OK(selection.status());
    in["selection"] = *selection;
    auto options = ParseJson(options_json);
    EXPECT_OK(options.status());
    in["options"] = *options;
    auto id = a_.client->StartWorkflow(req);
    EXPECT_OK(id.status());
    return id.ok() ? *id : "";
  }

  // B's worker options for an apply that writes one definition at a time and fails just before
  // writing workflow `name`.
  static tasks::MigrationDeps FailingAt(const std::string& name) {
    tasks::MigrationDeps faulty;
    faulty.apply_batch_size = 1;
    faulty.before_apply_write = [name](const ApplyStep& step, int index) -> absl::Status {
      if (step.kind == v1::ITEM_KIND_WORKFLOW_DEF && step.workflow_def.name() == name) {
        return absl::FailedPreconditionError(absl::StrCat("injected failure at write ", index));
      }
      return absl::OkStatus();
    };
    return faulty;
  }

  static conductor::proto::Workflow Wait(Environment& e, const std::string& id,
                                         absl::Duration timeout = absl::Seconds(40)) {
    return WaitForWorkflow(*e.client, id, ::cmig::testing::WorkflowEnded, timeout,
                           absl::Milliseconds(25));
  }

  // The incoming workflow the outgoing one started.
  conductor::proto::Workflow Incoming(const std::string& outgoing_id) {
    auto list = b_.client->GetWorkflowsByCorrelationId(
        "incoming_migration_request", tasks::IncomingCorrelationId(outgoing_id), true, true);
    EXPECT_OK(list.status());
    if (!list.ok() || list->size() != 1) {
      ADD_FAILURE() << "expected exactly one incoming workflow";
      return {};
    }
    return Wait(b_, list->front().workflow_id());
  }

  static v1::MigrationReport ReportOf(const google::protobuf::Value& v) {
    v1::MigrationReport r;
    std::string json = WriteJson(v);
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &r).ok()) << json;
    return r;
  }
  static int Count(const v1::MigrationReport& r, v1::ItemAction action) {
    int n = 0;
    for (const auto& i : r.items()) n += i.status() == action ? 1 : 0;
    return n;
  }

  std::string dir_;
  Environment a_, b_;
};

inline constexpr char kSelectOrder[] = R"({"workflows":[{"name":"order_flow"}]})";

// None of `values` is in workflow `wf` as history keeps it (its input and output, every task's
// input, output and reason, as JSON) nor in any of its tasks' logs.
inline void ExpectNoSecretValues(client::GrpcOrchestratorClient& client, const Workflow& wf,
                                 const std::vector<std::string>& values) {
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(wf, &json).ok());
  ASSERT_FALSE(wf.tasks().empty()) << "history read without its tasks";
  for (const std::string& v : values) {
    EXPECT_THAT(json, ::testing::Not(HasSubstr(v))) << "in the history of " << wf.workflow_id();
  }
  for (const Task& t : wf.tasks()) {
    auto logs = client.GetTaskLogs(t.task_id());
    ASSERT_OK(logs.status());
    for (const auto& l : *logs) {
      for (const std::string& v : values) EXPECT_THAT(l.log(), ::testing::Not(HasSubstr(v)));
    }
  }
}

// The names of the secrets `e` holds that are snapshot backups.
inline std::vector<std::string> Backups(Environment& e) {
  auto names = e.ext->ListSecretNames();
  EXPECT_OK(names.status());
  std::vector<std::string> out;
  if (names.ok()) {
    for (const auto& n : *names) {
      if (absl::StartsWith(n, "cmig-backup.")) out.push_back(n);
    }
  }
  return out;
}

inline const Task* FindTask(const Workflow& wf, const std::string& ref) {
  for (const Task& t : wf.tasks()) {
    if (t.reference_task_name() == ref) return &t;
  }
  return nullptr;
}

}  // namespace cmig::e2e

#endif  // CMIG_TESTS_WORKER_MIGRATION_E2E_FIXTURE_H_
