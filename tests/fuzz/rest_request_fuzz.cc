// A request to the REST API, as the HTTP server hands it over once Beast parsed the bytes: the
// method, path, query and body come from the input (separated by NUL bytes), and the request goes
// through authentication, routing, path and query parameters, JSON bodies and the engine of one
// orchestrator (a database in a temporary directory, kept across inputs). Every request is
// answered, with a status from 200 to 599, within ten seconds: none crashes or stalls the server.
// Nor may a request leave the server holding what protobuf refuses to write (it logs an error,
// as for text that is not UTF-8): that stops the run too.
// The two routes that reach other servers (testing an environment, reading a migration's incoming
// workflow) are left out: an input must not make the fuzzer open connections elsewhere.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "orchestrator/auth.h"
#include "orchestrator/clock.h"
#include "orchestrator/engine.h"
#include "orchestrator/extensions.h"
#include "orchestrator/http_server.h"
#include "orchestrator/rest_api.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/store.h"
#include "spdlog/spdlog.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace cmig::orchestrator;  // NOLINT(google-build-using-namespace)

// One orchestrator for many inputs, as a server keeps its state across requests; replaced by a
// fresh one every kInputsPerOrchestrator inputs, so that what the inputs create (workflows,
// definitions, logs) does not grow without bound over a run of millions.
constexpr int kInputsPerOrchestrator = 5000;

struct Orchestrator {
  Orchestrator() {
    spdlog::set_level(spdlog::level::off);
    std::string tmpl = (std::filesystem::temp_directory_path() / "cmig-rest-fuzz-XXXXXX").string();
    dir = mkdtemp(tmpl.data());
    Current() = dir;
    store = *Store::Open(dir + "/o.db");
    engine = *Engine::Create(*store, clock, /*system_clock=*/true);
    // Schedules are kept, listed and previewed; none runs (no thread), so no input starts
    // workflows on its own later.
    scheduler = *Scheduler::Open(dir + "/o.db", *engine, clock, {.run_thread = false});
    RestOptions options;
    options.scheduler = scheduler.get();
    options.extensions = *ExtensionStore::Open(dir + "/o.db");
    options.max_package_bytes = int64_t{1} << 20;
    options.wait_limit_ms = 0;  // an empty poll or a watch is answered at once, not after a wait
    handler = MakeRestHandler(*engine, auth, options);
  }
  ~Orchestrator() {
    handler = nullptr;  // holds the extension store
    scheduler.reset();
    engine.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // The directory of the orchestrator in use, removed at exit.
  static std::string& Current() {
    static std::string* const current = [] {
      std::atexit([] { std::filesystem::remove_all(Current()); });
      return new std::string();
    }();
    return *current;
  }

  std::string dir;
  SystemClock clock;
  std::unique_ptr<Store> store;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Scheduler> scheduler;
  Authenticator auth;  // no tokens: every request is let in, as with authentication off
  HttpHandler handler;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool protobuf_errors_stop = [] {
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel level, const char*, int, const std::string&) {
          if (level >= google::protobuf::LOGLEVEL_ERROR) cmig::fuzz::Violated();
        });
    return true;
  }();
  (void)protobuf_errors_stop;
  static Orchestrator* server = nullptr;  // left to the exit, as a server's state is
  static int inputs = 0;
  if (inputs++ % kInputsPerOrchestrator == 0) {
    delete server;
    server = new Orchestrator();
  }
  auto [method, rest] = cmig::fuzz::SplitAtNul(cmig::fuzz::Text(data, size));
  auto [path, rest2] = cmig::fuzz::SplitAtNul(rest);
  auto [query, body] = cmig::fuzz::SplitAtNul(rest2);
  if (absl::EndsWith(path, "/test") || absl::StrContains(path, "/incoming")) return 0;
  HttpRequest request;
  request.method = std::string(method);
  request.path = std::string(path);
  request.query = std::string(query);
  request.body = std::string(body);
  request.headers.emplace_back("content-type", "application/json");
  auto answered = std::make_shared<absl::Notification>();
  auto status = std::make_shared<int>(0);
  server->handler(std::move(request), [answered, status](HttpResponse response) {
    *status = response.status;
    answered->Notify();
  });
  if (!answered->WaitForNotificationWithTimeout(absl::Seconds(10))) cmig::fuzz::Violated();
  if (*status < 200 || *status > 599) cmig::fuzz::Violated();
  return 0;
}
