#include "workflows/registration.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::workflows {
namespace {

using ::cmig::testing::StatusIs;
using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Definitions in memory, every write counted.
class FakeMetadataClient final : public client::MetadataClient {
 public:
  absl::StatusOr<WorkflowDef> GetWorkflowDef(absl::string_view name, int version) override {
    if (down) return absl::UnavailableError("down");
    auto it = workflows.find({std::string(name), version});
    if (it == workflows.end()) return absl::NotFoundError("no workflow");
    return it->second;
  }
  absl::Status CreateWorkflowDef(const WorkflowDef& def) override {
    ++requests;
    ++writes;
    workflows[{def.name(), def.version()}] = def;
    return absl::OkStatus();
  }
  absl::Status UpdateWorkflowDefs(const std::vector<WorkflowDef>& defs) override {
    ++requests;
    batch_sizes.push_back(defs.size());
    for (const auto& d : defs) {
      ++writes;
      workflows[{d.name(), d.version()}] = d;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<TaskDef> GetTaskDef(absl::string_view name) override {
    if (down) return absl::UnavailableError("down");
    auto it = task_defs.find(std::string(name));
    if (it == task_defs.end()) return absl::NotFoundError("no task def");
    return it->second;
  }
  absl::Status CreateTaskDefs(const std::vector<TaskDef>& defs) override {
    ++requests;
    batch_sizes.push_back(defs.size());
    for (const auto& d : defs) {
      ++writes;
      task_defs[d.name()] = d;
    }
    return absl::OkStatus();
  }
  absl::Status UpdateTaskDef(const TaskDef& def) override {
    ++requests;
    ++writes;
    task_defs[def.name()] = def;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<WorkflowDef>> ListWorkflowDefs(absl::string_view, bool) override {
    return absl::UnimplementedError("unused");
  }
  absl::StatusOr<std::vector<TaskDef>> ListTaskDefs() override {
    return absl::UnimplementedError("unused");
  }

  bool down = false;
  int writes = 0;                   // definitions written
  int requests = 0;                 // write requests
  std::vector<size_t> batch_sizes;  // definitions per batch request, in order
  std::map<std::pair<std::string, int>, WorkflowDef> workflows;
  std::map<std::string, TaskDef> task_defs;
};

std::string MakeDir(const std::string& name) {
  std::string dir = absl::StrCat(::testing::TempDir(), "/", name, "_", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

constexpr char kWorkflow[] = R"({
  "name": "wf_a", "version": 2, "schemaVersion": 2,
  "tasks": [{"name": "step_a", "taskReferenceName": "a", "type": "SIMPLE"}]
})";
constexpr char kTaskDefs[] = R"([
  {"name": "step_a", "retryCount": 2, "responseTimeoutSeconds": 30},
  {"name": "step_b"}
])";

TEST(LoadDefinitionsDirTest, ReadsWorkflowsAndTaskDefinitionLists) {
  const std::string dir = MakeDir("defs");
  Write(dir + "/wf_a.json", kWorkflow);
  std::filesystem::create_directories(dir + "/taskdefs");
  Write(dir + "/taskdefs/task_defs.json", kTaskDefs);
  Write(dir + "/README.md", "not json, ignored");
  ASSERT_OK_AND_ASSIGN(DefinitionSet defs, LoadDefinitionsDir(dir));
  ASSERT_EQ(defs.workflow_defs.size(), 1u);
  EXPECT_EQ(defs.workflow_defs[0].name(), "wf_a");
  EXPECT_EQ(defs.workflow_defs[0].version(), 2);
  ASSERT_EQ(defs.task_defs.size(), 2u);
  EXPECT_EQ(defs.task_defs[0].name(), "step_a");
  EXPECT_EQ(defs.task_defs[0].retry_count(), 2);
  // Conductor's defaults for what the file leaves out.
  EXPECT_EQ(defs.task_defs[1].retry_count(), 3);
  EXPECT_EQ(defs.task_defs[1].response_timeout_seconds(), 3600);
}

TEST(LoadDefinitionsDirTest, ReadsTheProjectsMigrationWorkflows) {
  ASSERT_OK_AND_ASSIGN(DefinitionSet defs,
                       LoadDefinitionsDir(std::string(CMIG_TESTDATA_DIR) + "/../../workflows"));
  std::vector<std::string> names;
  for (const auto& w : defs.workflow_defs) names.push_back(w.name());
  EXPECT_THAT(names, ::testing::Contains("outgoing_migration_request"));
  EXPECT_THAT(names, ::testing::Contains("incoming_migration_request"));
  EXPECT_GE(defs.task_defs.size(), 5u);
}

TEST(LoadDefinitionsDirTest, NamesTheFileThatDoesNotParse) {
  const std::string dir = MakeDir("bad_defs");
  Write(dir + "/broken.json", "{\"name\": ");
  EXPECT_THAT(LoadDefinitionsDir(dir),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("broken.json")));
  EXPECT_THAT(LoadDefinitionsDir(dir + "/missing"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
}

TEST(RegisterDefinitionsTest, CreatesMissingUpdatesChangedLeavesTheRestAlone) {
  const std::string dir = MakeDir("reg");
  Write(dir + "/wf_a.json", kWorkflow);
  Write(dir + "/task_defs.json", kTaskDefs);
  ASSERT_OK_AND_ASSIGN(DefinitionSet defs, LoadDefinitionsDir(dir));

  FakeMetadataClient server;
  TaskDef unrelated;
  unrelated.set_name("someone_elses_task");
  server.task_defs["someone_elses_task"] = unrelated;
  WorkflowDef other_version = defs.workflow_defs[0];
  other_version.set_version(1);
  other_version.set_description("older version, not in the directory");
  server.workflows[{"wf_a", 1}] = other_version;

  ASSERT_OK_AND_ASSIGN(RegistrationReport first, RegisterDefinitions(server, defs));
  EXPECT_THAT(first.created, ElementsAre("step_a", "step_b", "wf_a v2"));
  EXPECT_THAT(first.updated, IsEmpty());
  EXPECT_EQ(server.writes, 3);

  // Again: nothing written.
  ASSERT_OK_AND_ASSIGN(RegistrationReport second, RegisterDefinitions(server, defs));
  EXPECT_THAT(second.unchanged, ElementsAre("step_a", "step_b", "wf_a v2"));
  EXPECT_EQ(server.writes, 3);

  // One definition changed on the server: only that one is rewritten.
  server.task_defs["step_b"].set_retry_count(9);
  ASSERT_OK_AND_ASSIGN(RegistrationReport third, RegisterDefinitions(server, defs));
  EXPECT_THAT(third.updated, ElementsAre("step_b"));
  EXPECT_THAT(third.unchanged, ElementsAre("step_a", "wf_a v2"));
  EXPECT_EQ(server.writes, 4);
  EXPECT_EQ(server.task_defs["step_b"].retry_count(), 3);

  // What the directory does not name is untouched.
  EXPECT_EQ(server.task_defs["someone_elses_task"].name(), "someone_elses_task");
  EXPECT_EQ(server.workflows[std::make_pair(std::string("wf_a"), 1)].description(),
            "older version, not in the directory");
}

// Many definitions go a batch per request, task definitions before workflows, and a batch
// stays under its byte budget: large definitions go fewer to a request.
TEST(RegisterDefinitionsTest, WritesGoInBatches) {
  DefinitionSet defs;
  for (int i = 0; i < 450; ++i) {
    defs.task_defs.emplace_back().set_name(absl::StrCat("task_", i));
    WorkflowDef& w = defs.workflow_defs.emplace_back();
    w.set_name(absl::StrCat("wf_", i));
    w.set_version(1);
  }
  for (int i = 0; i < 3; ++i) {
    WorkflowDef& big = defs.workflow_defs.emplace_back();
    big.set_name(absl::StrCat("big_", i));
    big.set_version(1);
    big.set_description(std::string(600 << 10, 'd'));  // two do not fit in 1 MB
  }
  FakeMetadataClient server;
  // One workflow exists with another description: it is updated within the batches.
  WorkflowDef older = defs.workflow_defs[7];
  older.set_description("older");
  server.workflows[{"wf_7", 1}] = older;

  ASSERT_OK_AND_ASSIGN(RegistrationReport report, RegisterDefinitions(server, defs));
  EXPECT_EQ(report.created.size(), 450u + 452u);
  EXPECT_THAT(report.updated, ElementsAre("wf_7 v1"));
  EXPECT_EQ(server.writes, 450 + 453);
  // 450 task definitions in 200 + 200 + 50; 450 small workflows in 200 + 200 + 50, the first
  // big one joining the last of those (under 1 MB together); the second and the third do not fit
  // with another, so they go one each.
  EXPECT_THAT(server.batch_sizes, ElementsAre(200, 200, 50, 200, 200, 51, 1, 1));
  EXPECT_EQ(server.requests, 8);
  EXPECT_EQ(server.workflows[std::make_pair(std::string("wf_7"), 1)].description(), "");
  EXPECT_EQ(server.workflows[std::make_pair(std::string("big_2"), 1)].description().size(),
            size_t{600} << 10);

  // Again: nothing is written.
  ASSERT_OK_AND_ASSIGN(RegistrationReport again, RegisterDefinitions(server, defs));
  EXPECT_EQ(again.unchanged.size(), 450u + 453u);
  EXPECT_EQ(server.requests, 8);
}

TEST(RegisterDefinitionsTest, ServerErrorsComeBack) {
  FakeMetadataClient server;
  server.down = true;
  DefinitionSet defs;
  defs.task_defs.emplace_back().set_name("x");
  EXPECT_THAT(RegisterDefinitions(server, defs),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_EQ(server.writes, 0);
}

}  // namespace
}  // namespace cmig::workflows
