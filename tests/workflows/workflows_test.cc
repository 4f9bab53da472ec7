// Checks the Conductor JSON in workflows/: only constructs the embedded orchestrator runs, a task
// definition for every step with the retry policy its kind of work needs, wiring that refers to
// existing steps, and no tokens or secrets in any step's input.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "definitions/conductor_json.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace cmig {
namespace {

namespace pb = google::protobuf;
namespace fs = std::filesystem;

const fs::path kDir = fs::path(CMIG_TESTDATA_DIR) / ".." / ".." / "workflows";

pb::Value Load(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  pb::Value v;
  auto st = pb::util::JsonStringToMessage(ss.str(), &v);
  EXPECT_TRUE(st.ok()) << path << ": " << st;
  EXPECT_EQ(v.kind_case(), pb::Value::kStructValue) << path;
  return v;
}

const pb::Value& Field(const pb::Value& v, const std::string& key) {
  static const pb::Value kNull;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? kNull : it->second;
}

void CollectTasks(const pb::Value& list, std::vector<const pb::Value*>* out) {
  for (const pb::Value& t : list.list_value().values()) {
    out->push_back(&t);
    for (const auto& [unused, c] : Field(t, "decisionCases").struct_value().fields()) {
      CollectTasks(c, out);
    }
    CollectTasks(Field(t, "defaultCase"), out);
    for (const pb::Value& branch : Field(t, "forkTasks").list_value().values()) {
      CollectTasks(branch, out);
    }
  }
}

void CollectStrings(const pb::Value& v, std::vector<std::string>* out) {
  switch (v.kind_case()) {
    case pb::Value::kStringValue:
      out->push_back(v.string_value());
      break;
    case pb::Value::kStructValue:
      for (const auto& [k, f] : v.struct_value().fields()) {
        out->push_back(k);
        CollectStrings(f, out);
      }
      break;
    case pb::Value::kListValue:
      for (const auto& e : v.list_value().values()) {
        CollectStrings(e, out);
      }
      break;
    default:
      break;
  }
}

std::map<std::string, pb::Value> TaskDefs() {
  std::map<std::string, pb::Value> defs;
  for (const auto& entry : fs::directory_iterator(kDir / "taskdefs")) {
    pb::Value v = Load(entry.path());
    EXPECT_EQ(Field(v, "name").string_value(), entry.path().stem().string());
    defs[entry.path().stem().string()] = v;
  }
  return defs;
}

const std::vector<std::string> kWorkflows = {
    "outgoing_migration_request", "incoming_migration_request", "incoming_migration_rollback"};

TEST(WorkflowsTest, OnlySupportedConstructsAndWellWiredSteps) {
  const std::set<std::string> kSupported = {"SIMPLE", "SWITCH",       "FORK_JOIN",
                                            "JOIN",   "SUB_WORKFLOW", "TERMINATE"};
  std::map<std::string, pb::Value> defs = TaskDefs();
  std::set<std::string> used;
  for (const std::string& name : kWorkflows) {
    SCOPED_TRACE(name);
    pb::Value wf = Load(kDir / (name + ".json"));
    EXPECT_EQ(Field(wf, "name").string_value(), name);
    EXPECT_EQ(Field(wf, "version").number_value(), 1);
    EXPECT_FALSE(Field(wf, "ownerEmail").string_value().empty());
    std::vector<const pb::Value*> tasks;
    CollectTasks(Field(wf, "tasks"), &tasks);
    ASSERT_FALSE(tasks.empty());
    std::set<std::string> refs;
    for (const pb::Value* t : tasks) {
      const std::string type = Field(*t, "type").string_value();
      const std::string ref = Field(*t, "taskReferenceName").string_value();
      EXPECT_TRUE(kSupported.count(type)) << ref << ": " << type;
      EXPECT_TRUE(refs.insert(ref).second) << "duplicate reference " << ref;
      if (type == "SIMPLE") {
        EXPECT_TRUE(defs.count(Field(*t, "name").string_value())) << ref;
        used.insert(Field(*t, "name").string_value());
      }
      if (type == "SWITCH") {
        EXPECT_EQ(Field(*t, "evaluatorType").string_value(), "value-param") << ref;
        EXPECT_TRUE(Field(*t, "inputParameters")
                        .struct_value()
                        .fields()
                        .contains(Field(*t, "expression").string_value()))
            << ref;
      }
      if (type == "TERMINATE") {
        std::string status =
            Field(Field(*t, "inputParameters"), "terminationStatus").string_value();
        EXPECT_TRUE(status == "COMPLETED" || status == "FAILED") << ref;
      }
    }
    // Every ${ref.output...} names a step of this workflow; no token or secret travels.
    std::vector<std::string> strings;
    for (const pb::Value* t : tasks) {
      CollectStrings(Field(*t, "inputParameters"), &strings);
    }
    CollectStrings(Field(wf, "outputParameters"), &strings);
    for (const std::string& s : strings) {
      std::string lower = absl::AsciiStrToLower(s);
      EXPECT_FALSE(absl::StrContains(lower, "token")) << s;
      // containsSecretValues is the package's flag (a boolean), not a secret.
      EXPECT_FALSE(
          absl::StrContains(absl::StrReplaceAll(lower, {{"containssecretvalues", ""}}), "secret"))
          << s;
      size_t pos = s.find("${");
      if (pos == std::string::npos) {
        continue;
      }
      std::string head = s.substr(pos + 2, s.find('.', pos) - pos - 2);
      if (head == "workflow") {
        continue;
      }
      EXPECT_TRUE(refs.count(head)) << "unknown step in " << s;
    }
  }
  for (const auto& [name, unused] : defs) {
    EXPECT_TRUE(used.count(name)) << name << " is unused";
  }
}

TEST(WorkflowsTest, RetryPoliciesFitTheKindOfStep) {
  for (const auto& [name, def] : TaskDefs()) {
    SCOPED_TRACE(name);
    const double retries = Field(def, "retryCount").number_value();
    const double response = Field(def, "responseTimeoutSeconds").number_value();
    const double total = Field(def, "timeoutSeconds").number_value();
    EXPECT_GT(response, 0);
    EXPECT_LT(response, total);
    EXPECT_EQ(Field(def, "timeoutPolicy").string_value(), "TIME_OUT_WF");
    EXPECT_FALSE(Field(def, "ownerEmail").string_value().empty());
    if (name == "cmig_validate_package") {
      EXPECT_EQ(retries, 0);
    } else {
      EXPECT_GT(retries, 0);
      EXPECT_EQ(Field(def, "retryLogic").string_value(), "EXPONENTIAL_BACKOFF");
      EXPECT_GT(Field(def, "retryDelaySeconds").number_value(), 0);
    }
  }
  EXPECT_GE(Field(TaskDefs()["cmig_push_package"], "retryCount").number_value(), 10);
}

TEST(WorkflowsTest, DryRunSwitchesAndRollbackAreWired) {
  pb::Value incoming = Load(kDir / "incoming_migration_request.json");
  EXPECT_EQ(Field(incoming, "failureWorkflow").string_value(), "incoming_migration_rollback");
  for (const std::string& name : {"outgoing_migration_request", "incoming_migration_request"}) {
    pb::Value wf = Load(kDir / (name + ".json"));
    std::vector<const pb::Value*> tasks;
    CollectTasks(Field(wf, "tasks"), &tasks);
    bool dry_run_switch = false;
    for (const pb::Value* t : tasks) {
      if (Field(*t, "type").string_value() != "SWITCH") {
        continue;
      }
      const pb::Value& cases = Field(*t, "decisionCases");
      if (Field(*t, "expression").string_value() == "dryRun" &&
          cases.struct_value().fields().contains("true")) {
        dry_run_switch = true;
        const pb::Value& end = cases.struct_value().fields().at("true").list_value().values(0);
        EXPECT_EQ(Field(end, "type").string_value(), "TERMINATE") << name;
      }
    }
    EXPECT_TRUE(dry_run_switch) << name;
  }
  pb::Value rollback = Load(kDir / "incoming_migration_rollback.json");
  std::vector<const pb::Value*> tasks;
  CollectTasks(Field(rollback, "tasks"), &tasks);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(Field(Field(*tasks[0], "inputParameters"), "failedWorkflowId").string_value(),
            "${workflow.input.workflowId}");
}

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(WorkflowsTest, EveryFileReadsThroughTheConverterWithoutLoss) {
  for (const std::string& name : kWorkflows) {
    std::vector<JsonDiagnostic> dropped;
    auto def = WorkflowDefFromConductorJson(Read(kDir / (name + ".json")), &dropped);
    ASSERT_TRUE(def.ok()) << name << ": " << def.status();
    EXPECT_EQ(def->name(), name);
    EXPECT_TRUE(dropped.empty()) << name << ": " << dropped[0].path;
  }
  for (const auto& entry : fs::directory_iterator(kDir / "taskdefs")) {
    std::vector<JsonDiagnostic> dropped;
    auto def = TaskDefFromConductorJson(Read(entry.path()), &dropped);
    ASSERT_TRUE(def.ok()) << entry.path() << ": " << def.status();
    EXPECT_TRUE(dropped.empty()) << entry.path() << ": " << dropped[0].path;
  }
}

}  // namespace
}  // namespace cmig
