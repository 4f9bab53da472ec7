// The corpus under tests/data/corpus (every Conductor task type, tasks without definitions,
// expressions, a cycle, a missing sub-workflow, event handlers, secrets) loaded into one
// environment with `definitions load` and migrated whole with one `migrate --all-workflows
// --all-event-handlers --on-blocked skip`; every item in the target is then compared with the
// source field by field.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "definitions/canonical.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "gmock/gmock.h"
#include "tests/cli/migration_commands_fixture.h"

namespace cmig::cli::test {
namespace {

using google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// The JSON paths at which `a` and `b` differ ("$.tasks[1].inputParameters.x"); empty when equal.
void Differences(const Value& a, const Value& b, const std::string& path,
                 std::vector<std::string>* out) {
  if (a.kind_case() != b.kind_case()) {
    out->push_back(path);
    return;
  }
  if (a.has_struct_value()) {
    std::set<std::string> keys;
    for (const auto& [k, unused] : a.struct_value().fields()) keys.insert(k);
    for (const auto& [k, unused] : b.struct_value().fields()) keys.insert(k);
    for (const std::string& k : keys) {
      auto x = a.struct_value().fields().find(k);
      auto y = b.struct_value().fields().find(k);
      if (x == a.struct_value().fields().end() || y == b.struct_value().fields().end()) {
        out->push_back(absl::StrCat(path, ".", k));
      } else {
        Differences(x->second, y->second, absl::StrCat(path, ".", k), out);
      }
    }
    return;
  }
  if (a.has_list_value()) {
    if (a.list_value().values_size() != b.list_value().values_size()) {
      out->push_back(absl::StrCat(path, " (length)"));
      return;
    }
    for (int i = 0; i < a.list_value().values_size(); ++i) {
      Differences(a.list_value().values(i), b.list_value().values(i),
                  absl::StrCat(path, "[", i, "]"), out);
    }
    return;
  }
  if (CanonicalJson(a) != CanonicalJson(b)) out->push_back(path);
}

std::vector<std::string> Differences(const Value& source, const Value& target) {
  std::vector<std::string> out;
  Differences(source, target, "$", &out);
  return out;
}

class CorpusMigrationTest : public MigrationCommandsTest {};

TEST_F(CorpusMigrationTest, EveryTaskTypeMigratesFieldByFieldAndOnlyTheBlockedAreLeftOut) {
  const std::string corpus = std::string(CMIG_SOURCE_DIR) + "/tests/data/corpus";
  RunResult load = Cli({"definitions", "load", corpus, "--json"});
  ASSERT_EQ(load.exit_code, 0) << load;
  const Value loaded = ParseOut(load);
  EXPECT_THAT(Field(loaded, "dropped").list_value().values(), IsEmpty()) << load.out;
  StartWorkers();
  AddTargetEnvironment();

  RunResult r = Cli({"migrate", "--target", "B", "--all-workflows", "--all-event-handlers",
                     "--on-blocked", "skip", "--wait", "--poll-interval", "20ms", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const Value migrated = ParseOut(r);
  const Value& report = Field(migrated, "report");
  std::set<std::string> left_out;
  for (const Value& item : Field(report, "items").list_value().values()) {
    // "Every workflow" of the source leaves the tool's own migration workflows and steps out.
    const std::string& name = Field(item, "name").string_value();
    EXPECT_FALSE(absl::StartsWith(name, "cmig_") || absl::StrContains(name, "migration_")) << name;
    if (Field(item, "status").string_value() == "ITEM_ACTION_LEFT_OUT") {
      left_out.insert(Field(item, "name").string_value());
    }
  }
  // legacy_import needs vendor_sync v2, which exists nowhere; nightly_batch runs legacy_import
  // and on_vendor_file starts nightly_batch. Everything else migrates.
  EXPECT_THAT(left_out, UnorderedElementsAre("legacy_import", "nightly_batch", "on_vendor_file"));
  EXPECT_TRUE(Field(Field(report, "verification"), "ok").bool_value()) << r.out;
  const std::string text = WriteJson(report);
  EXPECT_THAT(text, HasSubstr("legacy_cleanup_worker"));      // runs with the default definition
  EXPECT_THAT(text, HasSubstr("$workflow.input.onFailure"));  // unresolved, not blocking
  EXPECT_THAT(text, HasSubstr("${workflow.input.flow}"));

  // Field by field: every workflow and task definition of the source that was not left out.
  auto source_workflows = a_.client->ListWorkflowDefs("", /*all_versions=*/true);
  ASSERT_OK(source_workflows.status());
  std::set<std::string> types;
  int compared = 0;
  for (const auto& def : *source_workflows) {
    if (cmig::testing::IsMigrationDefinition(def.name()) || left_out.count(def.name())) continue;
    auto arrived = b_.client->GetWorkflowDef(def.name(), def.version());
    ASSERT_OK(arrived.status()) << def.name() << " v" << def.version();
    EXPECT_THAT(Differences(WorkflowDefToValue(def), WorkflowDefToValue(*arrived)), IsEmpty())
        << def.name() << " v" << def.version();
    ++compared;
    std::vector<const conductor::proto::WorkflowTask*> stack;
    for (const auto& t : def.tasks()) stack.push_back(&t);
    while (!stack.empty()) {
      const conductor::proto::WorkflowTask* t = stack.back();
      stack.pop_back();
      types.insert(t->type());
      for (const auto& [unused, list] : t->decision_cases()) {
        for (const auto& c : list.tasks()) stack.push_back(&c);
      }
      for (const auto& c : t->default_case()) stack.push_back(&c);
      for (const auto& branch : t->fork_tasks()) {
        for (const auto& c : branch.tasks()) stack.push_back(&c);
      }
      for (const auto& c : t->loop_over()) stack.push_back(&c);
    }
  }
  EXPECT_EQ(compared, 10);
  // Every task type Conductor has, in what arrived (the inline sub-workflow's INLINE and EVENT
  // tasks are inside its definition, which compared equal above).
  EXPECT_THAT(types, UnorderedElementsAre(
                         "SIMPLE", "SWITCH", "DECISION", "FORK_JOIN", "FORK_JOIN_DYNAMIC", "JOIN",
                         "EXCLUSIVE_JOIN", "DO_WHILE", "SUB_WORKFLOW", "START_WORKFLOW", "DYNAMIC",
                         "TERMINATE", "INLINE", "SET_VARIABLE", "WAIT", "HUMAN", "EVENT", "HTTP",
                         "JSON_JQ_TRANSFORM", "KAFKA_PUBLISH", "LAMBDA", "NOOP"));
  auto source_tasks = a_.client->ListTaskDefs();
  ASSERT_OK(source_tasks.status());
  int task_defs = 0;
  for (const auto& def : *source_tasks) {
    if (cmig::testing::IsMigrationDefinition(def.name())) continue;
    auto arrived = b_.client->GetTaskDef(def.name());
    ASSERT_OK(arrived.status()) << def.name();
    EXPECT_THAT(Differences(TaskDefToValue(def), TaskDefToValue(*arrived)), IsEmpty())
        << def.name();
    ++task_defs;
  }
  EXPECT_EQ(task_defs, 7);

  // Event handlers, read back from both sides.
  auto source_handlers = a_.client->ListEventHandlers();
  auto target_handlers = b_.client->ListEventHandlers();
  ASSERT_OK(source_handlers.status());
  ASSERT_OK(target_handlers.status());
  std::map<std::string, Value> arrived_handlers;
  for (const auto& h : *target_handlers) arrived_handlers[h.name()] = EventHandlerToValue(h);
  EXPECT_EQ(arrived_handlers.size(), 3u);
  for (const auto& h : *source_handlers) {
    if (left_out.count(h.name())) {
      EXPECT_EQ(arrived_handlers.count(h.name()), 0u) << h.name();
      continue;
    }
    ASSERT_EQ(arrived_handlers.count(h.name()), 1u) << h.name();
    EXPECT_THAT(Differences(EventHandlerToValue(h), arrived_handlers[h.name()]), IsEmpty())
        << h.name();
  }

  // Once more: nothing left to do but what stays left out.
  RunResult again = Cli({"migrate", "--target", "B", "--all-workflows", "--all-event-handlers",
                         "--on-blocked", "skip", "--wait", "--poll-interval", "20ms", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again;
  const Value again_out = ParseOut(again);
  for (const Value& item : Field(Field(again_out, "report"), "items").list_value().values()) {
    const std::string status = Field(item, "status").string_value();
    EXPECT_TRUE(status == "ITEM_ACTION_UNCHANGED" || status == "ITEM_ACTION_LEFT_OUT")
        << Field(item, "name").string_value() << " " << status;
  }
}

}  // namespace
}  // namespace cmig::cli::test
