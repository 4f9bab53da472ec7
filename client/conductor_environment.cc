#include "client/conductor_environment.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "client/rest_client.h"

namespace cmig::client {

absl::string_view ProtocolName(Protocol protocol) {
  return protocol == Protocol::kRest ? "REST" : "gRPC";
}

absl::StatusOr<EnvironmentAddress> ParseEnvironmentAddress(const v1::Environment& env) {
  auto bad = [&env](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("environment '", env.id(), "': ", why));
  };
  const std::string address(absl::StripAsciiWhitespace(env.address()));
  if (address.empty()) return bad("has no address");
  EnvironmentAddress out;
  const size_t scheme_end = address.find("://");
  const std::string scheme =
      scheme_end == std::string::npos ? "" : absl::AsciiStrToLower(address.substr(0, scheme_end));
  const std::string rest = scheme_end == std::string::npos ? "" : address.substr(scheme_end + 3);
  if (scheme == "http" || scheme == "https") {
    const size_t slash = rest.find('/');
    const std::string host = rest.substr(0, slash);
    if (host.empty()) return bad(absl::StrCat("the URL '", address, "' has no host"));
    std::string path = slash == std::string::npos ? "" : rest.substr(slash);
    while (absl::EndsWith(path, "/")) path.pop_back();
    if (path.empty()) path = "/api";
    out.protocol = Protocol::kRest;
    out.use_tls = scheme == "https";
    out.target = absl::StrCat(scheme, "://", host, path);
  } else if (scheme == "grpc" || scheme == "grpcs") {
    if (rest.empty() || absl::StrContains(rest, '/')) {
      return bad(absl::StrCat("'", address, "' is not grpc(s)://host:port"));
    }
    out.target = rest;
    out.use_tls = scheme == "grpcs";
  } else if (!scheme.empty()) {
    return bad(absl::StrCat("the scheme '", scheme,
                            "://' is not one of http://, https:// (REST), grpc://, grpcs://"));
  } else {
    out.target = address;
    out.use_tls = env.use_tls();
  }
  const bool has_key_id = !env.access_key_id().empty();
  const bool has_key_secret = !env.access_key_secret().empty();
  if (has_key_id != has_key_secret) {
    return bad("an access key needs both its id and the name of the secret holding its secret");
  }
  if (has_key_id && !env.token_secret().empty()) {
    return bad("give a token secret or an access key, not both");
  }
  if (has_key_id && out.protocol != Protocol::kRest) {
    return bad("access keys are exchanged for tokens over REST; give an http(s):// address");
  }
  return out;
}

namespace {

class GrpcEnvironment final : public ConductorEnvironment {
 public:
  GrpcEnvironment(std::unique_ptr<GrpcOrchestratorClient> orchestrator,
                  std::unique_ptr<GrpcExtensionsClient> extensions)
      : orchestrator_(std::move(orchestrator)), extensions_(std::move(extensions)) {}
  Protocol protocol() const override { return Protocol::kGrpc; }
  MetadataClient& metadata() override { return *orchestrator_; }
  // The extension's removal; on a Conductor server it answers Unimplemented, which the rollback
  // reports as work for the operator.
  DefinitionAdminClient* admin() override { return extensions_.get(); }
  SecretClient* secrets() override { return extensions_.get(); }
  GrpcOrchestratorClient* orchestrator() override { return orchestrator_.get(); }
  GrpcExtensionsClient* extensions() override { return extensions_.get(); }
  EventHandlerClient* event_handlers() override { return orchestrator_.get(); }
  ScheduleClient* schedules() override { return extensions_.get(); }

 private:
  const std::unique_ptr<GrpcOrchestratorClient> orchestrator_;
  const std::unique_ptr<GrpcExtensionsClient> extensions_;
};

class RestEnvironment final : public ConductorEnvironment {
 public:
  explicit RestEnvironment(std::unique_ptr<RestConductorClient> rest) : rest_(std::move(rest)) {}
  Protocol protocol() const override { return Protocol::kRest; }
  MetadataClient& metadata() override { return *rest_; }
  DefinitionAdminClient* admin() override { return rest_.get(); }
  SecretClient* secrets() override { return rest_.get(); }
  EventHandlerClient* event_handlers() override { return rest_.get(); }
  ScheduleClient* schedules() override { return rest_.get(); }
  absl::Status Check() override { return rest_->Ping(); }

 private:
  const std::unique_ptr<RestConductorClient> rest_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ConductorEnvironment>> ConnectEnvironment(
    const v1::Environment& env, const EnvironmentCredentials& credentials,
    absl::Duration call_timeout) {
  ASSIGN_OR_RETURN(EnvironmentAddress where, ParseEnvironmentAddress(env));
  if (where.protocol == Protocol::kRest) {
    RestOptions options;
    options.base_url = where.target;
    options.environment = env.id();
    options.root_ca_file = env.tls_root_ca_file();
    options.token = credentials.token;
    if (!env.access_key_id().empty()) {
      options.key_id = env.access_key_id();
      options.key_secret = credentials.key_secret;
    }
    options.call_timeout = call_timeout;
    ASSIGN_OR_RETURN(std::unique_ptr<RestConductorClient> rest,
                     RestConductorClient::Create(std::move(options)));
    return std::unique_ptr<ConductorEnvironment>(
        std::make_unique<RestEnvironment>(std::move(rest)));
  }
  ClientOptions options;
  options.address = where.target;
  options.use_tls = where.use_tls;
  options.root_ca_file = env.tls_root_ca_file();
  options.token = credentials.token;
  options.call_timeout = call_timeout;
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcOrchestratorClient> orchestrator,
                   GrpcOrchestratorClient::Create(options));
  ASSIGN_OR_RETURN(std::unique_ptr<GrpcExtensionsClient> extensions,
                   GrpcExtensionsClient::Create(options));
  return std::unique_ptr<ConductorEnvironment>(
      std::make_unique<GrpcEnvironment>(std::move(orchestrator), std::move(extensions)));
}

absl::StatusOr<EnvironmentCredentials> ReadCredentials(
    const v1::Environment& env,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read_secret) {
  EnvironmentCredentials credentials;
  for (const auto& [name, value] : {std::pair{env.token_secret(), &credentials.token},
                                    std::pair{env.access_key_secret(), &credentials.key_secret}}) {
    if (name.empty()) continue;
    absl::StatusOr<std::string> secret = read_secret(name);
    if (!secret.ok()) {
      return absl::Status(secret.status().code(),
                          absl::StrCat("the credential of environment '", env.id(), "' (secret '",
                                       name, "'): ", secret.status().message()));
    }
    *value = *std::move(secret);
  }
  return credentials;
}

absl::Status ProbeEnvironment(ConductorEnvironment& environment, const v1::Environment& env) {
  absl::Status reached = environment.Check();
  if (reached.ok()) {
    reached = environment.metadata().GetTaskDef("cmig-environment-test").status();
    if (absl::IsNotFound(reached)) reached = absl::OkStatus();
  }
  if (reached.ok()) return reached;
  absl::StatusOr<EnvironmentAddress> where = ParseEnvironmentAddress(env);
  return absl::Status(
      reached.code(),
      absl::StrCat("environment '", env.id(), "' (",
                   where.ok() ? absl::StrCat(ProtocolName(where->protocol), " ", where->target)
                              : env.address(),
                   "): ", reached.message()));
}

}  // namespace cmig::client
