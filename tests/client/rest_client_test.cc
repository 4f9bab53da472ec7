// RestConductorClient against the real embedded orchestrator's REST API over loopback (plain,
// with tokens, with access keys, Conductor-API-only, over HTTPS), plus a scripted HTTP server for
// the answers the orchestrator never gives (JWTs, empty bodies, echoed credentials); its event
// handlers, and a REST environment seeing what gRPC added.
#include "client/rest_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "client/conductor_environment.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"
#include "conductor/model/eventhandler.pb.h"
#include "definitions/conductor_json.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/orchestrator/orchestrator_testing.h"
#include "tests/testing/self_signed.h"

namespace cmig::client {
namespace {

using ::cmig::orchestrator::OrchestratorServer;
using ::cmig::orchestrator::ServerOptions;
using ::cmig::orchestrator::test::MakeTempDir;
using ::cmig::testing::IsOkAndHolds;
using ::cmig::testing::StatusIs;
using conductor::proto::EventHandler;
using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using google::protobuf::util::MessageDifferencer;
using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kToken[] = "rest-client-test-token";
constexpr char kEnv[] = "staging";

void WriteFile(const std::string& path, const std::string& body) {
  std::ofstream out(path, std::ios::trunc);
  out << body;
}

WorkflowDef Workflow(const std::string& name, int version, const std::string& description) {
  absl::StatusOr<WorkflowDef> def = WorkflowDefFromConductorJson(
      absl::StrCat(R"({"name":")", name, R"(","version":)", version, R"(,"description":")",
                   description, R"(","inputParameters":["x"],"timeoutSeconds":60,)",
                   R"("tasks":[{"name":"work","taskReferenceName":"w","type":"SIMPLE",)",
                   R"("inputParameters":{"x":"${workflow.input.x}"}}]})"),
      nullptr);
  EXPECT_OK(def.status());
  return *def;
}

TaskDef Task(const std::string& name, int retries) {
  absl::StatusOr<TaskDef> def = TaskDefFromConductorJson(
      absl::StrCat(R"({"name":")", name, R"(","retryCount":)", retries,
                   R"(,"timeoutSeconds":600,"responseTimeoutSeconds":60})"),
      nullptr);
  EXPECT_OK(def.status());
  return *def;
}

MATCHER_P(ProtoEq, expected, "equals " + expected.ShortDebugString()) {
  return MessageDifferencer::Equals(arg, expected);
}

// A handler that starts a workflow, with every field the JSON dialect renames or nests.
EventHandler StartsOrderFlow() {
  EventHandler h;
  h.set_name("on_new_order");
  h.set_event("kafka:orders");
  h.set_condition("$.type == 'new'");
  h.set_evaluator_type("javascript");
  h.set_active(true);
  EventHandler::Action* a = h.add_actions();
  a->set_action(EventHandler::Action::START_WORKFLOW);
  a->set_expand_inline_json(true);
  a->mutable_start_workflow()->set_name("order_flow");
  a->mutable_start_workflow()->set_version(2);
  a->mutable_start_workflow()->set_correlation_id("${orderId}");
  (*a->mutable_start_workflow()->mutable_input())["orderId"].set_string_value("${orderId}");
  return h;
}

// An inactive handler that completes a waiting task.
EventHandler CompletesPayment() {
  EventHandler h;
  h.set_name("on_payment");
  h.set_event("sqs:payments");
  h.set_condition("$.status == 'PAID'");
  h.set_evaluator_type("value-param");
  h.set_active(false);
  EventHandler::Action* a = h.add_actions();
  a->set_action(EventHandler::Action::COMPLETE_TASK);
  a->mutable_complete_task()->set_workflow_id("${workflowId}");
  a->mutable_complete_task()->set_task_ref_name("wait_for_payment");
  (*a->mutable_complete_task()->mutable_output())["paid"].set_bool_value(true);
  return h;
}

// The embedded orchestrator with a fixed token and the REST API on a loopback port.
class RestClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    WriteFile(dir_ + "/tokens", absl::StrCat(kToken, "\n"));
    options_.db_path = dir_ + "/orchestrator.db";
    options_.tokens_file = dir_ + "/tokens";
    options_.http_listen_address = "127.0.0.1:0";
    StartServer();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartServer() {
    auto server = OrchestratorServer::Start(options_);
    ASSERT_OK(server.status());
    server_ = *std::move(server);
  }
  // The same database and HTTP port: access keys survive, issued tokens do not.
  void Restart() {
    options_.http_listen_address = absl::StrCat("127.0.0.1:", server_->http_port());
    server_.reset();
    StartServer();
  }
  RestOptions Options() const {
    RestOptions options;
    options.base_url = server_->http_address() + "/api/";
    options.environment = kEnv;
    options.token = kToken;
    return options;
  }
  std::unique_ptr<RestConductorClient> Make(const RestOptions& options) {
    auto client = RestConductorClient::Create(options);
    EXPECT_OK(client.status());
    return client.ok() ? *std::move(client) : nullptr;
  }
  // A new access key, made over the gRPC AccessKeys service.
  v1::CreateAccessKeyResponse NewKey() {
    ClientOptions grpc;
    grpc.address = server_->address();
    grpc.token = kToken;
    auto ext = GrpcExtensionsClient::Create(grpc);
    EXPECT_OK(ext.status());
    auto key = (*ext)->CreateAccessKey();
    EXPECT_OK(key.status());
    return key.ok() ? *key : v1::CreateAccessKeyResponse();
  }

  std::string dir_;
  ServerOptions options_;
  std::unique_ptr<OrchestratorServer> server_;
};

TEST_F(RestClientTest, WorkflowDefinitionsRoundTrip) {
  auto client = Make(Options());
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->base_url(), server_->http_address() + "/api");
  const WorkflowDef v1 = Workflow("order flow", 1, "first");
  const WorkflowDef v2 = Workflow("order flow", 2, "second");
  const WorkflowDef other = Workflow("another", 1, "other");
  ASSERT_OK(client->CreateWorkflowDef(v1));
  ASSERT_OK(client->CreateWorkflowDef(v2));
  ASSERT_OK(client->CreateWorkflowDef(other));
  EXPECT_THAT(client->CreateWorkflowDef(v1),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("environment 'staging': POST /metadata/workflow: HTTP 409")));

  EXPECT_THAT(client->GetWorkflowDef("order flow", 1), IsOkAndHolds(ProtoEq(v1)));
  EXPECT_THAT(client->GetWorkflowDef("order flow", 0), IsOkAndHolds(ProtoEq(v2)));
  EXPECT_THAT(client->GetWorkflowDef("nope", 0),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("environment 'staging': GET /metadata/workflow/nope: "
                                       "HTTP 404: No such workflow found by name: nope"))));

  EXPECT_THAT(client->ListWorkflowDefs("", /*all_versions=*/true),
              IsOkAndHolds(ElementsAre(ProtoEq(other), ProtoEq(v1), ProtoEq(v2))));
  EXPECT_THAT(client->ListWorkflowDefs("", /*all_versions=*/false),
              IsOkAndHolds(ElementsAre(ProtoEq(other), ProtoEq(v2))));
  EXPECT_THAT(client->ListWorkflowDefs("order flow", /*all_versions=*/true),
              IsOkAndHolds(ElementsAre(ProtoEq(v1), ProtoEq(v2))));
  EXPECT_THAT(client->ListWorkflowDefs("order flow", /*all_versions=*/false),
              IsOkAndHolds(ElementsAre(ProtoEq(v2))));
  EXPECT_THAT(client->ListWorkflowDefs("missing", true), IsOkAndHolds(IsEmpty()));

  const WorkflowDef v1_changed = Workflow("order flow", 1, "changed");
  const WorkflowDef v3 = Workflow("order flow", 3, "third");
  ASSERT_OK(client->UpdateWorkflowDefs({v1_changed, v3}));
  EXPECT_THAT(client->GetWorkflowDef("order flow", 1), IsOkAndHolds(ProtoEq(v1_changed)));
  EXPECT_THAT(client->GetWorkflowDef("order flow", 0), IsOkAndHolds(ProtoEq(v3)));

  ASSERT_OK(client->DeleteWorkflowDef("order flow", 1));
  EXPECT_THAT(client->GetWorkflowDef("order flow", 1),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("environment 'staging'")));
  EXPECT_THAT(client->DeleteWorkflowDef("order flow", 1),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("DELETE /metadata/workflow/")));
  EXPECT_THAT(client->ListWorkflowDefs("order flow", true),
              IsOkAndHolds(ElementsAre(ProtoEq(v2), ProtoEq(v3))));
}

TEST_F(RestClientTest, TaskDefinitionsRoundTripWithOddNames) {
  auto client = Make(Options());
  ASSERT_NE(client, nullptr);
  // Characters that mean something in a URL: each must reach the server inside the one segment.
  const TaskDef odd = Task("pack #1?&%+ü", 2);
  const TaskDef ship = Task("ship it", 0);
  ASSERT_OK(client->CreateTaskDefs({ship, odd}));
  EXPECT_THAT(client->GetTaskDef("pack #1?&%+ü"), IsOkAndHolds(ProtoEq(odd)));
  EXPECT_THAT(client->GetTaskDef("ship it"), IsOkAndHolds(ProtoEq(ship)));
  EXPECT_THAT(client->GetTaskDef("pack"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("GET /metadata/taskdefs/pack")));
  EXPECT_THAT(client->ListTaskDefs(), IsOkAndHolds(ElementsAre(ProtoEq(odd), ProtoEq(ship))));

  const TaskDef odd_changed = Task("pack #1?&%+ü", 7);
  ASSERT_OK(client->UpdateTaskDef(odd_changed));
  EXPECT_THAT(client->GetTaskDef("pack #1?&%+ü"), IsOkAndHolds(ProtoEq(odd_changed)));
  EXPECT_THAT(client->UpdateTaskDef(Task("never made", 1)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("PUT /metadata/taskdefs")));

  ASSERT_OK(client->DeleteTaskDef("pack #1?&%+ü"));
  EXPECT_THAT(client->GetTaskDef("pack #1?&%+ü"), StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_THAT(client->ListTaskDefs(), IsOkAndHolds(ElementsAre(ProtoEq(ship))));
}

TEST_F(RestClientTest, StaticTokensAreCheckedAndNeverQuoted) {
  RestOptions wrong = Options();
  wrong.token = "wrong-token-7f3a";
  auto refused = Make(wrong);
  ASSERT_NE(refused, nullptr);
  EXPECT_THAT(refused->ListTaskDefs(),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("environment 'staging'"), HasSubstr("HTTP 403"),
                             Not(HasSubstr("wrong-token-7f3a")))));
  EXPECT_THAT(refused->Ping(), StatusIs(absl::StatusCode::kPermissionDenied, _));

  RestOptions none = Options();
  none.token.clear();
  auto anonymous = Make(none);
  ASSERT_NE(anonymous, nullptr);
  EXPECT_THAT(anonymous->GetWorkflowDef("x", 0),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("environment 'staging'")));
  EXPECT_OK(Make(Options())->Ping());
}

TEST_F(RestClientTest, AccessKeysAreExchangedAndRenewedAfterARestart) {
  const v1::CreateAccessKeyResponse key = NewKey();
  ASSERT_FALSE(key.key_secret().empty());
  RestOptions options = Options();
  options.token.clear();
  options.key_id = key.key_id();
  options.key_secret = key.key_secret();
  auto client = Make(options);
  ASSERT_NE(client, nullptr);
  ASSERT_OK(client->Ping());
  ASSERT_OK(client->CreateTaskDefs({Task("keyed", 1)}));

  // Issued tokens live in the server's memory: the restarted server refuses the cached one and
  // the client has to exchange its key again for the call to succeed.
  Restart();
  EXPECT_THAT(client->GetTaskDef("keyed"), IsOkAndHolds(ProtoEq(Task("keyed", 1))));
  EXPECT_OK(client->Ping());

  RestOptions wrong = options;
  wrong.key_secret = "not-the-secret-91c2";
  auto refused = Make(wrong);
  ASSERT_NE(refused, nullptr);
  absl::Status ping = refused->Ping();
  EXPECT_TRUE(absl::IsUnauthenticated(ping) || absl::IsPermissionDenied(ping)) << ping;
  EXPECT_THAT(
      ping.message(),
      AllOf(HasSubstr("environment 'staging': the access key"), HasSubstr("was refused (HTTP 401)"),
            Not(HasSubstr("not-the-secret-91c2")), Not(HasSubstr(key.key_secret()))));
}

TEST_F(RestClientTest, SecretsOnTheFullServer) {
  auto client = Make(Options());
  ASSERT_NE(client, nullptr);
  const std::string value = "s3cr\"et\nwith \\ and \xc3\xbc";
  ASSERT_OK(client->PutSecret("db password", value));
  ASSERT_OK(client->PutSecret("api/key", "k"));
  EXPECT_THAT(client->GetSecret("db password"), IsOkAndHolds(value));
  EXPECT_THAT(client->GetSecret("api/key"), IsOkAndHolds(std::string("k")));
  EXPECT_THAT(client->SecretExists("db password"), IsOkAndHolds(true));
  EXPECT_THAT(client->ListSecretNames(), IsOkAndHolds(ElementsAre("api/key", "db password")));

  ASSERT_OK(client->DeleteSecret("db password"));
  EXPECT_THAT(client->GetSecret("db password"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("environment 'staging'")));
  EXPECT_THAT(client->SecretExists("db password"), IsOkAndHolds(false));
  EXPECT_THAT(client->DeleteSecret("db password"), StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_THAT(client->ListSecretNames(), IsOkAndHolds(ElementsAre("api/key")));
}

TEST(RestClientPlainConductorTest, SecretsOnAConductorApiOnlyServer) {
  const std::string dir = MakeTempDir();
  ServerOptions options;
  options.db_path = dir + "/o.db";
  options.http_listen_address = "127.0.0.1:0";
  options.conductor_api_only = true;
  auto server = OrchestratorServer::Start(options);
  ASSERT_OK(server.status());
  RestOptions rest;
  rest.base_url = (*server)->http_address() + "/api";
  rest.environment = "plain";
  auto client = RestConductorClient::Create(rest);
  ASSERT_OK(client.status());
  EXPECT_THAT((*client)->PutSecret("a", "b"),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("environment 'plain' has no secret API"),
                             HasSubstr("PUT /secrets/a: HTTP 404"))));
  // conductor-oss lists secret names (none here) but serves no values.
  EXPECT_THAT((*client)->ListSecretNames(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT((*client)->SecretExists("a"), IsOkAndHolds(false));
  EXPECT_THAT((*client)->GetSecret("a"), StatusIs(absl::StatusCode::kNotFound, _));
  (*server)->Shutdown();
  std::filesystem::remove_all(dir);
}

TEST_F(RestClientTest, ManyThreadsShareTheClient) {
  const v1::CreateAccessKeyResponse key = NewKey();
  RestOptions options = Options();
  options.token.clear();
  options.key_id = key.key_id();
  options.key_secret = key.key_secret();
  auto client = Make(options);
  ASSERT_NE(client, nullptr);
  const WorkflowDef def = Workflow("shared", 1, "d");
  ASSERT_OK(Make(Options())->CreateWorkflowDef(def));
  std::atomic<int> equal{0};
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        absl::StatusOr<WorkflowDef> got = client->GetWorkflowDef("shared", 1);
        if (got.ok() && MessageDifferencer::Equals(*got, def)) ++equal;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(equal.load(), kThreads * 50);
}

// libcurl's proxy variables apply as curl reads them: a proxy that refuses every connection
// makes a call fail, and no_proxy exempts the host. (Only the REST calls run while they are set.)
TEST_F(RestClientTest, ProxyVariablesApplyAndNoProxyExemptsAHost) {
  auto client = Make(Options());
  ASSERT_NE(client, nullptr);
  ASSERT_OK(client->Ping());
  ::setenv("http_proxy", "http://127.0.0.1:9", 1);  // the discard port: nothing listens
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  absl::Status through_proxy = client->Ping();
  ::setenv("no_proxy", "127.0.0.1", 1);
  absl::Status exempted = client->Ping();
  ::unsetenv("http_proxy");
  ::unsetenv("no_proxy");
  EXPECT_THAT(through_proxy, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("staging")));
  EXPECT_OK(exempted);
}

TEST(RestClientOptionsTest, CreateChecksTheOptions) {
  RestOptions options;
  options.environment = "prod";
  options.base_url = "ftp://example.com/api";
  EXPECT_THAT(RestConductorClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("environment 'prod'")));
  options.base_url = "https://example.com/api";
  options.token = "t";
  options.key_id = "id";
  options.key_secret = "very-secret";
  EXPECT_THAT(RestConductorClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("very-secret"))));
  options.token.clear();
  options.key_secret.clear();
  EXPECT_THAT(RestConductorClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, _));
  options.key_id.clear();
  options.token = "line\r\nX-Injected: 1";
  EXPECT_THAT(RestConductorClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("Injected"))));
  options.token.clear();
  options.root_ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(RestConductorClient::Create(options).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/ca.pem")));
}

// --- HTTPS with a private CA ---

TEST(RestClientTlsTest, VerifiesTheServerAgainstThePrivateCa) {
  const std::string dir = MakeTempDir();
  const ::cmig::testing::CertAndKey ck = ::cmig::testing::MakeSelfSigned();
  ServerOptions options;
  options.db_path = dir + "/o.db";
  options.tls_cert_file = dir + "/cert.pem";
  options.tls_key_file = dir + "/key.pem";
  options.http_listen_address = "127.0.0.1:0";
  WriteFile(options.tls_cert_file, ck.cert_pem);
  WriteFile(options.tls_key_file, ck.key_pem);
  auto server = OrchestratorServer::Start(options);
  ASSERT_OK(server.status());
  ASSERT_EQ((*server)->http_address().substr(0, 8), "https://");

  RestOptions rest;
  rest.base_url = (*server)->http_address() + "/api";
  rest.environment = "tls";
  rest.root_ca_file = options.tls_cert_file;
  auto trusting = RestConductorClient::Create(rest);
  ASSERT_OK(trusting.status());
  EXPECT_OK((*trusting)->Ping());
  ASSERT_OK((*trusting)->CreateTaskDefs({Task("over_tls", 1)}));
  EXPECT_THAT((*trusting)->GetTaskDef("over_tls"), IsOkAndHolds(ProtoEq(Task("over_tls", 1))));

  rest.root_ca_file.clear();  // the system roots do not know the private CA
  auto system_roots = RestConductorClient::Create(rest);
  ASSERT_OK(system_roots.status());
  EXPECT_THAT((*system_roots)->Ping(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("environment 'tls'")));
  (*server)->Shutdown();
  std::filesystem::remove_all(dir);
}

// --- A scripted HTTP server, for answers the orchestrator never gives ---

// Serves one request per connection on loopback (or, with `keep_alive`, every request a
// connection brings), answering what `handler` says, and records "METHOD /path" of each request
// and how many connections it accepted.
class ScriptedServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;
  };
  using Handler = std::function<Answer(const std::string& method, const std::string& path)>;

  explicit ScriptedServer(Handler handler, bool keep_alive = false)
      : handler_(std::move(handler)), keep_alive_(keep_alive) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() { Stop(); }

  // Closes the listening socket: later connections are refused.
  void Stop() {
    if (!thread_.joinable()) return;
    shutdown(fd_, SHUT_RDWR);  // wakes the blocked accept()
    if (int conn = conn_.load(); conn >= 0) shutdown(conn, SHUT_RDWR);  // and a blocked read()
    thread_.join();
    close(fd_);
  }
  std::string base_url() const { return absl::StrCat("http://127.0.0.1:", port_, "/api"); }
  int Count(const std::string& method_path) {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count(requests_.begin(), requests_.end(), method_path));
  }
  std::vector<std::string> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    while (true) {
      int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) {
        if (errno == EINTR) continue;
        return;
      }
      ++connections_;
      conn_ = conn;
      while (HandleOne(conn) && keep_alive_) {
      }
      conn_ = -1;
      close(conn);
    }
  }

  // False when the connection ended before a whole request arrived.
  bool HandleOne(int conn) {
    std::string in;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t content_length = 0;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = in.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          const std::string head = absl::AsciiStrToLower(in.substr(0, header_end));
          size_t at = head.find("content-length:");
          if (at != std::string::npos) {
            content_length = std::stoul(head.substr(at + 15));
          }
        }
      }
      if (header_end != std::string::npos && in.size() >= header_end + 4 + content_length) break;
      ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) return false;
      in.append(buf, n);
    }
    std::vector<std::string> line = absl::StrSplit(in.substr(0, in.find("\r\n")), ' ');
    if (line.size() < 2) return false;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(absl::StrCat(line[0], " ", line[1]));
    }
    const Answer answer = handler_(line[0], line[1]);
    const std::string out =
        absl::StrCat("HTTP/1.1 ", answer.status, " Scripted\r\nContent-Type: application/json\r\n",
                     "Content-Length: ", answer.body.size(),
                     keep_alive_ ? "" : "\r\nConnection: close", "\r\n\r\n", answer.body);
    EXPECT_EQ(write(conn, out.data(), out.size()), static_cast<ssize_t>(out.size()));
    return true;
  }

  const Handler handler_;
  const bool keep_alive_;
  std::atomic<int> conn_{-1};
  std::atomic<int> connections_{0};
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
};

// An unsigned JWT whose payload is {"exp": <exp>}.
std::string Jwt(absl::Time exp) {
  return absl::StrCat(
      absl::WebSafeBase64Escape(R"({"alg":"none"})"), ".",
      absl::WebSafeBase64Escape(absl::StrCat(R"({"exp":)", absl::ToUnixSeconds(exp), "}")), ".sig");
}

std::unique_ptr<RestConductorClient> KeyClient(const ScriptedServer& server,
                                               absl::Duration token_refresh = absl::Minutes(30)) {
  RestOptions options;
  options.base_url = server.base_url();
  options.environment = "scripted";
  options.key_id = "id";
  options.key_secret = "key-secret-55aa";
  options.token_refresh = token_refresh;
  auto client = RestConductorClient::Create(options);
  EXPECT_OK(client.status());
  return *std::move(client);
}

const char kTaskDefJson[] = R"({"name":"t","timeoutSeconds":60,"responseTimeoutSeconds":10})";

TEST(RestClientScriptedTest, RenewsAJwtWithinAMinuteOfItsExpiry) {
  for (const auto& [lifetime, exchanges] :
       std::vector<std::pair<absl::Duration, int>>{{absl::Seconds(30), 3}, {absl::Hours(1), 1}}) {
    ScriptedServer server([lifetime = lifetime](const std::string& method, const std::string&) {
      if (method == "POST") {
        return ScriptedServer::Answer{
            200, absl::StrCat(R"({"token":")", Jwt(absl::Now() + lifetime), R"("})")};
      }
      return ScriptedServer::Answer{200, kTaskDefJson};
    });
    auto client = KeyClient(server);
    for (int i = 0; i < 3; ++i) ASSERT_OK(client->GetTaskDef("t").status());
    EXPECT_EQ(server.Count("POST /api/token"), exchanges) << "token lifetime " << lifetime;
  }
}

TEST(RestClientScriptedTest, AFailedEarlyRenewalKeepsTheStillValidToken) {
  std::atomic<int> exchanges{0};
  ScriptedServer server([&exchanges](const std::string& method, const std::string&) {
    if (method != "POST") return ScriptedServer::Answer{200, kTaskDefJson};
    if (exchanges++ == 0) {
      return ScriptedServer::Answer{
          200, absl::StrCat(R"({"token":")", Jwt(absl::Now() + absl::Seconds(30)), R"("})")};
    }
    return ScriptedServer::Answer{503, R"({"message":"token service down"})"};
  });
  auto client = KeyClient(server);
  ASSERT_OK(client->GetTaskDef("t").status());
  // Due for renewal (within a minute of its expiry) but still valid for 30 s.
  EXPECT_OK(client->GetTaskDef("t").status());
  EXPECT_EQ(server.Count("POST /api/token"), 2);
}

TEST(RestClientScriptedTest, RenewsAnOpaqueTokenAfterTokenRefresh) {
  ScriptedServer server([](const std::string& method, const std::string&) {
    return method == "POST" ? ScriptedServer::Answer{200, R"({"token":"opaque"})"}
                            : ScriptedServer::Answer{200, kTaskDefJson};
  });
  auto every_call = KeyClient(server, absl::ZeroDuration());
  for (int i = 0; i < 2; ++i) ASSERT_OK(every_call->GetTaskDef("t").status());
  EXPECT_EQ(server.Count("POST /api/token"), 2);
  auto cached = KeyClient(server);
  for (int i = 0; i < 2; ++i) ASSERT_OK(cached->GetTaskDef("t").status());
  EXPECT_EQ(server.Count("POST /api/token"), 3);
}

TEST(RestClientScriptedTest, ARefusedCallIsRetriedOnceWithANewTokenAndQuotesNoCredential) {
  ScriptedServer server([](const std::string& method, const std::string&) {
    if (method == "POST") return ScriptedServer::Answer{200, R"({"token":"issued-tok-3b"})"};
    return ScriptedServer::Answer{401, R"({"message":"token issued-tok-3b for key-secret-55aa"})"};
  });
  auto client = KeyClient(server);
  absl::Status s = client->GetTaskDef("t").status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated,
                          AllOf(HasSubstr("environment 'scripted': GET /metadata/taskdefs/t: "
                                          "HTTP 401: token <redacted> for <redacted>"),
                                Not(HasSubstr("issued-tok-3b")))));
  EXPECT_THAT(server.requests(), ElementsAre("POST /api/token", "GET /api/metadata/taskdefs/t",
                                             "POST /api/token", "GET /api/metadata/taskdefs/t"));
}

// A server that takes the connection but never answers: the call ends at its total timeout as
// DeadlineExceeded (retryable), naming the environment, instead of hanging the step.
TEST(RestClientTimeoutTest, AServerThatNeverAnswersIsDeadlineExceeded) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);  // the kernel completes the handshake; nobody reads
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  RestOptions options;
  options.base_url = absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/api");
  options.environment = "silent";
  options.call_timeout = absl::Milliseconds(300);
  auto client = RestConductorClient::Create(options);
  ASSERT_OK(client.status());
  EXPECT_THAT((*client)->GetTaskDef("anything"),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("environment 'silent'")));
  ::close(listener);
}

TEST(RestClientScriptedTest, EmptyBodiesAreNotFoundAndServerTextIsMadePrintable) {
  ScriptedServer server([](const std::string&, const std::string& path) {
    if (absl::StrContains(path, "broken")) {
      return ScriptedServer::Answer{500, "{\"message\":\"line one\\nline two\"}"};
    }
    return ScriptedServer::Answer{200, ""};
  });
  RestOptions options;
  options.base_url = server.base_url();
  options.environment = "scripted";
  auto client = RestConductorClient::Create(options);
  ASSERT_OK(client.status());
  EXPECT_THAT((*client)->GetWorkflowDef("gone", 2),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("GET /metadata/workflow/gone?version=2: HTTP 200 with an empty")));
  EXPECT_THAT((*client)->GetTaskDef("gone"), StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_THAT((*client)->GetTaskDef("broken"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("HTTP 500: line one\\nline two")));

  // Nobody listening any more: a transport failure.
  server.Stop();
  EXPECT_THAT((*client)->GetTaskDef("t"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("environment 'scripted'")));
}

TEST(RestClientScriptedTest, CallsOneAfterAnotherReuseOneConnection) {
  ScriptedServer server(
      [](const std::string&, const std::string&) {
        return ScriptedServer::Answer{200, "[]"};
      },
      /*keep_alive=*/true);
  RestOptions options;
  options.base_url = server.base_url();
  options.environment = "scripted";
  auto client = RestConductorClient::Create(options);
  ASSERT_OK(client.status());
  for (int i = 0; i < 5; ++i) ASSERT_OK((*client)->ListEventHandlers().status());
  EXPECT_EQ(server.Count("GET /api/event"), 5);
  EXPECT_EQ(server.connections(), 1);
}

// --- EventHandlerClient ---

TEST_F(RestClientTest, EventHandlersRoundTrip) {
  auto client = Make(Options());
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->ListEventHandlers(), ::cmig::testing::IsOkAndHolds(IsEmpty()));

  const EventHandler order = StartsOrderFlow();
  const EventHandler payment = CompletesPayment();
  // Added out of name order: the listing sorts.
  ASSERT_OK(client->AddEventHandler(payment));
  ASSERT_OK(client->AddEventHandler(order));
  ASSERT_OK_AND_ASSIGN(std::vector<EventHandler> listed, client->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(order), ProtoEq(payment)));

  EventHandler updated = payment;
  updated.set_active(true);
  updated.set_condition("$.status == 'SETTLED'");
  ASSERT_OK(client->UpdateEventHandler(updated));
  ASSERT_OK_AND_ASSIGN(listed, client->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(order), ProtoEq(updated)));

  ASSERT_OK(client->RemoveEventHandler(order.name()));
  ASSERT_OK_AND_ASSIGN(listed, client->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(updated)));
  EXPECT_THAT(client->RemoveEventHandler(order.name()),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(kEnv), HasSubstr("DELETE /event/on_new_order"))));

  // The orchestrator answers 409 for a name that exists, as Conductor's ConflictException does.
  EXPECT_THAT(client->AddEventHandler(updated),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("on_payment")));
  ASSERT_OK_AND_ASSIGN(listed, client->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(updated)));
}

TEST_F(RestClientTest, UpdatingOrRemovingAMissingHandlerIsNotFound) {
  auto client = Make(Options());
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->UpdateEventHandler(StartsOrderFlow()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("PUT /event")));
  // The name is one escaped path segment, not a path.
  EXPECT_THAT(client->RemoveEventHandler("a/b c"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("DELETE /event/a%2Fb%20c")));
  EXPECT_THAT(client->RemoveEventHandler(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no event handler name")));
}

TEST_F(RestClientTest, ARestEnvironmentListsWhatGrpcAdded) {
  ClientOptions grpc_options;
  grpc_options.address = server_->address();
  grpc_options.token = kToken;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<GrpcOrchestratorClient> grpc,
                       GrpcOrchestratorClient::Create(grpc_options));
  const EventHandler order = StartsOrderFlow();
  const EventHandler payment = CompletesPayment();
  ASSERT_OK(grpc->AddEventHandler(order));
  ASSERT_OK(grpc->AddEventHandler(payment));

  v1::Environment env;
  env.set_id(kEnv);
  env.set_address(server_->http_address() + "/api");
  EnvironmentCredentials credentials;
  credentials.token = kToken;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ConductorEnvironment> rest,
                       ConnectEnvironment(env, credentials, absl::Seconds(10)));
  ASSERT_EQ(rest->protocol(), Protocol::kRest);
  EventHandlerClient* events = rest->event_handlers();
  ASSERT_NE(events, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<EventHandler> listed, events->ListEventHandlers());
  EXPECT_THAT(listed, ElementsAre(ProtoEq(order), ProtoEq(payment)));
}

TEST(BorrowedEnvironmentTest, EventHandlersAreOptional) {
  auto grpc = GrpcOrchestratorClient::Create({.address = "127.0.0.1:1"});
  ASSERT_OK(grpc.status());
  BorrowedEnvironment without(**grpc, nullptr, nullptr);
  EXPECT_EQ(without.event_handlers(), nullptr);
  BorrowedEnvironment with(**grpc, nullptr, nullptr, grpc->get());
  EXPECT_EQ(with.event_handlers(), grpc->get());
}

}  // namespace
}  // namespace cmig::client
