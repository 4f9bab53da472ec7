// Worker configuration from command-line flags and environment variables,
// following the Conductor SDK conventions.
//
// Precedence for each setting: the flag when given, else the environment
// variable, else the default.
//
//   setting            flag                       environment
//   server address     --server                   CONDUCTOR_SERVER_URL ("host:port",
//                                                 "grpc://host:port"; "http(s)://" and a
//                                                 path such as "/api" are stripped)
//   token              --auth_token_file          CONDUCTOR_AUTH_TOKEN_FILE, CONDUCTOR_AUTH_TOKEN
//   TLS                --tls, --tls_root_ca_file  CONDUCTOR_TLS, CONDUCTOR_TLS_ROOT_CA_FILE
//   worker id          --worker_id                CONDUCTOR_WORKER_ID (default host-pid)
//   threads            --threads, --thread_counts CONDUCTOR_WORKER_THREAD_COUNT,
//                      ("type=n,type=n")          CONDUCTOR_WORKER_<TYPE>_THREAD_COUNT
//   domain             --domain, --domains        CONDUCTOR_WORKER_DOMAIN,
//                      ("type=d,type=d")          CONDUCTOR_WORKER_<TYPE>_DOMAIN
//   poll timeout       --poll_timeout_ms          CONDUCTOR_WORKER_POLL_TIMEOUT (ms)
//   poll interval      --poll_interval_ms         CONDUCTOR_WORKER_POLLING_INTERVAL (ms)
//
// <TYPE> is the task type upper-cased with every character outside [A-Z0-9]
// turned into '_' (fetch_definitions -> FETCH_DEFINITIONS).
//
// The token is a secret: there is deliberately no flag that carries it, so it
// never shows on a command line or in --help; it is read from a file or the
// environment and never logged.
#ifndef CMIG_WORKER_CONFIG_H_
#define CMIG_WORKER_CONFIG_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/grpc_client.h"
#include "worker/worker.h"

namespace cmig::worker {

// Flag values as given; an empty string or a negative number means "not given".
struct FlagValues {
  std::string server;
  std::string auth_token_file;
  std::optional<bool> tls;
  std::string tls_root_ca_file;
  std::string worker_id;
  int threads = -1;
  std::string thread_counts;
  std::string domain;
  std::string domains;
  int poll_timeout_ms = -1;
  int poll_interval_ms = -1;
  int call_timeout_ms = -1;
};

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment.
EnvLookup ProcessEnv();

struct WorkerConfig {
  client::ClientOptions client;  // client.token holds the secret token, if any
  WorkerOptions worker;
};

// The client half of the configuration: server, token, TLS, call timeout.
absl::StatusOr<client::ClientOptions> ResolveClientOptions(const FlagValues& flags,
                                                           const EnvLookup& env);

// The worker half for `task_types` (the registry's types).
absl::StatusOr<WorkerOptions> ResolveWorkerOptions(const FlagValues& flags, const EnvLookup& env,
                                                   const std::vector<std::string>& task_types);

// Both halves. Resolves the configuration for `task_types`. InvalidArgument naming the
// flag or variable for malformed values (a thread count that is not a
// positive integer, a poll timeout over Conductor's 5000 ms, a malformed
// "type=value" list, a type in a list that has no handler); errors reading
// the token file. Reads the token file if one is named.
absl::StatusOr<WorkerConfig> ResolveConfig(const FlagValues& flags, const EnvLookup& env,
                                           const std::vector<std::string>& task_types);

// "fetch_definitions" -> "FETCH_DEFINITIONS".
std::string EnvTaskTypeName(absl::string_view task_type);

// "127.0.0.1:8090" from "grpc://127.0.0.1:8090", "http://host:8080/api", ...
std::string NormalizeServerAddress(absl::string_view url);

}  // namespace cmig::worker

#endif  // CMIG_WORKER_CONFIG_H_
