#include "definitions/conductor_json.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace cmig {

void PrintTo(const JsonDiagnostic& d, std::ostream* os) {
  *os << "{" << d.path << ", " << d.key << ", " << d.kind << "}";
}

namespace {

using ::cmig::testing::IsOk;
using ::cmig::testing::StatusIs;
using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;
using google::protobuf::Value;
using google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(CMIG_TESTDATA_DIR) + "/conductor/" + name);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

WorkflowDef LoadWorkflow(const std::string& name, std::vector<JsonDiagnostic>* dropped = nullptr) {
  auto def = WorkflowDefFromConductorJson(ReadFixture(name), dropped);
  EXPECT_THAT(def, IsOk()) << name;
  return def.ok() ? *def : WorkflowDef();
}

const Value& Field(const Value& v, const std::string& key) {
  static const Value* const kMissing = new Value();
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? *kMissing : it->second;
}

bool HasField(const Value& v, const std::string& key) {
  return v.struct_value().fields().contains(key);
}

// ------------------------------------------------------------------------------------------
// Round trips.

class WorkflowRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(WorkflowRoundTripTest, JsonProtoJsonProtoIsEqual) {
  const WorkflowDef first = LoadWorkflow(GetParam());
  const std::string written = WorkflowDefToConductorJson(first, /*pretty=*/true);
  std::vector<JsonDiagnostic> dropped;
  auto second = WorkflowDefFromConductorJson(written, &dropped);
  ASSERT_THAT(second, IsOk()) << written;
  std::string diff;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(first, *second)) << diff;
  // What we write is entirely carried by the proto.
  EXPECT_THAT(dropped, IsEmpty());
  // Writing is deterministic: the second write is byte-identical.
  EXPECT_EQ(WorkflowDefToConductorJson(*second, true), written);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, WorkflowRoundTripTest,
                         ::testing::Values("order_fulfillment.json", "defaults_omitted.json",
                                           "defaults_spelled_out.json", "unsupported_keys.json"));

TEST(TaskDefRoundTripTest, EveryRetryLogicRoundTrips) {
  auto list = ParseJson(ReadFixture("taskdefs.json"));
  ASSERT_THAT(list, IsOk());
  std::vector<TaskDef::RetryLogic> seen;
  for (const Value& item : list->list_value().values()) {
    auto first = TaskDefFromValue(item, nullptr);
    ASSERT_THAT(first, IsOk());
    seen.push_back(first->retry_logic());
    auto second = TaskDefFromConductorJson(TaskDefToConductorJson(*first), nullptr);
    ASSERT_THAT(second, IsOk());
    EXPECT_TRUE(MessageDifferencer::Equals(*first, *second)) << first->name();
  }
  EXPECT_THAT(seen,
              ElementsAre(TaskDef::FIXED, TaskDef::EXPONENTIAL_BACKOFF, TaskDef::LINEAR_BACKOFF));
}

// ------------------------------------------------------------------------------------------
// Fields land where they should.

TEST(ConductorJsonTest, TopLevelFieldsAndTaskTypes) {
  const WorkflowDef d = LoadWorkflow("order_fulfillment.json");
  EXPECT_EQ(d.name(), "order_fulfillment");
  EXPECT_EQ(d.version(), 3);
  EXPECT_EQ(d.timeout_policy(), WorkflowDef::TIME_OUT_WF);
  EXPECT_EQ(d.timeout_seconds(), 86400);
  EXPECT_TRUE(d.workflow_status_listener_enabled());
  EXPECT_EQ(d.failure_workflow(), "order_fulfillment_compensation");
  EXPECT_EQ(d.input_parameters_size(), 7);
  EXPECT_TRUE(d.output_parameters().at("shipped").bool_value());
  EXPECT_EQ(d.variables().at("attempt").number_value(), 0);
  std::vector<std::string> types;
  for (const WorkflowTask& t : d.tasks()) {
    types.push_back(t.type());
  }
  EXPECT_THAT(types, ElementsAre("SIMPLE", "SWITCH", "SWITCH", "DECISION", "FORK_JOIN", "JOIN",
                                 "DO_WHILE", "SUB_WORKFLOW", "START_WORKFLOW", "EVENT", "DYNAMIC"));
  EXPECT_EQ(d.tasks(10).dynamic_task_name_param(), "taskToExecute");
  EXPECT_EQ(d.tasks(9).sink(), "conductor:order_events");
  EXPECT_THAT(d.tasks(5).join_on(), ElementsAre("compute_weight_ref", "choose_carrier_ref"));
  EXPECT_EQ(d.tasks(0)
                .input_parameters()
                .at("limits")
                .struct_value()
                .fields()
                .at("maxWeightKg")
                .number_value(),
            31.5);
}

TEST(ConductorJsonTest, DecisionCasesLandInTheMap) {
  const WorkflowDef d = LoadWorkflow("order_fulfillment.json");
  const WorkflowTask& by_region = d.tasks(1);
  EXPECT_EQ(by_region.evaluator_type(), "value-param");
  EXPECT_EQ(by_region.expression(), "region");
  ASSERT_EQ(by_region.decision_cases().size(), 2u);
  ASSERT_EQ(by_region.decision_cases().at("US").tasks_size(), 2);
  EXPECT_EQ(by_region.decision_cases().at("US").tasks(1).type(), "HTTP");
  EXPECT_TRUE(by_region.decision_cases().at("US").tasks(0).optional());
  ASSERT_EQ(by_region.default_case_size(), 1);
  EXPECT_EQ(by_region.default_case(0).type(), "TERMINATE");

  const WorkflowTask& js = d.tasks(2);
  EXPECT_EQ(js.evaluator_type(), "javascript");
  // An empty case is still a case: the key survives with an empty list.
  ASSERT_TRUE(js.decision_cases().contains("small"));
  EXPECT_EQ(js.decision_cases().at("small").tasks_size(), 0);

  const WorkflowTask& decision = d.tasks(3);
  EXPECT_EQ(decision.case_value_param(), "paymentType");
  const WorkflowTask& charge = decision.decision_cases().at("card").tasks(0);
  EXPECT_EQ(charge.retry_count(), 5);
  ASSERT_TRUE(charge.has_task_definition());
  EXPECT_EQ(charge.task_definition().retry_logic(), TaskDef::EXPONENTIAL_BACKOFF);
  EXPECT_EQ(charge.task_definition().timeout_policy(), TaskDef::RETRY);
  EXPECT_EQ(charge.task_definition().response_timeout_seconds(), 30);
  EXPECT_EQ(decision.decision_cases().at("invoice").tasks(0).start_delay(), 30);
}

TEST(ConductorJsonTest, ForkBranchesAndDeepNesting) {
  const WorkflowDef d = LoadWorkflow("order_fulfillment.json");
  const WorkflowTask& fork = d.tasks(4);
  ASSERT_EQ(fork.fork_tasks_size(), 2);
  ASSERT_EQ(fork.fork_tasks(0).tasks_size(), 2);
  EXPECT_TRUE(fork.fork_tasks(0).tasks(0).rate_limited());
  EXPECT_EQ(fork.fork_tasks(0).tasks(1).type(), "INLINE");
  // FORK branch -> SWITCH -> DO_WHILE -> SUB_WORKFLOW (inline) -> HTTP.
  const WorkflowTask& sw = fork.fork_tasks(1).tasks(0);
  ASSERT_EQ(sw.type(), "SWITCH");
  const WorkflowTask& loop = sw.decision_cases().at("bulk").tasks(0);
  ASSERT_EQ(loop.type(), "DO_WHILE");
  EXPECT_THAT(loop.loop_condition(), HasSubstr("iteration"));
  ASSERT_EQ(loop.loop_over_size(), 1);
  const WorkflowTask& sub = loop.loop_over(0);
  ASSERT_EQ(sub.type(), "SUB_WORKFLOW");
  const Value& inline_def = sub.sub_workflow_param().workflow_definition();
  ASSERT_EQ(inline_def.kind_case(), Value::kStructValue);
  auto inner = WorkflowDefFromValue(inline_def, nullptr);
  ASSERT_THAT(inner, IsOk());
  EXPECT_EQ(inner->name(), "pack_pallet_inline");
  EXPECT_EQ(inner->timeout_seconds(), 600);
  EXPECT_EQ(inner->tasks(0).type(), "HTTP");
  // The stored inline definition is normalised: defaults are spelled out.
  EXPECT_EQ(Field(inline_def, "timeoutPolicy").string_value(), "ALERT_ONLY");
  EXPECT_TRUE(Field(inline_def, "restartable").bool_value());
  EXPECT_EQ(Field(Field(inline_def, "tasks").list_value().values(0), "type").string_value(),
            "HTTP");

  const WorkflowTask& poll = d.tasks(6);
  EXPECT_EQ(poll.loop_over_size(), 2);
  EXPECT_EQ(poll.loop_over(0).cache_config().key(), "${workflow.input.orderId}");
  EXPECT_EQ(poll.loop_over(0).cache_config().ttl_in_second(), 60);
}

TEST(ConductorJsonTest, NamedSubWorkflowAndStartWorkflow) {
  const WorkflowDef d = LoadWorkflow("order_fulfillment.json");
  const auto& params = d.tasks(7).sub_workflow_param();
  EXPECT_EQ(params.name(), "ship_package");
  EXPECT_EQ(params.version(), 2);
  EXPECT_EQ(params.task_to_domain().at("*"), "shipping");
  EXPECT_EQ(params.task_to_domain().at("label_printer"), "warehouse_7");
  EXPECT_FALSE(params.has_workflow_definition());
  const Value& start = d.tasks(8).input_parameters().at("startWorkflow");
  EXPECT_EQ(Field(start, "name").string_value(), "notify_customer");
  EXPECT_EQ(Field(Field(start, "input"), "channel").string_value(), "email");
}

TEST(ConductorJsonTest, WritesConductorDialect) {
  const WorkflowDef d = LoadWorkflow("order_fulfillment.json");
  auto out = ParseJson(WorkflowDefToConductorJson(d));
  ASSERT_THAT(out, IsOk());
  // int64 fields are JSON numbers, not protobuf-JSON strings.
  EXPECT_EQ(Field(*out, "timeoutSeconds").kind_case(), Value::kNumberValue);
  EXPECT_EQ(Field(*out, "timeoutSeconds").number_value(), 86400);
  EXPECT_EQ(Field(*out, "timeoutPolicy").string_value(), "TIME_OUT_WF");
  const auto& tasks = Field(*out, "tasks").list_value();
  // decisionCases: case name -> plain list of tasks (no {"tasks": ...} wrapper).
  const Value& us = Field(Field(tasks.values(1), "decisionCases"), "US");
  ASSERT_EQ(us.kind_case(), Value::kListValue);
  EXPECT_EQ(Field(us.list_value().values(1), "type").string_value(), "HTTP");
  // forkTasks: list of lists.
  const Value& fork = Field(tasks.values(4), "forkTasks");
  ASSERT_EQ(fork.kind_case(), Value::kListValue);
  ASSERT_EQ(fork.list_value().values(0).kind_case(), Value::kListValue);
  EXPECT_EQ(Field(fork.list_value().values(0).list_value().values(1), "type").string_value(),
            "INLINE");
  // Embedded task definition: enum names and int64 numbers.
  const Value& charge_def =
      Field(Field(Field(tasks.values(3), "decisionCases"), "card").list_value().values(0),
            "taskDefinition");
  EXPECT_EQ(Field(charge_def, "retryLogic").string_value(), "EXPONENTIAL_BACKOFF");
  EXPECT_EQ(Field(charge_def, "responseTimeoutSeconds").kind_case(), Value::kNumberValue);
  EXPECT_EQ(Field(charge_def, "timeoutSeconds").number_value(), 120);
  // Audit keys are not written back.
  EXPECT_FALSE(HasField(*out, "createTime"));
}

// ------------------------------------------------------------------------------------------
// Defaults and the retryCount sentinel.

TEST(ConductorJsonTest, WorkflowAndTaskDefaultsAreFilled) {
  auto d = WorkflowDefFromConductorJson(
      R"({"name":"w","tasks":[{"name":"t","taskReferenceName":"t_ref"}]})", nullptr);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->version(), 1);
  EXPECT_EQ(d->schema_version(), 2);
  EXPECT_TRUE(d->restartable());
  EXPECT_EQ(d->timeout_policy(), WorkflowDef::ALERT_ONLY);
  EXPECT_TRUE(d->enforce_schema());
  EXPECT_FALSE(d->workflow_status_listener_enabled());
  EXPECT_EQ(d->timeout_seconds(), 0);
  const WorkflowTask& t = d->tasks(0);
  EXPECT_EQ(t.type(), "SIMPLE");
  EXPECT_EQ(t.retry_count(), -1);
  EXPECT_FALSE(t.async_complete());
  EXPECT_FALSE(t.optional());
  EXPECT_EQ(t.join_mode(), WorkflowTask::SYNC);

  auto td = TaskDefFromConductorJson(R"({"name":"t"})", nullptr);
  ASSERT_THAT(td, IsOk());
  EXPECT_EQ(td->retry_count(), 3);
  EXPECT_EQ(td->timeout_policy(), TaskDef::TIME_OUT_WF);
  EXPECT_EQ(td->retry_logic(), TaskDef::FIXED);
  EXPECT_EQ(td->retry_delay_seconds(), 60);
  EXPECT_EQ(td->response_timeout_seconds(), 3600);
  EXPECT_EQ(td->backoff_scale_factor(), 1);
  EXPECT_EQ(td->rate_limit_frequency_in_seconds(), 1);
  EXPECT_TRUE(td->task_status_listener_enabled());
  EXPECT_EQ(td->timeout_seconds(), 0);
  EXPECT_EQ(td->concurrent_exec_limit(), 0);

  // null behaves as absent (Jackson keeps the field's default).
  auto td_null = TaskDefFromConductorJson(R"({"name":"t","retryCount":null})", nullptr);
  ASSERT_THAT(td_null, IsOk());
  EXPECT_EQ(td_null->retry_count(), 3);

  auto sub = WorkflowDefFromConductorJson(
      R"({"name":"w","tasks":[{"name":"s","taskReferenceName":"s","type":"SUB_WORKFLOW",
          "subWorkflowParam":{"name":"child"}}]})",
      nullptr);
  ASSERT_THAT(sub, IsOk());
  EXPECT_EQ(sub->tasks(0).sub_workflow_param().version(), 0);  // latest
}

TEST(ConductorJsonTest, RetryCountSentinelBothWays) {
  auto d = WorkflowDefFromConductorJson(
      R"({"name":"w","tasks":[{"name":"a","taskReferenceName":"a"},
                              {"name":"b","taskReferenceName":"b","retryCount":0},
                              {"name":"c","taskReferenceName":"c","retryCount":7}]})",
      nullptr);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->tasks(0).retry_count(), -1);
  EXPECT_EQ(d->tasks(1).retry_count(), 0);
  EXPECT_EQ(d->tasks(2).retry_count(), 7);
  auto out = ParseJson(WorkflowDefToConductorJson(*d));
  ASSERT_THAT(out, IsOk());
  const auto& tasks = Field(*out, "tasks").list_value();
  EXPECT_FALSE(HasField(tasks.values(0), "retryCount"));
  EXPECT_EQ(Field(tasks.values(1), "retryCount").number_value(), 0);
  EXPECT_EQ(Field(tasks.values(2), "retryCount").number_value(), 7);

  // A proto built by hand (e.g. read from a Conductor gRPC server) with -1 writes no key.
  WorkflowTask t;
  t.set_name("x");
  t.set_task_reference_name("x");
  t.set_type("SIMPLE");
  t.set_retry_count(-1);
  EXPECT_FALSE(HasField(WorkflowTaskToValue(t), "retryCount"));
  t.set_retry_count(2);
  EXPECT_EQ(Field(WorkflowTaskToValue(t), "retryCount").number_value(), 2);
}

// ------------------------------------------------------------------------------------------
// Keys the proto cannot carry.

TEST(ConductorJsonTest, DroppedKeysAreReportedWithPaths) {
  std::vector<JsonDiagnostic> dropped;
  const WorkflowDef d = LoadWorkflow("unsupported_keys.json", &dropped);
  const std::string big = "$.tasks[0].decisionCases.big[0]";
  const std::string sub = "$.tasks[1].subWorkflowParam";
  EXPECT_THAT(
      dropped,
      ElementsAre(
          JsonDiagnostic{"$.createTime", "createTime", "audit"},
          JsonDiagnostic{"$.inputSchema.createdBy", "createdBy", "audit"},
          JsonDiagnostic{"$.ownerApp", "ownerApp", "audit"},
          JsonDiagnostic{"$.tags", "tags", "unsupported"},
          JsonDiagnostic{big + ".createdBy", "createdBy", "audit"},
          JsonDiagnostic{big + ".onStateChange", "onStateChange", "unsupported"},
          JsonDiagnostic{big + ".taskDefinition.enforceSchema", "enforceSchema", "unsupported"},
          JsonDiagnostic{big + ".taskDefinition.inputSchema", "inputSchema", "unsupported"},
          JsonDiagnostic{sub + ".idempotencyKey", "idempotencyKey", "unsupported"},
          JsonDiagnostic{sub + ".idempotencyStrategy", "idempotencyStrategy", "unsupported"},
          JsonDiagnostic{sub + ".workflowDefinition.tasks[0].retryPolicyX", "retryPolicyX",
                         "unsupported"},
          JsonDiagnostic{sub + ".workflowDefinition.updateTime", "updateTime", "audit"},
          JsonDiagnostic{"$.updatedBy", "updatedBy", "audit"}));
  // What the proto can carry is still read.
  EXPECT_EQ(d.input_schema().name(), "order_input");
  EXPECT_EQ(d.input_schema().type(), conductor::proto::SchemaDef::JSON);
  EXPECT_EQ(d.tasks(0).decision_cases().at("big").tasks(0).task_definition().name(), "big_order");
  // The inline definition no longer carries the dropped keys.
  EXPECT_FALSE(HasField(d.tasks(1).sub_workflow_param().workflow_definition(), "updateTime"));
}

TEST(ConductorJsonTest, NullDroppedListGivesTheSameProto) {
  std::vector<JsonDiagnostic> dropped;
  const WorkflowDef with = LoadWorkflow("unsupported_keys.json", &dropped);
  const WorkflowDef without = LoadWorkflow("unsupported_keys.json", nullptr);
  EXPECT_FALSE(dropped.empty());
  EXPECT_TRUE(MessageDifferencer::Equals(with, without));
}

TEST(ConductorJsonTest, TaskDefAuditKeysAreReported) {
  std::vector<JsonDiagnostic> dropped;
  auto list = ParseJson(ReadFixture("taskdefs.json"));
  ASSERT_THAT(list, IsOk());
  ASSERT_THAT(TaskDefFromValue(list->list_value().values(0), &dropped), IsOk());
  EXPECT_THAT(dropped, UnorderedElementsAre(JsonDiagnostic{"$.createTime", "createTime", "audit"},
                                            JsonDiagnostic{"$.createdBy", "createdBy", "audit"}));
}

TEST(ConductorJsonTest, OddKeysAreQuotedInPaths) {
  std::vector<JsonDiagnostic> dropped;
  ASSERT_THAT(WorkflowDefFromConductorJson(
                  R"({"name":"w","tasks":[{"name":"s","taskReferenceName":"s","type":"SWITCH",
                      "decisionCases":{"two words":[{"name":"x","taskReferenceName":"x",
                      "x-y":1}]}}]})",
                  &dropped),
              IsOk());
  EXPECT_THAT(dropped,
              ElementsAre(JsonDiagnostic{R"($.tasks[0].decisionCases["two words"][0]["x-y"])",
                                         "x-y", "unsupported"}));
}

// ------------------------------------------------------------------------------------------
// Malformed input.

struct BadInput {
  const char* json;
  const char* message_part;  // the path (or position) the error must name
};

void PrintTo(const BadInput& b, std::ostream* os) { *os << b.message_part; }

class MalformedWorkflowTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(MalformedWorkflowTest, IsInvalidArgumentNamingThePath) {
  EXPECT_THAT(WorkflowDefFromConductorJson(GetParam().json, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message_part)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedWorkflowTest,
    ::testing::Values(
        BadInput{R"({"name":"w",
  "tasks": [})",
                 "invalid JSON"},
        BadInput{R"({"name":"w","tasks":{}})", "$.tasks: expected an array, got object"},
        BadInput{R"([1,2])", "$: expected an object, got array"},
        BadInput{R"({"name":"w","tasks":[{"name":"a","retryCount":"x"}]})",
                 "$.tasks[0].retryCount: expected an integer, got string"},
        BadInput{R"({"name":"w","timeoutSeconds":1.5,"tasks":[]})", "$.timeoutSeconds"},
        BadInput{R"({"name":"w","version":3000000000,"tasks":[]})", "$.version: 3e+09 is out"},
        BadInput{R"({"name":"w","timeoutPolicy":"NEVER","tasks":[]})",
                 "$.timeoutPolicy: unknown value \"NEVER\""},
        BadInput{R"({"name":"w","tasks":[{"name":"s","decisionCases":{"big":{}}}]})",
                 "$.tasks[0].decisionCases.big: expected an array"},
        BadInput{R"({"name":"w","tasks":[{"name":"f","forkTasks":[{"name":"x"}]}]})",
                 "$.tasks[0].forkTasks[0]: expected an array"},
        BadInput{R"({"name":"w","tasks":[{"name":"f","forkTasks":[[{"name":"x","optional":1}]]}]})",
                 "$.tasks[0].forkTasks[0][0].optional: expected a boolean"},
        BadInput{R"({"name":"w","tasks":[{"name":"a","inputParameters":[]}]})",
                 "$.tasks[0].inputParameters: expected an object"},
        BadInput{
            R"({"name":"w","tasks":[{"name":"s","subWorkflowParam":{"taskToDomain":{"*":1}}}]})",
            "$.tasks[0].subWorkflowParam.taskToDomain[\"*\"]: expected a string"},
        BadInput{
            R"({"name":"w","tasks":[{"name":"s","subWorkflowParam":{"workflowDefinition":7}}]})",
            "$.tasks[0].subWorkflowParam.workflowDefinition: expected an object or a string"},
        BadInput{R"({"name":"w","tasks":[{"name":"s","subWorkflowParam":{"workflowDefinition":
                   {"tasks":[{"name":"x","loopOver":"no"}]}}}]})",
                 "$.tasks[0].subWorkflowParam.workflowDefinition.tasks[0].loopOver"},
        BadInput{R"({"name":"w","inputParameters":["a",2],"tasks":[]})",
                 "$.inputParameters[1]: expected a string"},
        BadInput{R"({"name":"w","tasks":[{"name":"t","taskDefinition":{"retryLogic":"RANDOM"}}]})",
                 "$.tasks[0].taskDefinition.retryLogic: unknown value"}));

TEST(ConductorJsonTest, MalformedTaskDef) {
  EXPECT_THAT(TaskDefFromConductorJson(R"({"name":"t","responseTimeoutSeconds":"60"})", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("$.responseTimeoutSeconds: expected an integer, got string")));
  EXPECT_THAT(TaskDefFromConductorJson(R"({"name":"t" "x"})", nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid JSON")));
}

TEST(ConductorJsonTest, ExpressionStringAsInlineDefinitionIsKept) {
  auto d = WorkflowDefFromConductorJson(
      R"({"name":"w","tasks":[{"name":"s","taskReferenceName":"s","type":"SUB_WORKFLOW",
          "subWorkflowParam":{"name":"dyn","workflowDefinition":"${workflow.input.def}"}}]})",
      nullptr);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->tasks(0).sub_workflow_param().workflow_definition().string_value(),
            "${workflow.input.def}");
  auto again = WorkflowDefFromConductorJson(WorkflowDefToConductorJson(*d), nullptr);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(MessageDifferencer::Equals(*d, *again));
}

// ------------------------------------------------------------------------------------------
// The JSON text layer.

TEST(JsonUtilTest, ParsesEscapesAndUnicode) {
  auto v = ParseJson(R"({"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00","n":-1.25e2,"z":[true,false,null]})");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(Field(*v, "s").string_value(), "a\"b\\c/d\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(Field(*v, "n").number_value(), -125);
  EXPECT_EQ(Field(*v, "z").list_value().values(2).kind_case(), Value::kNullValue);
  // Written back and read again gives the same value.
  auto again = ParseJson(WriteJson(*v));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(MessageDifferencer::Equals(*v, *again));
}

TEST(JsonUtilTest, RejectsInvalidDocuments) {
  for (const char* bad : {"", "{", "{\"a\":1,\"a\":2}", "01", "\"\\ud800\"", "tru", "{} {}",
                          "[1e400]", "{\"a\" 1}", "[1 2]"}) {
    EXPECT_THAT(ParseJson(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid JSON")))
        << bad;
  }
  EXPECT_THAT(ParseJson(std::string(600, '[') + std::string(600, ']')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid JSON")));
  EXPECT_THAT(
      ParseJson("{\"a\":1,\"a\":2}"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("Repeated map key: 'a'")));  // Strict: what protobuf's lenient parser
                                                      // would let through is still rejected.
  for (const char* bad : {"[1,2,]", "{\"a\":1,}", "{\"o\":{\"k\":1,\"k\":1}}"}) {
    EXPECT_THAT(ParseJson(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid JSON")))
        << bad;
  }
  auto nested_ok = ParseJson(std::string(99, '[') + std::string(99, ']'));
  EXPECT_THAT(nested_ok, IsOk());
}

TEST(JsonUtilTest, ParsesLargeDocumentsAndSmallOnesAfterThem) {
  // Above the size of the per-thread parser: read with a parser of its own.
  std::string big = "[";
  for (int i = 0; i < 200000; ++i) absl::StrAppend(&big, i == 0 ? "" : ",", "{\"n\":", i, "}");
  big += "]";
  ASSERT_GT(big.size(), 1u << 20);
  auto v = ParseJson(big);
  ASSERT_THAT(v, IsOk());
  ASSERT_EQ(v->list_value().values_size(), 200000);
  EXPECT_EQ(Field(v->list_value().values(199999), "n").number_value(), 199999);
  auto small = ParseJson(R"({"a":[1,"x",null,true,-2.5,18446744073709551615]})");
  ASSERT_THAT(small, IsOk());
  EXPECT_EQ(Field(*small, "a").list_value().values(1).string_value(), "x");
  EXPECT_EQ(Field(*small, "a").list_value().values(4).number_value(), -2.5);
  EXPECT_EQ(Field(*small, "a").list_value().values(5).number_value(), 18446744073709551615.0);
}

TEST(JsonUtilTest, WritesSortedKeysAndStableNumbers) {
  auto v = ParseJson(R"({"b":[3.0,0.1,-0.0,1e21,123456789012],"a":{"y":"\u0001","x":true}})");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(WriteJson(*v), R"({"a":{"x":true,"y":"\u0001"},"b":[3,0.1,0,1e+21,123456789012]})");
  EXPECT_EQ(WriteJson(*v, /*pretty=*/true),
            "{\n  \"a\": {\n    \"x\": true,\n    \"y\": \"\\u0001\"\n  },\n  \"b\": [\n    3,\n"
            "    0.1,\n    0,\n    1e+21,\n    123456789012\n  ]\n}");
}

}  // namespace
}  // namespace cmig
