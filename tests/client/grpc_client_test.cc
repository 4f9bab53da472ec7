// GrpcOrchestratorClient against a minimal in-process TaskService: what goes
// on the wire (authorization header, deadlines, request fields) and how
// errors come back; and its event handlers against the embedded orchestrator.
#include "client/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>

#include "absl/synchronization/mutex.h"
#include "base/status_matchers.h"
#include "cmig/v1/definitions.grpc.pb.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/orchestrator_testing.h"

namespace cmig::client {
namespace {

using ::cmig::testing::StatusIs;
using conductor::proto::EventHandler;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
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

MATCHER_P(ProtoEq, expected, "equals " + expected.ShortDebugString()) {
  return google::protobuf::util::MessageDifferencer::Equals(arg, expected);
}

// The embedded orchestrator (gRPC on port 0, a temporary database, one token).
class GrpcEventHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::cmig::orchestrator::test::MakeTempDir();
    std::ofstream(dir_ + "/tokens") << "events-token\n";
    ::cmig::orchestrator::ServerOptions options;
    options.db_path = dir_ + "/orchestrator.db";
    options.tokens_file = dir_ + "/tokens";
    auto server = ::cmig::orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(server.status());
    server_ = *std::move(server);
    ClientOptions client;
    client.address = server_->address();
    client.token = "events-token";
    auto made = GrpcOrchestratorClient::Create(client);
    ASSERT_OK(made.status());
    client_ = *std::move(made);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<::cmig::orchestrator::OrchestratorServer> server_;
  std::unique_ptr<GrpcOrchestratorClient> client_;
};

TEST_F(GrpcEventHandlersTest, EventHandlersRoundTrip) {
  EXPECT_THAT(client_->ListEventHandlers(), ::cmig::testing::IsOkAndHolds(IsEmpty()));

  EventHandler order;
  order.set_name("on_new_order");
  order.set_event("kafka:orders");
  order.set_condition("$.type == 'new'");
  order.set_evaluator_type("javascript");
  order.set_active(true);
  EventHandler::Action* start = order.add_actions();
  start->set_action(EventHandler::Action::START_WORKFLOW);
  start->set_expand_inline_json(true);
  start->mutable_start_workflow()->set_name("order_flow");
  start->mutable_start_workflow()->set_version(2);
  (*start->mutable_start_workflow()->mutable_input())["orderId"].set_string_value("${orderId}");

  EventHandler payment;
  payment.set_name("on_payment");
  payment.set_event("sqs:payments");
  payment.set_condition("$.status == 'PAID'");
  payment.set_evaluator_type("value-param");
  EventHandler::Action* complete = payment.add_actions();
  complete->set_action(EventHandler::Action::COMPLETE_TASK);
  complete->mutable_complete_task()->set_workflow_id("${workflowId}");
  complete->mutable_complete_task()->set_task_ref_name("wait_for_payment");
  (*complete->mutable_complete_task()->mutable_output())["paid"].set_bool_value(true);

  // Added out of name order: the listing sorts.
  ASSERT_OK(client_->AddEventHandler(payment));
  ASSERT_OK(client_->AddEventHandler(order));
  ASSERT_OK_AND_ASSIGN(std::vector<EventHandler> listed, client_->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(order), ProtoEq(payment)));

  EventHandler updated = payment;
  updated.set_active(true);
  updated.set_condition("$.status == 'SETTLED'");
  ASSERT_OK(client_->UpdateEventHandler(updated));
  ASSERT_OK_AND_ASSIGN(listed, client_->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(order), ProtoEq(updated)));

  ASSERT_OK(client_->RemoveEventHandler(order.name()));
  ASSERT_OK_AND_ASSIGN(listed, client_->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(updated)));
  EXPECT_THAT(client_->RemoveEventHandler(order.name()),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("RemoveEventHandler on_new_order"),
                             HasSubstr(server_->address()), Not(HasSubstr("events-token")))));
  EXPECT_THAT(client_->UpdateEventHandler(order),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("UpdateEventHandler on_new_order")));

  // The embedded orchestrator answers ALREADY_EXISTS for a name that exists.
  EXPECT_THAT(client_->AddEventHandler(updated),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("on_payment")));
  ASSERT_OK_AND_ASSIGN(listed, client_->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(updated)));
}

TEST_F(GrpcEventHandlersTest, ListingWithoutTheTokenIsRefused) {
  ClientOptions options;
  options.address = server_->address();
  auto anonymous = GrpcOrchestratorClient::Create(options);
  ASSERT_OK(anonymous.status());
  EXPECT_THAT((*anonymous)->ListEventHandlers(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("GetEventHandlers")));
}

class GrpcCatalogTest : public GrpcEventHandlersTest {};

// A catalog larger than one gRPC message (here 40 MiB of workflows, 20 MiB of task definitions)
// is listed a page at a time, whole and in order.
TEST_F(GrpcCatalogTest, ALargeCatalogIsListedAPageAtATime) {
  const std::string mib(size_t{1} << 20, 'd');
  for (int i = 0; i < 40; ++i) {
    conductor::proto::WorkflowDef def;
    def.set_name(absl::StrCat("big_", 100 + i));
    def.set_version(1 + i % 2);
    def.set_description(mib);
    conductor::proto::WorkflowTask* t = def.add_tasks();
    t->set_name("t");
    t->set_task_reference_name("t");
    t->set_type("SIMPLE");
    ASSERT_OK(client_->CreateWorkflowDef(def));
  }
  std::vector<conductor::proto::TaskDef> tasks(20);
  for (int i = 0; i < 20; ++i) {
    tasks[i].set_name(absl::StrCat("big_task_", 100 + i));
    tasks[i].set_description(mib);
  }
  ASSERT_OK(client_->CreateTaskDefs(tasks));

  // The server's own answer is a page, with a token to go on.
  auto catalog = cmig::v1::DefinitionCatalog::NewStub(
      ::grpc::CreateChannel(server_->address(), ::grpc::InsecureChannelCredentials()));
  ::grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer events-token");
  cmig::v1::ListWorkflowDefsRequest req;
  req.set_all_versions(true);
  cmig::v1::ListWorkflowDefsResponse first;
  ASSERT_TRUE(catalog->ListWorkflowDefs(&ctx, req, &first).ok());
  EXPECT_LT(first.workflows_size(), 40);
  EXPECT_GT(first.workflows_size(), 0);
  EXPECT_FALSE(first.next_page_token().empty());

  ASSERT_OK_AND_ASSIGN(std::vector<conductor::proto::WorkflowDef> listed,
                       client_->ListWorkflowDefs("", /*all_versions=*/true));
  ASSERT_EQ(listed.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(listed[i].name(), absl::StrCat("big_", 100 + i));
    EXPECT_EQ(listed[i].description().size(), mib.size());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<conductor::proto::TaskDef> listed_tasks,
                       client_->ListTaskDefs());
  ASSERT_EQ(listed_tasks.size(), 20u);
  EXPECT_EQ(listed_tasks.front().name(), "big_task_100");
  EXPECT_EQ(listed_tasks.back().name(), "big_task_119");

  ::grpc::ClientContext bad;
  bad.AddMetadata("authorization", "Bearer events-token");
  req.set_page_token("not a token");
  cmig::v1::ListWorkflowDefsResponse refused;
  EXPECT_EQ(catalog->ListWorkflowDefs(&bad, req, &refused).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace cmig::client
