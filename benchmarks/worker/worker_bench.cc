// worker_bench: what the worker runtime costs per task.
//
// The embedded orchestrator runs in a forked child process. Measurements
// against it:
//   1. bare unary round trip: GetTask of an unknown id, one call at a time;
//   2. serial client: one thread, BatchPoll(count=N) then a blocking
//      UpdateTask COMPLETED for each task, nothing else;
//   3. the minimal client of orchestrator_bench (benchmarks/common): BatchPoll
//      (count=N), asynchronous UpdateTasks, polls again without waiting for
//      them; the yardstick of the worker's CPU target;
//   4. the worker runtime: no-op handlers, `--threads` slots, in a process
//      set up as migration-worker sets up its own (SelectPerQueuePolling);
//   5. the same, serving grpc health beside it as deployed (--health_port).
// Phases 2 to 5 each run in a fresh process (this binary with --phase), so
// one client's gRPC threads never do another's work, and report their own CPU
// time (getrusage). They alternate for `--rounds` rounds, so all see the same
// machine load and the same orchestrator database size; comparisons use the
// median of each. Tasks are queued (one workflow of one SIMPLE task each)
// before each phase so starting workflows is not counted. Last, the idle RSS
// of a worker process (tests/worker/worker_test_binary) polling an empty
// queue, serving metrics and grpc health.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "benchmarks/common/minimal_client.h"
#include "client/grpc_client.h"
#include "definitions/conductor_json.h"
#include "orchestrator/server.h"
#include "spdlog/spdlog.h"
#include "tests/testing/wait_for.h"
#include "worker/health_server.h"
#include "worker/worker.h"

ABSL_FLAG(int, tasks, 10000,
          "Tasks per measured phase; with fewer, single rounds vary by a third or more.");
ABSL_FLAG(int, threads, 8, "Worker slots (and the minimal client's batch size).");
ABSL_FLAG(int, round_trips, 3000, "Bare unary calls.");
ABSL_FLAG(int, rounds, 5, "Rounds of the clients and the worker, alternated.");
ABSL_FLAG(std::string, phase, "",
          "Internal: run one phase (serial, minimal, worker or worker_health) against --address "
          "and print its figures.");
ABSL_FLAG(std::string, address, "", "Internal: the orchestrator of --phase.");

namespace {

using cmig::client::GrpcOrchestratorClient;

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds used so far by another process (all its threads).
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Does nothing; says when it has run `target` times, so the benchmark waits
// without polling.
class Noop final : public cmig::tasks::TaskHandler {
 public:
  explicit Noop(int target) : target_(target) {}
  absl::StatusOr<cmig::tasks::TaskOutcome> Execute(cmig::tasks::TaskContext&) override {
    if (executed_.fetch_add(1) + 1 == target_) {
      all_executed_.Notify();
    }
    return cmig::tasks::TaskOutcome{};
  }
  void WaitForAll() { all_executed_.WaitForNotification(); }

 private:
  const int target_;
  std::atomic<int> executed_{0};
  absl::Notification all_executed_;
};

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

void QueueTasks(GrpcOrchestratorClient& client, int n) {
  conductor::proto::StartWorkflowRequest req;
  req.set_name("bench_wf");
  req.set_version(1);
  for (int i = 0; i < n; ++i) Check(client.StartWorkflow(req).status(), "StartWorkflow");
}

struct Phase {
  double wall_s;
  double cpu_s;
  int n;
  double orchestrator_cpu_s = 0;
};

void Print(const char* name, const Phase& p) {
  std::printf("%-34s %7d ops  %8.0f ops/s  %7.1f us wall/op  %7.1f us CPU/op", name, p.n,
              p.n / p.wall_s, p.wall_s * 1e6 / p.n, p.cpu_s * 1e6 / p.n);
  if (p.orchestrator_cpu_s > 0) {
    std::printf("  (orchestrator %.1f us CPU/op)", p.orchestrator_cpu_s * 1e6 / p.n);
  }
  std::printf("\n");
}

// What a phase process prints: its wall and CPU seconds and BatchPolls.
struct PhaseFigures {
  double wall_s = 0;
  double cpu_s = 0;
  int64_t polls = 0;
};

PhaseFigures RunSerialClient(GrpcOrchestratorClient& client, int n, int batch) {
  const absl::Time t0 = absl::Now();
  const double c0 = CpuSeconds();
  int done = 0;
  int64_t polls = 0;
  while (done < n) {
    auto polled = client.BatchPoll({.task_type = "bench_noop",
                                    .worker_id = "bench-serial",
                                    .count = batch,
                                    .timeout = absl::Milliseconds(100)});
    Check(polled.status(), "BatchPoll");
    ++polls;
    for (const auto& task : *polled) {
      conductor::proto::TaskResult r;
      r.set_task_id(task.task_id());
      r.set_workflow_instance_id(task.workflow_instance_id());
      r.set_worker_id("bench-serial");
      r.set_status(conductor::proto::TaskResult::COMPLETED);
      Check(client.UpdateTask(r), "UpdateTask");
      ++done;
    }
  }
  return {absl::ToDoubleSeconds(absl::Now() - t0), CpuSeconds() - c0, polls};
}

PhaseFigures RunOrchestratorBenchClient(const std::string& address, int n, int batch) {
  auto stub = conductor::grpc::tasks::TaskService::NewStub(
      ::grpc::CreateChannel(address, ::grpc::InsecureChannelCredentials()));
  {
    // Connect before the clock starts, as the other phases do.
    conductor::grpc::tasks::GetTaskRequest req;
    req.set_task_id("warm-up");
    conductor::grpc::tasks::GetTaskResponse resp;
    ::grpc::ClientContext ctx;
    (void)stub->GetTask(&ctx, req, &resp);
  }
  const absl::Time t0 = absl::Now();
  const double c0 = CpuSeconds();
  const std::atomic<bool> stop{false};
  std::atomic<int64_t> completed{0};
  cmig::bench::RunMinimalClient(*stub,
                                {.task_type = "bench_noop",
                                 .worker_id = "bench-minimal",
                                 .batch = batch,
                                 .poll_timeout = absl::Milliseconds(100),
                                 .max_tasks = n},
                                stop, completed);
  const PhaseFigures figures{absl::ToDoubleSeconds(absl::Now() - t0), CpuSeconds() - c0, 0};
  if (completed.load() != n) {
    std::fprintf(stderr, "minimal client: %lld of %d updates accepted\n",
                 static_cast<long long>(completed.load()), n);
    std::exit(1);
  }
  return figures;
}

// One worker runtime from start to the last result.
// With `health`, a grpc health server runs in the process throughout.
PhaseFigures RunWorker(GrpcOrchestratorClient& client, int n, int threads, bool health) {
  std::unique_ptr<cmig::worker::GrpcHealthServer> health_server;
  if (health) {
    auto started = cmig::worker::GrpcHealthServer::Start("127.0.0.1", 0);
    Check(started.status(), "health server");
    health_server = *std::move(started);
  }
  cmig::tasks::HandlerRegistry registry;
  auto noop_owned = std::make_unique<Noop>(n);
  Noop& noop = *noop_owned;
  Check(registry.Register("bench_noop", std::move(noop_owned)), "register");
  cmig::worker::WorkerOptions wo;
  wo.worker_id = "bench-worker";
  wo.defaults.threads = threads;
  wo.poll_timeout = absl::Milliseconds(100);
  cmig::worker::WorkerMetrics metrics;
  cmig::worker::Worker worker(client, registry, wo, &metrics);
  const absl::Time t0 = absl::Now();
  const double c0 = CpuSeconds();
  Check(worker.Start(), "worker start");
  noop.WaitForAll();
  // Then the last few results are still on their way: a short wait.
  cmig::testing::WaitFor([&] { return worker.in_flight() == 0; }, absl::InfiniteDuration(),
                         absl::Microseconds(100));
  const PhaseFigures figures{absl::ToDoubleSeconds(absl::Now() - t0), CpuSeconds() - c0,
                             metrics.Count("task_poll_counter", "bench_noop")};
  Check(worker.Shutdown(absl::Seconds(10)), "worker shutdown");
  return figures;
}

// The --phase process: runs one phase and prints "wall_s cpu_s polls".
int RunPhase(const std::string& phase, const std::string& address, int n, int threads) {
  PhaseFigures figures;
  if (phase == "minimal") {
    figures = RunOrchestratorBenchClient(address, n, threads);
  } else {
    const bool is_worker = phase == "worker" || phase == "worker_health";
    if (is_worker) cmig::worker::SelectPerQueuePolling();
    cmig::client::ClientOptions options;
    options.address = address;
    auto client = GrpcOrchestratorClient::Create(options);
    Check(client.status(), "client");
    (void)(*client)->GetTask("warm-up");
    if (phase == "serial") {
      figures = RunSerialClient(**client, n, threads);
    } else if (is_worker) {
      figures = RunWorker(**client, n, threads, phase == "worker_health");
    } else {
      std::fprintf(stderr, "--phase: unknown phase \"%s\"\n", phase.c_str());
      return 2;
    }
  }
  std::printf("%.9f %.9f %lld\n", figures.wall_s, figures.cpu_s,
              static_cast<long long>(figures.polls));
  return 0;
}

// Runs `phase` on `n` freshly queued tasks in a process of its own.
Phase SpawnPhase(GrpcOrchestratorClient& client, const std::string& phase,
                 const std::string& address, pid_t orchestrator, int n, int threads,
                 int64_t* polls = nullptr) {
  QueueTasks(client, n);
  int out[2];
  if (pipe(out) != 0) std::exit(1);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {self, "--phase=" + phase, "--address=" + address,
                                   absl::StrCat("--tasks=", n),
                                   absl::StrCat("--threads=", threads)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const double o0 = ProcessCpuSeconds(orchestrator);
  pid_t child = 0;
  if (posix_spawn(&child, self.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start the %s phase\n", phase.c_str());
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string line;
  char buf[256];
  for (ssize_t got; (got = read(out[0], buf, sizeof(buf))) > 0;) line.append(buf, got);
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  Phase result{0, 0, n, ProcessCpuSeconds(orchestrator) - o0};
  long long phase_polls = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      std::sscanf(line.c_str(), "%lf %lf %lld", &result.wall_s, &result.cpu_s, &phase_polls) != 3) {
    std::fprintf(stderr, "the %s phase failed\n", phase.c_str());
    std::exit(1);
  }
  if (polls != nullptr) *polls += phase_polls;
  return result;
}

double CpuPerOp(const Phase& p) { return p.cpu_s / p.n; }

// The round with the median CPU per operation.
Phase Median(std::vector<Phase> phases) {
  std::sort(phases.begin(), phases.end(),
            [](const Phase& a, const Phase& b) { return CpuPerOp(a) < CpuPerOp(b); });
  return phases[phases.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  // As the orchestrator and migration-worker binaries run: without Abseil's
  // lock-order graph, which Debian's build keeps on by default.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int n = absl::GetFlag(FLAGS_tasks);
  const int threads = absl::GetFlag(FLAGS_threads);
  if (const std::string phase = absl::GetFlag(FLAGS_phase); !phase.empty()) {
    return RunPhase(phase, absl::GetFlag(FLAGS_address), n, threads);
  }

  const std::string dir =
      absl::StrCat(std::filesystem::temp_directory_path().string(), "/worker_bench_", getpid());
  std::filesystem::create_directories(dir);
  int port_pipe[2];
  if (pipe(port_pipe) != 0) return 1;
  // Fork before any gRPC state exists in this process.
  pid_t orchestrator = fork();
  if (orchestrator == 0) {
    close(port_pipe[0]);
    cmig::orchestrator::ServerOptions options;
    options.db_path = dir + "/bench.db";
    auto server = cmig::orchestrator::OrchestratorServer::Start(options);
    if (!server.ok()) _exit(1);
    int port = (*server)->port();
    if (write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) _exit(1);
    (*server)->Wait();
    _exit(0);
  }
  close(port_pipe[1]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof(port)) != sizeof(port)) {
    std::fprintf(stderr, "orchestrator did not start\n");
    return 1;
  }
  const std::string address = absl::StrCat("127.0.0.1:", port);

  cmig::client::ClientOptions options;
  options.address = address;
  auto client_or = GrpcOrchestratorClient::Create(options);
  Check(client_or.status(), "client");
  GrpcOrchestratorClient& client = **client_or;
  auto task_def = cmig::TaskDefFromConductorJson(
      R"({"name":"bench_noop","retryCount":0,"responseTimeoutSeconds":600})", nullptr);
  Check(task_def.status(), "task def");
  Check(client.CreateTaskDefs({*task_def}), "CreateTasks");
  auto wf = cmig::WorkflowDefFromConductorJson(
      R"({"name":"bench_wf","version":1,"schemaVersion":2,"tasks":[
          {"name":"bench_noop","taskReferenceName":"noop","type":"SIMPLE"}]})",
      nullptr);
  Check(wf.status(), "workflow def");
  Check(client.CreateWorkflowDef(*wf), "CreateWorkflow");

  // 1. Bare unary round trip.
  const int round_trips = absl::GetFlag(FLAGS_round_trips);
  (void)client.GetTask("warm-up");
  absl::Time t0 = absl::Now();
  double c0 = CpuSeconds();
  for (int i = 0; i < round_trips; ++i) (void)client.GetTask("no-such-task");
  const Phase unary{absl::ToDoubleSeconds(absl::Now() - t0), CpuSeconds() - c0, round_trips};

  // 2 to 5, alternated.
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  std::vector<Phase> serial_rounds;
  std::vector<Phase> minimal_rounds;
  std::vector<Phase> worker_rounds;
  std::vector<Phase> health_rounds;
  int64_t worker_polls = 0;
  for (int round = 0; round < rounds; ++round) {
    serial_rounds.push_back(SpawnPhase(client, "serial", address, orchestrator, n, threads));
    minimal_rounds.push_back(SpawnPhase(client, "minimal", address, orchestrator, n, threads));
    worker_rounds.push_back(
        SpawnPhase(client, "worker", address, orchestrator, n, threads, &worker_polls));
    health_rounds.push_back(
        SpawnPhase(client, "worker_health", address, orchestrator, n, threads, &worker_polls));
  }

  // 6. Idle RSS of a worker process.
  long idle_rss_kb = -1;
  const std::string binary = std::string(CMIG_BINARY_DIR) + "/tests/worker/worker_test_binary";
  if (std::filesystem::exists(binary)) {
    const std::string server_flag = "--server=" + address;
    pid_t w = fork();
    if (w == 0) {
      execl(binary.c_str(), binary.c_str(), server_flag.c_str(), "--register_definitions=false",
            "--health_port=0", "--metrics_port=0", "--metrics_address=127.0.0.1",
            "--log_level=error", static_cast<char*>(nullptr));
      _exit(127);
    }
    absl::SleepFor(absl::Seconds(2));  // settle: a few idle long polls
    idle_rss_kb = RssKb(w);
    kill(w, SIGTERM);
    waitpid(w, nullptr, 0);
  }
  kill(orchestrator, SIGKILL);
  waitpid(orchestrator, nullptr, 0);
  std::filesystem::remove_all(dir);

  std::printf("worker_bench: %d tasks per phase, %d slots, loopback, %ld CPUs\n", n, threads,
              sysconf(_SC_NPROCESSORS_ONLN));
  Print("bare unary round trip (GetTask)", unary);
  std::vector<double> ratios;
  std::vector<double> health_ratios;
  for (int round = 0; round < rounds; ++round) {
    std::printf("round %d\n", round + 1);
    Print("  serial poll/update client", serial_rounds[round]);
    Print("  minimal client (orchestrator_bench)", minimal_rounds[round]);
    Print("  worker runtime, no-op handler", worker_rounds[round]);
    Print("  worker runtime + grpc health server", health_rounds[round]);
    ratios.push_back(CpuPerOp(worker_rounds[round]) / CpuPerOp(minimal_rounds[round]) - 1);
    health_ratios.push_back(CpuPerOp(health_rounds[round]) / CpuPerOp(minimal_rounds[round]) - 1);
  }
  const Phase serial = Median(serial_rounds);
  const Phase minimal = Median(minimal_rounds);
  const Phase worker_phase = Median(worker_rounds);
  const Phase health_phase = Median(health_rounds);
  std::printf("median of %d rounds\n", rounds);
  Print("  serial poll/update client", serial);
  Print("  minimal client (orchestrator_bench)", minimal);
  Print("  worker runtime, no-op handler", worker_phase);
  Print("  worker runtime + grpc health server", health_phase);
  const auto vs_minimal = [&](const char* name, const Phase& p, std::vector<double> r) {
    std::sort(r.begin(), r.end());
    std::printf(
        "%s CPU per task vs minimal client: %+.1f%% (medians; single rounds from %+.1f%% to "
        "%+.1f%%; target <= +30%%)\n",
        name, (CpuPerOp(p) / CpuPerOp(minimal) - 1) * 100, r.front() * 100, r.back() * 100);
  };
  vs_minimal("worker", worker_phase, ratios);
  vs_minimal("worker + health", health_phase, health_ratios);
  std::printf("worker CPU per task vs serial client: %+.1f%% (medians)\n",
              (CpuPerOp(worker_phase) / CpuPerOp(serial) - 1) * 100);
  std::printf("worker BatchPolls per task: %.2f\n",
              static_cast<double>(worker_polls) / (2.0 * n * rounds));
  std::printf("worker CPU per task in bare round trips: %.2f\n",
              CpuPerOp(worker_phase) / CpuPerOp(unary));
  if (idle_rss_kb >= 0) {
    std::printf("idle worker RSS, metrics and health served: %.1f MB (target < 30 MB)\n",
                idle_rss_kb / 1024.0);
  } else {
    std::printf("idle worker RSS: n/a (build worker_test_binary)\n");
  }
  return 0;
}
