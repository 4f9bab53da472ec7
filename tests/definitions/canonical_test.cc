#include "definitions/canonical.h"

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "base/status_matchers.h"
#include "definitions/conductor_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig {
namespace {

using ::cmig::testing::IsOk;
using conductor::proto::WorkflowDef;
using google::protobuf::Value;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(CMIG_TESTDATA_DIR) + "/conductor/" + name);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Value ParseOrDie(const std::string& text) {
  auto v = ParseJson(text);
  EXPECT_THAT(v, IsOk());
  return v.ok() ? *v : Value();
}

std::string HashOfJson(const std::string& text) {
  auto d = WorkflowDefFromConductorJson(text, nullptr);
  EXPECT_THAT(d, IsOk()) << text;
  return d.ok() ? CanonicalHash(*d) : "";
}

std::string HashOfValue(const Value& v) {
  auto d = WorkflowDefFromValue(v, nullptr);
  EXPECT_THAT(d, IsOk());
  return d.ok() ? CanonicalHash(*d) : "";
}

// Walks object keys and list indexes; the path must exist.
using Step = std::variant<std::string, int>;
Value& At(Value& root, const std::vector<Step>& path) {
  Value* v = &root;
  for (const Step& step : path) {
    if (const std::string* key = std::get_if<std::string>(&step)) {
      auto* fields = v->mutable_struct_value()->mutable_fields();
      EXPECT_TRUE(fields->contains(*key)) << *key;
      v = &(*fields)[*key];
    } else {
      const int i = std::get<int>(step);
      EXPECT_LT(i, v->list_value().values_size());
      v = v->mutable_list_value()->mutable_values(i);
    }
  }
  return *v;
}

TEST(Sha256HexTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CanonicalJsonTest, ValueFormIsSortedCompactAndStable) {
  Value v = ParseOrDie(R"({ "z": [2.0, {"b": 1, "a": -0.0}], "a": "\u00e9", "m": 1.5e-7 })");
  EXPECT_EQ(CanonicalJson(v), "{\"a\":\"\xC3\xA9\",\"m\":1.5e-07,\"z\":[2,{\"a\":0,\"b\":1}]}");
}

// Pins the canonical text of a small definition: hashes stored by earlier runs must stay valid.
TEST(CanonicalJsonTest, WorkflowDefGolden) {
  auto d = WorkflowDefFromConductorJson(
      R"({"name":"w","tasks":[{"name":"t","taskReferenceName":"t_ref",
          "inputParameters":{"b":2,"a":"${workflow.input.a}"}}]})",
      nullptr);
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(
      CanonicalJson(*d),
      R"({"enforceSchema":true,"name":"w","restartable":true,"schemaVersion":2,)"
      R"("tasks":[{"asyncComplete":false,"inputParameters":{"a":"${workflow.input.a}","b":2},)"
      R"("name":"t","optional":false,"permissive":false,"startDelay":0,)"
      R"("taskReferenceName":"t_ref","type":"SIMPLE"}],)"
      R"("timeoutPolicy":"ALERT_ONLY","timeoutSeconds":0,"version":1,)"
      R"("workflowStatusListenerEnabled":false})");
  EXPECT_EQ(CanonicalHash(*d), Sha256Hex(CanonicalJson(*d)));
  EXPECT_EQ(CanonicalHash(*d).size(), 64u);
}

// ------------------------------------------------------------------------------------------
// Equal definitions hash the same.

TEST(CanonicalHashTest, DefaultsOmittedOrSpelledOutHashTheSame) {
  const std::string omitted = ReadFixture("defaults_omitted.json");
  const std::string spelled = ReadFixture("defaults_spelled_out.json");
  ASSERT_NE(omitted, spelled);
  auto a = WorkflowDefFromConductorJson(omitted, nullptr);
  auto b = WorkflowDefFromConductorJson(spelled, nullptr);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(CanonicalJson(*a), CanonicalJson(*b));
  EXPECT_EQ(CanonicalHash(*a), CanonicalHash(*b));
}

TEST(CanonicalHashTest, KeyOrderAndWhitespaceDoNotMatter) {
  EXPECT_EQ(
      HashOfJson(R"({"name":"a","version":2,"tasks":[{"name":"x","taskReferenceName":"x"}]})"),
      HashOfJson("{\n\t\"tasks\" : [ { \"taskReferenceName\" : \"x\" ,\"name\":\"x\" } ] ,"
                 "\r\n \"version\" : 2.0 , \"name\" : \"a\" }"));
  const std::string text = ReadFixture("order_fulfillment.json");
  // Re-written with sorted keys and another indentation.
  const std::string rewritten = WriteJson(ParseOrDie(text), /*pretty=*/true);
  ASSERT_NE(text, rewritten);
  EXPECT_EQ(HashOfJson(text), HashOfJson(rewritten));
  EXPECT_EQ(HashOfJson(text), HashOfJson(WriteJson(ParseOrDie(text), /*pretty=*/false)));
}

TEST(CanonicalHashTest, AuditKeysDoNotTakePart) {
  Value v = ParseOrDie(ReadFixture("order_fulfillment.json"));
  const std::string before = HashOfValue(v);
  At(v, {"createTime"}).set_number_value(1);
  (*v.mutable_struct_value()->mutable_fields())["createdBy"].set_string_value("someone@else");
  EXPECT_EQ(HashOfValue(v), before);
}

TEST(CanonicalHashTest, InlineSubWorkflowIsNormalisedWhateverItsOrigin) {
  auto d = WorkflowDefFromConductorJson(ReadFixture("defaults_omitted.json"), nullptr);
  ASSERT_THAT(d, IsOk());
  const std::string normalised = CanonicalHash(*d);
  // A proto from elsewhere (e.g. a Conductor gRPC server) may carry the inline definition as
  // given, defaults omitted and with audit keys; it must hash like the normalised one.
  WorkflowDef raw = *d;
  *raw.mutable_tasks(1)->mutable_sub_workflow_param()->mutable_workflow_definition() = ParseOrDie(
      R"({"tasks":[{"taskReferenceName":"write_audit_ref","name":"write_audit"}],
          "name":"audit_inline","createTime":5})");
  EXPECT_EQ(CanonicalHash(raw), normalised);
  // ...but a real change inside it does not.
  *raw.mutable_tasks(1)->mutable_sub_workflow_param()->mutable_workflow_definition() = ParseOrDie(
      R"({"tasks":[{"taskReferenceName":"write_audit_ref","name":"write_audit","optional":true}],
          "name":"audit_inline"})");
  EXPECT_NE(CanonicalHash(raw), normalised);
}

TEST(CanonicalHashTest, TaskDefDefaultsOmittedOrSpelledOut) {
  auto a = TaskDefFromConductorJson(R"({"name":"t","ownerEmail":"o@example.com"})", nullptr);
  auto b = TaskDefFromConductorJson(
      R"({"ownerEmail":"o@example.com","name":"t","retryCount":3,"timeoutPolicy":"TIME_OUT_WF",
          "retryLogic":"FIXED","retryDelaySeconds":60,"responseTimeoutSeconds":3600,
          "backoffScaleFactor":1,"rateLimitFrequencyInSeconds":1,"taskStatusListenerEnabled":true,
          "timeoutSeconds":0,"inputKeys":[],"createTime":12,"enforceSchema":false})",
      nullptr);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(CanonicalHash(*a), CanonicalHash(*b));
}

// ------------------------------------------------------------------------------------------
// Any changed field hashes differently.

struct Mutation {
  const char* name;
  std::function<void(Value&)> apply;
};

const std::vector<Step> kBulkLoop = {"tasks", 4, "forkTasks", 1, 0, "decisionCases", "bulk", 0};

std::vector<Mutation> WorkflowMutations() {
  auto inline_def = [](Value& v) -> Value& {
    std::vector<Step> p = kBulkLoop;
    for (const Step& s :
         std::vector<Step>{"loopOver", 0, "subWorkflowParam", "workflowDefinition"}) {
      p.push_back(s);
    }
    return At(v, p);
  };
  return {
      {"description", [](Value& v) { At(v, {"description"}).set_string_value("changed"); }},
      {"version", [](Value& v) { At(v, {"version"}).set_number_value(4); }},
      {"timeoutSeconds", [](Value& v) { At(v, {"timeoutSeconds"}).set_number_value(86401); }},
      {"workflow.timeoutPolicy",
       [](Value& v) { At(v, {"timeoutPolicy"}).set_string_value("ALERT_ONLY"); }},
      {"outputParameters value",
       [](Value& v) {
         At(v, {"outputParameters", "shipped"}).set_bool_value(false);
       }},
      {"input parameter nested number",
       [](Value& v) {
         At(v, {"tasks", 0, "inputParameters", "limits", "maxItems"}).set_number_value(51);
       }},
      {"input parameter fractional number",
       [](Value& v) {
         At(v, {"tasks", 0, "inputParameters", "limits", "maxWeightKg"})
             .set_number_value(31.500000001);
       }},
      {"retryCount 0 -> absent (sentinel)",
       [](Value& v) {
         At(v, {"tasks", 0}).mutable_struct_value()->mutable_fields()->erase("retryCount");
       }},
      {"task type",
       [](Value& v) {
         At(v, {"tasks", 0, "type"}).set_string_value("CUSTOM");
       }},
      {"SWITCH case task input",
       [](Value& v) {
         At(v, {"tasks", 1, "decisionCases", "US", 1, "inputParameters", "http_request", "method"})
             .set_string_value("PUT");
       }},
      {"SWITCH default case",
       [](Value& v) {
         At(v, {"tasks", 1, "defaultCase", 0, "inputParameters", "terminationStatus"})
             .set_string_value("COMPLETED");
       }},
      {"javascript expression",
       [](Value& v) {
         At(v, {"tasks", 2, "expression"}).set_string_value("$.amount > 999 ? 'big' : 'small'");
       }},
      {"empty case removed",
       [](Value& v) {
         At(v, {"tasks", 2, "decisionCases"})
             .mutable_struct_value()
             ->mutable_fields()
             ->erase("small");
       }},
      {"DECISION case renamed",
       [](Value& v) {
         auto* cases =
             At(v, {"tasks", 3, "decisionCases"}).mutable_struct_value()->mutable_fields();
         (*cases)["invoice_v2"] = (*cases)["invoice"];
         cases->erase("invoice");
       }},
      {"embedded taskDefinition",
       [](Value& v) {
         At(v, {"tasks", 3, "decisionCases", "card", 0, "taskDefinition", "retryDelaySeconds"})
             .set_number_value(3);
       }},
      {"FORK branch task flag",
       [](Value& v) {
         At(v, {"tasks", 4, "forkTasks", 0, 0, "rateLimited"}).set_bool_value(false);
       }},
      {"FORK branches swapped",
       [](Value& v) {
         auto* branches = At(v, {"tasks", 4, "forkTasks"}).mutable_list_value()->mutable_values();
         branches->SwapElements(0, 1);
       }},
      {"DO_WHILE loopCondition in SWITCH in FORK",
       [](Value& v) {
         std::vector<Step> p = kBulkLoop;
         p.push_back("loopCondition");
         At(v, p).set_string_value("false");
       }},
      {"inline sub-workflow timeoutSeconds",
       [inline_def](Value& v) { At(inline_def(v), {"timeoutSeconds"}).set_number_value(601); }},
      {"inline sub-workflow HTTP method",
       [inline_def](Value& v) {
         At(inline_def(v), {"tasks", 0, "inputParameters", "http_request", "method"})
             .set_string_value("POST");
       }},
      {"inline sub-workflow default made explicit but different",
       [inline_def](Value& v) {
         (*inline_def(v).mutable_struct_value()->mutable_fields())["restartable"].set_bool_value(
             false);
       }},
      {"joinOn order",
       [](Value& v) {
         At(v, {"tasks", 5, "joinOn"}).mutable_list_value()->mutable_values()->SwapElements(0, 1);
       }},
      {"cacheConfig ttl",
       [](Value& v) {
         At(v, {"tasks", 6, "loopOver", 0, "cacheConfig", "ttlInSecond"}).set_number_value(61);
       }},
      {"sub-workflow version",
       [](Value& v) {
         At(v, {"tasks", 7, "subWorkflowParam", "version"}).set_number_value(3);
       }},
      {"sub-workflow taskToDomain",
       [](Value& v) {
         At(v, {"tasks", 7, "subWorkflowParam", "taskToDomain", "*"}).set_string_value("ship2");
       }},
      {"START_WORKFLOW input",
       [](Value& v) {
         At(v, {"tasks", 8, "inputParameters", "startWorkflow", "input", "channel"})
             .set_string_value("sms");
       }},
      {"tasks reordered",
       [](Value& v) {
         At(v, {"tasks"}).mutable_list_value()->mutable_values()->SwapElements(8, 9);
       }},
      {"EVENT sink",
       [](Value& v) {
         At(v, {"tasks", 9, "sink"}).set_string_value("sqs:orders");
       }},
      {"DYNAMIC param",
       [](Value& v) {
         At(v, {"tasks", 10, "dynamicTaskNameParam"}).set_string_value("handler");
       }},
  };
}

TEST(CanonicalHashTest, EverySingleFieldMutationChangesTheHash) {
  const Value base = ParseOrDie(ReadFixture("order_fulfillment.json"));
  const std::string base_hash = HashOfValue(base);
  std::set<std::string> seen = {base_hash};
  const std::vector<Mutation> mutations = WorkflowMutations();
  ASSERT_GE(mutations.size(), 12u);
  for (const Mutation& m : mutations) {
    Value v = base;
    m.apply(v);
    const std::string h = HashOfValue(v);
    EXPECT_NE(h, base_hash) << m.name;
    EXPECT_TRUE(seen.insert(h).second) << m.name << " collides with another mutation";
  }
}

TEST(CanonicalHashTest, TaskDefMutationsChangeTheHash) {
  const Value base = ParseOrDie(ReadFixture("taskdefs.json")).list_value().values(0);
  auto hash = [](const Value& v) {
    auto d = TaskDefFromValue(v, nullptr);
    EXPECT_THAT(d, IsOk());
    return d.ok() ? CanonicalHash(*d) : "";
  };
  const std::string base_hash = hash(base);
  std::set<std::string> seen = {base_hash};
  const std::vector<std::pair<const char*, Value>> changes = {
      {"retryLogic",
       [] {
         Value x;
         x.set_string_value("LINEAR_BACKOFF");
         return x;
       }()},
      {"retryCount",
       [] {
         Value x;
         x.set_number_value(4);
         return x;
       }()},
      {"timeoutSeconds",
       [] {
         Value x;
         x.set_number_value(301);
         return x;
       }()},
      {"responseTimeoutSeconds",
       [] {
         Value x;
         x.set_number_value(61);
         return x;
       }()},
      {"concurrentExecLimit",
       [] {
         Value x;
         x.set_number_value(0);
         return x;
       }()},
      {"timeoutPolicy",
       [] {
         Value x;
         x.set_string_value("RETRY");
         return x;
       }()},
      {"taskStatusListenerEnabled",
       [] {
         Value x;
         x.set_bool_value(false);
         return x;
       }()},
  };
  for (const auto& [key, value] : changes) {
    Value v = base;
    (*v.mutable_struct_value()->mutable_fields())[key] = value;
    EXPECT_TRUE(seen.insert(hash(v)).second) << key;
  }
}

}  // namespace
}  // namespace cmig
