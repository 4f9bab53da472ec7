// Where a migration step finds another environment and the token for it.
//
// An environment is an id, a gRPC address with TLS settings, and the name of the secret holding
// its token (cmig.v1.Environment). The workflow input names the environment only; the step
// resolves it here and reads the token from a secret store, so the token never travels through
// task input, output, logs or history.
//
//   ExtensionEnvironmentResolver from_orchestrator(ext_client);   // the embedded orchestrator
//   ASSIGN_OR_RETURN(auto from_file, ConfigEnvironmentResolver::FromFile("/etc/cmig/envs.json"));
//   FallbackEnvironmentResolver environments(from_orchestrator, *from_file);
//   ASSIGN_OR_RETURN(v1::Environment env, environments.Resolve("prod"));
//
// The fallback exists for a Conductor server without the extension services: a worker config
// file lists environments, and secrets come from files in a directory or environment variables.
//
// Errors: NotFound (terminal for a step) when the id or secret is unknown, naming it; Unimplemented
// from an extension-backed resolver whose server lacks the service. Messages never contain a
// secret value. Thread-safety: every resolver here is safe for concurrent use.
#ifndef CMIG_MIGRATION_ENVIRONMENTS_H_
#define CMIG_MIGRATION_ENVIRONMENTS_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/extensions_client.h"
#include "cmig/v1/extensions.pb.h"

namespace cmig::migration {

class EnvironmentResolver {
 public:
  virtual ~EnvironmentResolver() = default;
  virtual absl::StatusOr<v1::Environment> Resolve(absl::string_view id) = 0;
};

class SecretResolver {
 public:
  virtual ~SecretResolver() = default;
  // The secret's value. Never log it.
  virtual absl::StatusOr<std::string> Resolve(absl::string_view name) = 0;
};

// Through the orchestrator's cmig.v1.Environments / cmig.v1.Secrets. Borrows the client.
class ExtensionEnvironmentResolver final : public EnvironmentResolver {
 public:
  explicit ExtensionEnvironmentResolver(client::EnvironmentClient& client) : client_(client) {}
  absl::StatusOr<v1::Environment> Resolve(absl::string_view id) override;

 private:
  client::EnvironmentClient& client_;
};

class ExtensionSecretResolver final : public SecretResolver {
 public:
  explicit ExtensionSecretResolver(client::SecretClient& client) : client_(client) {}
  absl::StatusOr<std::string> Resolve(absl::string_view name) override;

 private:
  client::SecretClient& client_;
};

// Environments from a JSON file in the shape of cmig.v1.ListEnvironmentsResponse:
//   {"environments": [{"id": "prod", "address": "prod-conductor:8090", "useTls": true,
//                      "tlsRootCaFile": "/etc/cmig/ca.pem", "tokenSecret": "prod-token"}]}
class ConfigEnvironmentResolver final : public EnvironmentResolver {
 public:
  // NotFound / InvalidArgument naming the file when it cannot be read or parsed, or an entry
  // lacks an id or address, or an id repeats.
  static absl::StatusOr<std::unique_ptr<ConfigEnvironmentResolver>> FromFile(
      absl::string_view path);
  static absl::StatusOr<std::unique_ptr<ConfigEnvironmentResolver>> FromJson(
      absl::string_view json, absl::string_view origin);
  absl::StatusOr<v1::Environment> Resolve(absl::string_view id) override;

 private:
  std::map<std::string, v1::Environment, std::less<>> environments_;
  std::string origin_;
};

// Secrets from files (`<dir>/<name>`, surrounding whitespace trimmed) or, when no such file, from
// the environment variable CMIG_SECRET_<NAME> (upper-cased, non-alphanumerics as '_').
class ConfigSecretResolver final : public SecretResolver {
 public:
  using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
  // `dir` may be empty (environment variables only). `env` reads a variable (the process's
  // own, in the worker); null = no variables.
  ConfigSecretResolver(std::string dir, EnvLookup env);
  absl::StatusOr<std::string> Resolve(absl::string_view name) override;

 private:
  const std::string dir_;
  const EnvLookup env_;
};

// Asks `primary`; when it answers Unimplemented (the server lacks the extension) or NotFound,
// asks `fallback`. Borrows both.
class FallbackEnvironmentResolver final : public EnvironmentResolver {
 public:
  FallbackEnvironmentResolver(EnvironmentResolver& primary, EnvironmentResolver& fallback)
      : primary_(primary), fallback_(fallback) {}
  absl::StatusOr<v1::Environment> Resolve(absl::string_view id) override;

 private:
  EnvironmentResolver& primary_;
  EnvironmentResolver& fallback_;
};

class FallbackSecretResolver final : public SecretResolver {
 public:
  FallbackSecretResolver(SecretResolver& primary, SecretResolver& fallback)
      : primary_(primary), fallback_(fallback) {}
  absl::StatusOr<std::string> Resolve(absl::string_view name) override;

 private:
  SecretResolver& primary_;
  SecretResolver& fallback_;
};

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_ENVIRONMENTS_H_
