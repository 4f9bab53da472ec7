// End to end with REST environments: a home orchestrator H (gRPC, the migration worker polls it)
// migrates from and to orchestrators reached over Conductor's REST API only, as conductor-oss and
// Orkes ship. The REST servers are embedded orchestrators with `conductor_api_only` (a
// conductor-oss stand-in: Conductor's API, no extensions) or in full (an Orkes stand-in: access
// keys, secrets). What a REST server holds is read back with libcurl, a client we did not write.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migration/apply_order.h"
#include "orchestrator/clock.h"
#include "orchestrator/server.h"
#include "tasks/migration_handlers.h"
#include "tests/orchestrator/rest_testing.h"
#include "tests/testing/definition_hashes.h"
#include "tests/testing/migration_side.h"
#include "tests/testing/self_signed.h"
#include "tests/testing/wait_for.h"
#include "tests/testing/wait_for_workflow.h"

namespace cmig {
namespace {

using ::cmig::testing::WaitFor;
using ::cmig::testing::WaitForWorkflow;
using conductor::proto::Workflow;
using google::protobuf::Value;
using orchestrator::test::HttpResult;
using orchestrator::test::RestClient;
using ::testing::HasSubstr;
using ::testing::Not;

using DefinitionHashes = std::map<std::string, std::string>;

using ::cmig::testing::IsMigrationDefinition;

// A clock the test moves by hand (the Orkes stand-in's token expiry).
class ManualClock final : public orchestrator::Clock {
 public:
  int64_t NowMs() const override { return now_ms_.load(); }
  void Advance(absl::Duration d) { now_ms_ += absl::ToInt64Milliseconds(d); }

 private:
  std::atomic<int64_t> now_ms_{absl::ToUnixMillis(absl::Now())};
};

// A Conductor server reached over REST.
struct RestServer {
  std::string id;
  std::string token;
  bool conductor_api_only = true;
  std::string tls_cert_file;  // set: HTTPS with this certificate and key
  std::string tls_key_file;
  const orchestrator::Clock* clock = nullptr;
  absl::Duration token_ttl = absl::Hours(1);
  std::unique_ptr<orchestrator::OrchestratorServer> server;

  // "http(s)://127.0.0.1:PORT/api".
  std::string Api() const { return absl::StrCat(server->http_address(), "/api"); }
  RestClient Curl() const { return RestClient(Api(), {absl::StrCat("X-Authorization: ", token)}); }
};

const char kSelectOrder[] = R"({"workflows":[{"name":"order_flow"}]})";

class RestEnvironmentsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/rest_e2e_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_NO_FATAL_FAILURE(StartSide(home_, "H", "token-of-h"));
  }
  void TearDown() override {
    for (cmig::testing::MigrationSide* s : {&home_, &grpc_target_}) {
      if (s->server != nullptr) s->Stop();
    }
    for (RestServer* r : {&source_, &target_}) {
      if (r->server) r->server->Shutdown();
    }
    std::filesystem::remove_all(dir_);
  }

  void StartSide(cmig::testing::MigrationSide& side, const std::string& id,
                 const std::string& token) {
    side.id = id;
    const std::string tokens = absl::StrCat(dir_, "/", id, ".tokens");
    std::ofstream(tokens) << token << "\n";
    orchestrator::ServerOptions options;
    options.db_path = absl::StrCat(dir_, "/", id, ".db");
    options.listen_address = "127.0.0.1:0";
    options.tokens_file = tokens;
    auto s = orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(s.status());
    side.server = *std::move(s);
    ASSERT_OK(side.Connect(token, absl::Seconds(5)));
    ASSERT_OK(side.RegisterMigrationWorkflows({}));
  }
  void StartWorker(cmig::testing::MigrationSide& side, tasks::MigrationDeps extra = {}) {
    tasks::MigrationDeps deps = side.Deps(std::move(extra));
    deps.secret_store = side.ext.get();
    ASSERT_OK(side.StartWorker(
        std::move(deps), cmig::testing::QuickWorkerOptions(absl::StrCat("worker-", side.id))));
  }

  // `http_listen`: where to serve REST (a fixed port to come back on after a restart).
  void StartRest(RestServer& r, const std::string& id,
                 const std::string& http_listen = "127.0.0.1:0") {
    r.id = id;
    if (r.token.empty()) r.token = absl::StrCat("token-of-", id);
    const std::string tokens = absl::StrCat(dir_, "/", id, ".tokens");
    std::ofstream(tokens) << r.token << "\n";
    orchestrator::ServerOptions options;
    options.db_path = absl::StrCat(dir_, "/", id, ".db");
    options.listen_address = "127.0.0.1:0";
    options.http_listen_address = http_listen;
    options.tokens_file = tokens;
    options.conductor_api_only = r.conductor_api_only;
    options.tls_cert_file = r.tls_cert_file;
    options.tls_key_file = r.tls_key_file;
    options.clock = r.clock;
    options.token_ttl = r.token_ttl;
    auto s = orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(s.status());
    r.server = *std::move(s);
  }

  // Starts grpc_target_ and registers it in the home as gRPC environment "B".
  void StartGrpcTarget() {
    ASSERT_NO_FATAL_FAILURE(StartSide(grpc_target_, "B", "token-of-b"));
    v1::Environment b;
    b.set_id("B");
    b.set_address(absl::StrCat("grpc://", grpc_target_.server->address()));
    b.set_token_secret("b-token");
    ASSERT_OK(home_.ext->PutEnvironment(b));
    ASSERT_OK(home_.ext->PutSecret("b-token", "token-of-b"));
  }

  // Registers REST server `r` in the home as environment r.id, its token in the home's secrets.
  void RegisterRest(const RestServer& r, const std::string& ca_file = "") {
    v1::Environment env;
    env.set_id(r.id);
    env.set_address(r.Api());
    env.set_tls_root_ca_file(ca_file);
    env.set_token_secret(absl::StrCat(r.id, "-token"));
    ASSERT_OK(home_.ext->PutEnvironment(env));
    ASSERT_OK(home_.ext->PutSecret(env.token_secret(), r.token));
  }

  // order_flow v3 -> payment_flow v1 -> ledger_flow v2, a task definition for every SIMPLE task.
  static std::vector<std::string> OrderTaskDefs() {
    std::vector<std::string> out;
    for (const char* t : {"reserve_stock", "charge_card", "write_ledger"}) {
      out.push_back(absl::StrCat(R"({"name":")", t,
                                 R"(","retryCount":2,"timeoutSeconds":60,)"
                                 R"("responseTimeoutSeconds":30,"ownerEmail":"o@x"})"));
    }
    return out;
  }
  static std::vector<std::string> OrderWorkflows() {
    auto simple = [](const std::string& name) {
      return absl::StrCat(R"({"name":")", name, R"(","taskReferenceName":")", name,
                          R"(_ref","type":"SIMPLE"})");
    };
    auto sub = [](const std::string& name, int version) {
      return absl::StrCat(R"({"name":")", name, R"(","taskReferenceName":")", name,
                          R"(_ref","type":"SUB_WORKFLOW","subWorkflowParam":{"name":")", name,
                          R"(","version":)", version, "}}");
    };
    auto wf = [](const std::string& name, int version, const std::string& tasks) {
      return absl::StrCat(R"({"name":")", name, R"(","version":)", version,
                          R"(,"schemaVersion":2,"ownerEmail":"o@x","tasks":[)", tasks, "]}");
    };
    return {
        wf("ledger_flow", 2, simple("write_ledger")),
        wf("payment_flow", 1, absl::StrCat(simple("charge_card"), ",", sub("ledger_flow", 2))),
        wf("order_flow", 3, absl::StrCat(simple("reserve_stock"), ",", sub("payment_flow", 1)))};
  }
  void SeedHome() {
    for (const std::string& t : OrderTaskDefs()) {
      auto def = TaskDefFromConductorJson(t, nullptr);
      ASSERT_OK(def.status());
      ASSERT_OK(home_.client->CreateTaskDefs({*def}));
    }
    for (const std::string& w : OrderWorkflows()) {
      auto def = WorkflowDefFromConductorJson(w, nullptr);
      ASSERT_OK(def.status());
      ASSERT_OK(home_.client->UpdateWorkflowDefs({*def}));
    }
  }
  static void SeedRest(const RestServer& r) {
    RestClient curl = r.Curl();
    std::string list;
    for (const std::string& t : OrderTaskDefs()) absl::StrAppend(&list, list.empty() ? "" : ",", t);
    HttpResult put = curl.Post("/metadata/taskdefs", absl::StrCat("[", list, "]"));
    ASSERT_EQ(put.status, 200) << put.body;
    for (const std::string& w : OrderWorkflows()) {
      HttpResult created = curl.Post("/metadata/workflow", w);
      ASSERT_EQ(created.status, 200) << created.body;
    }
  }

  // What a REST server holds, read with curl: key -> canonical hash.
  static DefinitionHashes RestHashes(const RestServer& r) {
    DefinitionHashes out;
    RestClient curl = r.Curl();
    HttpResult workflows = curl.Get("/metadata/workflow");
    EXPECT_EQ(workflows.status, 200) << workflows.body;
    const Value workflow_list = workflows.Json();
    for (const Value& v : workflow_list.list_value().values()) {
      auto def = WorkflowDefFromValue(v, nullptr);
      EXPECT_OK(def.status());
      if (def.ok() && !IsMigrationDefinition(def->name())) {
        out[absl::StrCat("wf:", def->name(), ":", def->version())] = CanonicalHash(*def);
      }
    }
    HttpResult task_defs = curl.Get("/metadata/taskdefs");
    EXPECT_EQ(task_defs.status, 200) << task_defs.body;
    const Value task_def_list = task_defs.Json();
    for (const Value& v : task_def_list.list_value().values()) {
      auto def = TaskDefFromValue(v, nullptr);
      EXPECT_OK(def.status());
      if (def.ok() && !IsMigrationDefinition(def->name())) {
        out[absl::StrCat("task:", def->name())] = CanonicalHash(*def);
      }
    }
    return out;
  }
  static DefinitionHashes GrpcHashes(cmig::testing::MigrationSide& side) {
    return cmig::testing::DefinitionHashesOf(*side.client);
  }

  std::string StartMigration(const std::string& source, const std::string& target,
                             const std::string& options_json = "{}",
                             const std::string& selection_json = kSelectOrder) {
    conductor::proto::StartWorkflowRequest req;
    req.set_name("outgoing_migration_request");
    auto& in = *req.mutable_input();
    in["sourceEnvironment"].set_string_value(source);
    in["targetEnvironment"].set_string_value(target);
    auto selection = ParseJson(selection_json);
    EXPECT_OK(selection.status());
    in["selection"] = *selection;
    auto options = ParseJson(options_json);
    EXPECT_OK(options.status());
    in["options"] = *options;
    auto id = home_.client->StartWorkflow(req);
    EXPECT_OK(id.status());
    return id.ok() ? *id : "";
  }
  static Workflow Wait(cmig::testing::MigrationSide& side, const std::string& id) {
    return WaitForWorkflow(*side.client, id, ::cmig::testing::WorkflowEnded, absl::Seconds(40),
                           absl::Milliseconds(25));
  }
  // Worker settings whose apply writes one definition at a time and fails (terminally) just
  // before order_flow, the last of the order set, so a rollback has work to do.
  static tasks::MigrationDeps FailingBeforeOrderFlow() {
    tasks::MigrationDeps faulty;
    faulty.apply_batch_size = 1;
    faulty.before_apply_write = [](const migration::ApplyStep& step, int index) -> absl::Status {
      if (step.kind == v1::ITEM_KIND_WORKFLOW_DEF && step.workflow_def.name() == "order_flow") {
        return absl::FailedPreconditionError(absl::StrCat("injected failure at write ", index));
      }
      return absl::OkStatus();
    };
    return faulty;
  }
  // The one rollback workflow on the home, once it has ended; a test failure when there is not
  // exactly one within 30 s.
  Workflow TheRollback() {
    client::WorkflowSearchQuery q;
    q.query = "workflowType = 'incoming_migration_rollback'";
    std::string id;
    EXPECT_TRUE(WaitFor(
        [&] {
          auto found = home_.client->SearchWorkflows(q);
          if (!found.ok() || found->results.size() != 1) return false;
          id = found->results[0].workflow_id();
          return true;
        },
        absl::Seconds(30), absl::Milliseconds(25)));
    return id.empty() ? Workflow() : Wait(home_, id);
  }
  // The incoming workflow `outgoing_id` started on `side`; empty when there is none.
  static std::vector<Workflow> IncomingOn(cmig::testing::MigrationSide& side,
                                          const std::string& outgoing_id) {
    auto list = side.client->GetWorkflowsByCorrelationId(
        "incoming_migration_request", tasks::IncomingCorrelationId(outgoing_id), true, true);
    EXPECT_OK(list.status());
    return list.ok() ? *list : std::vector<Workflow>{};
  }

  std::string dir_;
  // Outlives the servers that read it (they stop in TearDown).
  ManualClock clock_;
  cmig::testing::MigrationSide home_;
  cmig::testing::MigrationSide grpc_target_;
  RestServer source_, target_;
};

TEST_F(RestEnvironmentsE2eTest, FromTheHomeToARestTargetArrivesIdentical) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  const std::string id = StartMigration("dev", "prod");
  Workflow out = Wait(home_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  DefinitionHashes home = GrpcHashes(home_);
  EXPECT_EQ(home.size(), 6u);
  EXPECT_EQ(RestHashes(target_), home);
  // The REST server runs no migration worker: the incoming workflow ran here on its behalf.
  std::vector<Workflow> incoming = IncomingOn(home_, id);
  ASSERT_EQ(incoming.size(), 1u);
  EXPECT_EQ(incoming[0].status(), Workflow::COMPLETED);
  EXPECT_EQ(incoming[0].input().at("remoteTarget").string_value(), "prod");
  // Nothing of the migration's own definitions reached prod.
  HttpResult names = target_.Curl().Get("/metadata/workflow/names");
  EXPECT_THAT(names.body, Not(HasSubstr("migration_request")));

  // A second run finds everything unchanged.
  Workflow again = Wait(home_, StartMigration("dev", "prod"));
  ASSERT_EQ(again.status(), Workflow::COMPLETED) << again.reason_for_incompletion();
  std::string report = WriteJson(again.output().at("report"));
  EXPECT_THAT(report, HasSubstr("ITEM_ACTION_UNCHANGED"));
  EXPECT_THAT(report, Not(HasSubstr("ITEM_ACTION_CREATE")));
}

TEST_F(RestEnvironmentsE2eTest, FromOneRestServerToAnotherLeavesTheHomeUntouched) {
  ASSERT_NO_FATAL_FAILURE(StartRest(source_, "dev"));
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(SeedRest(source_));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(source_));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  Workflow out = Wait(home_, StartMigration("dev", "prod"));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  DefinitionHashes dev = RestHashes(source_);
  EXPECT_EQ(dev.size(), 6u);
  EXPECT_EQ(RestHashes(target_), dev);
  EXPECT_TRUE(GrpcHashes(home_).empty());
}

TEST_F(RestEnvironmentsE2eTest, FromARestServerToAGrpcEnvironmentRunsTheIncomingThere) {
  ASSERT_NO_FATAL_FAILURE(StartRest(source_, "dev"));
  ASSERT_NO_FATAL_FAILURE(SeedRest(source_));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(source_));
  ASSERT_NO_FATAL_FAILURE(StartGrpcTarget());
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));
  ASSERT_NO_FATAL_FAILURE(StartWorker(grpc_target_));

  const std::string id = StartMigration("dev", "B");
  Workflow out = Wait(home_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  EXPECT_EQ(GrpcHashes(grpc_target_), RestHashes(source_));
  EXPECT_EQ(IncomingOn(grpc_target_, id).size(), 1u);
  EXPECT_TRUE(IncomingOn(home_, id).empty());
}

TEST_F(RestEnvironmentsE2eTest, ARollbackOverRestRemovesTheWorkflowsItCreated) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  // Task definitions, ledger_flow and payment_flow are written; order_flow never arrives.
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_, FailingBeforeOrderFlow()));

  const std::string id = StartMigration("dev", "prod");
  Workflow out = Wait(home_, id);
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("injected failure"));
  Workflow rollback;
  ASSERT_NO_FATAL_FAILURE(rollback = TheRollback());
  ASSERT_EQ(rollback.status(), Workflow::COMPLETED) << rollback.reason_for_incompletion();
  // Two workflows and three task definitions were created, and all are gone: no hand work.
  EXPECT_EQ(rollback.output().at("removed").number_value(), 5);
  EXPECT_TRUE(RestHashes(target_).empty());
  EXPECT_EQ(target_.Curl().Get("/metadata/workflow/ledger_flow?version=2").status, 404);
}

TEST_F(RestEnvironmentsE2eTest, AnHttpsTargetWithAPrivateCaIsVerifiedAgainstIt) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  cmig::testing::CertAndKey ck = cmig::testing::MakeSelfSigned();
  target_.tls_cert_file = dir_ + "/cert.pem";
  target_.tls_key_file = dir_ + "/key.pem";
  std::ofstream(target_.tls_cert_file) << ck.cert_pem;
  std::ofstream(target_.tls_key_file) << ck.key_pem;
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_, target_.tls_cert_file));
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  Workflow out = Wait(home_, StartMigration("dev", "prod"));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  EXPECT_EQ(RestHashes(target_), GrpcHashes(home_));
}

TEST_F(RestEnvironmentsE2eTest, AccessKeyTokensThatExpireAreRenewed) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  target_.conductor_api_only = false;  // Orkes: access keys and a secret store
  target_.clock = &clock_;
  target_.token_ttl = absl::Minutes(10);
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  client::ClientOptions admin;
  admin.address = target_.server->address();
  admin.token = target_.token;
  auto ext = client::GrpcExtensionsClient::Create(admin);
  ASSERT_OK(ext.status());
  auto key = (*ext)->CreateAccessKey();
  ASSERT_OK(key.status());
  v1::Environment env;
  env.set_id("prod");
  env.set_address(target_.Api());
  env.set_access_key_id(key->key_id());
  env.set_access_key_secret("prod-key");
  ASSERT_OK(home_.ext->PutEnvironment(env));
  ASSERT_OK(home_.ext->PutSecret("prod-key", key->key_secret()));
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  Workflow first = Wait(home_, StartMigration("dev", "prod"));
  ASSERT_EQ(first.status(), Workflow::COMPLETED) << first.reason_for_incompletion();
  // Every token the target issued has expired; the worker's cached one is answered 401.
  clock_.Advance(absl::Minutes(11));
  Workflow second = Wait(home_, StartMigration("dev", "prod"));
  ASSERT_EQ(second.status(), Workflow::COMPLETED) << second.reason_for_incompletion();
  EXPECT_EQ(RestHashes(target_), GrpcHashes(home_));
  // Neither the key secret nor a token is in the migration's task data.
  for (const Workflow& wf : {first, second}) {
    std::string data;
    for (const auto& t : wf.tasks()) {
      for (const auto& [k, v] : t.input_data()) absl::StrAppend(&data, WriteJson(v));
      for (const auto& [k, v] : t.output_data()) absl::StrAppend(&data, WriteJson(v));
    }
    EXPECT_THAT(data, Not(HasSubstr(key->key_secret())));
  }
}

TEST_F(RestEnvironmentsE2eTest, AWrongAccessKeyFailsAtOnceNamingTheEnvironment) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  target_.conductor_api_only = false;
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  v1::Environment env;
  env.set_id("prod");
  env.set_address(target_.Api());
  env.set_access_key_id("no-such-key");
  env.set_access_key_secret("prod-key");
  ASSERT_OK(home_.ext->PutEnvironment(env));
  ASSERT_OK(home_.ext->PutSecret("prod-key", "a-wrong-key-secret"));
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  Workflow out = Wait(home_, StartMigration("dev", "prod"));
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("'prod'"));
  EXPECT_THAT(out.reason_for_incompletion(), Not(HasSubstr("a-wrong-key-secret")));
  // It names the environment, the key and the secret that holds the key's secret.
  EXPECT_THAT(out.reason_for_incompletion(),
              HasSubstr("environment 'prod' refused access key 'no-such-key' (its secret in "
                        "secret 'prod-key')"));
  // Refused credentials are not retried, and nothing was started in their name.
  int pushes = 0;
  for (const auto& t : out.tasks()) pushes += t.reference_task_name() == "push" ? 1 : 0;
  EXPECT_EQ(pushes, 1);
  EXPECT_TRUE(IncomingOn(home_, out.workflow_id()).empty());
}

TEST_F(RestEnvironmentsE2eTest, SecretsArePreflightedAndWrittenOverRest) {
  // keys_flow reads two secrets; prod (an Orkes stand-in) holds one of them.
  auto def = WorkflowDefFromConductorJson(
      R"({"name":"keys_flow","version":1,"schemaVersion":2,"tasks":[{"name":"use_keys",)"
      R"("taskReferenceName":"k","type":"SIMPLE","inputParameters":{)"
      R"("a":"${workflow.secrets.present_key}","b":"${workflow.secrets.absent_key}"}}]})",
      nullptr);
  ASSERT_OK(def.status());
  ASSERT_OK(home_.client->UpdateWorkflowDefs({*def}));
  ASSERT_OK(home_.ext->PutSecret("present_key", "value-of-present"));
  ASSERT_OK(home_.ext->PutSecret("absent_key", "value-of-absent"));
  target_.conductor_api_only = false;
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  ASSERT_EQ(target_.Curl().Put("/secrets/present_key", R"("prod's own")").status, 200);
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));
  const std::string keys = R"({"workflows":[{"name":"keys_flow"}]})";

  Workflow first = Wait(home_, StartMigration("dev", "prod", "{}", keys));
  ASSERT_EQ(first.status(), Workflow::COMPLETED) << first.reason_for_incompletion();
  std::string warnings =
      WriteJson(first.output().at("report").struct_value().fields().at("warnings"));
  EXPECT_THAT(warnings, HasSubstr("secret 'absent_key' is not in the target"));
  EXPECT_THAT(warnings, Not(HasSubstr("present_key")));
  EXPECT_EQ(target_.Curl().Get("/secrets/absent_key/exists").body, "false");

  // With includeSecrets the values are written through prod's secret API.
  Workflow second = Wait(home_, StartMigration("dev", "prod",
                                               R"({"includeSecrets":true,)"
                                               R"("conflictStrategy":"CONFLICT_STRATEGY_UPDATE"})",
                                               keys));
  ASSERT_EQ(second.status(), Workflow::COMPLETED) << second.reason_for_incompletion();
  EXPECT_THAT(target_.Curl().Get("/secrets/absent_key").body, HasSubstr("value-of-absent"));
  EXPECT_THAT(target_.Curl().Get("/secrets/present_key").body, HasSubstr("value-of-present"));
  // The prior value kept for a rollback is released once the migration stands.
  EXPECT_THAT(target_.Curl().Get("/secrets").body, Not(HasSubstr("cmig")));
  std::string data;
  for (const auto& t : second.tasks()) {
    for (const auto& [k, v] : t.output_data()) absl::StrAppend(&data, WriteJson(v));
  }
  EXPECT_THAT(data, Not(HasSubstr("value-of-absent")));
}

TEST_F(RestEnvironmentsE2eTest, ATargetDownAtThePushIsReachedWhenItComesBack) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  const std::string listen = absl::StrCat("127.0.0.1:", target_.server->http_port());
  target_.server->Shutdown();
  target_.server.reset();
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  const std::string id = StartMigration("dev", "prod");
  auto failed_pushes = [&] {
    int n = 0;
    auto wf = home_.client->GetWorkflowStatus(id, /*include_tasks=*/true);
    if (!wf.ok()) return 0;
    for (const auto& t : wf->tasks()) {
      n += t.reference_task_name() == "push" && t.status() == conductor::proto::Task::FAILED;
    }
    return n;
  };
  ASSERT_TRUE(
      WaitFor([&] { return failed_pushes() >= 1; }, absl::Seconds(30), absl::Milliseconds(10)));
  // prod comes back on the same address, with what it held (nothing yet).
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod", listen));
  Workflow out = Wait(home_, id);
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  EXPECT_EQ(RestHashes(target_), GrpcHashes(home_));
  EXPECT_EQ(IncomingOn(home_, id).size(), 1u);
}

// A workflow with keys gRPC cannot carry: Orkes' tags and a task's onStateChange.
const char kTaggedWorkflow[] =
    R"({"name":"tagged_flow","version":1,"schemaVersion":2,"ownerEmail":"o@x",)"
    R"("tags":[{"key":"team","value":"payments"}],"tasks":[{"name":"charge_card",)"
    R"("taskReferenceName":"charge","type":"SIMPLE",)"
    R"("onStateChange":{"onFailed":[{"type":"notify","inputParameters":{"to":"ops"}}]}}]})";
const char kSelectTagged[] = R"({"workflows":[{"name":"tagged_flow"}]})";

TEST_F(RestEnvironmentsE2eTest, KeysGrpcCannotCarryArriveOverRest) {
  ASSERT_NO_FATAL_FAILURE(StartRest(source_, "dev"));
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_EQ(source_.Curl().Post("/metadata/workflow", kTaggedWorkflow).status, 200);
  ASSERT_NO_FATAL_FAILURE(RegisterRest(source_));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  Workflow out = Wait(home_, StartMigration("dev", "prod", "{}", kSelectTagged));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  const Value arrived = target_.Curl().Get("/metadata/workflow/tagged_flow").Json();
  const auto& fields = arrived.struct_value().fields();
  ASSERT_TRUE(fields.contains("tags")) << WriteJson(arrived);
  EXPECT_EQ(WriteJson(fields.at("tags")), R"([{"key":"team","value":"payments"}])");
  const Value& task = fields.at("tasks").list_value().values(0);
  ASSERT_TRUE(task.struct_value().fields().contains("onStateChange")) << WriteJson(arrived);
  EXPECT_THAT(WriteJson(task.struct_value().fields().at("onStateChange")), HasSubstr("ops"));
  EXPECT_THAT(WriteJson(out.output().at("report")), Not(HasSubstr("cannot carry")));
}

TEST_F(RestEnvironmentsE2eTest, AGrpcTargetIsWarnedOfEveryKeyItDrops) {
  ASSERT_NO_FATAL_FAILURE(StartRest(source_, "dev"));
  ASSERT_EQ(source_.Curl().Post("/metadata/workflow", kTaggedWorkflow).status, 200);
  ASSERT_NO_FATAL_FAILURE(RegisterRest(source_));
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));

  // The home itself, over gRPC, is the target here.
  v1::Environment home;
  home.set_id("home");
  home.set_address(home_.server->address());
  home.set_token_secret("home-token");
  ASSERT_OK(home_.ext->PutEnvironment(home));
  ASSERT_OK(home_.ext->PutSecret("home-token", "token-of-h"));
  Workflow out = Wait(home_, StartMigration("dev", "home", R"({"dryRun":true})", kSelectTagged));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  // A dry run ends with the target's plan and report.
  const std::string report = WriteJson(out.output().at("incomingReport"));
  EXPECT_THAT(report, HasSubstr("workflow 'tagged_flow' version 1 has keys the target's gRPC API "
                                "cannot carry; they are dropped: $.tags, "
                                "$.tasks[0].onStateChange"));
}

TEST_F(RestEnvironmentsE2eTest, ARollbackOverRestPutsBackTheKeysItOverwrote) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  // prod's own ledger_flow v2: another description, and tags gRPC could not carry.
  const char kProdLedger[] =
      R"({"name":"ledger_flow","version":2,"schemaVersion":2,"description":"prod's own",)"
      R"("tags":[{"key":"owner","value":"prod"}],"tasks":[{"name":"write_ledger",)"
      R"("taskReferenceName":"write_ledger_ref","type":"SIMPLE"}]})";
  ASSERT_EQ(target_.Curl().Post("/metadata/workflow", kProdLedger).status, 200);
  const std::string before = WriteJson(target_.Curl().Get("/metadata/workflow/ledger_flow").Json());
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_, FailingBeforeOrderFlow()));

  Workflow out = Wait(
      home_, StartMigration("dev", "prod", R"({"conflictStrategy":"CONFLICT_STRATEGY_UPDATE"})"));
  ASSERT_EQ(out.status(), Workflow::FAILED);
  // The rollback puts prod's ledger_flow back as it was, tags included.
  ASSERT_TRUE(WaitFor(
      [&] {
        return WriteJson(target_.Curl().Get("/metadata/workflow/ledger_flow").Json()) == before;
      },
      absl::Seconds(30), absl::Milliseconds(25)))
      << WriteJson(target_.Curl().Get("/metadata/workflow/ledger_flow").Json());
  EXPECT_THAT(before, HasSubstr(R"("tags":[{"key":"owner","value":"prod"}])"));
  Workflow rollback;
  ASSERT_NO_FATAL_FAILURE(rollback = TheRollback());
  ASSERT_EQ(rollback.status(), Workflow::COMPLETED) << rollback.reason_for_incompletion();
  EXPECT_GE(rollback.output().at("restored").number_value(), 1);
}

// notify_flow publishes "conductor:notify_flow:done_ref"; on_done handles it by starting
// order_flow v3; on_sqs listens on an external queue and starts ledger_flow.
const char kNotifyFlow[] =
    R"({"name":"notify_flow","version":1,"schemaVersion":2,"ownerEmail":"o@x","tasks":[)"
    R"({"name":"done","taskReferenceName":"done_ref","type":"EVENT","sink":"conductor"}]})";
const char kOnDone[] =
    R"({"name":"on_done","event":"conductor:notify_flow:done_ref","active":true,"actions":[)"
    R"({"action":"start_workflow","start_workflow":{"name":"order_flow","version":3,)"
    R"("input":{"orderId":"${orderId}"}}}]})";
const char kOnSqs[] =
    R"({"name":"on_sqs","event":"sqs:ledger_events","active":true,"condition":"true",)"
    R"("actions":[{"action":"start_workflow","start_workflow":{"name":"ledger_flow"}}]})";
const char kSelectNotifyAndSqs[] =
    R"({"workflows":[{"name":"notify_flow"}],"eventHandlers":["on_sqs"]})";

// Event handlers by name as canonical JSON, read with curl.
std::map<std::string, std::string> RestHandlers(const RestClient& curl) {
  std::map<std::string, std::string> out;
  HttpResult list = curl.Get("/event");
  EXPECT_EQ(list.status, 200) << list.body;
  const Value handlers = list.Json();
  for (const Value& v : handlers.list_value().values()) {
    auto h = EventHandlerFromValue(v);
    EXPECT_OK(h.status());
    if (h.ok()) out[h->name()] = CanonicalJson(*h);
  }
  return out;
}

TEST_F(RestEnvironmentsE2eTest, EventHandlersTravelWithTheWorkflowsThatFeedThem) {
  ASSERT_NO_FATAL_FAILURE(StartRest(source_, "dev"));
  ASSERT_NO_FATAL_FAILURE(SeedRest(source_));
  RestClient dev = source_.Curl();
  ASSERT_EQ(dev.Post("/metadata/workflow", kNotifyFlow).status, 200);
  ASSERT_EQ(dev.Post("/event", kOnDone).status, 200);
  ASSERT_EQ(dev.Post("/event", kOnSqs).status, 200);
  ASSERT_NO_FATAL_FAILURE(RegisterRest(source_));
  ASSERT_NO_FATAL_FAILURE(StartGrpcTarget());
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_));
  ASSERT_NO_FATAL_FAILURE(StartWorker(grpc_target_));

  Workflow out = Wait(home_, StartMigration("dev", "B", "{}", kSelectNotifyAndSqs));
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  // on_done came with notify_flow, and order_flow's whole tree with on_done.
  EXPECT_EQ(GrpcHashes(grpc_target_).size(), 7u);
  auto handlers = grpc_target_.client->ListEventHandlers();
  ASSERT_OK(handlers.status());
  std::map<std::string, std::string> arrived;
  for (const auto& h : *handlers) arrived[h.name()] = CanonicalJson(h);
  EXPECT_EQ(arrived, RestHandlers(dev));
  const std::string report = WriteJson(out.output().at("report"));
  EXPECT_THAT(report, HasSubstr("ITEM_KIND_EVENT_HANDLER"));
  EXPECT_THAT(report, HasSubstr("sqs:ledger_events"));  // the queue to provide by hand

  // A second run finds the handlers unchanged.
  Workflow again = Wait(home_, StartMigration("dev", "B", "{}", kSelectNotifyAndSqs));
  ASSERT_EQ(again.status(), Workflow::COMPLETED) << again.reason_for_incompletion();
  EXPECT_THAT(WriteJson(again.output().at("report")), Not(HasSubstr("ITEM_ACTION_CREATE")));
}

TEST_F(RestEnvironmentsE2eTest, ARollbackOverRestRemovesTheEventHandlersItCreated) {
  ASSERT_NO_FATAL_FAILURE(SeedHome());
  auto notify = WorkflowDefFromConductorJson(kNotifyFlow, nullptr);
  ASSERT_OK(notify.status());
  ASSERT_OK(home_.client->UpdateWorkflowDefs({*notify}));
  for (const char* json : {kOnDone, kOnSqs}) {
    auto parsed = ParseJson(json);
    ASSERT_OK(parsed.status());
    auto h = EventHandlerFromValue(*parsed);
    ASSERT_OK(h.status());
    ASSERT_OK(home_.client->AddEventHandler(*h));
  }
  ASSERT_NO_FATAL_FAILURE(StartRest(target_, "prod"));
  ASSERT_NO_FATAL_FAILURE(RegisterRest(target_));
  // on_done is written, then the apply fails before on_sqs.
  tasks::MigrationDeps faulty;
  faulty.apply_batch_size = 1;
  faulty.before_apply_write = [](const migration::ApplyStep& step, int) -> absl::Status {
    if (step.kind == v1::ITEM_KIND_EVENT_HANDLER && step.event_handler.name() == "on_sqs") {
      return absl::FailedPreconditionError("injected failure before on_sqs");
    }
    return absl::OkStatus();
  };
  ASSERT_NO_FATAL_FAILURE(StartWorker(home_, faulty));

  Workflow out = Wait(home_, StartMigration("dev", "prod", "{}", kSelectNotifyAndSqs));
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("injected failure before on_sqs"));
  Workflow rollback;
  ASSERT_NO_FATAL_FAILURE(rollback = TheRollback());
  ASSERT_EQ(rollback.status(), Workflow::COMPLETED) << rollback.reason_for_incompletion();
  // Three task definitions, four workflows and on_done were created, and all are gone.
  EXPECT_EQ(rollback.output().at("removed").number_value(), 8);
  EXPECT_TRUE(RestHandlers(target_.Curl()).empty());
  EXPECT_TRUE(RestHashes(target_).empty());
}

}  // namespace
}  // namespace cmig
