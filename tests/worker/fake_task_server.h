// FakeTaskClient served over gRPC on a loopback port: the worker under test
// talks to it through a real GrpcOrchestratorClient and a real channel, as it
// talks to an orchestrator, while the test scripts the server's answers.
//
//   FakeTaskServer server;
//   server.fake().Enqueue(MakeTask("ok", "t1"));
//   Worker worker(server.client(), registry, options);
#ifndef CMIG_TESTS_WORKER_FAKE_TASK_SERVER_H_
#define CMIG_TESTS_WORKER_FAKE_TASK_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/grpc_status.h"
#include "client/grpc_client.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/worker/fake_task_client.h"

namespace cmig::testing {

// Conductor's TaskService, answered by a FakeTaskClient.
class FakeTaskService final : public ::conductor::grpc::tasks::TaskService::Service {
 public:
  explicit FakeTaskService(FakeTaskClient& fake) : fake_(fake) {}

  ::grpc::Status BatchPoll(::grpc::ServerContext*,
                           const ::conductor::grpc::tasks::BatchPollRequest* request,
                           ::grpc::ServerWriter<conductor::proto::Task>* writer) override {
    auto tasks = fake_.BatchPoll({.task_type = request->task_type(),
                                  .worker_id = request->worker_id(),
                                  .domain = request->domain(),
                                  .count = request->count(),
                                  .timeout = absl::Milliseconds(request->timeout())});
    if (!tasks.ok()) return ToGrpc(tasks.status());
    for (const auto& task : *tasks) writer->Write(task);
    return ::grpc::Status::OK;
  }

  ::grpc::Status UpdateTask(::grpc::ServerContext*,
                            const ::conductor::grpc::tasks::UpdateTaskRequest* request,
                            ::conductor::grpc::tasks::UpdateTaskResponse* response) override {
    response->set_task_id(request->result().task_id());
    return ToGrpc(fake_.UpdateTask(request->result()));
  }

  ::grpc::Status AddLog(::grpc::ServerContext*,
                        const ::conductor::grpc::tasks::AddLogRequest* request,
                        ::conductor::grpc::tasks::AddLogResponse*) override {
    return ToGrpc(fake_.AddLog(request->task_id(), request->log()));
  }

 private:
  FakeTaskClient& fake_;
};

class FakeTaskServer {
 public:
  FakeTaskServer() : service_(fake_) {
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    client::ClientOptions options;
    options.address = "127.0.0.1:" + std::to_string(port);
    options.call_timeout = absl::Seconds(5);
    client_ = *client::GrpcOrchestratorClient::Create(options);
  }
  ~FakeTaskServer() {
    // Long polls still held open end now.
    server_->Shutdown(std::chrono::system_clock::now());
  }

  FakeTaskClient& fake() { return fake_; }
  client::GrpcOrchestratorClient& client() { return *client_; }

 private:
  FakeTaskClient fake_;
  FakeTaskService service_;
  std::unique_ptr<::grpc::Server> server_;
  std::unique_ptr<client::GrpcOrchestratorClient> client_;
};

}  // namespace cmig::testing

#endif  // CMIG_TESTS_WORKER_FAKE_TASK_SERVER_H_
