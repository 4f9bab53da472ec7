// Workflow schedules migrated end to end: a home orchestrator H (gRPC, the migration worker polls
// it) promotes workflows and their schedules to an orchestrator reached over Conductor's REST API
// only (/api/scheduler, as conductor-oss's scheduler module and Orkes serve it). What the target
// holds is read back with libcurl, a client we did not write.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "migration/apply_order.h"
#include "orchestrator/server.h"
#include "tasks/migration_handlers.h"
#include "tests/orchestrator/rest_testing.h"
#include "tests/testing/migration_side.h"
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

const Value& Field(const Value& v, const std::string& key) {
  static const Value kNull;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? kNull : it->second;
}

// order_flow v1 runs a worker task; report_flow v1 calls export_flow v1, which reads secret
// warehouse_token. Three schedules: nightly_orders starts order_flow, weekly_report starts
// report_flow, orphan starts a workflow no one has.
const char* const kWorkflows[] = {
    R"({"name":"order_flow","version":1,"schemaVersion":2,"ownerEmail":"o@x","tasks":[
        {"name":"reserve_stock","taskReferenceName":"reserve","type":"SIMPLE"}]})",
    R"({"name":"export_flow","version":1,"schemaVersion":2,"ownerEmail":"o@x","tasks":[
        {"name":"upload","taskReferenceName":"upload","type":"HTTP","inputParameters":{
          "http_request":{"uri":"https://warehouse.example/upload","method":"POST",
                          "headers":{"Authorization":"${workflow.secrets.warehouse_token}"}}}}]})",
    R"({"name":"report_flow","version":1,"schemaVersion":2,"ownerEmail":"o@x","tasks":[
        {"name":"export","taskReferenceName":"export","type":"SUB_WORKFLOW",
         "subWorkflowParam":{"name":"export_flow","version":1}}]})"};
const char kNightly[] =
    R"({"name":"nightly_orders","cronExpression":"0 0 2 * * *","zoneId":"Europe/Berlin",
        "startWorkflowRequest":{"name":"order_flow","input":{"region":"eu"}},
        "description":"orders of the day"})";
const char kWeekly[] =
    R"({"name":"weekly_report","cronExpression":"0 0 6 * * MON",
        "startWorkflowRequest":{"name":"report_flow","version":1}})";
const char kOrphan[] =
    R"({"name":"orphan","cronExpression":"@hourly","startWorkflowRequest":{"name":"gone_flow"}})";
const char kSelection[] =
    R"({"workflows":[{"name":"order_flow"},{"name":"report_flow"}],"schedules":["orphan"]})";

class SchedulesE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/schedules_e2e_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_NO_FATAL_FAILURE(StartHome());
    ASSERT_NO_FATAL_FAILURE(StartTarget());
    ASSERT_NO_FATAL_FAILURE(Seed());
  }
  void TearDown() override {
    if (home_.server != nullptr) home_.Stop();
    if (target_ != nullptr) target_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  void StartHome() {
    home_.id = "H";
    const std::string tokens = absl::StrCat(dir_, "/H.tokens");
    std::ofstream(tokens) << "token-of-h\n";
    orchestrator::ServerOptions options;
    options.db_path = absl::StrCat(dir_, "/H.db");
    options.listen_address = "127.0.0.1:0";
    options.tokens_file = tokens;
    auto s = orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(s.status());
    home_.server = *std::move(s);
    ASSERT_OK(home_.Connect("token-of-h", absl::Seconds(5)));
    ASSERT_OK(home_.RegisterMigrationWorkflows({}));
  }
  // The target: Conductor's REST API with its scheduler and secrets (an Orkes stand-in),
  // registered in the home as environment "prod".
  void StartTarget() {
    const std::string tokens = absl::StrCat(dir_, "/prod.tokens");
    std::ofstream(tokens) << "token-of-prod\n";
    orchestrator::ServerOptions options;
    options.db_path = absl::StrCat(dir_, "/prod.db");
    options.listen_address = "127.0.0.1:0";
    options.http_listen_address = "127.0.0.1:0";
    options.tokens_file = tokens;
    auto s = orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(s.status());
    target_ = *std::move(s);
    v1::Environment env;
    env.set_id("prod");
    env.set_address(Api());
    env.set_token_secret("prod-token");
    ASSERT_OK(home_.ext->PutEnvironment(env));
    ASSERT_OK(home_.ext->PutSecret("prod-token", "token-of-prod"));
  }
  void Seed() {
    auto task =
        TaskDefFromConductorJson(R"({"name":"reserve_stock","retryCount":2,"timeoutSeconds":60,)"
                                 R"("responseTimeoutSeconds":30,"ownerEmail":"o@x"})",
                                 nullptr);
    ASSERT_OK(task.status());
    ASSERT_OK(home_.client->CreateTaskDefs({*task}));
    for (const char* json : kWorkflows) {
      auto def = WorkflowDefFromConductorJson(json, nullptr);
      ASSERT_OK(def.status());
      ASSERT_OK(home_.client->UpdateWorkflowDefs({*def}));
    }
    for (const char* json : {kNightly, kWeekly, kOrphan}) {
      auto parsed = ParseJson(json);
      ASSERT_OK(parsed.status());
      v1::WorkflowSchedule s;
      ASSERT_OK(MessageFromConductorValue(*parsed, &s));
      ASSERT_OK(home_.ext->SaveSchedule(s).status());
    }
  }
  void StartWorker(tasks::MigrationDeps extra = {}) {
    tasks::MigrationDeps deps = home_.Deps(std::move(extra));
    deps.secret_store = home_.ext.get();
    deps.schedules = home_.ext.get();
    ASSERT_OK(home_.StartWorker(std::move(deps), cmig::testing::QuickWorkerOptions("worker-H")));
  }

  std::string Api() const { return absl::StrCat(target_->http_address(), "/api"); }
  RestClient Curl() const { return RestClient(Api(), {"X-Authorization: token-of-prod"}); }

  // The target's schedules by name, as its REST API shows them.
  std::map<std::string, Value> TargetSchedules() const {
    std::map<std::string, Value> out;
    HttpResult list = Curl().Get("/scheduler/schedules");
    EXPECT_EQ(list.status, 200) << list.body;
    const Value all = list.Json();
    for (const Value& s : all.list_value().values()) out[Field(s, "name").string_value()] = s;
    return out;
  }

  std::string StartMigration() {
    conductor::proto::StartWorkflowRequest req;
    req.set_name("outgoing_migration_request");
    auto& in = *req.mutable_input();
    in["sourceEnvironment"].set_string_value("local");
    in["targetEnvironment"].set_string_value("prod");
    auto selection = ParseJson(kSelection);
    EXPECT_OK(selection.status());
    in["selection"] = *selection;
    in["options"].mutable_struct_value();
    auto id = home_.client->StartWorkflow(req);
    EXPECT_OK(id.status());
    return id.ok() ? *id : "";
  }
  Workflow Wait(const std::string& id) {
    return WaitForWorkflow(*home_.client, id, ::cmig::testing::WorkflowEnded, absl::Seconds(40),
                           absl::Milliseconds(25));
  }

  std::string dir_;
  cmig::testing::MigrationSide home_;
  std::unique_ptr<orchestrator::OrchestratorServer> target_;
};

TEST_F(SchedulesE2eTest, SchedulesArriveWithTheirWorkflowsPausedWhereSomethingIsMissing) {
  ASSERT_NO_FATAL_FAILURE(StartWorker());
  Workflow out = Wait(StartMigration());
  ASSERT_EQ(out.status(), Workflow::COMPLETED) << out.reason_for_incompletion();
  const std::string report = WriteJson(out.output().at("report"));
  EXPECT_THAT(report, HasSubstr("ITEM_KIND_SCHEDULE"));

  std::map<std::string, Value> arrived = TargetSchedules();
  ASSERT_EQ(arrived.size(), 3u) << report;
  // nightly_orders came with order_flow and runs there as it did at home.
  const Value& nightly = arrived["nightly_orders"];
  EXPECT_FALSE(Field(nightly, "paused").bool_value());
  EXPECT_EQ(Field(nightly, "cronExpression").string_value(), "0 0 2 * * *");
  EXPECT_EQ(Field(nightly, "zoneId").string_value(), "Europe/Berlin");
  EXPECT_EQ(Field(nightly, "description").string_value(), "orders of the day");
  EXPECT_EQ(Field(Field(Field(nightly, "startWorkflowRequest"), "input"), "region").string_value(),
            "eu");
  EXPECT_GT(Field(nightly, "nextRunTime").number_value(), 0);
  HttpResult order_flow = Curl().Get("/metadata/workflow/order_flow?version=1");
  EXPECT_EQ(order_flow.status, 200) << order_flow.body;
  // orphan's workflow exists nowhere, and report_flow's sub-workflow reads a secret prod lacks:
  // both are there, paused, saying why; neither starts a run that could only fail.
  const Value& orphan = arrived["orphan"];
  EXPECT_TRUE(Field(orphan, "paused").bool_value());
  EXPECT_THAT(Field(orphan, "pausedReason").string_value(),
              HasSubstr("workflow 'gone_flow' (latest version), which is neither in the package "
                        "nor in the target"));
  EXPECT_EQ(Field(orphan, "nextRunTime").number_value(), 0);
  const Value& weekly = arrived["weekly_report"];
  EXPECT_TRUE(Field(weekly, "paused").bool_value());
  EXPECT_THAT(Field(weekly, "pausedReason").string_value(),
              HasSubstr("reads secret(s) 'warehouse_token', which the target does not hold"));
  EXPECT_THAT(report, HasSubstr("schedule 'weekly_report' is written paused"));

  // A second run finds everything as the first left it.
  Workflow again = Wait(StartMigration());
  ASSERT_EQ(again.status(), Workflow::COMPLETED) << again.reason_for_incompletion();
  EXPECT_THAT(WriteJson(again.output().at("report")), Not(HasSubstr("ITEM_ACTION_CREATE")));

  // Once the secret is set in prod, the next run (update) writes weekly_report active.
  HttpResult put = Curl().Put("/secrets/warehouse_token", "\"s3cr3t\"");
  ASSERT_EQ(put.status, 200) << put.body;
  conductor::proto::StartWorkflowRequest req;
  req.set_name("outgoing_migration_request");
  auto& in = *req.mutable_input();
  in["sourceEnvironment"].set_string_value("local");
  in["targetEnvironment"].set_string_value("prod");
  in["selection"] = *ParseJson(kSelection);
  in["options"] = *ParseJson(R"({"conflictStrategy":"CONFLICT_STRATEGY_UPDATE"})");
  ASSERT_OK_AND_ASSIGN(std::string id, home_.client->StartWorkflow(req));
  Workflow update = Wait(id);
  ASSERT_EQ(update.status(), Workflow::COMPLETED) << update.reason_for_incompletion();
  EXPECT_FALSE(Field(TargetSchedules()["weekly_report"], "paused").bool_value());
  EXPECT_TRUE(Field(TargetSchedules()["orphan"], "paused").bool_value());
}

TEST_F(SchedulesE2eTest, ARollbackRemovesTheSchedulesTheFailedApplyCreated) {
  // nightly_orders and orphan are written, then the apply fails before weekly_report.
  tasks::MigrationDeps faulty;
  faulty.apply_batch_size = 1;
  faulty.before_apply_write = [](const migration::ApplyStep& step, int) -> absl::Status {
    if (step.kind == v1::ITEM_KIND_SCHEDULE && step.schedule.name() == "weekly_report") {
      return absl::FailedPreconditionError("injected failure before weekly_report");
    }
    return absl::OkStatus();
  };
  ASSERT_NO_FATAL_FAILURE(StartWorker(faulty));
  Workflow out = Wait(StartMigration());
  ASSERT_EQ(out.status(), Workflow::FAILED);
  EXPECT_THAT(out.reason_for_incompletion(), HasSubstr("injected failure before weekly_report"));

  client::WorkflowSearchQuery q;
  q.query = "workflowType = 'incoming_migration_rollback'";
  std::string rollback_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto found = home_.client->SearchWorkflows(q);
        if (!found.ok() || found->results.size() != 1) return false;
        rollback_id = found->results[0].workflow_id();
        return true;
      },
      absl::Seconds(30), absl::Milliseconds(25)));
  Workflow rollback = Wait(rollback_id);
  ASSERT_EQ(rollback.status(), Workflow::COMPLETED) << rollback.reason_for_incompletion();
  EXPECT_TRUE(TargetSchedules().empty());
  HttpResult order_flow = Curl().Get("/metadata/workflow/order_flow?version=1");
  EXPECT_EQ(order_flow.status, 404) << order_flow.body;
}

}  // namespace
}  // namespace cmig
