// Runs no-op SIMPLE tasks through a durable OrchestratorServer over loopback
// with a minimal poll/update client, and measures a bare unary gRPC ping-pong
// in the same process for scale.
//
//   orchestrator_bench --tasks=20000 --rate=1000 --rate_seconds=5
//
// Prints: bare RPC latency and throughput; tasks/s (10-task workflows, starts
// included); schedule-to-start p50/p99 at a fixed offered rate (server
// timestamps, ms) and start-call-to-delivery p50/p99 (client clock, us); the
// per-task cost as a multiple of one bare RPC; the same no-op tasks polled and updated over
// Conductor's REST API (HTTP/1.1 keep-alive, libcurl) beside the gRPC figure.
#include <curl/curl.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "benchmarks/common/minimal_client.h"
#include "conductor/grpc/metadata_service.grpc.pb.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "conductor/grpc/workflow_service.grpc.pb.h"
#include "definitions/json.h"
#include "orchestrator/server.h"
#include "spdlog/spdlog.h"
#include "tests/testing/wait_for.h"

ABSL_FLAG(int, tasks, 20000, "tasks in the throughput run (10 per workflow)");
ABSL_FLAG(int, workers, 4, "poller threads");
ABSL_FLAG(int, batch, 32, "BatchPoll count");
ABSL_FLAG(int, rate, 1000, "offered tasks per second in the latency run");
ABSL_FLAG(int, rate_seconds, 5, "duration of the latency run");
ABSL_FLAG(int, bare_calls, 20000, "bare RPCs for the throughput comparison");
ABSL_FLAG(std::string, dir, "", "directory for the database (default: a temp dir)");

namespace {

namespace md = conductor::grpc::metadata;
namespace ts = conductor::grpc::tasks;
namespace ws = conductor::grpc::workflows;
using conductor::proto::Task;

std::chrono::system_clock::time_point Deadline(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

// --- bare ping-pong -------------------------------------------------------

class EchoService final : public ::grpc::CallbackGenericService {
  ::grpc::ServerGenericBidiReactor* CreateReactor(::grpc::GenericCallbackServerContext*) override {
    class Reactor final : public ::grpc::ServerGenericBidiReactor {
     public:
      Reactor() { StartRead(&buf_); }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(::grpc::Status::OK);
          return;
        }
        StartWriteAndFinish(&buf_, ::grpc::WriteOptions(), ::grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      ::grpc::ByteBuffer buf_;
    };
    return new Reactor;
  }
};

struct BareFigures {
  double latency_us_p50 = 0, latency_us_mean = 0, rps = 0;
};

BareFigures MeasureBare(int calls, int concurrency) {
  EchoService echo;
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&echo);
  auto server = builder.BuildAndStart();
  auto channel =
      ::grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), ::grpc::InsecureChannelCredentials());
  ::grpc::GenericStub stub(channel);
  std::string payload(64, 'x');
  auto call = [&](std::function<void(::grpc::Status)> done, ::grpc::ClientContext* ctx,
                  ::grpc::ByteBuffer* req, ::grpc::ByteBuffer* resp) {
    stub.UnaryCall(ctx, "/bench.Echo/Ping", ::grpc::StubOptions(), req, resp, std::move(done));
  };
  BareFigures out;
  // Sequential: latency of one round trip.
  std::vector<double> lat;
  for (int i = 0; i < 3000; ++i) {
    ::grpc::Slice s(payload);
    ::grpc::ByteBuffer req(&s, 1), resp;
    ::grpc::ClientContext ctx;
    absl::Notification n;
    absl::Time t0 = absl::Now();
    call([&](::grpc::Status) { n.Notify(); }, &ctx, &req, &resp);
    n.WaitForNotification();
    if (i >= 500) lat.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
  }
  out.latency_us_p50 = Percentile(lat, 0.5);
  double sum = 0;
  for (double d : lat) sum += d;
  out.latency_us_mean = sum / lat.size();
  // Concurrent: round trips per second with `concurrency` calls in flight.
  absl::Mutex mu;
  int started = 0, finished = 0;
  struct Call {
    ::grpc::ClientContext ctx;
    ::grpc::ByteBuffer req, resp;
  };
  std::function<void()> launch = [&] {
    auto* c = new Call;
    ::grpc::Slice s(payload);
    c->req = ::grpc::ByteBuffer(&s, 1);
    call(
        [&, c](::grpc::Status) {
          delete c;
          bool again = false;
          {
            absl::MutexLock l(&mu);
            ++finished;
            if (started < calls) {
              ++started;
              again = true;
            }
          }
          if (again) launch();
        },
        &c->ctx, &c->req, &c->resp);
  };
  absl::Time t0 = absl::Now();
  {
    absl::MutexLock l(&mu);
    started = concurrency;
  }
  for (int i = 0; i < concurrency; ++i) launch();
  {
    absl::MutexLock l(&mu);
    mu.Await(absl::Condition(
        +[](int* f) { return *f >= 0; }, &finished));
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return finished >= calls; };
    mu.Await(absl::Condition(&done));
  }
  out.rps = calls / absl::ToDoubleSeconds(absl::Now() - t0);
  server->Shutdown(Deadline(1));
  return out;
}

// --- orchestrator client ----------------------------------------------------

struct Orchestrator {
  explicit Orchestrator(std::shared_ptr<::grpc::Channel> ch)
      : metadata(md::MetadataService::NewStub(ch)),
        workflows(ws::WorkflowService::NewStub(ch)),
        tasks(ts::TaskService::NewStub(ch)) {}
  std::unique_ptr<md::MetadataService::Stub> metadata;
  std::unique_ptr<ws::WorkflowService::Stub> workflows;
  std::unique_ptr<ts::TaskService::Stub> tasks;
};

void Define(Orchestrator& o, const std::string& name, int steps) {
  md::CreateTasksRequest treq;
  treq.add_defs()->set_name("noop");
  treq.mutable_defs(0)->set_response_timeout_seconds(600);
  md::CreateTasksResponse tresp;
  ::grpc::ClientContext c1;
  o.metadata->CreateTasks(&c1, treq, &tresp);
  md::UpdateWorkflowsRequest req;
  auto* def = req.add_defs();
  def->set_name(name);
  def->set_version(1);
  for (int i = 0; i < steps; ++i) {
    auto* t = def->add_tasks();
    t->set_name("noop");
    t->set_task_reference_name(absl::StrCat("n", i));
    t->set_type("SIMPLE");
  }
  md::UpdateWorkflowsResponse resp;
  ::grpc::ClientContext c2;
  ::grpc::Status s = o.metadata->UpdateWorkflows(&c2, req, &resp);
  if (!s.ok()) spdlog::error("define {}: {}", name, s.error_message());
}

// The minimal client polling `noop` in batches of `batch` until `stop`.
void WorkerLoop(Orchestrator& o, int batch, const std::atomic<bool>& stop,
                std::atomic<int64_t>& completed,
                std::function<void(const Task&, absl::Time)> on_task) {
  cmig::bench::RunMinimalClient(
      *o.tasks, {.task_type = "noop", .batch = batch, .on_task = std::move(on_task)}, stop,
      completed);
}

// Starts `count` workflows of `name` with at most `in_flight` StartWorkflow
// calls outstanding; `interval` > 0 paces starts at a fixed rate instead.
void StartWorkflows(Orchestrator& o, const std::string& name, int count, int in_flight,
                    absl::Duration interval, std::vector<absl::Time>* sent) {
  absl::Mutex mu;
  int outstanding = 0;
  struct Call {
    ::grpc::ClientContext ctx;
    conductor::proto::StartWorkflowRequest req;
    ws::StartWorkflowResponse resp;
  };
  absl::Time t0 = absl::Now();
  for (int i = 0; i < count; ++i) {
    if (interval > absl::ZeroDuration()) {
      absl::Time due = t0 + interval * i;
      absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
    }
    {
      absl::MutexLock l(&mu);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return outstanding < in_flight; };
      mu.Await(absl::Condition(&room));
      ++outstanding;
    }
    auto* c = new Call;
    c->req.set_name(name);
    c->req.set_correlation_id(absl::StrCat(i));
    c->ctx.set_deadline(Deadline(30));
    if (sent) (*sent)[i] = absl::Now();
    o.workflows->async()->StartWorkflow(&c->ctx, &c->req, &c->resp, [&, c](::grpc::Status s) {
      if (!s.ok()) spdlog::error("start: {}", s.error_message());
      delete c;
      absl::MutexLock l(&mu);
      --outstanding;
    });
  }
  absl::MutexLock l(&mu);
  mu.Await(absl::Condition(
      +[](int* p) { return *p == 0; }, &outstanding));
}

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A poller over Conductor's REST API: batch polls `noop` on one keep-alive connection and
// completes the batch with POST /api/tasks on up to kUpdateConnections keep-alive connections
// at once (HTTP/1.1 answers one request at a time per connection; the gRPC client pipelines its
// updates on one channel), until `stop`.
void RestWorkerLoop(const std::string& base, int batch, const std::atomic<bool>& stop,
                    std::atomic<int64_t>& completed) {
  constexpr int kUpdateConnections = 8;
  std::string poll_body;
  CURL* poll = curl_easy_init();
  curl_easy_setopt(poll, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(poll, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(poll, CURLOPT_WRITEDATA, &poll_body);
  const std::string poll_url =
      absl::StrCat(base, "/api/tasks/poll/batch/noop?count=", batch, "&timeout=100&workerid=rest");
  curl_easy_setopt(poll, CURLOPT_URL, poll_url.c_str());

  curl_slist* json = curl_slist_append(nullptr, "Content-Type: application/json");
  const std::string update_url = base + "/api/tasks";
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(kUpdateConnections));
  struct Update {
    CURL* curl = nullptr;
    std::string request, response;
  };
  std::vector<Update> updates(kUpdateConnections);
  for (Update& u : updates) {
    u.curl = curl_easy_init();
    curl_easy_setopt(u.curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(u.curl, CURLOPT_URL, update_url.c_str());
    curl_easy_setopt(u.curl, CURLOPT_HTTPHEADER, json);
    curl_easy_setopt(u.curl, CURLOPT_WRITEFUNCTION, &AppendBody);
    curl_easy_setopt(u.curl, CURLOPT_WRITEDATA, &u.response);
    // CURLE_OK alone means a response arrived, 4xx and 5xx included; an update counts only if
    // the server accepted it, as the gRPC client counts only OK statuses.
    curl_easy_setopt(u.curl, CURLOPT_FAILONERROR, 1L);
  }
  while (!stop.load()) {
    poll_body.clear();
    if (curl_easy_perform(poll) != CURLE_OK) continue;
    absl::StatusOr<google::protobuf::Value> tasks = cmig::ParseJson(poll_body);
    if (!tasks.ok()) continue;
    const auto& list = tasks->list_value().values();
    for (int first = 0; first < list.size(); first += kUpdateConnections) {
      const int n = std::min<int>(kUpdateConnections, list.size() - first);
      for (int i = 0; i < n; ++i) {
        const auto& f = list[first + i].struct_value().fields();
        Update& u = updates[i];
        u.request =
            absl::StrCat(R"({"taskId":")", f.at("taskId").string_value(),
                         R"(","workflowInstanceId":")", f.at("workflowInstanceId").string_value(),
                         R"(","status":"COMPLETED","outputData":{}})");
        u.response.clear();
        curl_easy_setopt(u.curl, CURLOPT_POSTFIELDS, u.request.c_str());
        curl_easy_setopt(u.curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(u.request.size()));
        curl_multi_add_handle(multi, u.curl);
      }
      int running = n;
      while (running > 0) {
        curl_multi_perform(multi, &running);
        if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
      }
      CURLMsg* msg;
      int left = 0;
      while ((msg = curl_multi_info_read(multi, &left)) != nullptr) {
        if (msg->msg == CURLMSG_DONE && msg->data.result == CURLE_OK) completed.fetch_add(1);
      }
      for (int i = 0; i < n; ++i) curl_multi_remove_handle(multi, updates[i].curl);
    }
  }
  for (Update& u : updates) curl_easy_cleanup(u.curl);
  curl_multi_cleanup(multi);
  curl_slist_free_all(json);
  curl_easy_cleanup(poll);
}

struct Throughput {
  int64_t tasks = 0;
  double seconds = 0;
  double tasks_per_second() const { return tasks / seconds; }
};

// Runs `pollers` copies of `poll(stop, completed)` while n_tasks no-op tasks (10-task workflows)
// are started, until all completed.
template <typename Poll>
Throughput MeasureThroughput(Orchestrator& o, int pollers, int n_tasks, Poll poll) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> completed{0};
  std::vector<std::thread> threads;
  absl::Time t0 = absl::Now();
  for (int i = 0; i < pollers; ++i) threads.emplace_back([&] { poll(stop, completed); });
  StartWorkflows(o, "bench10", n_tasks / 10, 64, absl::ZeroDuration(), nullptr);
  cmig::testing::WaitFor([&] { return completed.load() >= n_tasks / 10 * 10; },
                         absl::InfiniteDuration(), absl::Milliseconds(1));
  Throughput out{completed.load(), absl::ToDoubleSeconds(absl::Now() - t0)};
  stop = true;
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // absl::Mutex's cycle detection costs a few percent on every lock in this
  // Abseil build; tests keep it, the served (and measured) binary does not.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  spdlog::set_level(spdlog::level::warn);
  const int n_tasks = absl::GetFlag(FLAGS_tasks);
  const int workers = absl::GetFlag(FLAGS_workers);
  const int batch = absl::GetFlag(FLAGS_batch);

  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cmig-bench-XXXXXX").string();
    dir = mkdtemp(tmpl.data());
  }
  std::printf("cores: %u\n", std::thread::hardware_concurrency());

  BareFigures bare = MeasureBare(absl::GetFlag(FLAGS_bare_calls), workers * batch);
  std::printf(
      "bare unary RPC: p50 %.1f us, mean %.1f us sequential; %.0f RPC/s with %d in flight\n",
      bare.latency_us_p50, bare.latency_us_mean, bare.rps, workers * batch);

  cmig::orchestrator::ServerOptions options;
  options.db_path = dir + "/bench.db";
  options.http_listen_address = "127.0.0.1:0";
  auto server = cmig::orchestrator::OrchestratorServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  auto channel = ::grpc::CreateChannel((*server)->address(), ::grpc::InsecureChannelCredentials());
  Orchestrator o(channel);
  Define(o, "bench10", 10);
  Define(o, "bench1", 1);

  // Throughput: n_tasks no-op tasks in 10-task workflows, starts included, first with gRPC
  // pollers, then with pollers on Conductor's REST API (starts stay on gRPC).
  const Throughput grpc = MeasureThroughput(o, workers, n_tasks, [&](auto& stop, auto& completed) {
    WorkerLoop(o, batch, stop, completed, nullptr);
  });
  std::printf("throughput: %lld durable tasks in %.2f s = %.0f tasks/s (%d pollers, batch %d)\n",
              static_cast<long long>(grpc.tasks), grpc.seconds, grpc.tasks_per_second(), workers,
              batch);
  std::printf(
      "per-task cost: %.2f bare RPCs (bare RPC/s / tasks/s); wall time per task %.1f us "
      "= %.2f sequential bare round trips\n",
      bare.rps / grpc.tasks_per_second(), 1e6 / grpc.tasks_per_second(),
      (1e6 / grpc.tasks_per_second()) / bare.latency_us_mean);
  const std::string base = (*server)->http_address();
  const Throughput rest = MeasureThroughput(o, workers, n_tasks, [&](auto& stop, auto& completed) {
    RestWorkerLoop(base, batch, stop, completed);
  });
  std::printf(
      "REST throughput: %lld durable tasks in %.2f s = %.0f tasks/s over HTTP/1.1 keep-alive "
      "(%d pollers, batch %d) = %.2f x the gRPC figure\n",
      static_cast<long long>(rest.tasks), rest.seconds, rest.tasks_per_second(), workers, batch,
      rest.tasks_per_second() / grpc.tasks_per_second());

  // Latency at a fixed offered rate: single-task workflows started every 1/rate s.
  {
    const int rate = absl::GetFlag(FLAGS_rate);
    const int count = rate * absl::GetFlag(FLAGS_rate_seconds);
    std::vector<absl::Time> sent(count);
    std::vector<double> server_ms, client_us;
    absl::Mutex mu;
    std::atomic<bool> stop{false};
    std::atomic<int64_t> completed{0};
    std::vector<std::thread> threads;
    auto on_task = [&](const Task& t, absl::Time at) {
      int idx = std::stoi(t.correlation_id());
      absl::MutexLock l(&mu);
      server_ms.push_back(static_cast<double>(t.start_time() - t.scheduled_time()));
      client_us.push_back(absl::ToDoubleMicroseconds(at - sent[idx]));
    };
    for (int i = 0; i < workers; ++i) {
      threads.emplace_back([&] { WorkerLoop(o, 1, stop, completed, on_task); });
    }
    StartWorkflows(o, "bench1", count, 1000, absl::Seconds(1) / rate, &sent);
    cmig::testing::WaitFor([&] { return completed.load() >= count; }, absl::Seconds(30),
                           absl::Milliseconds(1));
    stop = true;
    for (auto& t : threads) t.join();
    absl::MutexLock l(&mu);
    std::printf(
        "latency at %d tasks/s offered (%d tasks): schedule-to-start p50 %.0f ms, p99 %.0f "
        "ms (server clock, ms resolution); StartWorkflow-sent to task-received p50 %.0f us, "
        "p99 %.0f us\n",
        rate, count, Percentile(server_ms, 0.5), Percentile(server_ms, 0.99),
        Percentile(client_us, 0.5), Percentile(client_us, 0.99));
  }
  (*server)->Shutdown();
  if (absl::GetFlag(FLAGS_dir).empty()) std::filesystem::remove_all(dir);
  return 0;
}
