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

#include <algorithm>
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
ABSL_FLAG(int, latency_runs, 0,
          "Also time `migrationctl migrate --wait` of --latency_definitions + as many task "
          "definitions, start to exit, this many times, and print the median (real binaries).");
ABSL_FLAG(int, latency_definitions, 5, "N of the --latency_runs migrations");
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

// Version `version` of the N workflows of Seed.
void SeedWorkflows(Env& a, int n, int version) {
  std::vector<conductor::proto::WorkflowDef> wfs;
  for (int i = 0; i < n; ++i) {
    conductor::proto::WorkflowDef w;
    w.set_name(absl::StrCat("bench_flow_", i));
    w.set_version(version);
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
      s->mutable_sub_workflow_param()->set_version(version);
    }
    wfs.push_back(std::move(w));
    if (wfs.size() == 500 || i == n - 1) {
      Die(a.client->UpdateWorkflowDefs(wfs), "seed workflows");
      wfs.clear();
    }
  }
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
  SeedWorkflows(a, n, 1);
}

// Each step's time, "outgoing fetch" -> ms, in the order the steps ran.
using StepTimes = std::vector<std::pair<std::string, int64_t>>;

// Prints each step's time (all attempts together), adding it to `record` when given.
void PrintSteps(const char* side, const Workflow& wf, StepTimes* record = nullptr) {
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
    if (record != nullptr)
      record->emplace_back(absl::StrCat(side, " ", it->first), it->second.first);
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

double RunOnce(int n, StepTimes* steps) {
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
    PrintSteps("outgoing", out, steps);
    auto incoming = b.client->GetWorkflowsByCorrelationId(
        "incoming_migration_request", cmig::tasks::IncomingCorrelationId(*id), true, true);
    if (incoming.ok() && !incoming->empty()) PrintSteps("incoming", incoming->front(), steps);
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

// Two orchestrators and two workers as the real binaries, migration workflows registered on both
// sides, B registered in A as environment "B", and A seeded with N + N definitions.
struct Processes {
  explicit Processes(int n, const std::string& tag) {
    dir = absl::StrCat(std::filesystem::temp_directory_path().string(), "/migration_bench_", tag,
                       "_", getpid(), "_", n);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    a_addr = StartOrchestrator(dir, "a", &oa);
    b_addr = StartOrchestrator(dir, "b", &ob);
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
    b_client = ClientTo(b_addr);
    for (const std::string& addr : {a_addr, b_addr}) {
      workers.push_back(
          Spawn({CMIG_BINARY_DIR "/worker/migration-worker", "--server=" + addr, "--threads=2",
                 "--poll_timeout_ms=500", "--poll_interval_ms=10",
                 "--workflows_dir=" CMIG_SOURCE_DIR "/workflows", "--log_level=warn"}));
    }
    // The workers register the migration workflows at startup, in both environments.
    cmig::testing::WaitFor(
        [&] {
          return a.client->GetWorkflowDef("outgoing_migration_request", 0).ok() &&
                 b_client->GetWorkflowDef("incoming_migration_request", 0).ok();
        },
        absl::InfiniteDuration(), absl::Milliseconds(20));
  }
  ~Processes() {
    a.client.reset();
    b_client.reset();
    for (pid_t p : {workers[0], workers[1], oa, ob}) kill(p, SIGTERM);
    for (pid_t p : {workers[0], workers[1], oa, ob}) waitpid(p, nullptr, 0);
    std::filesystem::remove_all(dir);
  }
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  void PrintIncoming(const std::string& outgoing_id, StepTimes* steps = nullptr) const {
    auto incoming = b_client->GetWorkflowsByCorrelationId(
        "incoming_migration_request", cmig::tasks::IncomingCorrelationId(outgoing_id), true, true);
    if (incoming.ok() && !incoming->empty()) PrintSteps("incoming", incoming->front(), steps);
  }

  std::string dir, a_addr, b_addr;
  pid_t oa = 0, ob = 0;
  Env a;
  std::unique_ptr<cmig::client::GrpcOrchestratorClient> b_client;
  std::vector<pid_t> workers;
};

double RunProcesses(int n, StepTimes* steps) {
  Processes p(n, "p");
  conductor::proto::StartWorkflowRequest req;
  req.set_name("outgoing_migration_request");
  auto& in = *req.mutable_input();
  in["sourceEnvironment"].set_string_value("A");
  in["targetEnvironment"].set_string_value("B");
  in["selection"] = *cmig::ParseJson(R"({"workflows":[{"name":"*"}],"taskDefs":["*"]})");
  in["options"] = *cmig::ParseJson("{}");
  const absl::Time start = absl::Now();
  auto id = p.a.client->StartWorkflow(req);
  Die(id.status(), "start migration");
  Workflow out = WaitDone(p.a, *id);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("N=%d (separate processes): %s in %.2f s end to end\n", n,
              Workflow::WorkflowStatus_Name(out.status()).c_str(), seconds);
  if (out.status() != Workflow::COMPLETED) {
    std::printf("  reason: %s\n", out.reason_for_incompletion().c_str());
    for (const auto& t : out.tasks()) {
      if (t.status() != conductor::proto::Task::COMPLETED) {
        std::printf("  step %s: %s\n", t.reference_task_name().c_str(),
                    conductor::proto::Task::Status_Name(t.status()).c_str());
      }
    }
  }
  std::printf(
      "  peak RSS: orchestrator A %ld MB, orchestrator B %ld MB, worker A %ld MB, "
      "worker B %ld MB\n",
      PeakRssMbOf(p.oa), PeakRssMbOf(p.ob), PeakRssMbOf(p.workers[0]), PeakRssMbOf(p.workers[1]));
  PrintSteps("outgoing", out, steps);
  p.PrintIncoming(*id, steps);
  return seconds;
}

// `migrationctl migrate --all_workflows --wait` from A to B as a user runs it, start to exit,
// `runs` times over N workflows and N task definitions: every other run after a new version of
// every workflow was registered in A (B creates N workflow versions), the others with B already
// up to date (everything unchanged).
void RunLatency(int n, int runs) {
  Processes p(n, "latency");
  std::vector<double> created_ms, unchanged_ms;
  std::string last_id;
  for (int i = 0; i < runs; ++i) {
    const bool fresh = i % 2 == 0;
    if (fresh && i > 0) SeedWorkflows(p.a, n, i + 1);
    const std::string out_file = absl::StrCat(p.dir, "/migrate.out");
    const absl::Time start = absl::Now();
    const pid_t ctl = fork();
    if (ctl == 0) {
      if (freopen(out_file.c_str(), "w", stdout) == nullptr) _exit(126);
      execl(CMIG_BINARY_DIR "/cli/migrationctl", "migrationctl", "migrate", "--target=B",
            "--all_workflows", "--wait", ("--server=" + p.a_addr).c_str(), nullptr);
      _exit(127);
    }
    int status = 0;
    waitpid(ctl, &status, 0);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "migrationctl failed (status %d); its output is in %s\n", status,
                   out_file.c_str());
      std::exit(1);
    }
    (fresh ? created_ms : unchanged_ms).push_back(ms);
    std::ifstream in(out_file);
    std::string word;
    while (in >> word) {
      if (word == "outgoing_migration_request") {
        in >> last_id;
        break;
      }
    }
  }
  auto print = [](const char* what, std::vector<double> v) {
    if (v.empty()) return;
    std::sort(v.begin(), v.end());
    std::printf("  %-34s median %6.0f ms  min %6.0f  max %6.0f  (%zu runs)\n", what,
                v[v.size() / 2], v.front(), v.back(), v.size());
  };
  std::printf("N=%d, `migrationctl migrate --wait`, start to exit:\n", n);
  print("new workflow versions created", created_ms);
  print("everything unchanged in B", unchanged_ms);
  auto last = p.a.client->GetWorkflowStatus(last_id, true);
  if (last.ok() && last->tasks_size() > 0) {
    std::printf("  the last run: %lld ms from its first step's scheduling to the workflow's end\n",
                static_cast<long long>(last->end_time() - last->tasks(0).scheduled_time()));
    PrintSteps("outgoing", *last);
    p.PrintIncoming(last_id);
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  std::vector<double> times;
  std::vector<int> sizes;
  std::vector<StepTimes> steps;
  if (absl::GetFlag(FLAGS_latency_runs) > 0) {
    RunLatency(absl::GetFlag(FLAGS_latency_definitions), absl::GetFlag(FLAGS_latency_runs));
  }
  for (absl::string_view s :
       absl::StrSplit(absl::GetFlag(FLAGS_definitions), ',', absl::SkipEmpty())) {
    int n = 0;
    if (!absl::SimpleAtoi(s, &n) || n <= 0) {
      std::fprintf(stderr, "bad --definitions entry '%s'\n", std::string(s).c_str());
      return 1;
    }
    sizes.push_back(n);
    steps.emplace_back();
    times.push_back(absl::GetFlag(FLAGS_processes) ? RunProcesses(n, &steps.back())
                                                   : RunOnce(n, &steps.back()));
  }
  // Every size side by side, with each step's growth per definition from one size to the next
  // (1.0 = linear).
  if (sizes.size() >= 2) {
    std::printf("\n%-26s", "ms by N");
    for (int n : sizes) std::printf(" %9d", n);
    std::printf("   growth per definition\n");
    for (size_t row = 0; row < steps.front().size(); ++row) {
      std::printf("%-26s", steps.front()[row].first.c_str());
      for (const StepTimes& t : steps) {
        std::printf(" %9lld", row < t.size() ? static_cast<long long>(t[row].second) : -1LL);
      }
      for (size_t i = 1; i < sizes.size(); ++i) {
        if (row >= steps[i].size() || steps[i - 1][row].second <= 0) continue;
        const double per_def = (static_cast<double>(steps[i][row].second) / sizes[i]) /
                               (static_cast<double>(steps[i - 1][row].second) / sizes[i - 1]);
        std::printf("  %.2fx", per_def);
      }
      std::printf("\n");
    }
    std::printf("%-26s", "end to end");
    for (double t : times) std::printf(" %9.0f", t * 1000);
    std::printf("\n");
  }
  if (times.size() >= 2 && times.front() > 0) {
    std::printf("scaling: %d -> %d definitions took %.1fx the time\n", sizes.front(), sizes.back(),
                times.back() / times.front());
  }
  return 0;
}
