#include "orchestrator/expressions.h"

#include <string>
#include <vector>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "orchestrator/script.h"

namespace cmig::orchestrator {
namespace {

using conductor::proto::Task;
using conductor::proto::Workflow;
using google::protobuf::Value;
using ::testing::HasSubstr;

Value Json(const std::string& json) {
  Value v;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &v).ok()) << json;
  return v;
}

std::string ToJson(const Value& v) {
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(v, &out).ok());
  return out;
}

Workflow SampleWorkflow() {
  Workflow wf;
  wf.set_workflow_id("wf-9");
  wf.set_correlation_id("corr");
  wf.mutable_workflow_definition()->set_name("mig");
  wf.mutable_workflow_definition()->set_version(4);
  Value input = Json(R"({"a": {"b": 5, "list": [10, {"deep": "x"}]}, "name": "src",
                         "flag": true, "key": "name", "odd key": 1.5})");
  wf.mutable_input()->insert(input.struct_value().fields().begin(),
                             input.struct_value().fields().end());
  (*wf.mutable_variables())["v"] = Json(R"("var")");
  Task* old = wf.add_tasks();
  old->set_reference_task_name("t1");
  old->set_task_id("id-old");
  old->set_status(Task::FAILED);
  (*old->mutable_output_data())["x"] = Json(R"("stale")");
  Task* t = wf.add_tasks();
  t->set_reference_task_name("t1");
  t->set_task_id("id-new");
  t->set_status(Task::COMPLETED);
  t->set_retry_count(1);
  Value out = Json(R"({"x": {"y": [1, 2, 3]}, "s": "str", "n": 42, "m": {"k": "v"}})");
  t->mutable_output_data()->insert(out.struct_value().fields().begin(),
                                   out.struct_value().fields().end());
  (*t->mutable_input_data())["in"] = Json(R"("given")");
  return wf;
}

struct ResolveCase {
  std::string template_json;
  std::string want_json;
};

TEST(ResolveValueTest, ResolvesConductorExpressions) {
  const Workflow wf = SampleWorkflow();
  const std::vector<ResolveCase> cases = {
      {R"("${workflow.input.a.b}")", "5"},
      {R"("${workflow.input.a}")", R"({"b":5,"list":[10,{"deep":"x"}]})"},
      {R"("${workflow.input.a.list[0]}")", "10"},
      {R"("${workflow.input.a.list[1].deep}")", R"("x")"},
      {R"("${workflow.input.a.list[-1].deep}")", R"("x")"},
      {R"("${workflow.input['odd key']}")", "1.5"},
      {R"("${workflow.input.flag}")", "true"},
      {R"("${workflow.workflowId}")", R"("wf-9")"},
      {R"("${workflow.correlationId}")", R"("corr")"},
      {R"("${workflow.workflowType}")", R"("mig")"},
      {R"("${workflow.version}")", "4"},
      {R"("${workflow.status}")", R"("RUNNING")"},
      {R"("${workflow.variables.v}")", R"("var")"},
      {R"("${t1.output.x.y[2]}")", "3"},  // the latest attempt of t1
      {R"("${t1.output.n}")", "42"},
      {R"("${t1.input.in}")", R"("given")"},
      {R"("${t1.taskId}")", R"("id-new")"},
      {R"("${t1.status}")", R"("COMPLETED")"},
      {R"("${t1.retryCount}")", "1"},
      // Missing paths resolve to null, as with Conductor's SUPPRESS_EXCEPTIONS JSONPath.
      {R"("${workflow.input.nope.deeper}")", "null"},
      {R"("${unknown.output.x}")", "null"},
      {R"("${workflow.input.a.list[7]}")", "null"},
      // Embedded in text: Java's String.valueOf of each value.
      {R"("id=${workflow.workflowId}, b=${workflow.input.a.b}")", R"("id=wf-9, b=5")"},
      {R"("n=${t1.output.n} m=${t1.output.m} l=${t1.output.x.y} z=${nothing.here}")",
       R"("n=42 m={k=v} l=[1, 2, 3] z=null")"},
      {R"("$${workflow.input.a.b} stays")", R"("${workflow.input.a.b} stays")"},
      {R"("${}")", R"("")"},
      // A path may itself contain an expression.
      {R"("${workflow.input.${workflow.input.key}}")", R"("src")"},
      // Maps and lists are resolved recursively; other values pass through.
      {R"({"m": {"l": ["${workflow.input.name}", 3, {"q": "${t1.output.s}"}]}, "k": false})",
       R"({"k":false,"m":{"l":["src",3,{"q":"str"}]}})"},
      {R"("plain text")", R"("plain text")"},
  };
  for (const ResolveCase& c : cases) {
    Value got = ResolveValue(Json(c.template_json), wf);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equivalent(got, Json(c.want_json)))
        << c.template_json << " -> " << ToJson(got) << ", want " << c.want_json;
  }
}

TEST(ResolveValueTest, JavaStringFormatsLikeConductor) {
  EXPECT_EQ(JavaString(Json("3")), "3");
  EXPECT_EQ(JavaString(Json("2.5")), "2.5");
  EXPECT_EQ(JavaString(Json("null")), "null");
  EXPECT_EQ(JavaString(Json(R"({"b": 1, "a": "x"})")), "{a=x, b=1}");
  EXPECT_EQ(JavaString(Json(R"([true, "s", null])")), "[true, s, null]");
}

struct ScriptCase {
  std::string expression;
  std::string want;  // ScriptResultString of the result
};

TEST(EvaluateScriptTest, SupportedSubset) {
  Value input = Json(R"({"kind": "full", "n": 3, "s": "3", "list": [1, 2], "obj": {"k": "v"},
                         "t": {"iteration": 2}, "nil": null, "yes": true})");
  const std::vector<ScriptCase> cases = {
      {"$.kind", "full"},
      {"$.kind == 'full' ? 'a' : 'b'", "a"},
      {"$.kind === \"delta\" ? 'a' : 'b'", "b"},
      {"$.n == $.s", "true"},  // loose equality converts
      {"$.n === $.s", "false"},
      {"$.n != 3", "false"},
      {"$.n !== '3'", "true"},
      {"$.n > 2 && $.n <= 3", "true"},
      {"$.n < 2 || $.kind", "full"},
      {"!$.yes", "false"},
      {"$.missing", "null"},
      {"$.missing == null", "true"},
      {"$.missing === null", "false"},
      {"$.nil === null", "true"},
      {"$.missing && $.missing.deeper", "null"},  // short-circuit avoids the TypeError
      {"$.list.length", "2"},
      {"$.list[1] * 10 + 1", "21"},
      {"$['obj']['k']", "v"},
      {"$.obj.k + '-' + $.n", "v-3"},
      {"$.t['iteration'] < 5", "true"},
      {"($.n - 1) / 2", "1"},
      {"-$.n % 2", "-1"},
      {"$.kind.length;", "4"},
      {"'a' < 'b'", "true"},
      {"1.5 + 1", "2.5"},
      // Many operators side by side are fine; only nesting depth is bounded.
      {"!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && "
       "!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && "
       "!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && "
       "!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && "
       "!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && "
       "!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && "
       "!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && "
       "!$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil && !$.nil",
       "true"},
  };
  for (const ScriptCase& c : cases) {
    absl::StatusOr<ScriptValue> got = EvaluateScript(c.expression, input);
    ASSERT_OK(got.status()) << c.expression;
    EXPECT_EQ(ScriptResultString(*got), c.want) << c.expression;
  }
  EXPECT_OK(CheckScriptSyntax("$.a.b == 'x' ? 1 : 2"));
  absl::StatusOr<ScriptValue> truthy = EvaluateScript("$.n > 1", input);
  ASSERT_OK(truthy.status());
  EXPECT_TRUE(ScriptTruthy(*truthy));
  absl::StatusOr<ScriptValue> undefined = EvaluateScript("$.missing", input);
  ASSERT_OK(undefined.status());
  EXPECT_TRUE(undefined->undefined);
  EXPECT_FALSE(ScriptTruthy(*undefined));
}

// $.s+$.s+... over a large input would build tens of megabytes: the join past the limit ends
// the script with a RangeError naming it.
TEST(EvaluateScriptTest, StringsGrowNoFurtherThanTheLimit) {
  Value input;
  (*input.mutable_struct_value()->mutable_fields())["s"].set_string_value(
      std::string(100 << 10, 'a'));
  std::string expression = "$.s";
  for (int i = 0; i < 239; ++i) expression += "+$.s";
  // A time limit no machine reaches, so that only the size limit can end it.
  absl::StatusOr<ScriptValue> got = EvaluateScript(expression, input, absl::Hours(1));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(),
              ::testing::HasSubstr("longer than the limit of 4194304 bytes"));
  // Within the limit it is an ordinary join.
  absl::StatusOr<ScriptValue> small = EvaluateScript("$.s + $.s", input);
  ASSERT_OK(small.status());
  EXPECT_EQ(small->value.string_value().size(), size_t{200} << 10);
}

// Every script runs under a time limit: one that runs past it fails with a RangeError naming
// the limit. A zero limit is past before the first step, whatever the machine's speed.
TEST(EvaluateScriptTest, AScriptPastItsTimeLimitFailsNamingTheLimit) {
  Value input = Json(R"({"n": 2})");
  absl::StatusOr<ScriptValue> late = EvaluateScript("$.n * 2", input, absl::ZeroDuration());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.status().message(), ::testing::HasSubstr("ran longer than its limit of 0"));
  // The default limit leaves room for any script within the token limit.
  absl::StatusOr<ScriptValue> in_time = EvaluateScript("$.n * 2", input);
  ASSERT_OK(in_time.status());
  EXPECT_EQ(in_time->value.number_value(), 4);
}

TEST(EvaluateScriptTest, RejectsWhatItDoesNotImplement) {
  Value input = Json(R"({"kind": "x"})");
  const std::vector<std::string> rejected = {
      "$.kind.toUpperCase()",
      "function f() { return 1; }",
      "var x = 1; x",
      "x.kind",
      "$.kind == 'a' ? 'b'",
      "'unterminated",
      "$.a = 1",
      "$.kind @ 2",
  };
  for (const std::string& expr : rejected) {
    EXPECT_THAT(EvaluateScript(expr, input),
                testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("unsupported script syntax at position")))
        << expr;
    EXPECT_THAT(CheckScriptSyntax(expr),
                testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("position")))
        << expr;
  }
  // Hostile nesting and length are refused instead of exhausting the stack.
  EXPECT_THAT(EvaluateScript(std::string(100000, '(') + "1" + std::string(100000, ')'), input),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")));
  EXPECT_THAT(EvaluateScript(std::string(100000, '!') + "1", input),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")));
  std::string chain = "1";
  for (int i = 0; i < 50000; ++i) chain += "+1";
  EXPECT_THAT(EvaluateScript(chain, input),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokens")));
  // Reading a property of undefined is a run-time TypeError, distinct from bad syntax.
  EXPECT_THAT(EvaluateScript("$.missing.deeper", input),
              testing::StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("TypeError")));
}

}  // namespace
}  // namespace cmig::orchestrator
