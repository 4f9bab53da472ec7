// Conductor's REST API on the embedded orchestrator, driven with libcurl (a client we did not
// write) over real HTTP, next to the gRPC services on the same state.
#include <curl/curl.h>

#include <atomic>
#include <fstream>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_format.h"
#include "cmig/v1/extensions.grpc.pb.h"
#include "conductor/grpc/event_service.grpc.pb.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "google/protobuf/util/message_differencer.h"
#include "orchestrator/clock.h"
#include "tests/orchestrator/rest_api_fixture.h"

namespace cmig::orchestrator::test {
namespace {

// The fixture: tests/orchestrator/rest_api_fixture.h.

TEST_F(RestApiTest, TokensAreCheckedAsConductorAndOrkesDo) {
  RestClient anonymous(server_->http_address());
  HttpResult health = anonymous.Get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_TRUE(Field(health.Json(), "healthy").bool_value());

  HttpResult none = anonymous.Get("/api/metadata/taskdefs");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Field(none.Json(), "status").number_value(), 401);
  EXPECT_FALSE(Field(none.Json(), "retryable").bool_value());

  RestClient wrong(server_->http_address(), {"X-Authorization: not-the-token"});
  EXPECT_EQ(wrong.Get("/api/metadata/taskdefs").status, 403);
  RestClient wrong_bearer(server_->http_address(), {"Authorization: Bearer not-the-token"});
  EXPECT_EQ(wrong_bearer.Get("/api/metadata/taskdefs").status, 403);

  RestClient bearer(server_->http_address(), {absl::StrCat("Authorization: Bearer ", kToken)});
  EXPECT_EQ(bearer.Get("/api/metadata/taskdefs").status, 200);
  EXPECT_EQ(rest_->Get("/api/metadata/taskdefs").status, 200);
}

TEST_F(RestApiTest, DefinitionsReadBackTheSameOverRestAndGrpc) {
  const std::string json = R"({
    "name": "order", "version": 3, "schemaVersion": 2, "description": "routes orders",
    "inputParameters": ["kind"], "timeoutSeconds": 0,
    "tasks": [
      {"name": "route", "taskReferenceName": "route", "type": "SWITCH",
       "evaluatorType": "value-param", "expression": "kind",
       "inputParameters": {"kind": "${workflow.input.kind}"},
       "decisionCases": {"big": [{"name": "pack", "taskReferenceName": "pack_big",
                                  "type": "SIMPLE"}]},
       "defaultCase": [{"name": "pack", "taskReferenceName": "pack_small", "type": "SIMPLE"}]},
      {"name": "fan", "taskReferenceName": "fan", "type": "FORK_JOIN",
       "forkTasks": [[{"name": "ship", "taskReferenceName": "ship_a", "type": "SIMPLE"}],
                     [{"name": "ship", "taskReferenceName": "ship_b", "type": "SIMPLE"}]]},
      {"name": "join", "taskReferenceName": "join", "type": "JOIN",
       "joinOn": ["ship_a", "ship_b"]}
    ]})";
  ASSERT_OK_AND_ASSIGN(Value sent, ParseJson(json));
  ASSERT_OK_AND_ASSIGN(WorkflowDef expected, WorkflowDefFromValue(sent, nullptr));

  HttpResult created = rest_->Post("/api/metadata/workflow", json);
  ASSERT_EQ(created.status, 200) << created.body;

  HttpResult over_rest = rest_->Get("/api/metadata/workflow/order?version=3");
  ASSERT_EQ(over_rest.status, 200) << over_rest.body;
  ASSERT_OK_AND_ASSIGN(WorkflowDef rest_def, WorkflowDefFromValue(over_rest.Json(), nullptr));
  EXPECT_TRUE(MessageDifferencer::Equals(rest_def, expected)) << over_rest.body;
  // decisionCases and forkTasks keep Conductor's shape, not protobuf's.
  const Value rest_json = over_rest.Json();
  const Value& route = Field(rest_json, "tasks").list_value().values(0);
  EXPECT_EQ(Field(route, "decisionCases").struct_value().fields().at("big").kind_case(),
            Value::kListValue);

  md::GetWorkflowRequest get;
  get.set_name("order");
  get.set_version(3);
  md::GetWorkflowResponse got;
  ASSERT_TRUE(grpc_->metadata->GetWorkflow(grpc_->Ctx().get(), get, &got).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(got.workflow(), expected));

  // And the other way round: created over gRPC, read over REST.
  WorkflowDef from_grpc = expected;
  from_grpc.set_name("order_grpc");
  ASSERT_OK(grpc_->CreateWorkflowDef(from_grpc));
  HttpResult back = rest_->Get("/api/metadata/workflow/order_grpc");
  ASSERT_EQ(back.status, 200) << back.body;
  ASSERT_OK_AND_ASSIGN(WorkflowDef back_def, WorkflowDefFromValue(back.Json(), nullptr));
  EXPECT_TRUE(MessageDifferencer::Equals(back_def, from_grpc));

  TaskDef task_def;
  task_def.set_name("pack");
  task_def.set_retry_count(2);
  task_def.set_timeout_seconds(600);
  task_def.set_response_timeout_seconds(30);
  ASSERT_OK(grpc_->CreateTaskDef(task_def));
  HttpResult task_back = rest_->Get("/api/metadata/taskdefs/pack");
  ASSERT_EQ(task_back.status, 200) << task_back.body;
  EXPECT_EQ(Field(task_back.Json(), "retryCount").number_value(), 2);
  EXPECT_EQ(Field(task_back.Json(), "responseTimeoutSeconds").number_value(), 30);
}

// Keys the gRPC wire cannot carry (Orkes' tags, conductor-oss' onStateChange, a task
// definition's inputSchema) are kept with the definition and returned over REST, across a restart.
TEST_F(RestApiTest, DefinitionsKeepEveryKeyTheyWereGiven) {
  const std::string workflow = R"({"name":"tagged","version":1,"schemaVersion":2,
    "tags":[{"key":"team","value":"payments"}],
    "tasks":[{"name":"charge","taskReferenceName":"charge","type":"SIMPLE",
              "onStateChange":{"onFailed":[{"type":"notify","payload":{"to":"ops"}}]}}]})";
  const std::string task_def = R"([{"name":"charge","timeoutSeconds":600,
    "responseTimeoutSeconds":60,"inputSchema":{"name":"charge_in","type":"JSON"},
    "tags":[{"key":"pci","value":"yes"}]}])";
  ASSERT_EQ(rest_->Post("/api/metadata/workflow", workflow).status, 200);
  ASSERT_EQ(rest_->Post("/api/metadata/taskdefs", task_def).status, 200);
  ASSERT_OK_AND_ASSIGN(Value sent, ParseJson(workflow));
  ASSERT_OK_AND_ASSIGN(Value sent_task, ParseJson(task_def));

  auto check = [&](const std::string& when) {
    Value got = rest_->Get("/api/metadata/workflow/tagged").Json();
    EXPECT_EQ(WriteJson(Field(got, "tags")), WriteJson(Field(sent, "tags"))) << when;
    const Value& task = Field(got, "tasks").list_value().values(0);
    const Value& sent_task0 = Field(sent, "tasks").list_value().values(0);
    EXPECT_EQ(WriteJson(Field(task, "onStateChange")),
              WriteJson(Field(sent_task0, "onStateChange")))
        << when;
    Value got_task = rest_->Get("/api/metadata/taskdefs/charge").Json();
    EXPECT_EQ(WriteJson(Field(got_task, "inputSchema")),
              WriteJson(Field(sent_task.list_value().values(0), "inputSchema")))
        << when;
    EXPECT_EQ(WriteJson(Field(got_task, "tags")),
              WriteJson(Field(sent_task.list_value().values(0), "tags")))
        << when;
    // The listing shows them too.
    Value all = rest_->Get("/api/metadata/workflow").Json();
    EXPECT_EQ(WriteJson(Field(all.list_value().values(0), "tags")), WriteJson(Field(sent, "tags")))
        << when;
  };
  check("after create");

  // gRPC serves what its wire carries: the same definition, without the extra keys.
  ASSERT_OK_AND_ASSIGN(WorkflowDef expected, WorkflowDefFromValue(sent, nullptr));
  md::GetWorkflowRequest get;
  get.set_name("tagged");
  md::GetWorkflowResponse got;
  ASSERT_TRUE(grpc_->metadata->GetWorkflow(grpc_->Ctx().get(), get, &got).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(got.workflow(), expected));

  // Kept in the database: a restarted server still has them.
  grpc_.reset();
  server_.reset();
  auto server = OrchestratorServer::Start(options_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  rest_ = std::make_unique<RestClient>(
      server_->http_address(), std::vector<std::string>{absl::StrCat("X-Authorization: ", kToken)});
  grpc_ = std::make_unique<Client>(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()), kToken);
  check("after a restart");

  // A definition replaced over gRPC is what gRPC sent: the old extra keys go.
  md::UpdateWorkflowsRequest update;
  *update.add_defs() = expected;
  md::UpdateWorkflowsResponse updated;
  ASSERT_TRUE(grpc_->metadata->UpdateWorkflows(grpc_->Ctx().get(), update, &updated).ok());
  Value after = rest_->Get("/api/metadata/workflow/tagged").Json();
  EXPECT_EQ(Field(after, "tags").kind_case(), Value::KIND_NOT_SET);
}

TEST_F(RestApiTest, EventHandlersAsConductorServesThem) {
  const std::string handler = R"({"name":"on_order","event":"kafka:orders","active":true,
    "condition":"$.amount > 10","evaluatorType":"javascript",
    "actions":[{"action":"start_workflow","expandInlineJSON":true,
                "startWorkflow":{"name":"ship","version":2,"input":{"id":"${orderId}"}}},
               {"action":"complete_task","completeTask":{"workflowId":"${wf}",
                "taskRefName":"wait_order","output":{"ok":true}}}],
    "tags":[{"key":"team","value":"orders"}]})";
  ASSERT_EQ(rest_->Post("/api/event", handler).status, 200);
  HttpResult again = rest_->Post("/api/event", handler);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Field(again.Json(), "message").string_value(),
            "EventHandler with name on_order already exists!");

  HttpResult listed = rest_->Get("/api/event");
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.Json().list_value().values_size(), 1);
  const Value got = listed.Json().list_value().values(0);
  ASSERT_OK_AND_ASSIGN(Value sent, ParseJson(handler));
  ASSERT_OK_AND_ASSIGN(conductor::proto::EventHandler sent_handler, EventHandlerFromValue(sent));
  ASSERT_OK_AND_ASSIGN(conductor::proto::EventHandler got_handler, EventHandlerFromValue(got));
  EXPECT_TRUE(MessageDifferencer::Equals(got_handler, sent_handler)) << listed.body;
  const Value& first_action = Field(got, "actions").list_value().values(0);
  EXPECT_EQ(Field(first_action, "action").string_value(), "start_workflow");
  EXPECT_TRUE(Field(first_action, "expandInlineJSON").bool_value());
  EXPECT_EQ(WriteJson(Field(got, "tags")), WriteJson(Field(sent, "tags")));
  EXPECT_EQ(Field(got, "condition").string_value(), "$.amount > 10");

  // The gRPC EventService serves the same handler, in protobuf's names.
  auto events = conductor::grpc::events::EventService::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  auto ctx = grpc_->Ctx();
  auto reader = events->GetEventHandlers(ctx.get(), {});
  conductor::proto::EventHandler over_grpc;
  ASSERT_TRUE(reader->Read(&over_grpc));
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(over_grpc.actions(0).action(), conductor::proto::EventHandler::Action::START_WORKFLOW);
  EXPECT_TRUE(over_grpc.actions(0).expand_inline_json());
  EXPECT_EQ(over_grpc.actions(0).start_workflow().version(), 2);
  EXPECT_EQ(over_grpc.actions(1).complete_task().task_ref_name(), "wait_order");

  EXPECT_EQ(rest_->Get("/api/event/kafka:orders").Json().list_value().values_size(), 1);
  ASSERT_EQ(
      rest_
          ->Put("/api/event", R"({"name":"on_order","event":"kafka:orders","active":false,)"
                              R"("actions":[{"action":"fail_task","failTask":{"taskId":"t"}}]})")
          .status,
      200);
  EXPECT_EQ(rest_->Get("/api/event/kafka:orders").Json().list_value().values_size(), 0);
  EXPECT_EQ(
      rest_->Get("/api/event/kafka:orders?activeOnly=false").Json().list_value().values_size(), 1);
  EXPECT_EQ(
      rest_->Put("/api/event", R"({"name":"nope","event":"e","actions":[{"action":"fail_task"}]})")
          .status,
      404);
  HttpResult no_actions = rest_->Post("/api/event", R"({"name":"x","event":"e","actions":[]})");
  EXPECT_EQ(no_actions.status, 400);
  EXPECT_EQ(Field(no_actions.Json(), "message").string_value(),
            "No actions specified. Please specify at-least one action");
  EXPECT_EQ(
      rest_->Post("/api/event", R"({"name":"x","event":"e","actions":[{"action":"fly"}]})").status,
      400);
  EXPECT_EQ(rest_->Delete("/api/event/on_order").status, 200);
  EXPECT_EQ(rest_->Delete("/api/event/on_order").status, 404);
  EXPECT_EQ(rest_->Get("/api/event").body, "[]");
}

TEST_F(RestApiTest, MetadataAnswersWithConductorsStatusCodes) {
  const std::string def =
      R"({"name":"w","version":1,"schemaVersion":2,"tasks":[{"name":"a","taskReferenceName":"a","type":"SIMPLE"}]})";
  EXPECT_EQ(rest_->Post("/api/metadata/workflow", def).status, 200);
  HttpResult again = rest_->Post("/api/metadata/workflow", def);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Field(again.Json(), "message").string_value(), "Workflow with w.1 already exists!");
  EXPECT_EQ(rest_->Post("/api/metadata/workflow?overwrite=true", def).status, 200);

  HttpResult bad_json = rest_->Post("/api/metadata/workflow", "{\"name\":");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(Field(bad_json.Json(), "status").number_value(), 400);
  HttpResult wrong_type = rest_->Post("/api/metadata/workflow", R"({"name":"w","tasks":7})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(Field(wrong_type.Json(), "message").string_value().find("tasks"), std::string::npos)
      << wrong_type.body;

  HttpResult bulk = rest_->Put(
      "/api/metadata/workflow",
      R"([{"name":"w","version":2,"schemaVersion":2,"tasks":[{"name":"a","taskReferenceName":"a","type":"SIMPLE"}]}])");
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  EXPECT_EQ(Field(bulk.Json(), "bulkSuccessfulResults").list_value().values(0).string_value(), "w");

  HttpResult latest = rest_->Get("/api/metadata/workflow/w");
  EXPECT_EQ(Field(latest.Json(), "version").number_value(), 2);
  HttpResult versions = rest_->Get("/api/metadata/workflow/names-and-versions");
  EXPECT_EQ(Field(versions.Json(), "w").list_value().values_size(), 2) << versions.body;
  HttpResult all = rest_->Get("/api/metadata/workflow");
  EXPECT_EQ(all.Json().list_value().values_size(), 2);
  HttpResult latest_all = rest_->Get("/api/metadata/workflow/latest-versions");
  EXPECT_EQ(latest_all.Json().list_value().values_size(), 1);

  EXPECT_EQ(rest_->Delete("/api/metadata/workflow/w/1").status, 200);
  EXPECT_EQ(rest_->Get("/api/metadata/workflow/w?version=1").status, 404);
  EXPECT_EQ(rest_->Delete("/api/metadata/workflow/w/1").status, 404);
  EXPECT_EQ(rest_->Get("/api/metadata/workflow/nothing").status, 404);

  EXPECT_EQ(rest_
                ->Post("/api/metadata/taskdefs",
                       R"([{"name":"a","timeoutSeconds":600,"responseTimeoutSeconds":60}])")
                .status,
            200);
  EXPECT_EQ(rest_->Get("/api/metadata/taskdefs").Json().list_value().values_size(), 1);
  EXPECT_EQ(rest_
                ->Put("/api/metadata/taskdefs",
                      R"({"name":"zz","timeoutSeconds":600,"responseTimeoutSeconds":60})")
                .status,
            404);
  EXPECT_EQ(rest_->Delete("/api/metadata/taskdefs/a").status, 200);
  EXPECT_EQ(rest_->Get("/api/metadata/taskdefs/a").status, 404);

  EXPECT_EQ(rest_->Get("/api/no/such/path").status, 404);
  EXPECT_EQ(rest_->Delete("/api/metadata/workflow").status, 405);
}

TEST_F(RestApiTest, AWorkflowRunsOverRestAndTasksCrossProtocols) {
  DefineOneTaskWorkflow("step");
  HttpResult started = rest_->Post("/api/workflow/step_wf?correlationId=c1", R"({"x":5})");
  ASSERT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(started.content_type.substr(0, 10), "text/plain");
  const std::string id = started.body;

  Value task = PollOne("step");
  ASSERT_EQ(Field(task, "workflowInstanceId").string_value(), id);
  EXPECT_EQ(Field(Field(task, "inputData"), "x").number_value(), 5);
  EXPECT_EQ(Field(task, "status").string_value(), "IN_PROGRESS");
  EXPECT_EQ(rest_
                ->Post(absl::StrCat("/api/tasks/", Field(task, "taskId").string_value(), "/log"),
                       "\"half way\"")
                .status,
            200);
  HttpResult done = Complete(task, "COMPLETED", R"({"y":"shipped"})");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.body, Field(task, "taskId").string_value());

  HttpResult wf = rest_->Get(absl::StrCat("/api/workflow/", id));
  ASSERT_EQ(wf.status, 200);
  EXPECT_EQ(Field(wf.Json(), "status").string_value(), "COMPLETED");
  EXPECT_EQ(Field(Field(wf.Json(), "output"), "y").string_value(), "shipped");
  EXPECT_EQ(Field(wf.Json(), "workflowName").string_value(), "step_wf");
  EXPECT_EQ(Field(wf.Json(), "correlationId").string_value(), "c1");
  HttpResult logs =
      rest_->Get(absl::StrCat("/api/tasks/", Field(task, "taskId").string_value(), "/log"));
  ASSERT_EQ(logs.status, 200);
  EXPECT_EQ(Field(logs.Json().list_value().values(0), "log").string_value(), "half way");

  // Polled over REST, finished over gRPC; and the reverse.
  ASSERT_OK_AND_ASSIGN(std::string id2, grpc_->Start("step_wf"));
  Value rest_task = PollOne("step");
  ASSERT_EQ(Field(rest_task, "workflowInstanceId").string_value(), id2);
  Task as_proto;
  as_proto.set_task_id(Field(rest_task, "taskId").string_value());
  as_proto.set_workflow_instance_id(id2);
  ASSERT_OK(grpc_->Update(as_proto, conductor::proto::TaskResult::COMPLETED));
  EXPECT_EQ(WorkflowStatus(id2), "COMPLETED");

  HttpResult id3 = rest_->Post("/api/workflow", R"({"name":"step_wf","input":{"x":1}})");
  ASSERT_EQ(id3.status, 200) << id3.body;
  std::optional<Task> grpc_task = grpc_->PollOne("step");
  ASSERT_TRUE(grpc_task.has_value());
  Value as_json;
  (*as_json.mutable_struct_value()->mutable_fields())["taskId"].set_string_value(
      grpc_task->task_id());
  (*as_json.mutable_struct_value()->mutable_fields())["workflowInstanceId"].set_string_value(
      id3.body);
  ASSERT_EQ(Complete(as_json, "COMPLETED", "{}").status, 200);
  EXPECT_EQ(WorkflowStatus(id3.body), "COMPLETED");

  HttpResult search = rest_->Get("/api/workflow/search?query=workflowType%20%3D%20%27step_wf%27");
  ASSERT_EQ(search.status, 200) << search.body;
  EXPECT_EQ(Field(search.Json(), "totalHits").number_value(), 3);
  HttpResult newest = rest_->Get(
      "/api/workflow/search?size=1&sort=startTime:DESC&query=workflowType%3D%27step_wf%27");
  ASSERT_EQ(newest.status, 200) << newest.body;
  EXPECT_EQ(
      Field(Field(newest.Json(), "results").list_value().values(0), "workflowId").string_value(),
      id3.body);
  HttpResult oldest = rest_->Get("/api/workflow/search?size=1&query=workflowType%3D%27step_wf%27");
  EXPECT_EQ(
      Field(Field(oldest.Json(), "results").list_value().values(0), "workflowId").string_value(),
      id);
  EXPECT_EQ(rest_->Get("/api/workflow/search?sort=workflowId:ASC").status, 400);

  HttpResult correlated = rest_->Get("/api/workflow/step_wf/correlated/c1?includeClosed=true");
  ASSERT_EQ(correlated.status, 200) << correlated.body;
  EXPECT_EQ(correlated.Json().list_value().values_size(), 1);
  HttpResult bulk =
      rest_->Post("/api/workflow/step_wf/correlated?includeClosed=true", R"(["c1","none"])");
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  EXPECT_EQ(Field(bulk.Json(), "c1").list_value().values_size(), 1);
  EXPECT_EQ(Field(bulk.Json(), "none").list_value().values_size(), 0);

  HttpResult status = rest_->Get(absl::StrCat("/api/workflow/", id, "/status?includeOutput=true"));
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(Field(status.Json(), "status").string_value(), "COMPLETED");
  EXPECT_EQ(Field(Field(status.Json(), "output"), "y").string_value(), "shipped");
  HttpResult tasks = rest_->Get(absl::StrCat("/api/workflow/", id, "/tasks?status=completed"));
  ASSERT_EQ(tasks.status, 200) << tasks.body;
  EXPECT_EQ(Field(tasks.Json(), "totalHits").number_value(), 1);
  EXPECT_EQ(rest_->Get(absl::StrCat("/api/workflow/", id, "/tasks?status=FAILED"))
                .Json()
                .struct_value()
                .fields()
                .at("totalHits")
                .number_value(),
            0);

  // Rerun from the start gives the workflow a new run under the same id.
  HttpResult rerun =
      rest_->Post(absl::StrCat("/api/workflow/", id, "/rerun"), R"({"workflowInput":{"x":9}})");
  ASSERT_EQ(rerun.status, 200) << rerun.body;
  EXPECT_EQ(rerun.body, id);
  Value again = PollOne("step");
  EXPECT_EQ(Field(again, "workflowInstanceId").string_value(), id);
  EXPECT_EQ(Field(Field(again, "inputData"), "x").number_value(), 9);
}

// Text that is not UTF-8 could be neither stored in a task or log nor sent to a gRPC client: it
// is refused where it arrives, naming where it was, and changes nothing.
TEST_F(RestApiTest, TextThatIsNotUtf8IsRefusedNamingWhereItWas) {
  DefineOneTaskWorkflow("step");
  HttpResult started = rest_->Post("/api/workflow/step_wf", "{}");
  ASSERT_EQ(started.status, 200) << started.body;

  HttpResult bad_worker = rest_->Get("/api/tasks/poll/step?workerid=w%FF%FE");
  EXPECT_EQ(bad_worker.status, 400);
  EXPECT_EQ(Field(bad_worker.Json(), "message").string_value(),
            "Query parameter 'workerid' is not valid UTF-8");
  HttpResult bad_path = rest_->Get("/api/metadata/workflow/step%C3");
  EXPECT_EQ(bad_path.status, 400);
  EXPECT_EQ(Field(bad_path.Json(), "message").string_value(),
            "The request's path is not valid UTF-8");

  // The refused poll took nothing: the task is still there for a well-formed one.
  Value task = PollOne("step");
  ASSERT_EQ(Field(task, "workflowInstanceId").string_value(), started.body);
  const std::string log_path =
      absl::StrCat("/api/tasks/", Field(task, "taskId").string_value(), "/log");
  HttpResult bad_log = rest_->Post(log_path, "half\xff way");
  EXPECT_EQ(bad_log.status, 400);
  EXPECT_EQ(Field(bad_log.Json(), "message").string_value(), "The log line is not valid UTF-8");
  EXPECT_EQ(rest_->Get(log_path).status, 204);  // no log
  EXPECT_EQ(rest_->Post(log_path, "half way \xc3\xa0 la carte").status, 200);
  EXPECT_EQ(rest_->Get(log_path).Json().list_value().values_size(), 1);

  EXPECT_EQ(Field(rest_->Put("/api/secrets/k", "\x80").Json(), "message").string_value(),
            "The secret's value is not valid UTF-8");
  EXPECT_EQ(rest_->Get("/api/secrets/k").status, 404);
}

// The console follows a running migration with GET /api/cmig/workflows/{id}/watch.
TEST_F(RestApiTest, AWorkflowIsWatchedOverRest) {
  DefineOneTaskWorkflow("step");
  HttpResult started = rest_->Post("/api/workflow/step_wf", "{}");
  ASSERT_EQ(started.status, 200) << started.body;
  const std::string watch = absl::StrCat("/api/cmig/workflows/", started.body, "/watch");
  HttpResult first = rest_->Get(watch + "?seen=0&timeout=0");
  ASSERT_EQ(first.status, 200) << first.body;
  const double stamp = Field(first.Json(), "stamp").number_value();
  EXPECT_GT(stamp, 0);
  HttpResult same =
      rest_->Get(absl::StrCat(watch, "?seen=", absl::StrFormat("%.0f", stamp), "&timeout=20"));
  EXPECT_EQ(Field(same.Json(), "stamp").number_value(), stamp);  // nothing changed

  Value task = PollOne("step");  // a change: the task is IN_PROGRESS
  HttpResult changed =
      rest_->Get(absl::StrCat(watch, "?seen=", absl::StrFormat("%.0f", stamp), "&timeout=60000"));
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_GT(Field(changed.Json(), "stamp").number_value(), stamp);

  EXPECT_EQ(rest_->Get(watch + "?timeout=60001").status, 400);
  EXPECT_EQ(rest_->Get(watch + "?seen=x").status, 400);
  EXPECT_EQ(rest_->Get("/api/cmig/workflows/no-such-id/watch").status, 404);
}

TEST_F(RestApiTest, RetryRestartPauseAndTerminateOverRest) {
  DefineOneTaskWorkflow("flaky");
  HttpResult started = rest_->Post("/api/workflow/flaky_wf", "{}");
  ASSERT_EQ(started.status, 200);
  const std::string id = started.body;

  ASSERT_EQ(Complete(PollOne("flaky"), "FAILED_WITH_TERMINAL_ERROR", "{}").status, 200);
  EXPECT_EQ(WorkflowStatus(id), "FAILED");
  EXPECT_EQ(rest_->Put(absl::StrCat("/api/workflow/", id, "/pause"), "").status, 409);

  EXPECT_EQ(rest_->Post(absl::StrCat("/api/workflow/", id, "/retry"), "").status, 204);
  EXPECT_EQ(WorkflowStatus(id), "RUNNING");
  ASSERT_EQ(Complete(PollOne("flaky"), "COMPLETED", R"({"y":2})").status, 200);
  EXPECT_EQ(WorkflowStatus(id), "COMPLETED");
  HttpResult wf = rest_->Get(absl::StrCat("/api/workflow/", id));
  EXPECT_EQ(Field(wf.Json(), "tasks").list_value().values_size(), 2);  // both attempts kept

  EXPECT_EQ(rest_->Post(absl::StrCat("/api/workflow/", id, "/restart"), "").status, 204);
  EXPECT_EQ(WorkflowStatus(id), "RUNNING");
  EXPECT_EQ(rest_->Put(absl::StrCat("/api/workflow/", id, "/pause"), "").status, 200);
  EXPECT_EQ(WorkflowStatus(id), "PAUSED");
  EXPECT_EQ(rest_->Put(absl::StrCat("/api/workflow/", id, "/resume"), "").status, 200);
  EXPECT_EQ(rest_->Delete(absl::StrCat("/api/workflow/", id, "?reason=stopped%20by%20hand")).status,
            200);
  HttpResult ended = rest_->Get(absl::StrCat("/api/workflow/", id, "?includeTasks=false"));
  EXPECT_EQ(Field(ended.Json(), "status").string_value(), "TERMINATED");
  EXPECT_EQ(Field(ended.Json(), "reasonForIncompletion").string_value(), "stopped by hand");
  EXPECT_EQ(rest_->Delete(absl::StrCat("/api/workflow/", id)).status, 409);

  EXPECT_EQ(rest_->Delete(absl::StrCat("/api/workflow/", id, "/remove")).status, 200);
  EXPECT_EQ(rest_->Get(absl::StrCat("/api/workflow/", id)).status, 404);
  EXPECT_EQ(rest_->Get("/api/tasks/no-such-task").status, 404);
  EXPECT_EQ(rest_->Get("/api/tasks/poll/batch/flaky?timeout=6000").status, 400);
  EXPECT_EQ(rest_->Get("/api/tasks/poll/flaky").status, 204);  // nothing queued
}

class ManualClock final : public Clock {
 public:
  int64_t NowMs() const override { return now_.load(); }
  void Advance(absl::Duration d) { now_ += absl::ToInt64Milliseconds(d); }

 private:
  std::atomic<int64_t> now_{1'700'000'000'000};
};

TEST_F(RestApiTest, ATaskThatTimesOutIsRetriedAndShownOverRest) {
  ManualClock clock;
  // The server reads the clock on its threads (timers, scheduler) until it stops: it stops
  // before the clock goes.
  absl::Cleanup stop_first = [this] {
    rest_.reset();
    server_.reset();
  };
  grpc_.reset();
  server_.reset();
  options_.clock = &clock;
  auto server = OrchestratorServer::Start(options_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  rest_ = std::make_unique<RestClient>(
      server_->http_address(), std::vector<std::string>{absl::StrCat("X-Authorization: ", kToken)});

  ASSERT_EQ(
      rest_
          ->Post("/api/metadata/taskdefs",
                 R"([{"name":"slow","retryCount":1,"retryLogic":"FIXED",)"
                 R"("retryDelaySeconds":0,"timeoutSeconds":600,"responseTimeoutSeconds":30}])")
          .status,
      200);
  ASSERT_EQ(rest_
                ->Post("/api/metadata/workflow",
                       R"({"name":"slow_wf","version":1,"schemaVersion":2,"tasks":[)"
                       R"({"name":"slow","taskReferenceName":"s","type":"SIMPLE"}]})")
                .status,
            200);
  HttpResult started = rest_->Post("/api/workflow/slow_wf", "{}");
  ASSERT_EQ(started.status, 200);
  Value first = PollOne("slow");
  ASSERT_EQ(Field(first, "retryCount").number_value(), 0);

  // The worker goes silent past the response timeout: the attempt times out and a retry is
  // scheduled, which a REST poller gets.
  clock.Advance(absl::Seconds(31));
  Value retry = PollOne("slow");
  ASSERT_EQ(Field(retry, "retryCount").number_value(), 1) << WriteJson(retry);
  HttpResult wf = rest_->Get(absl::StrCat("/api/workflow/", started.body));
  const Value tasks = Field(wf.Json(), "tasks");
  ASSERT_EQ(tasks.list_value().values_size(), 2);
  EXPECT_EQ(Field(tasks.list_value().values(0), "status").string_value(), "TIMED_OUT");
  ASSERT_EQ(Complete(retry, "COMPLETED", "{}").status, 200);
  EXPECT_EQ(WorkflowStatus(started.body), "COMPLETED");
}

// 200 long polls wait at once while other requests are answered; then each gets a task.
TEST_F(RestApiTest, ParkedLongPollsDoNotStarveOtherRequests) {
  constexpr int kPolls = 200;
  DefineOneTaskWorkflow("long");
  DefineOneTaskWorkflow("other");

  CURLM* multi = curl_multi_init();
  std::vector<HttpResult> results(kPolls);
  std::vector<curl_slist*> headers(kPolls);
  std::vector<CURL*> handles(kPolls);
  for (int i = 0; i < kPolls; ++i) {
    handles[i] = rest_->Prepare("GET", "/api/tasks/poll/batch/long?count=1&timeout=5000", nullptr,
                                &results[i], &headers[i]);
    curl_multi_add_handle(multi, handles[i]);
  }
  // Drive the transfers until every request has been sent.
  int running = kPolls;
  auto all_sent = [&] {
    for (CURL* h : handles) {
      long sent = 0;
      curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
      if (sent == 0) return false;
    }
    return true;
  };
  while (!all_sent()) {
    curl_multi_perform(multi, &running);
    curl_multi_poll(multi, nullptr, 0, 50, nullptr);
  }
  curl_multi_perform(multi, &running);
  ASSERT_EQ(running, kPolls) << "a poll ended before any task existed";

  // Meanwhile, other requests are answered.
  EXPECT_EQ(rest_->Get("/health").status, 200);
  HttpResult other = rest_->Post("/api/workflow/other_wf", "{}");
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(WorkflowStatus(other.body), "RUNNING");
  EXPECT_EQ(rest_->Get("/api/metadata/workflow/long_wf").status, 200);
  curl_multi_perform(multi, &running);
  EXPECT_EQ(running, kPolls) << "the parked polls were answered without a task";

  // One task per parked poll.
  for (int i = 0; i < kPolls; ++i) {
    ASSERT_EQ(rest_->Post("/api/workflow/long_wf", "{}").status, 200);
  }
  while (running > 0) {
    curl_multi_perform(multi, &running);
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  CURLMsg* msg;
  int left = 0;
  while ((msg = curl_multi_info_read(multi, &left)) != nullptr) {
    if (msg->msg != CURLMSG_DONE) continue;
    for (int i = 0; i < kPolls; ++i) {
      if (handles[i] == msg->easy_handle)
        RestClient::Collect(handles[i], msg->data.result, &results[i]);
    }
  }
  std::set<std::string> task_ids;
  for (int i = 0; i < kPolls; ++i) {
    ASSERT_EQ(results[i].status, 200) << results[i].error;
    Value list = results[i].Json();
    ASSERT_EQ(list.list_value().values_size(), 1) << "poll " << i << ": " << results[i].body;
    task_ids.insert(Field(list.list_value().values(0), "taskId").string_value());
    curl_multi_remove_handle(multi, handles[i]);
    curl_easy_cleanup(handles[i]);
    curl_slist_free_all(headers[i]);
  }
  curl_multi_cleanup(multi);
  EXPECT_EQ(task_ids.size(), static_cast<size_t>(kPolls));
}

TEST_F(RestApiTest, HttpListenerFollowsTheServersLifetime) {
  const std::string address = server_->http_address();
  server_->Shutdown();
  HttpResult after = RestClient(address).Get("/health");
  EXPECT_EQ(after.status, 0) << "still answering after shutdown: " << after.body;
}

}  // namespace
}  // namespace cmig::orchestrator::test
