// Shared fixture for the orchestrator's tests: a real OrchestratorServer on
// port 0 over a temporary SQLite file, with stubs for every service and small
// helpers to define workflows and play a worker.
#ifndef CMIG_TESTS_ORCHESTRATOR_ORCHESTRATOR_TESTING_H_
#define CMIG_TESTS_ORCHESTRATOR_ORCHESTRATOR_TESTING_H_

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/grpc_status.h"
#include "base/status_matchers.h"
#include "cmig/v1/definitions.grpc.pb.h"
#include "conductor/grpc/metadata_service.grpc.pb.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "conductor/grpc/workflow_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "orchestrator/server.h"
#include "tests/testing/wait_for.h"

namespace cmig::orchestrator::test {

namespace md = conductor::grpc::metadata;
namespace ts = conductor::grpc::tasks;
namespace ws = conductor::grpc::workflows;
using ::cmig::testing::WaitFor;
using conductor::proto::Task;
using conductor::proto::TaskDef;
using conductor::proto::Workflow;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;

// A fresh temporary directory per test, removed afterwards.
inline std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cmig-orch-XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

inline WorkflowTask SimpleTask(const std::string& name, const std::string& ref) {
  WorkflowTask t;
  t.set_name(name);
  t.set_task_reference_name(ref);
  t.set_type("SIMPLE");
  return t;
}

inline google::protobuf::Value Str(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

inline google::protobuf::Value Num(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

// Client side of one orchestrator: stubs plus worker-like helpers. Every call
// carries a deadline.
class Client {
 public:
  explicit Client(std::shared_ptr<::grpc::Channel> channel, std::string token = "")
      : channel_(channel),
        token_(std::move(token)),
        metadata(md::MetadataService::NewStub(channel)),
        workflows(ws::WorkflowService::NewStub(channel)),
        tasks(ts::TaskService::NewStub(channel)),
        catalog(cmig::v1::DefinitionCatalog::NewStub(channel)) {}

  std::unique_ptr<::grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(10)) const {
    auto ctx = std::make_unique<::grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
    if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
    return ctx;
  }

  absl::Status CreateWorkflowDef(const WorkflowDef& def) {
    md::CreateWorkflowRequest req;
    *req.mutable_workflow() = def;
    md::CreateWorkflowResponse resp;
    return FromGrpc(metadata->CreateWorkflow(Ctx().get(), req, &resp), "CreateWorkflow");
  }

  absl::Status CreateTaskDef(const TaskDef& def) {
    md::CreateTasksRequest req;
    *req.add_defs() = def;
    md::CreateTasksResponse resp;
    return FromGrpc(metadata->CreateTasks(Ctx().get(), req, &resp), "CreateTasks");
  }

  absl::StatusOr<std::string> Start(
      const std::string& name, const std::map<std::string, google::protobuf::Value>& input = {},
      const std::string& correlation_id = "") {
    conductor::proto::StartWorkflowRequest req;
    req.set_name(name);
    req.set_correlation_id(correlation_id);
    for (const auto& [k, v] : input) (*req.mutable_input())[k] = v;
    ws::StartWorkflowResponse resp;
    absl::Status s = FromGrpc(workflows->StartWorkflow(Ctx().get(), req, &resp), "StartWorkflow");
    if (!s.ok()) return s;
    return resp.workflow_id();
  }

  absl::StatusOr<Workflow> Get(const std::string& id, bool include_tasks = true) {
    ws::GetWorkflowStatusRequest req;
    req.set_workflow_id(id);
    req.set_include_tasks(include_tasks);
    Workflow wf;
    absl::Status s =
        FromGrpc(workflows->GetWorkflowStatus(Ctx().get(), req, &wf), "GetWorkflowStatus");
    if (!s.ok()) return s;
    return wf;
  }

  // Workflow status, or -1 on error (for WaitFor conditions).
  int Status(const std::string& id) {
    auto wf = Get(id, false);
    return wf.ok() ? static_cast<int>(wf->status()) : -1;
  }

  absl::StatusOr<std::vector<Task>> BatchPoll(const std::string& type, int count, int timeout_ms,
                                              const std::string& worker = "test-worker",
                                              const std::string& domain = "") {
    ts::BatchPollRequest req;
    req.set_task_type(type);
    req.set_count(count);
    req.set_timeout(timeout_ms);
    req.set_worker_id(worker);
    req.set_domain(domain);
    auto ctx = Ctx();
    auto reader = tasks->BatchPoll(ctx.get(), req);
    std::vector<Task> out;
    Task t;
    while (reader->Read(&t)) out.push_back(t);
    absl::Status s = FromGrpc(reader->Finish(), "BatchPoll");
    if (!s.ok()) return s;
    return out;
  }

  // Polls until one task of `type` arrives (or `timeout`).
  std::optional<Task> PollOne(const std::string& type, absl::Duration timeout = absl::Seconds(10)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      auto got = BatchPoll(type, 1, 200);
      if (got.ok() && !got->empty()) return (*got)[0];
    }
    return std::nullopt;
  }

  absl::Status Update(const Task& task, conductor::proto::TaskResult::Status status,
                      const std::map<std::string, google::protobuf::Value>& output = {},
                      const std::string& reason = "") {
    ts::UpdateTaskRequest req;
    auto* r = req.mutable_result();
    r->set_task_id(task.task_id());
    r->set_workflow_instance_id(task.workflow_instance_id());
    r->set_status(status);
    r->set_worker_id("test-worker");
    r->set_reason_for_incompletion(reason);
    for (const auto& [k, v] : output) (*r->mutable_output_data())[k] = v;
    ts::UpdateTaskResponse resp;
    return FromGrpc(tasks->UpdateTask(Ctx().get(), req, &resp), "UpdateTask");
  }

  std::shared_ptr<::grpc::Channel> channel_;
  std::string token_;
  std::unique_ptr<md::MetadataService::Stub> metadata;
  std::unique_ptr<ws::WorkflowService::Stub> workflows;
  std::unique_ptr<ts::TaskService::Stub> tasks;
  std::unique_ptr<cmig::v1::DefinitionCatalog::Stub> catalog;
};

// An in-process server on a temporary database; Restart() reopens the same file.
class OrchestratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    options_.db_path = dir_ + "/orchestrator.db";
    StartServer();
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartServer() {
    auto server = OrchestratorServer::Start(options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = std::make_unique<Client>(
        ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  }
  void Restart() {
    client_.reset();
    server_.reset();
    StartServer();
  }
  Client& client() { return *client_; }

  std::string dir_;
  ServerOptions options_;
  std::unique_ptr<OrchestratorServer> server_;
  std::unique_ptr<Client> client_;
};

}  // namespace cmig::orchestrator::test

#endif  // CMIG_TESTS_ORCHESTRATOR_ORCHESTRATOR_TESTING_H_
