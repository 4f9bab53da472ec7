// Shared fixture of the migrationctl tests: the real binary run as a child process (stdout,
// stderr and exit status captured) against a real OrchestratorServer on port 0 over a temporary
// SQLite file, plus a client to set the scene and to play a worker.
#ifndef CMIG_TESTS_CLI_CLI_TESTING_H_
#define CMIG_TESTS_CLI_CLI_TESTING_H_

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status_matchers.h"
#include "client/grpc_client.h"
#include "definitions/conductor_json.h"
#include "definitions/json.h"
#include "gtest/gtest.h"
#include "orchestrator/server.h"
#include "tests/testing/wait_for_workflow.h"

#ifndef MIGRATIONCTL_PATH
#error "MIGRATIONCTL_PATH must name the migrationctl binary"
#endif

namespace cmig::cli::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  return os << "exit " << r.exit_code << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

// Runs migrationctl with `args`, the environment `env` (and PATH; nothing else of the test's
// environment, so CMIG_SERVER / CMIG_TOKEN of the machine cannot leak in) and `input` on stdin.
inline RunResult RunCli(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {},
                        const std::string& input = "") {
  std::vector<std::string> argv_s = {MIGRATIONCTL_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  if (const char* path = std::getenv("PATH")) env_s.push_back(absl::StrCat("PATH=", path));
  for (const auto& [k, v] : env) env_s.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in_pipe[2], out_pipe[2], err_pipe[2];
  RunResult result;
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << errno;
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!input.empty()) {
    size_t off = 0;
    while (off < input.size()) {
      ssize_t n = write(in_pipe[1], input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  close(in_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[8192];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// Parses stdout as JSON (definitions/json.h); fails the test when it does not parse.
inline google::protobuf::Value ParseOut(const RunResult& r) {
  absl::StatusOr<google::protobuf::Value> v = ParseJson(r.out);
  EXPECT_TRUE(v.ok()) << v.status() << "\n" << r;
  return v.ok() ? *v : google::protobuf::Value();
}

// v[key] of a JSON object (a null Value when absent).
inline const google::protobuf::Value& Field(const google::protobuf::Value& v,
                                            const std::string& key) {
  static const google::protobuf::Value* null_value = new google::protobuf::Value();
  if (!v.has_struct_value()) return *null_value;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? *null_value : it->second;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
}

// A temporary directory, an orchestrator on it and a client of it.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cmig-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    server_ = StartServer("orchestrator.db");
    ASSERT_NE(server_, nullptr);
    client_ = Connect(*server_);
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `http`: also serve Conductor's REST API on a free port.
  std::unique_ptr<orchestrator::OrchestratorServer> StartServer(const std::string& db,
                                                                const std::string& tokens = "",
                                                                bool http = false) {
    orchestrator::ServerOptions options;
    options.db_path = dir_ + "/" + db;
    if (http) options.http_listen_address = "127.0.0.1:0";
    if (!tokens.empty()) {
      options.tokens_file = dir_ + "/" + db + ".tokens";
      WriteFile(options.tokens_file, tokens + "\n");
    }
    auto s = orchestrator::OrchestratorServer::Start(options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  static std::unique_ptr<client::GrpcOrchestratorClient> Connect(
      const orchestrator::OrchestratorServer& server, const std::string& token = "") {
    client::ClientOptions options;
    options.address = server.address();
    options.token = token;
    options.call_timeout = absl::Seconds(5);
    auto c = client::GrpcOrchestratorClient::Create(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // migrationctl against the fixture's server (via CMIG_SERVER).
  RunResult Cli(const std::vector<std::string>& args, std::map<std::string, std::string> env = {},
                const std::string& input = "") {
    env.emplace("CMIG_SERVER", server_->address());
    return RunCli(args, env, input);
  }

  void RegisterTaskDef(client::MetadataClient& meta, const std::string& json) {
    auto def = TaskDefFromConductorJson(json, nullptr);
    ASSERT_TRUE(def.ok()) << def.status();
    ASSERT_OK(meta.CreateTaskDefs({*def}));
  }

  void RegisterWorkflow(client::MetadataClient& meta, const std::string& json) {
    auto def = WorkflowDefFromConductorJson(json, nullptr);
    ASSERT_TRUE(def.ok()) << def.status();
    ASSERT_OK(meta.CreateWorkflowDef(*def));
  }

  // A workflow `name` v1 of SIMPLE tasks of the given types, references "<type>_ref".
  void RegisterChain(client::MetadataClient& meta, const std::string& name,
                     const std::vector<std::string>& types) {
    std::string tasks;
    for (const auto& t : types) {
      absl::StrAppend(&tasks, tasks.empty() ? "" : ",", R"({"name":")", t,
                      R"(","taskReferenceName":")", t, R"(_ref","type":"SIMPLE"})");
    }
    RegisterWorkflow(
        meta, absl::StrCat(R"({"name":")", name, R"(","version":1,"schemaVersion":2,"tasks":[)",
                           tasks, "]}"));
  }

  std::string Start(client::WorkflowClient& workflows, const std::string& name,
                    const std::map<std::string, std::string>& input = {}) {
    conductor::proto::StartWorkflowRequest req;
    req.set_name(name);
    for (const auto& [k, v] : input) (*req.mutable_input())[k].set_string_value(v);
    auto id = workflows.StartWorkflow(req);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }

  // Polls until a task of `type` is handed out (deadline 10 s).
  std::optional<conductor::proto::Task> PollOne(client::TaskClient& tasks, const std::string& type,
                                                const std::string& worker = "test-worker") {
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      auto got = tasks.BatchPoll(
          {.task_type = type, .worker_id = worker, .count = 1, .timeout = absl::Milliseconds(200)});
      if (got.ok() && !got->empty()) return (*got)[0];
    }
    ADD_FAILURE() << "no task of type " << type;
    return std::nullopt;
  }

  absl::Status Finish(client::TaskClient& tasks, const conductor::proto::Task& task,
                      conductor::proto::TaskResult::Status status, const std::string& reason = "",
                      const std::string& worker = "test-worker") {
    conductor::proto::TaskResult r;
    r.set_task_id(task.task_id());
    r.set_workflow_instance_id(task.workflow_instance_id());
    r.set_status(status);
    r.set_worker_id(worker);
    r.set_reason_for_incompletion(reason);
    return tasks.UpdateTask(r);
  }

  // Re-reads the workflow until `pred` holds (deadline 10 s); returns the last state.
  conductor::proto::Workflow WaitWorkflow(
      client::WorkflowClient& workflows, const std::string& id,
      const std::function<bool(const conductor::proto::Workflow&)>& pred) {
    return ::cmig::testing::WaitForWorkflow(workflows, id, pred, absl::Seconds(10),
                                            absl::Milliseconds(10));
  }

  std::string dir_;
  std::unique_ptr<orchestrator::OrchestratorServer> server_;
  std::unique_ptr<client::GrpcOrchestratorClient> client_;
};

}  // namespace cmig::cli::test

#endif  // CMIG_TESTS_CLI_CLI_TESTING_H_
