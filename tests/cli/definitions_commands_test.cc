// `migrationctl definitions load` against a real embedded orchestrator.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/cli_testing.h"

namespace cmig::cli::test {
namespace {

using ::testing::HasSubstr;

// The quickstart's sample set: a workflow with two levels of sub-workflows and its task defs.
const std::string kSampleDir = std::string(CMIG_SOURCE_DIR) + "/deploy/quickstart/sample";

std::vector<std::string> Names(const google::protobuf::Value& list) {
  std::vector<std::string> out;
  for (const auto& v : list.list_value().values()) out.push_back(v.string_value());
  return out;
}

class DefinitionsCommandsTest : public CliTest {};

TEST_F(DefinitionsCommandsTest, LoadCreatesThenLeavesIdenticalDefinitionsAlone) {
  RunResult first = Cli({"definitions", "load", kSampleDir, "--json"});
  ASSERT_EQ(first.exit_code, 0) << first;
  google::protobuf::Value v = ParseOut(first);
  EXPECT_THAT(Names(Field(v, "created")),
              ::testing::IsSupersetOf({"charge_payment", "order_processing v1", "payment_flow v1",
                                       "shipping_flow v1", "notify_customer v1"}));
  EXPECT_TRUE(Names(Field(v, "unchanged")).empty());

  auto def = client_->GetWorkflowDef("payment_flow", 1);
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->tasks(0).type(), "SWITCH");

  RunResult listed = Cli({"definitions", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed;
  google::protobuf::Value l = ParseOut(listed);
  EXPECT_EQ(Field(l, "workflows").list_value().values_size(), 4);
  EXPECT_THAT(Names(Field(l, "taskDefs")), ::testing::Contains("book_carrier"));

  RunResult second = Cli({"definitions", "load", kSampleDir, "--json"});
  ASSERT_EQ(second.exit_code, 0) << second;
  google::protobuf::Value again = ParseOut(second);
  EXPECT_TRUE(Names(Field(again, "created")).empty());
  EXPECT_TRUE(Names(Field(again, "updated")).empty());
  EXPECT_EQ(Names(Field(again, "unchanged")).size(), Names(Field(v, "created")).size());
}

TEST_F(DefinitionsCommandsTest, ABadFileChangesNothing) {
  std::filesystem::create_directories(dir_ + "/defs");
  WriteFile(
      dir_ + "/defs/good.json",
      R"({"name":"fine_task","retryCount":1,"timeoutSeconds":10,"responseTimeoutSeconds":5})");
  WriteFile(dir_ + "/defs/zz_bad.json", R"({"name":"broken","tasks":[{"name": 5}]})");
  RunResult r = Cli({"definitions", "load", dir_ + "/defs"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("zz_bad.json"));
  EXPECT_FALSE(client_->GetTaskDef("fine_task").ok());
}

TEST_F(DefinitionsCommandsTest, NumbersOutOfConductorsRangesChangeNothing) {
  std::filesystem::create_directories(dir_ + "/defs");
  WriteFile(
      dir_ + "/defs/good.json",
      R"({"name":"fine_task","retryCount":1,"timeoutSeconds":10,"responseTimeoutSeconds":5})");
  WriteFile(dir_ + "/defs/zz_negative.json",
            R"({"name":"negative_task","retryCount":-1,"timeoutSeconds":10})");
  RunResult r = Cli({"definitions", "load", dir_ + "/defs"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("zz_negative.json: task definition negative_task: TaskDef "
                               "retryCount: -1 must be >= 0"));
  EXPECT_FALSE(client_->GetTaskDef("fine_task").ok());
}

// Keys Conductor's gRPC API cannot carry are named with their paths, never silently lost.
TEST_F(DefinitionsCommandsTest, KeysTheWireCannotCarryAreNamed) {
  std::filesystem::create_directories(dir_ + "/defs");
  WriteFile(dir_ + "/defs/flow.json", R"({"name":"listening_flow","version":1,
      "createTime":1700000000000,"tags":[{"key":"team","value":"orders"}],"tasks":[
      {"name":"notify","taskReferenceName":"n","type":"SIMPLE",
       "onStateChange":{"onFailed":[{"type":"ALERT"}]}}]})");
  RunResult r = Cli({"definitions", "load", dir_ + "/defs"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string file = dir_ + "/defs/flow.json";
  EXPECT_THAT(r.out, HasSubstr("dropped (3): not carried by Conductor's gRPC API"));
  EXPECT_THAT(r.out, HasSubstr(file + ": $.createTime (stamped by the server)"));
  EXPECT_THAT(r.out, HasSubstr(file + ": $.tags\n"));
  EXPECT_THAT(r.out, HasSubstr(file + ": $.tasks[0].onStateChange\n"));
  EXPECT_OK(client_->GetWorkflowDef("listening_flow", 1).status());

  RunResult j = Cli({"definitions", "load", dir_ + "/defs", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j;
  google::protobuf::Value v = ParseOut(j);
  const auto& dropped = Field(v, "dropped").list_value();
  ASSERT_EQ(dropped.values_size(), 3) << j.out;
  std::vector<std::string> paths;
  for (const auto& d : dropped.values()) {
    EXPECT_EQ(Field(d, "file").string_value(), file);
    paths.push_back(
        absl::StrCat(Field(d, "path").string_value(), " ", Field(d, "kind").string_value()));
  }
  EXPECT_THAT(paths, ::testing::ElementsAre("$.createTime audit", "$.tags unsupported",
                                            "$.tasks[0].onStateChange unsupported"));
}

}  // namespace
}  // namespace cmig::cli::test
