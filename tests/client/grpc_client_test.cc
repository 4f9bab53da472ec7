// GrpcOrchestratorClient against a minimal in-process TaskService: what goes
// on the wire (authorization header, deadlines, request fields) and how
// errors come back.
#include "client/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>

#include "absl/synchronization/mutex.h"
#include "base/status_matchers.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmig::client {
namespace {

using ::cmig::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class RecordingTaskService final : public ::conductor::grpc::tasks::TaskService::Service {
 public:
  ::grpc::Status BatchPoll(::grpc::ServerContext* context,
                           const ::conductor::grpc::tasks::BatchPollRequest* request,
                           ::grpc::ServerWriter<::conductor::proto::Task>* writer) override {
    Record(context);
    {
      absl::MutexLock lock(&mu_);
      last_poll_ = *request;
      deadline_left_ = context->deadline() - std::chrono::system_clock::now();
    }
    for (int i = 0; i < request->count(); ++i) {
      ::conductor::proto::Task t;
      t.set_task_id("task-" + std::to_string(i));
      t.set_task_type(request->task_type());
      writer->Write(t);
    }
    return ::grpc::Status::OK;
  }
  ::grpc::Status UpdateTask(::grpc::ServerContext* context,
                            const ::conductor::grpc::tasks::UpdateTaskRequest* request,
                            ::conductor::grpc::tasks::UpdateTaskResponse*) override {
    Record(context);
    if (request->result().task_id() == "gone") {
      return ::grpc::Status(::grpc::StatusCode::NOT_FOUND, "No such task found by id: gone");
    }
    return ::grpc::Status::OK;
  }

  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  ::conductor::grpc::tasks::BatchPollRequest last_poll() {
    absl::MutexLock lock(&mu_);
    return last_poll_;
  }
  std::chrono::system_clock::duration deadline_left() {
    absl::MutexLock lock(&mu_);
    return deadline_left_;
  }

 private:
  void Record(::grpc::ServerContext* context) {
    absl::MutexLock lock(&mu_);
    auto it = context->client_metadata().find("authorization");
    authorization_ = it == context->client_metadata().end()
                         ? ""
                         : std::string(it->second.data(), it->second.size());
  }

  absl::Mutex mu_;
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  ::conductor::grpc::tasks::BatchPollRequest last_poll_ ABSL_GUARDED_BY(mu_);
  std::chrono::system_clock::duration deadline_left_ ABSL_GUARDED_BY(mu_){};
};

class GrpcClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override { server_->Shutdown(); }

  std::unique_ptr<GrpcOrchestratorClient> Connect(const std::string& token) {
    ClientOptions options;
    options.address = address_;
    options.token = token;
    options.call_timeout = absl::Seconds(3);
    auto client = GrpcOrchestratorClient::Create(options);
    EXPECT_OK(client.status());
    return *std::move(client);
  }

  RecordingTaskService service_;
  std::unique_ptr<::grpc::Server> server_;
  int port_ = 0;
  std::string address_;
};

TEST_F(GrpcClientTest, BatchPollSendsTheRequestTokenAndDeadline) {
  auto client = Connect("tok-123");
  absl::StatusOr<std::vector<conductor::proto::Task>> tasks =
      client->BatchPoll({.task_type = "fetch",
                         .worker_id = "host-1",
                         .domain = "blue",
                         .count = 3,
                         .timeout = absl::Milliseconds(1500)});
  ASSERT_OK(tasks.status());
  EXPECT_EQ(tasks->size(), 3u);
  EXPECT_EQ(service_.authorization(), "Bearer tok-123");
  const auto req = service_.last_poll();
  EXPECT_EQ(req.task_type(), "fetch");
  EXPECT_EQ(req.worker_id(), "host-1");
  EXPECT_EQ(req.domain(), "blue");
  EXPECT_EQ(req.count(), 3);
  EXPECT_EQ(req.timeout(), 1500);
  // Call timeout plus the long-poll wait, not infinite.
  EXPECT_GT(service_.deadline_left(), std::chrono::seconds(3));
  EXPECT_LE(service_.deadline_left(), std::chrono::milliseconds(4600));
}

TEST_F(GrpcClientTest, NoTokenNoAuthorizationHeader) {
  auto client = Connect("");
  conductor::proto::TaskResult r;
  r.set_task_id("t1");
  ASSERT_OK(client->UpdateTask(r));
  EXPECT_EQ(service_.authorization(), "");
}

TEST_F(GrpcClientTest, ErrorsNameTheCallAndAddressButNotTheToken) {
  auto client = Connect("tok-secret");
  conductor::proto::TaskResult r;
  r.set_task_id("gone");
  EXPECT_THAT(client->UpdateTask(r),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("UpdateTask gone"), HasSubstr(address_),
                             HasSubstr("No such task"), Not(HasSubstr("tok-secret")))));
}

TEST_F(GrpcClientTest, ListingOnAServerWithoutTheCatalogIsUnimplemented) {
  auto client = Connect("");
  EXPECT_THAT(client->ListWorkflowDefs("", false),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("does not offer definition listing"), HasSubstr(address_))));
  EXPECT_THAT(client->ListTaskDefs(),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("ListTaskDefs")));
}

TEST(GrpcClientStandaloneTest, UnreachableServerIsUnavailableWithinTheDeadline) {
  ClientOptions options;
  options.address = "127.0.0.1:1";  // nothing listens on port 1
  options.call_timeout = absl::Milliseconds(500);
  auto client = GrpcOrchestratorClient::Create(options);
  ASSERT_OK(client.status());
  const absl::Time start = absl::Now();
  absl::Status s = (*client)->GetTaskDef("x").status();
  EXPECT_TRUE(absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("GetTaskDef x at 127.0.0.1:1"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(GrpcClientStandaloneTest, RejectsBadOptions) {
  EXPECT_THAT(GrpcOrchestratorClient::Create({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("address")));
  ClientOptions tls;
  tls.address = "h:1";
  tls.use_tls = true;
  tls.root_ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(GrpcOrchestratorClient::Create(tls),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/ca.pem")));
}

TEST(ReadTokenFileTest, TrimsAndRejectsEmpty) {
  const std::string path = ::testing::TempDir() + "/tok_" + std::to_string(::getpid());
  std::ofstream(path) << "  abc\n";
  EXPECT_THAT(ReadTokenFile(path), ::cmig::testing::IsOkAndHolds(std::string("abc")));
  std::ofstream(path) << "\n";
  EXPECT_THAT(ReadTokenFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("abc"))));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cmig::client
