#include "tasks/remote.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"

namespace cmig::tasks {

client::WorkflowClient& IncomingRunner(Remote& target, client::WorkflowClient& here) {
  client::GrpcOrchestratorClient* remote = target.environment->orchestrator();
  return remote != nullptr ? static_cast<client::WorkflowClient&>(*remote) : here;
}

absl::Status ExplainRefusal(const absl::Status& refused,
                            migration::EnvironmentResolver& environments, absl::string_view id) {
  const bool unauthenticated = absl::IsUnauthenticated(refused);
  if ((!unauthenticated && !absl::IsPermissionDenied(refused)) || id.empty()) return refused;
  absl::StatusOr<v1::Environment> env = environments.Resolve(id);
  if (!env.ok()) return refused;
  std::string credential;
  std::string fix;
  if (!env->token_secret().empty()) {
    credential = absl::StrCat("the token in secret '", env->token_secret(), "'");
    fix = absl::StrCat("put a token it accepts into that secret where this migration runs ",
                       "(migrationctl secret put ", env->token_secret(), ")");
  } else if (!env->access_key_id().empty()) {
    credential = absl::StrCat("access key '", env->access_key_id(), "' (its secret in secret '",
                              env->access_key_secret(), "')");
    fix = absl::StrCat("check that the key is valid there and put its secret into secret '",
                       env->access_key_secret(), "' where this migration runs");
  } else {
    credential = "no credential (the environment names no token or access key secret)";
    fix = absl::StrCat("give it one: migrationctl env add ", id,
                       " --address ... --token-secret NAME (or --access-key-id and "
                       "--access-key-secret)");
  }
  if (!unauthenticated) {
    fix =
        "use a credential allowed to read and write definitions there (and start and read "
        "workflows, for a gRPC target), then retry the migration";
  } else {
    absl::StrAppend(&fix, ", then retry the migration");
  }
  return absl::Status(
      refused.code(),
      absl::StrCat("environment '", id, "' ", unauthenticated ? "refused " : "accepted ",
                   credential, unauthenticated ? "" : " but denies the operation", ": ",
                   refused.message(), "; ", fix));
}

absl::StatusOr<std::shared_ptr<Remote>> RemoteEnvironments::Connect(absl::string_view id) {
  ASSIGN_OR_RETURN(v1::Environment env, environments_.Resolve(id));
  return Connect(env);
}

absl::StatusOr<std::shared_ptr<Remote>> RemoteEnvironments::Connect(const v1::Environment& env) {
  const std::string& id = env.id();
  RETURN_IF_ERROR(client::ParseEnvironmentAddress(env).status());
  auto secret = [&](const std::string& name, absl::string_view what,
                    std::string* value) -> absl::Status {
    if (name.empty()) return absl::OkStatus();
    absl::StatusOr<std::string> v = secrets_.Resolve(name);
    if (!v.ok()) {
      return absl::Status(v.status().code(), absl::StrCat("the ", what, " of environment '", id,
                                                          "': ", v.status().message()));
    }
    *value = *std::move(v);
    return absl::OkStatus();
  };
  client::EnvironmentCredentials credentials;
  RETURN_IF_ERROR(secret(env.token_secret(), "token", &credentials.token));
  RETURN_IF_ERROR(secret(env.access_key_secret(), "access key secret", &credentials.key_secret));
  std::string fingerprint = absl::StrCat(
      env.address(), "|", env.use_tls(), "|", env.tls_root_ca_file(), "|", env.access_key_id(), "|",
      Sha256Hex(credentials.token), "|", Sha256Hex(credentials.key_secret));
  absl::MutexLock lock(&mu_);
  auto it = remotes_.find(id);
  if (it != remotes_.end() && it->second->fingerprint == fingerprint) return it->second;
  auto remote = std::make_shared<Remote>();
  ASSIGN_OR_RETURN(remote->environment,
                   client::ConnectEnvironment(env, credentials, call_timeout_));
  remote->fingerprint = std::move(fingerprint);
  remotes_[id] = remote;
  return remote;
}

}  // namespace cmig::tasks
