// The embedded conductor-style orchestrator as one object: Conductor's gRPC
// API (MetadataService, WorkflowService, TaskService), the project's extension
// services (cmig.v1.DefinitionCatalog, Environments, Secrets, BlobStore,
// DefinitionAdmin; off with ServerOptions::conductor_api_only) and
// grpc.health.v1, served from a SQLite file.
//
//   cmig::orchestrator::ServerOptions options;
//   options.db_path = "/tmp/orchestrator.db";
//   ASSIGN_OR_RETURN(auto server, cmig::orchestrator::OrchestratorServer::Start(options));
//   auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
//   ...
//   server->Shutdown();
//
// State survives restarts: starting a server on the same db_path continues the
// running workflows, re-queues their tasks and re-arms their timers.
#ifndef CMIG_ORCHESTRATOR_SERVER_H_
#define CMIG_ORCHESTRATOR_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "orchestrator/clock.h"
#include "orchestrator/engine.h"
#include "orchestrator/scheduler.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace cmig::orchestrator {

struct ServerOptions {
  std::string db_path;                         // SQLite file (WAL); created if absent
  std::string listen_address = "127.0.0.1:0";  // port 0 = pick a free port
  // Conductor's REST API (rest_api.h) on this host:port, with the same tokens and TLS as gRPC;
  // empty = no HTTP listener.
  std::string http_listen_address;
  std::string tokens_file;                  // optional; one bearer token per line; empty = no auth
  std::string tls_cert_file, tls_key_file;  // optional; both set = TLS
  // Serve Conductor's gRPC services and health only, without the project's extensions
  // (cmig.v1 DefinitionCatalog, Environments, Secrets, BlobStore, DefinitionAdmin): their calls
  // then answer UNIMPLEMENTED, exactly as a conductor-oss server does. A stand-in for a plain
  // Conductor server in tests; the extension tables are not opened.
  bool conductor_api_only = false;
  // Optional, not owned, must outlive the server; null = the system clock. A
  // clock other than the system clock is re-read by timers every 10 ms.
  const Clock* clock = nullptr;
  // Bounds on what definitions make the engine do.
  EngineLimits limits;
  // Optional: replaces how INLINE scripts run (Engine::InlineRunner); tests only.
  Engine::InlineRunner inline_runner;
  // How long a token handed out for an access key (POST /api/token) stays valid.
  absl::Duration token_ttl = absl::Hours(1);
  // The largest package (blob) the package store accepts.
  int64_t max_package_bytes = int64_t{256} << 20;
};

class Engine;
class Store;
class Authenticator;
class HttpServer;
class IssuedTokens;

// Thread-safe. Serves on gRPC's callback threads plus one committer thread
// (group commits) and one timer thread.
class OrchestratorServer {
 public:
  // Opens the database, recovers its state and starts serving.
  // INVALID_ARGUMENT for bad options (no db_path, only one of cert/key, a tokens
  // file without tokens); UNAVAILABLE when the address cannot be bound or the
  // database cannot be opened.
  static absl::StatusOr<std::unique_ptr<OrchestratorServer>> Start(const ServerOptions& options);
  ~OrchestratorServer();
  OrchestratorServer(const OrchestratorServer&) = delete;
  OrchestratorServer& operator=(const OrchestratorServer&) = delete;

  int port() const;
  std::string address() const;       // "127.0.0.1:<port>"
  int http_port() const;             // 0 without an HTTP listener
  std::string http_address() const;  // "http(s)://127.0.0.1:<port>", empty without one
  // Answers parked polls, stops accepting calls, waits for in-flight calls and
  // pending commits. Idempotent; also called by the destructor. Blocks.
  void Shutdown();
  // Blocks until Shutdown() was called (from another thread).
  void Wait();

 private:
  OrchestratorServer() = default;

  std::unique_ptr<SystemClock> system_clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<IssuedTokens> issued_;
  std::vector<std::unique_ptr<::grpc::Service>> services_;
  std::unique_ptr<::grpc::Server> server_;
  // Reset last in Shutdown: answers the engine gives while shutting down go through it.
  std::unique_ptr<HttpServer> http_;
  bool https_ = false;
  int port_ = 0;
  absl::Mutex shutdown_mu_;  // serialises Shutdown()
  absl::Notification shut_down_;
};

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SERVER_H_
