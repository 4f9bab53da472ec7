// migration_bench --definitions=1000,10000
//
// For each size N: two embedded orchestrators (A and B, temporary SQLite files, loopback), a
// worker with the migration handlers on each, N task definitions and N workflow definitions in A
// (workflow i runs task i and, for i > 0, sub-workflow (i - 1) / 2: a binary tree of
// references), then one outgoing_migration_request of everything ("*") from A to B. Prints the
// duration of every step of both workflows, the end-to-end time, and the peak RSS of the process
// (both orchestrators and both workers live in it, so each one's peak is at most that).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"
#include "definitions/json.h"
#include "orchestrator/server.h"
#include "spdlog/spdlog.h"
#include "tasks/migration_handlers.h"
#include "tests/testing/migration_side.h"
#include "tests/testing/wait_for.h"
#include "worker/worker.h"
#include "workflows/registration.h"

ABSL_FLAG(std::string, definitions, "1000,10000", "comma-separated sizes N to migrate");
ABSL_FLAG(bool, processes, false,
          "Run the orchestrators and workers as the real binaries (orchestrator, migration-worker) "
          "and report each process's peak RSS, instead of all in this process.");

namespace {

using conductor::proto::Workflow;

void Die(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

long PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

using Env = cmig::testing::MigrationSide;

void StartEnv(Env& e, const std::string& db) {
  cmig::orchestrator::ServerOptions options;
  options.db_path = db;
  auto s = cmig::orchestrator::OrchestratorServer::Start(options);
  Die(s.status(), "start orchestrator");
  e.server = *std::move(s);
  Die(e.Connect("", absl::Seconds(60)), "connect");
  // The migration steps as shipped: no test timings.
  Die(e.RegisterMigrationWorkflows({.max_retry_delay_seconds = 0}), "register");
  cmig::tasks::MigrationDeps deps = e.Deps();
  deps.remote_call_timeout = absl::Seconds(60);
  cmig::worker::WorkerOptions w;
  w.worker_id = "bench";
  w.defaults.threads = 2;
  w.poll_timeout = absl::Milliseconds(500);
  w.poll_interval = absl::Milliseconds(10);
  w.max_empty_poll_backoff = absl::Milliseconds(50);
  Die(e.StartWorker(std::move(deps), w), "worker");
}

void Seed(Env& a, int n) {
  std::vector<conductor::proto::TaskDef> tds;
  for (int i = 0; i < n; ++i) {
    conductor::proto::TaskDef t;
    t.set_name(absl::StrCat("bench_task_", i));
    t.set_retry_count(3);
    t.set_timeout_seconds(300);
    t.set_response_timeout_seconds(60);
    t.set_owner_email("bench@cmig.local");
    tds.push_back(std::move(t));
    if (tds.size() == 1000 || i == n - 1) {
      Die(a.client->CreateTaskDefs(tds), "seed task defs");
      tds.clear();
    }
  }
  std::vector<conductor::proto::WorkflowDef> wfs;
  for (int i = 0; i < n; ++i) {
    conductor::proto::WorkflowDef w;
    w.set_name(absl::StrCat("bench_flow_", i));
    w.set_version(1);
    w.set_schema_version(2);
    w.set_owner_email("bench@cmig.local");
    auto* t = w.add_tasks();
    t->set_name(absl::StrCat("bench_task_", i));
    t->set_task_reference_name("work");
    t->set_type("SIMPLE");
    (*t->mutable_input_parameters())["in"].set_string_value("${workflow.input.in}");
    if (i > 0) {
      auto* s = w.add_tasks();
      s->set_name(absl::StrCat("bench_flow_", (i - 1) / 2));
      s->set_task_reference_name("child");
      s->set_type("SUB_WORKFLOW");
      s->mutable_sub_workflow_param()->set_name(s->name());
      s->mutable_sub_workflow_param()->set_version(1);
    }
    wfs.push_back(std::move(w));
    if (wfs.size() == 500 || i == n - 1) {
      Die(a.client->UpdateWorkflowDefs(wfs), "seed workflows");
      wfs.clear();
    }
  }
}

void PrintSteps(const char* side, const Workflow& wf) {
  std::map<std::string, std::pair<int64_t, int>> by_step;  // ms, attempts
  for (const auto& t : wf.tasks()) {
    if (t.task_type() == "SWITCH") continue;
    auto& e = by_step[t.reference_task_name()];
    e.first += t.end_time() > t.start_time() ? t.end_time() - t.start_time() : 0;
    e.second += 1;
  }
  for (const auto& t : wf.tasks()) {
    auto it = by_step.find(t.reference_task_name());
    if (it == by_step.end()) continue;
    std::printf("  %-9s %-16s %7lld ms  (%d attempt%s)\n", side, it->first.c_str(),
                static_cast<long long>(it->second.first), it->second.second,
                it->second.second == 1 ? "" : "s");
    by_step.erase(it);
  }
}

// No deadline: how long a migration takes is what the benchmark measures.
Workflow WaitDone(Env& e, const std::string& id) {
  cmig::testing::WaitFor(
      [&] {
        auto wf = e.client->GetWorkflowStatus(id, false);
        Die(wf.status(), "status");
        return wf->status() != Workflow::RUNNING;
      },
      absl::InfiniteDuration(), absl::Milliseconds(20));
  auto full = e.client->GetWorkflowStatus(id, true);
  Die(full.status(), "status");
  return *full;
}

double RunOnce(int n) {
  const std::string dir = absl::StrCat(std::filesystem::temp_directory_path().string(),
                                       "/migration_bench_", getpid(), "_", n);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  double seconds = 0;
  {
    Env a, b;
    StartEnv(a, dir + "/a.db");
    StartEnv(b, dir + "/b.db");
    cmig::v1::Environment target;
    target.set_id("B");
    target.set_address(b.server->address());
    Die(a.ext->PutEnvironment(target), "put environment");
    Seed(a, n);

    conductor::proto::StartWorkflowRequest req;
    req.set_name("outgoing_migration_request");
    auto& in = *req.mutable_input();
    in["sourceEnvironment"].set_string_value("A");
    in["targetEnvironment"].set_string_value("B");
    in["selection"] = *cmig::ParseJson(R"({"workflows":[{"name":"*"}],"taskDefs":["*"]})");
    in["options"] = *cmig::ParseJson("{}");
    const absl::Time start = absl::Now();
    auto id = a.client->StartWorkflow(req);
    Die(id.status(), "start migration");
    Workflow out = WaitDone(a, *id);
    seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("N=%d: %s in %.2f s end to end; peak RSS %ld MB (whole process)\n", n,
                Workflow::WorkflowStatus_Name(out.status()).c_str(), seconds, PeakRssMb());
    if (out.status() != Workflow::COMPLETED) {
      std::printf("  reason: %s\n", out.reason_for_incompletion().c_str());
    }
    PrintSteps("outgoing", out);
    auto incoming = b.client->GetWorkflowsByCorrelationId(
        "incoming_migration_request", cmig::tasks::IncomingCorrelationId(*id), true, true);
    if (incoming.ok() && !incoming->empty()) PrintSteps("incoming", incoming->front());
    auto listed = b.client->ListWorkflowDefs("", false);
    if (listed.ok()) std::printf("  B now holds %zu workflow names\n", listed->size());
    for (Env* e : {&a, &b}) e->worker->Shutdown(absl::Seconds(5)).IgnoreError();
  }
  std::filesystem::remove_all(dir);
  return seconds;
}

// ---- --processes: the real binaries ----

pid_t Spawn(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

long PeakRssMbOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmHWM:")) {
      long kb = 0;
      std::istringstream(line.substr(6)) >> kb;
      return kb / 1024;
    }
  }
  return -1;
}

std::string StartOrchestrator(const std::string& dir, const std::string& name, pid_t* pid) {
  const std::string port_file = dir + "/" + name + ".port";
  *pid = Spawn({CMIG_BINARY_DIR "/orchestrator/orchestrator", "--db=" + dir + "/" + name + ".db",
                "--listen=127.0.0.1:0", "--http_listen=", "--port_file=" + port_file});
  int port = 0;
  if (cmig::testing::WaitFor(
          [&] {
            std::ifstream in(port_file);
            return in >> port && port > 0;
          },
          absl::Seconds(5), absl::Milliseconds(10))) {
    return absl::StrCat("127.0.0.1:", port);
  }
  std::fprintf(stderr, "orchestrator %s did not start\n", name.c_str());
  std::exit(1);
}

std::unique_ptr<cmig::client::GrpcOrchestratorClient> ClientTo(const std::string& address) {
  cmig::client::ClientOptions c;
  c.address = address;
  c.call_timeout = absl::Seconds(60);
  auto client = cmig::client::GrpcOrchestratorClient::Create(c);
  Die(client.status(), "client");
  return *std::move(client);
}

double RunProcesses(int n) {
  const std::string dir = absl::StrCat(std::filesystem::temp_directory_path().string(),
                                       "/migration_bench_p_", getpid(), "_", n);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  pid_t oa = 0, ob = 0;
  const std::string a_addr = StartOrchestrator(dir, "a", &oa);
  const std::string b_addr = StartOrchestrator(dir, "b", &ob);
  Env a;
  a.client = ClientTo(a_addr);
  cmig::client::ClientOptions c;
  c.address = a_addr;
  auto ext = cmig::client::GrpcExtensionsClient::Create(c);
  Die(ext.status(), "extensions client");
  cmig::v1::Environment target;
  target.set_id("B");
  target.set_address(b_addr);
  Die((*ext)->PutEnvironment(target), "put environment");
  Seed(a, n);
  auto b_client = ClientTo(b_addr);
  std::vector<pid_t> workers;
  for (const std::string& addr : {a_addr, b_addr}) {
    workers.push_back(Spawn({CMIG_BINARY_DIR "/worker/migration-worker", "--server=" + addr,
                             "--threads=2", "--poll_timeout_ms=500", "--poll_interval_ms=10",
                             "--workflows_dir=" CMIG_SOURCE_DIR "/workflows", "--log_level=warn"}));
  }
  conductor::proto::StartWorkflowRequest req;
  req.set_name("outgoing_migration_request");
  auto& in = *req.mutable_input();
  in["sourceEnvironment"].set_string_value("A");
  in["targetEnvironment"].set_string_value("B");
  in["selection"] = *cmig::ParseJson(R"({"workflows":[{"name":"*"}],"taskDefs":["*"]})");
  in["options"] = *cmig::ParseJson("{}");
  // The workers register the migration workflows at startup, in both environments.
  cmig::testing::WaitFor(
      [&] {
        return a.client->GetWorkflowDef("outgoing_migration_request", 0).ok() &&
               b_client->GetWorkflowDef("incoming_migration_request", 0).ok();
      },
      absl::InfiniteDuration(), absl::Milliseconds(20));
  const absl::Time start = absl::Now();
  auto id = a.client->StartWorkflow(req);
  Die(id.status(), "start migration");
  Workflow out = WaitDone(a, *id);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("N=%d (separate processes): %s in %.2f s end to end\n", n,
              Workflow::WorkflowStatus_Name(out.status()).c_str(), seconds);
  std::printf(
      "  peak RSS: orchestrator A %ld MB, orchestrator B %ld MB, worker A %ld MB, "
      "worker B %ld MB\n",
      PeakRssMbOf(oa), PeakRssMbOf(ob), PeakRssMbOf(workers[0]), PeakRssMbOf(workers[1]));
  PrintSteps("outgoing", out);
  auto incoming = b_client->GetWorkflowsByCorrelationId(
      "incoming_migration_request", cmig::tasks::IncomingCorrelationId(*id), true, true);
  if (incoming.ok() && !incoming->empty()) PrintSteps("incoming", incoming->front());
  a.client.reset();
  b_client.reset();
  for (pid_t p : {workers[0], workers[1], oa, ob}) kill(p, SIGTERM);
  for (pid_t p : {workers[0], workers[1], oa, ob}) waitpid(p, nullptr, 0);
  std::filesystem::remove_all(dir);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  std::vector<double> times;
  std::vector<int> sizes;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_definitions), ',')) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n <= 0) {
      std::fprintf(stderr, "bad --definitions entry '%s'\n", std::string(s).c_str());
      return 1;
    }
    sizes.push_back(n);
    times.push_back(absl::GetFlag(FLAGS_processes) ? RunProcesses(n) : RunOnce(n));
  }
  if (times.size() >= 2 && times.front() > 0) {
    std::printf("scaling: %d -> %d definitions took %.1fx the time\n", sizes.front(), sizes.back(),
                times.back() / times.front());
  }
  return 0;
}
