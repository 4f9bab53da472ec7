#include "orchestrator/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "orchestrator/auth.h"
#include "orchestrator/engine.h"
#include "orchestrator/extensions.h"
#include "orchestrator/http_server.h"
#include "orchestrator/rest_api.h"
#include "orchestrator/schedule_service.h"
#include "orchestrator/services.h"
#include "orchestrator/store.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {
namespace {

namespace gx = ::grpc::experimental;

// A request gRPC cannot parse (malformed, or nested deeper than protobuf's parsing limit of 100)
// would be answered UNIMPLEMENTED with no message, as if the method did not exist: answer
// INVALID_ARGUMENT saying why instead.
class UnparsedRequestInterceptor final : public gx::Interceptor {
 public:
  explicit UnparsedRequestInterceptor(const char* method)
      : method_(method != nullptr ? method : "") {}

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsed_ = true;
    }
    if (unparsed_ &&
        methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(::grpc::Status(
          ::grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("the request to ", method_,
                       " does not parse: it is malformed, or nested deeper than the 100 levels "
                       "protobuf reads")));
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  bool unparsed_ = false;
};

class UnparsedRequestInterceptorFactory final : public gx::ServerInterceptorFactoryInterface {
 public:
  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    return new UnparsedRequestInterceptor(info->method());
  }
};

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<OrchestratorServer>> OrchestratorServer::Start(
    const ServerOptions& options) {
  if (options.db_path.empty()) return absl::InvalidArgumentError("ServerOptions.db_path is empty");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate file and a key file");
  }
  std::unique_ptr<OrchestratorServer> s(new OrchestratorServer());
  s->auth_ = std::make_unique<Authenticator>();
  if (!options.tokens_file.empty()) {
    ASSIGN_OR_RETURN(Authenticator auth, Authenticator::FromFile(options.tokens_file));
    *s->auth_ = std::move(auth);
  }
  std::optional<TlsKeyPair> tls;
  if (!options.tls_cert_file.empty()) {
    tls.emplace();
    ASSIGN_OR_RETURN(tls->cert_pem, ReadFile(options.tls_cert_file, "TLS certificate"));
    ASSIGN_OR_RETURN(tls->key_pem, ReadFile(options.tls_key_file, "TLS key"));
  }
  const Clock* clock = options.clock;
  if (clock == nullptr) {
    s->system_clock_ = std::make_unique<SystemClock>();
    clock = s->system_clock_.get();
  }
  ASSIGN_OR_RETURN(s->store_, Store::Open(options.db_path));
  ASSIGN_OR_RETURN(s->engine_, Engine::Create(*s->store_, *clock, options.clock == nullptr,
                                              options.limits, options.inline_runner));
  SchedulerOptions scheduling;
  if (options.clock != nullptr) scheduling.max_sleep = absl::Milliseconds(10);
  ASSIGN_OR_RETURN(s->scheduler_,
                   Scheduler::Open(options.db_path, *s->engine_, *clock, scheduling));
  s->issued_ = std::make_unique<IssuedTokens>(options.token_ttl, *clock);
  s->auth_->AcceptIssued(s->issued_.get());
  std::vector<NamedService> services = MakeServices(*s->engine_, options.conductor_api_only);
  std::shared_ptr<ExtensionStore> extension_store;
  if (!options.conductor_api_only) {
    ASSIGN_OR_RETURN(extension_store, ExtensionStore::Open(options.db_path));
    ASSIGN_OR_RETURN(
        std::vector<NamedService> extensions,
        MakeExtensionServices(extension_store, *s->engine_, options.max_package_bytes));
    for (auto& svc : extensions) services.push_back(std::move(svc));
    services.push_back(MakeScheduleService(*s->scheduler_));
  }
  // Every service registered here is behind the token check; grpc.health.v1 is not.
  std::vector<std::string> protected_services;
  for (auto& svc : services) {
    protected_services.push_back(svc.name);
    s->services_.push_back(std::move(svc.service));
  }
  std::shared_ptr<::grpc::ServerCredentials> creds =
      AuthenticatingCredentials(*s->auth_, tls, std::move(protected_services));

  ::grpc::EnableDefaultHealthCheckService(true);
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, creds, &s->port_);
  for (auto& svc : s->services_) builder.RegisterService(svc.get());
  // Payloads (migration packages) may exceed gRPC's 4 MB default.
  builder.SetMaxReceiveMessageSize(64 << 20);
  std::vector<std::unique_ptr<gx::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<UnparsedRequestInterceptorFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    s->engine_->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address));
  }
  if (auto* health = s->server_->GetHealthCheckService()) health->SetServingStatus(true);
  if (!options.http_listen_address.empty()) {
    HttpServerOptions http;
    http.listen_address = options.http_listen_address;
    http.tls = tls;
    RestOptions rest;
    rest.conductor_api_only = options.conductor_api_only;
    rest.extensions = extension_store;
    rest.issued_tokens = s->issued_.get();
    rest.max_package_bytes = options.max_package_bytes;
    rest.scheduler = s->scheduler_.get();
    absl::StatusOr<std::unique_ptr<HttpServer>> started =
        HttpServer::Start(http, MakeRestHandler(*s->engine_, *s->auth_, rest));
    if (!started.ok()) {
      s->Shutdown();
      return started.status();
    }
    s->http_ = *std::move(started);
    s->https_ = tls.has_value();
    spdlog::info("orchestrator serving Conductor's REST API on port {}", s->http_->port());
  }
  spdlog::info("orchestrator serving on port {} (db {}, auth {}, tls {}{})", s->port_,
               options.db_path, options.tokens_file.empty() ? "off" : "on",
               options.tls_cert_file.empty() ? "off" : "on",
               options.conductor_api_only ? ", Conductor API only" : "");
  return s;
}

OrchestratorServer::~OrchestratorServer() { Shutdown(); }

int OrchestratorServer::port() const { return port_; }

std::string OrchestratorServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

int OrchestratorServer::http_port() const { return http_ == nullptr ? 0 : http_->port(); }

std::string OrchestratorServer::http_address() const {
  if (http_ == nullptr) return "";
  return absl::StrCat(https_ ? "https" : "http", "://127.0.0.1:", http_->port());
}

void OrchestratorServer::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_.HasBeenNotified()) return;
  if (server_) {
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
  }
  // Parked polls are answered first so that the server's shutdown does not wait
  // for their timeouts; calls waiting on a commit are answered by the committer,
  // which keeps running until the store is destroyed.
  if (engine_) engine_->Shutdown();
  if (http_) http_->Shutdown();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  scheduler_.reset();  // after the services that use it; finishes a start in progress
  engine_.reset();
  store_.reset();
  http_.reset();
  shut_down_.Notify();
}

void OrchestratorServer::Wait() { shut_down_.WaitForNotification(); }

}  // namespace cmig::orchestrator
