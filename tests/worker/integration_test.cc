// The worker against the real embedded orchestrator over loopback, on a
// temporary SQLite file: workflows complete, retries follow the task
// definition, terminal errors stop, results survive an orchestrator restart,
// leases keep long tasks, and SIGTERM drains a real worker process.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "base/status_matchers.h"
#include "client/grpc_client.h"
#include "definitions/conductor_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/server.h"
#include "tests/testing/fn_handler.h"
#include "tests/testing/wait_for.h"
#include "tests/testing/wait_for_workflow.h"
#include "tests/worker/health_probe.h"
#include "tests/worker/worker_process.h"
#include "worker/worker.h"
#include "workflows/registration.h"

namespace cmig::worker {
namespace {

using ::cmig::testing::FnHandler;
using ::cmig::testing::WaitFor;
using ::cmig::testing::WaitForWorkflow;
using conductor::proto::Task;
using conductor::proto::Workflow;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using workflows::DefinitionSet;
using workflows::LoadDefinitionsDir;
using workflows::RegisterDefinitions;
using workflows::RegistrationReport;

// The worker process of tests/worker/test_worker_main.cc.
std::string WorkerBinary() {
  return std::string(CMIG_BINARY_DIR) + "/tests/worker/worker_test_binary";
}

tasks::TaskOutcome Output(const std::string& key, const std::string& value) {
  tasks::TaskOutcome out;
  (*out.output.mutable_fields())[key].set_string_value(value);
  return out;
}

// A port nothing listens on right now (bound to 0 and released).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The local addresses of the sockets listening on `port`, as /proc/net/tcp and tcp6 print them
// (hex, network order: "0100007F" is 127.0.0.1, "00000000" is every IPv4 interface). An
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) is given in its IPv4 form.
std::vector<std::string> ListeningAddresses(int port) {
  std::vector<std::string> found;
  const std::string port_hex = absl::StrFormat("%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      // fields: sl local_address rem_address st ...; 0A is LISTEN.
      if (fields.size() < 4 || fields[3] != "0A") continue;
      std::pair<std::string, std::string> local = absl::StrSplit(fields[1], ':');
      if (local.second != port_hex) continue;
      absl::string_view address = local.first;
      absl::ConsumePrefix(&address, "0000000000000000FFFF0000");
      found.emplace_back(address);
    }
  }
  return found;
}

std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
    ::send(fd, req.data(), req.size(), 0);
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

class WorkerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/worker_it_", ::getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    StartServer("127.0.0.1:0");
    client::ClientOptions options;
    options.address = server_->address();
    options.call_timeout = absl::Seconds(5);
    auto c = client::GrpcOrchestratorClient::Create(options);
    ASSERT_OK(c.status());
    client_ = *std::move(c);
  }

  void TearDown() override {
    worker_.reset();
    client_.reset();
    if (server_) server_->Shutdown();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartServer(const std::string& listen) {
    orchestrator::ServerOptions options;
    options.db_path = dir_ + "/orchestrator.db";
    options.listen_address = listen;
    auto s = orchestrator::OrchestratorServer::Start(options);
    ASSERT_OK(s.status());
    server_ = *std::move(s);
  }

  void RegisterTaskDef(const std::string& json) {
    auto def = TaskDefFromConductorJson(json, nullptr);
    ASSERT_OK(def.status());
    ASSERT_OK(client_->CreateTaskDefs({*def}));
  }
  void RegisterWorkflow(const std::string& json) {
    auto def = WorkflowDefFromConductorJson(json, nullptr);
    ASSERT_OK(def.status());
    ASSERT_OK(client_->CreateWorkflowDef(*def));
  }
  // A workflow of SIMPLE tasks run one after the other.
  void RegisterChain(const std::string& name, const std::vector<std::string>& task_types) {
    std::string tasks;
    for (const auto& t : task_types) {
      absl::StrAppend(&tasks, tasks.empty() ? "" : ",", R"({"name":")", t,
                      R"(","taskReferenceName":")", t, R"(_ref","type":"SIMPLE",)",
                      R"("inputParameters":{"in":"${workflow.input.in}"}})");
    }
    RegisterWorkflow(absl::StrCat(R"({"name":")", name,
                                  R"(","version":1,"schemaVersion":2,"tasks":[)", tasks, "]}"));
  }

  std::string Start(const std::string& name) {
    conductor::proto::StartWorkflowRequest req;
    req.set_name(name);
    req.set_version(1);
    (*req.mutable_input())["in"].set_string_value("hello");
    auto id = client_->StartWorkflow(req);
    EXPECT_OK(id.status());
    return id.ok() ? *id : "";
  }

  void StartWorker(WorkerOptions options = {}) {
    if (options.worker_id.empty()) options.worker_id = "it-worker";
    options.poll_timeout = absl::Milliseconds(200);
    options.poll_interval = absl::Milliseconds(20);
    options.max_error_backoff = absl::Milliseconds(200);
    options.update_initial_backoff = absl::Milliseconds(20);
    options.update_max_backoff = absl::Milliseconds(200);
    worker_ = std::make_unique<Worker>(*client_, registry_, options, &metrics_);
    ASSERT_OK(worker_->Start());
  }

  // Waits until `pred` holds for the workflow (re-read every 20 ms) or the
  // deadline; returns the last state read.
  Workflow WaitWorkflow(const std::string& id, const std::function<bool(const Workflow&)>& pred,
                        absl::Duration timeout = absl::Seconds(20)) {
    return WaitForWorkflow(*client_, id, pred, timeout);
  }
  static bool Terminal(const Workflow& wf) { return ::cmig::testing::WorkflowEnded(wf); }
  void DrainsOnSignal(int sig);

  // A second orchestrator, on a database of its own, that accepts only `token`.
  absl::StatusOr<std::unique_ptr<orchestrator::OrchestratorServer>> StartSecured(
      const std::string& token) {
    std::ofstream(dir_ + "/tokens") << token << "\n";
    orchestrator::ServerOptions options;
    options.db_path = dir_ + "/auth.db";
    options.tokens_file = dir_ + "/tokens";
    return orchestrator::OrchestratorServer::Start(options);
  }

  std::string dir_;
  std::unique_ptr<orchestrator::OrchestratorServer> server_;
  std::unique_ptr<client::GrpcOrchestratorClient> client_;
  tasks::HandlerRegistry registry_;
  WorkerMetrics metrics_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerIntegrationTest, MultiTaskWorkflowCompletes) {
  for (const char* t : {"it_a", "it_b", "it_c"}) {
    RegisterTaskDef(absl::StrCat(R"({"name":")", t, R"(","retryCount":0})"));
    ASSERT_OK(registry_.Register(t, std::make_unique<FnHandler>([t](tasks::TaskContext& ctx) {
                                   return Output(
                                       "by", absl::StrCat(t, ":", ctx.Input("in")->string_value()));
                                 })));
  }
  RegisterChain("it_chain", {"it_a", "it_b", "it_c"});
  StartWorker();
  const std::string id = Start("it_chain");
  Workflow wf = WaitWorkflow(id, Terminal);
  ASSERT_EQ(wf.status(), Workflow::COMPLETED) << wf.reason_for_incompletion();
  ASSERT_EQ(wf.tasks_size(), 3);
  EXPECT_EQ(wf.tasks(0).output_data().at("by").string_value(), "it_a:hello");
  EXPECT_EQ(wf.tasks(2).output_data().at("by").string_value(), "it_c:hello");
  for (const Task& t : wf.tasks()) {
    EXPECT_EQ(t.status(), Task::COMPLETED);
    EXPECT_EQ(t.worker_id(), "it-worker");
  }
}

TEST_F(WorkerIntegrationTest, FailingHandlerIsRetriedPerTaskDefinitionThenSucceeds) {
  RegisterTaskDef(
      R"({"name":"it_flaky","retryCount":2,"retryLogic":"FIXED","retryDelaySeconds":0})");
  std::atomic<int> calls{0};
  ASSERT_OK(registry_.Register(
      "it_flaky",
      std::make_unique<FnHandler>([&](tasks::TaskContext&) -> absl::StatusOr<tasks::TaskOutcome> {
        if (++calls <= 2) {
          return absl::UnavailableError("target busy");
        }
        return Output("ok", "yes");
      })));
  RegisterChain("it_retry", {"it_flaky"});
  StartWorker();
  const std::string id = Start("it_retry");
  Workflow wf = WaitWorkflow(id, Terminal);
  ASSERT_EQ(wf.status(), Workflow::COMPLETED) << wf.reason_for_incompletion();
  ASSERT_EQ(wf.tasks_size(), 3);
  EXPECT_EQ(wf.tasks(0).status(), Task::FAILED);
  EXPECT_THAT(wf.tasks(0).reason_for_incompletion(), HasSubstr("target busy"));
  EXPECT_EQ(wf.tasks(1).status(), Task::FAILED);
  EXPECT_EQ(wf.tasks(2).status(), Task::COMPLETED);
  EXPECT_EQ(wf.tasks(2).retry_count(), 2);
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(WorkerIntegrationTest, TerminalErrorIsNotRetried) {
  RegisterTaskDef(R"({"name":"it_bad","retryCount":3,"retryDelaySeconds":0})");
  std::atomic<int> calls{0};
  ASSERT_OK(registry_.Register("it_bad", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                 ++calls;
                                 return absl::InvalidArgumentError(
                                     "package digest mismatch for item wf_x v3");
                               })));
  RegisterChain("it_terminal", {"it_bad"});
  StartWorker();
  const std::string id = Start("it_terminal");
  Workflow wf = WaitWorkflow(id, Terminal);
  EXPECT_EQ(wf.status(), Workflow::FAILED);
  ASSERT_EQ(wf.tasks_size(), 1);
  EXPECT_EQ(wf.tasks(0).status(), Task::FAILED_WITH_TERMINAL_ERROR);
  EXPECT_THAT(wf.tasks(0).reason_for_incompletion(), HasSubstr("digest mismatch"));
  EXPECT_EQ(calls.load(), 1);
  // The step's history says why.
  ASSERT_OK_AND_ASSIGN(auto logs, client_->GetTaskLogs(wf.tasks(0).task_id()));
  bool found = false;
  for (const auto& l : logs) found |= absl::StrContains(l.log(), "digest mismatch");
  EXPECT_TRUE(found);
}

TEST_F(WorkerIntegrationTest, ResultLandsAfterTheOrchestratorRestarts) {
  RegisterTaskDef(R"({"name":"it_slow","retryCount":0,"responseTimeoutSeconds":120})");
  absl::Notification started, release;
  ASSERT_OK(registry_.Register("it_slow", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                 started.Notify();
                                 release.WaitForNotification();
                                 return Output("survived", "restart");
                               })));
  RegisterChain("it_restart", {"it_slow"});
  StartWorker();
  const std::string id = Start("it_restart");
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(20)));

  const std::string address = server_->address();
  server_->Shutdown();
  server_.reset();
  release.Notify();
  // The worker's first attempts to report fail while the server is down.
  WaitFor([&] { return metrics_.Count("task_update_error", "it_slow") >= 2; }, absl::Seconds(20));
  ASSERT_GE(metrics_.Count("task_update_error", "it_slow"), 2);

  StartServer(address);  // same file, same port
  Workflow wf = WaitWorkflow(id, Terminal);
  ASSERT_EQ(wf.status(), Workflow::COMPLETED) << wf.reason_for_incompletion();
  ASSERT_EQ(wf.tasks_size(), 1);
  EXPECT_EQ(wf.tasks(0).output_data().at("survived").string_value(), "restart");
}

TEST_F(WorkerIntegrationTest, LeaseExtensionKeepsATaskPastItsResponseTimeout) {
  RegisterTaskDef(
      R"({"name":"it_long","retryCount":1,"retryDelaySeconds":0,"responseTimeoutSeconds":1,"timeoutSeconds":60})");
  std::atomic<int> calls{0};
  absl::Notification release;
  ASSERT_OK(registry_.Register("it_long", std::make_unique<FnHandler>([&](tasks::TaskContext&) {
                                 ++calls;
                                 release.WaitForNotificationWithTimeout(absl::Seconds(30));
                                 return Output("held", "lease");
                               })));
  RegisterChain("it_lease", {"it_long"});
  StartWorker();
  const std::string id = Start("it_lease");
  // Let the task run well past its 1 s response timeout, by the
  // orchestrator's own record of when it started.
  Workflow running = WaitWorkflow(id, [](const Workflow& wf) {
    return wf.tasks_size() >= 1 && wf.tasks(0).start_time() > 0 &&
           absl::Now() - absl::FromUnixMillis(wf.tasks(0).start_time()) > absl::Milliseconds(2500);
  });
  ASSERT_EQ(running.tasks_size(), 1);
  EXPECT_EQ(running.tasks(0).status(), Task::IN_PROGRESS);
  EXPECT_GE(metrics_.Count("task_lease_extend", "it_long"), 2);
  release.Notify();
  Workflow wf = WaitWorkflow(id, Terminal);
  ASSERT_EQ(wf.status(), Workflow::COMPLETED) << wf.reason_for_incompletion();
  ASSERT_EQ(wf.tasks_size(), 1);  // no TIMED_OUT attempt, no retry
  EXPECT_EQ(wf.tasks(0).status(), Task::COMPLETED);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(WorkerIntegrationTest, CallbackLaterHandsTheSameTaskBackWithItsOutput) {
  RegisterTaskDef(R"({"name":"it_wait","retryCount":0})");
  std::atomic<int> calls{0};
  ASSERT_OK(registry_.Register("it_wait", std::make_unique<FnHandler>([&](tasks::TaskContext& ctx) {
                                 ++calls;
                                 const auto& previous = ctx.task().output_data();
                                 tasks::TaskOutcome out;
                                 if (previous.find("round") == previous.end()) {
                                   (*out.output.mutable_fields())["round"].set_number_value(1);
                                   out.callback_after = absl::Seconds(1);
                                   return out;
                                 }
                                 (*out.output.mutable_fields())["round"].set_number_value(
                                     previous.at("round").number_value() + 1);
                                 return out;
                               })));
  RegisterChain("it_callback", {"it_wait"});
  StartWorker();
  const std::string id = Start("it_callback");
  Workflow wf = WaitWorkflow(id, Terminal);
  ASSERT_EQ(wf.status(), Workflow::COMPLETED) << wf.reason_for_incompletion();
  ASSERT_EQ(wf.tasks_size(), 1);  // the same task, not a retry
  EXPECT_EQ(wf.tasks(0).output_data().at("round").number_value(), 2);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(WorkerIntegrationTest, RegisteringTheMigrationWorkflowsTwiceChangesNothing) {
  ASSERT_OK_AND_ASSIGN(DefinitionSet defs,
                       LoadDefinitionsDir(std::string(CMIG_TESTDATA_DIR) + "/../../workflows"));
  ASSERT_OK_AND_ASSIGN(RegistrationReport first, RegisterDefinitions(*client_, defs));
  EXPECT_EQ(first.created.size(), defs.task_defs.size() + defs.workflow_defs.size());
  ASSERT_OK_AND_ASSIGN(RegistrationReport second, RegisterDefinitions(*client_, defs));
  EXPECT_TRUE(second.created.empty());
  EXPECT_TRUE(second.updated.empty()) << absl::StrJoin(second.updated, ", ");
  EXPECT_EQ(second.unchanged.size(), first.created.size());
}

TEST_F(WorkerIntegrationTest, BearerTokenReachesTheOrchestrator) {
  ASSERT_OK_AND_ASSIGN(auto secured, StartSecured("tok-good"));
  client::ClientOptions with_token;
  with_token.address = secured->address();
  with_token.token = "tok-good";
  ASSERT_OK_AND_ASSIGN(auto good, client::GrpcOrchestratorClient::Create(with_token));
  EXPECT_THAT(good->GetTaskDef("nothing").status(),
              ::cmig::testing::StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  client::ClientOptions wrong = with_token;
  wrong.token = "tok-bad";
  ASSERT_OK_AND_ASSIGN(auto bad, client::GrpcOrchestratorClient::Create(wrong));
  absl::Status denied = bad->GetTaskDef("nothing").status();
  EXPECT_TRUE(absl::IsUnauthenticated(denied) || absl::IsPermissionDenied(denied)) << denied;
  EXPECT_THAT(denied.message(), ::testing::Not(HasSubstr("tok-bad")));
  secured->Shutdown();
}

// A worker process with a task in flight gets `sig`: it finishes the task,
// reports it and exits 0.
void WorkerIntegrationTest::DrainsOnSignal(int sig) {
  // The worker process registers these itself at startup.
  const std::string defs = dir_ + "/workflows";
  std::filesystem::create_directories(defs + "/taskdefs");
  std::ofstream(defs + "/taskdefs/task_defs.json")
      << R"([{"name":"drain_test","retryCount":0,"responseTimeoutSeconds":120},
             {"name":"echo_test","retryCount":0}])";
  std::ofstream(defs + "/it_drain.json")
      << R"({"name":"it_drain","version":1,"schemaVersion":2,"tasks":[
             {"name":"drain_test","taskReferenceName":"d","type":"SIMPLE"}]})";

  const int metrics_port = FreePort();
  const int health_port = FreePort();
  testing::WorkerProcess worker(
      WorkerBinary(),
      {"--server=" + server_->address(), "--workflows_dir=" + defs,
       absl::StrCat("--metrics_port=", metrics_port), absl::StrCat("--health_port=", health_port),
       "--poll_timeout_ms=200", "--shutdown_grace_seconds=20", "--log_level=debug"});
  ASSERT_GT(worker.pid(), 0);
  ASSERT_TRUE(worker.WaitForOutput("definitions from", absl::Seconds(20))) << worker.output();
  // Each definition, the task definitions under taskdefs/ too, is registered and listed once.
  ASSERT_TRUE(worker.WaitForOutput("updated [], unchanged []", absl::Seconds(5)))
      << worker.output();
  ASSERT_OK_AND_ASSIGN(conductor::proto::TaskDef echo, client_->GetTaskDef("echo_test"));
  EXPECT_EQ(echo.retry_count(), 0);
  conductor::proto::StartWorkflowRequest req;
  req.set_name("it_drain");
  req.set_version(1);
  ASSERT_OK_AND_ASSIGN(const std::string id, client_->StartWorkflow(req));

  // The task is running in the worker process; its metrics endpoint shows it in flight.
  ASSERT_TRUE(worker.WaitForOutput("task_type=drain_test started", absl::Seconds(20)))
      << worker.output();
  EXPECT_THAT(HttpGet(metrics_port, "/metrics"),
              HasSubstr("task_in_flight{taskType=\"drain_test\"} 1"));
  // The grpc.health.v1 service the systemd unit and the Kubernetes probes use.
  EXPECT_EQ(testing::HealthStatus(health_port), 1) << "grpc health on port " << health_port;
  // Without --metrics_address / --health_address both listen on loopback only.
  EXPECT_THAT(ListeningAddresses(metrics_port), ElementsAre("0100007F"));
  EXPECT_THAT(ListeningAddresses(health_port), ElementsAre("0100007F"));
  ASSERT_EQ(kill(worker.pid(), sig), 0);

  const std::optional<int> status = worker.WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "worker did not exit after signal " << sig;
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0) << worker.output();
  ASSERT_OK_AND_ASSIGN(Workflow wf, client_->GetWorkflowStatus(id, true));
  ASSERT_EQ(wf.status(), Workflow::COMPLETED) << wf.reason_for_incompletion();
  EXPECT_TRUE(wf.tasks(0).output_data().at("drained").bool_value());
}

TEST_F(WorkerIntegrationTest, SigtermDrainsInFlightWorkAndExitsZero) { DrainsOnSignal(SIGTERM); }

TEST_F(WorkerIntegrationTest, SigintDrainsInFlightWorkAndExitsZero) { DrainsOnSignal(SIGINT); }

TEST_F(WorkerIntegrationTest, TokenFromTheEnvironmentWorksAndNeverShows) {
  const std::string token = "tok-s3cr3t-7f1d0c";
  ASSERT_OK_AND_ASSIGN(auto secured, StartSecured(token));
  client::ClientOptions with_token;
  with_token.address = secured->address();
  with_token.token = token;
  ASSERT_OK_AND_ASSIGN(auto admin, client::GrpcOrchestratorClient::Create(with_token));

  const std::string defs = dir_ + "/workflows";
  std::filesystem::create_directories(defs + "/taskdefs");
  std::ofstream(defs + "/taskdefs/task_defs.json") << R"([{"name":"echo_test","retryCount":0}])";
  std::ofstream(defs + "/it_echo.json")
      << R"({"name":"it_echo","version":1,"schemaVersion":2,"tasks":[
             {"name":"echo_test","taskReferenceName":"e","type":"SIMPLE",
              "inputParameters":{"in":"${workflow.input.in}"}}]})";
  const std::vector<std::string> env = {"CONDUCTOR_AUTH_TOKEN=" + token};
  testing::WorkerProcess worker(WorkerBinary(),
                                {"--server=" + secured->address(), "--workflows_dir=" + defs,
                                 "--poll_timeout_ms=200", "--log_level=trace"},
                                env);
  ASSERT_GT(worker.pid(), 0);
  // Registration needs the token: the orchestrator refuses calls without it.
  ASSERT_TRUE(worker.WaitForOutput("definitions from", absl::Seconds(20))) << worker.output();
  conductor::proto::StartWorkflowRequest req;
  req.set_name("it_echo");
  req.set_version(1);
  (*req.mutable_input())["in"].set_string_value("hello");
  ASSERT_OK_AND_ASSIGN(const std::string id, admin->StartWorkflow(req));
  ASSERT_TRUE(worker.WaitForOutput("task_type=echo_test COMPLETED", absl::Seconds(20)))
      << worker.output();
  ASSERT_OK_AND_ASSIGN(Workflow wf, admin->GetWorkflowStatus(id, true));
  EXPECT_EQ(wf.status(), Workflow::COMPLETED) << wf.reason_for_incompletion();

  std::ifstream cmdline_file(absl::StrCat("/proc/", worker.pid(), "/cmdline"));
  const std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                            std::istreambuf_iterator<char>());
  EXPECT_THAT(cmdline, HasSubstr("--workflows_dir"));
  EXPECT_THAT(cmdline, ::testing::Not(HasSubstr(token)));
  ASSERT_EQ(kill(worker.pid(), SIGTERM), 0);
  const std::optional<int> status = worker.WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "worker did not exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << worker.output();
  // Trace level: everything the worker could log about its configuration and calls.
  EXPECT_THAT(worker.output(), HasSubstr("token"));
  EXPECT_THAT(worker.output(), ::testing::Not(HasSubstr(token)));

  // Neither the help text nor a mistaken attempt to pass the token as a flag shows it.
  testing::WorkerProcess help(WorkerBinary(), {"--helpfull"}, env);
  ASSERT_TRUE(help.WaitExit(absl::Seconds(20)).has_value());
  EXPECT_THAT(help.output(), HasSubstr("--auth_token_file"));
  EXPECT_THAT(help.output(), ::testing::Not(HasSubstr(token)));
  testing::WorkerProcess flag(WorkerBinary(),
                              {"--server=" + secured->address(), "--auth_token=" + token}, env);
  const std::optional<int> flag_status = flag.WaitExit(absl::Seconds(20));
  ASSERT_TRUE(flag_status.has_value());
  EXPECT_FALSE(WIFEXITED(*flag_status) && WEXITSTATUS(*flag_status) == 0);
  EXPECT_THAT(flag.output(), HasSubstr("auth_token"));
  EXPECT_THAT(flag.output(), ::testing::Not(HasSubstr(token)));
  secured->Shutdown();
}

}  // namespace
}  // namespace cmig::worker
