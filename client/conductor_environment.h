// One Conductor environment as the migration steps see it, whichever protocol it speaks: its
// definitions, their removal, its secret store and its event handlers. A gRPC environment (the
// embedded orchestrator, or a Conductor server with gRPC on) also runs migrations itself: its
// orchestrator client is offered for starting and watching them. A REST environment (conductor-oss
// and Orkes as they ship) is only read and written.
//
//   ASSIGN_OR_RETURN(EnvironmentAddress where, ParseEnvironmentAddress(env));
//   ASSIGN_OR_RETURN(std::unique_ptr<ConductorEnvironment> prod,
//                    ConnectEnvironment(env, credentials, absl::Seconds(30)));
//   ASSIGN_OR_RETURN(conductor::proto::WorkflowDef d, prod->metadata().GetWorkflowDef("f", 0));
//   if (prod->admin() == nullptr) { ... cannot remove definitions ... }
//
// Thread-safety: the clients an environment hands out are safe for concurrent use; the
// environment owns them and must outlive every use.
#ifndef CMIG_CLIENT_CONDUCTOR_ENVIRONMENT_H_
#define CMIG_CLIENT_CONDUCTOR_ENVIRONMENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/event_handler_client.h"
#include "client/extensions_client.h"
#include "client/grpc_client.h"
#include "client/metadata_client.h"
#include "cmig/v1/extensions.pb.h"

namespace cmig::client {

enum class Protocol { kGrpc, kRest };

// "gRPC" or "REST".
absl::string_view ProtocolName(Protocol protocol);

// Where an environment's address points.
struct EnvironmentAddress {
  Protocol protocol = Protocol::kGrpc;
  // gRPC: the channel target ("host:port"); REST: the API root, "http(s)://host[:port]/path",
  // without a trailing '/' ("/api" added when the URL has no path).
  std::string target;
  bool use_tls = false;
};

// Reads `env.address()`: "http://" and "https://" are REST, "grpc://" and "grpcs://" gRPC without
// and with TLS, anything else a gRPC target with TLS per `env.use_tls()`. InvalidArgument naming
// the environment for an empty address, another "scheme://", a URL without a host, or an access
// key on a gRPC environment, a key id without its secret (or the reverse), or both a token
// and a key.
absl::StatusOr<EnvironmentAddress> ParseEnvironmentAddress(const v1::Environment& env);

class ConductorEnvironment {
 public:
  virtual ~ConductorEnvironment() = default;
  virtual Protocol protocol() const = 0;
  // Reading and writing definitions.
  virtual MetadataClient& metadata() = 0;
  // Removing definitions; null when the environment cannot (a caller then says so).
  virtual DefinitionAdminClient* admin() = 0;
  // The environment's secret store; null when it has none. A store may still answer
  // Unimplemented (a server without the service or the route).
  virtual SecretClient* secrets() = 0;
  // The orchestrator that runs migrations there (gRPC); null for a REST environment, whose
  // migrations run on the worker's own orchestrator and reach it from there.
  virtual GrpcOrchestratorClient* orchestrator() { return nullptr; }
  // Its blob store (gRPC, the embedded orchestrator's extension); null for REST.
  virtual GrpcExtensionsClient* extensions() { return nullptr; }
  // Its event handlers (Conductor's EventService over gRPC, `/api/event` over REST); null when
  // the environment has no event handler API. Owned by the environment.
  virtual EventHandlerClient* event_handlers() { return nullptr; }
  // Its workflow schedules (cmig.v1.Schedules over gRPC, `/api/scheduler` over REST); null when
  // the environment has none. A server may still answer Unimplemented (no scheduler there).
  virtual ScheduleClient* schedules() { return nullptr; }
  // Checks that the environment answers and accepts the credentials (a REST environment obtains
  // its token here); OK without a call where there is nothing to check up front.
  virtual absl::Status Check() { return absl::OkStatus(); }
};

// An environment made of clients owned elsewhere (the worker's own orchestrator).
class BorrowedEnvironment final : public ConductorEnvironment {
 public:
  // `metadata` required; the others may be null. None is owned: each must outlive this.
  BorrowedEnvironment(MetadataClient& metadata, DefinitionAdminClient* admin, SecretClient* secrets,
                      EventHandlerClient* event_handlers = nullptr,
                      ScheduleClient* schedules = nullptr)
      : metadata_(metadata),
        admin_(admin),
        secrets_(secrets),
        event_handlers_(event_handlers),
        schedules_(schedules) {}
  Protocol protocol() const override { return Protocol::kGrpc; }
  MetadataClient& metadata() override { return metadata_; }
  DefinitionAdminClient* admin() override { return admin_; }
  SecretClient* secrets() override { return secrets_; }
  EventHandlerClient* event_handlers() override { return event_handlers_; }
  ScheduleClient* schedules() override { return schedules_; }

 private:
  MetadataClient& metadata_;
  DefinitionAdminClient* const admin_;
  SecretClient* const secrets_;
  EventHandlerClient* const event_handlers_;
  ScheduleClient* const schedules_;
};

// What authenticates to an environment, read from the secret store by the caller. Secrets:
// never logged.
struct EnvironmentCredentials {
  std::string token;
  std::string key_secret;  // with env.access_key_id()
};

// Clients for `env` (does not connect). The errors of ParseEnvironmentAddress, and NotFound for
// an unreadable CA file, named.
absl::StatusOr<std::unique_ptr<ConductorEnvironment>> ConnectEnvironment(
    const v1::Environment& env, const EnvironmentCredentials& credentials,
    absl::Duration call_timeout);

// The credentials `env` names (its token secret, or its access key's secret), each read with
// `read_secret`. A secret that cannot be read is an error with its code naming the environment
// and the secret, never a value.
absl::StatusOr<EnvironmentCredentials> ReadCredentials(
    const v1::Environment& env,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read_secret);

// Whether `environment` (connected for `env`) answers and accepts its credential: Check(), then
// one read of the definitions, as a fetch or a plan makes (an absent definition is an answer).
// Errors keep their code and name the environment, its protocol and address.
absl::Status ProbeEnvironment(ConductorEnvironment& environment, const v1::Environment& env);

}  // namespace cmig::client

#endif  // CMIG_CLIENT_CONDUCTOR_ENVIRONMENT_H_
