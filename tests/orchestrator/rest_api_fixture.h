// The fixture of the REST API tests (rest_api_test.cc and rest_api_extensions_cases.cc, one
// binary, so one fixture class outside any anonymous namespace): an orchestrator with a token,
// a libcurl client and a gRPC client on the same state.
#ifndef CMIG_TESTS_ORCHESTRATOR_REST_API_FIXTURE_H_
#define CMIG_TESTS_ORCHESTRATOR_REST_API_FIXTURE_H_

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/orchestrator/orchestrator_testing.h"
#include "tests/orchestrator/rest_testing.h"

namespace cmig::orchestrator::test {

using google::protobuf::Value;
using google::protobuf::util::MessageDifferencer;

inline constexpr char kToken[] = "rest-test-token";

inline const Value& Field(const Value& v, const std::string& key) {
  static const Value kNull;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? kNull : it->second;
}

class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    {
      std::ofstream tokens(dir_ + "/tokens");
      tokens << kToken << "\n";
    }
    options_.db_path = dir_ + "/orchestrator.db";
    options_.tokens_file = dir_ + "/tokens";
    options_.http_listen_address = "127.0.0.1:0";
    auto server = OrchestratorServer::Start(options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->http_port(), 0);
    rest_ = std::make_unique<RestClient>(
        server_->http_address(),
        std::vector<std::string>{absl::StrCat("X-Authorization: ", kToken)});
    grpc_ = std::make_unique<Client>(
        ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()), kToken);
  }
  void TearDown() override {
    grpc_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Registers task definition `name` and a one-task workflow `name`_wf over REST.
  void DefineOneTaskWorkflow(const std::string& name) {
    HttpResult r = rest_->Post("/api/metadata/taskdefs",
                               absl::StrCat(R"([{"name":")", name,
                                            R"(","retryCount":0,"timeoutSeconds":600,)"
                                            R"("responseTimeoutSeconds":60}])"));
    ASSERT_EQ(r.status, 200) << r.body;
    r = rest_->Post(
        "/api/metadata/workflow",
        absl::StrCat(R"({"name":")", name, R"(_wf","version":1,"schemaVersion":2,)",
                     R"("outputParameters":{"y":"${t.output.y}"},)", R"("tasks":[{"name":")", name,
                     R"(","taskReferenceName":"t","type":"SIMPLE",)"
                     R"("inputParameters":{"x":"${workflow.input.x}"}}]})"));
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Polls one task of `type` over REST; empty Value when none came.
  Value PollOne(const std::string& type) {
    for (int i = 0; i < 50; ++i) {
      HttpResult r = rest_->Get(absl::StrCat("/api/tasks/poll/batch/", type,
                                             "?count=1&timeout=200&workerid=rest-worker"));
      EXPECT_EQ(r.status, 200) << r.body;
      Value list = r.Json();
      if (list.list_value().values_size() > 0) return list.list_value().values(0);
    }
    return Value();
  }

  HttpResult Complete(const Value& task, const std::string& status, const std::string& output) {
    return rest_->Post(
        "/api/tasks",
        absl::StrCat(R"({"taskId":")", Field(task, "taskId").string_value(),
                     R"(","workflowInstanceId":")",
                     Field(task, "workflowInstanceId").string_value(), R"(","status":")", status,
                     R"(","outputData":)", output, R"(,"reasonForIncompletion":"by the test"})"));
  }

  std::string WorkflowStatus(const std::string& id) {
    HttpResult r = rest_->Get(absl::StrCat("/api/workflow/", id, "?includeTasks=false"));
    return Field(r.Json(), "status").string_value();
  }

  std::string dir_;
  ServerOptions options_;
  std::unique_ptr<OrchestratorServer> server_;
  std::unique_ptr<RestClient> rest_;
  std::unique_ptr<Client> grpc_;
};

}  // namespace cmig::orchestrator::test

#endif  // CMIG_TESTS_ORCHESTRATOR_REST_API_FIXTURE_H_
