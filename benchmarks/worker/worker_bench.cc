// worker_bench: what the worker runtime costs per task.
//
// The embedded orchestrator runs in a forked child process so this process's
// CPU time (getrusage) is the client side only. Measurements against the same
// orchestrator:
//   1. bare unary round trip: GetTask of an unknown id, one call at a time;
//   2. minimal client: one thread, BatchPoll(count=N) then UpdateTask
//      COMPLETED for each task, nothing else (the floor for any worker);
//   3. the worker runtime: no-op handlers, `--threads` slots.
// Phases 2 and 3 alternate for `--rounds` rounds, so both see the same
// machine load and the same orchestrator database size; the comparison uses
// the median of each. Tasks are queued (one workflow of one SIMPLE task each)
// before each timed phase so starting workflows is not counted. Last, the idle
// RSS of a worker process (tests/worker/worker_test_binary) polling an empty
// queue.
#include <signal.h>
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
#include "client/grpc_client.h"
#include "orchestrator/server.h"
#include "spdlog/spdlog.h"
#include "tasks/conductor_json.h"
#include "worker/worker.h"

ABSL_FLAG(int, tasks, 3000, "Tasks per measured phase.");
ABSL_FLAG(int, threads, 8, "Worker slots (and the minimal client's batch size).");
ABSL_FLAG(int, round_trips, 3000, "Bare unary calls.");
ABSL_FLAG(int, rounds, 5, "Rounds of the minimal client and the worker, alternated.");

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

Phase RunMinimalClient(GrpcOrchestratorClient& client, pid_t orchestrator, int n, int batch) {
  QueueTasks(client, n);
  const double o0 = ProcessCpuSeconds(orchestrator);
  const absl::Time t0 = absl::Now();
  const double c0 = CpuSeconds();
  int done = 0;
  while (done < n) {
    auto polled = client.BatchPoll({.task_type = "bench_noop",
                                    .worker_id = "bench-minimal",
                                    .count = batch,
                                    .timeout = absl::Milliseconds(100)});
    Check(polled.status(), "BatchPoll");
    for (const auto& task : *polled) {
      conductor::proto::TaskResult r;
      r.set_task_id(task.task_id());
      r.set_workflow_instance_id(task.workflow_instance_id());
      r.set_worker_id("bench-minimal");
      r.set_status(conductor::proto::TaskResult::COMPLETED);
      Check(client.UpdateTask(r), "UpdateTask");
      ++done;
    }
  }
  return {absl::ToDoubleSeconds(absl::Now() - t0), CpuSeconds() - c0, n,
          ProcessCpuSeconds(orchestrator) - o0};
}

// One worker runtime from start to the last result; adds its BatchPolls to
// `polls`.
Phase RunWorker(GrpcOrchestratorClient& client, pid_t orchestrator, int n, int threads,
                int64_t& polls) {
  QueueTasks(client, n);
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
  const double o0 = ProcessCpuSeconds(orchestrator);
  const absl::Time t0 = absl::Now();
  const double c0 = CpuSeconds();
  Check(worker.Start(), "worker start");
  noop.WaitForAll();
  // Then the last few results are still on their way: a short wait.
  while (worker.in_flight() > 0) {
    absl::SleepFor(absl::Microseconds(100));
  }
  const Phase phase{absl::ToDoubleSeconds(absl::Now() - t0), CpuSeconds() - c0, n,
                    ProcessCpuSeconds(orchestrator) - o0};
  polls += metrics.Count("task_poll_counter", "bench_noop");
  Check(worker.Shutdown(absl::Seconds(10)), "worker shutdown");
  return phase;
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

  // 2 and 3, alternated.
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  std::vector<Phase> minimal_rounds;
  std::vector<Phase> worker_rounds;
  int64_t worker_polls = 0;
  for (int round = 0; round < rounds; ++round) {
    minimal_rounds.push_back(RunMinimalClient(client, orchestrator, n, threads));
    worker_rounds.push_back(RunWorker(client, orchestrator, n, threads, worker_polls));
  }

  // 4. Idle RSS of a worker process.
  long idle_rss_kb = -1;
  const std::string binary = std::string(CMIG_BINARY_DIR) + "/tests/worker/worker_test_binary";
  if (std::filesystem::exists(binary)) {
    const std::string server_flag = "--server=" + address;
    pid_t w = fork();
    if (w == 0) {
      execl(binary.c_str(), binary.c_str(), server_flag.c_str(), "--register_definitions=false",
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
  for (int round = 0; round < rounds; ++round) {
    const Phase& m = minimal_rounds[round];
    const Phase& w = worker_rounds[round];
    std::printf("round %d\n", round + 1);
    Print("  minimal poll/update client", m);
    Print("  worker runtime, no-op handler", w);
    ratios.push_back(CpuPerOp(w) / CpuPerOp(m) - 1);
  }
  const Phase minimal = Median(minimal_rounds);
  const Phase worker_phase = Median(worker_rounds);
  std::printf("median of %d rounds\n", rounds);
  Print("  minimal poll/update client", minimal);
  Print("  worker runtime, no-op handler", worker_phase);
  std::sort(ratios.begin(), ratios.end());
  std::printf(
      "worker CPU per task vs minimal client: %+.1f%% (median; rounds from %+.1f%% to "
      "%+.1f%%; target <= +30%%)\n",
      (CpuPerOp(worker_phase) / CpuPerOp(minimal) - 1) * 100, ratios.front() * 100,
      ratios.back() * 100);
  std::printf("worker BatchPolls per task: %.2f\n",
              static_cast<double>(worker_polls) / (static_cast<double>(n) * rounds));
  std::printf("worker CPU per task in bare round trips: %.2f\n",
              CpuPerOp(worker_phase) / CpuPerOp(unary));
  if (idle_rss_kb >= 0) {
    std::printf("idle worker RSS: %.1f MB (target < 30 MB)\n", idle_rss_kb / 1024.0);
  } else {
    std::printf("idle worker RSS: n/a (build worker_test_binary)\n");
  }
  return 0;
}
