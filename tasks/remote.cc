#include "tasks/remote.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "definitions/canonical.h"

namespace cmig::tasks {

absl::StatusOr<std::shared_ptr<Remote>> RemoteEnvironments::Connect(absl::string_view id) {
  ASSIGN_OR_RETURN(v1::Environment env, environments_.Resolve(id));
  client::ClientOptions options;
  options.address = env.address();
  options.use_tls = env.use_tls();
  options.root_ca_file = env.tls_root_ca_file();
  options.call_timeout = call_timeout_;
  if (!env.token_secret().empty()) {
    absl::StatusOr<std::string> token = secrets_.Resolve(env.token_secret());
    if (!token.ok()) {
      return absl::Status(token.status().code(), absl::StrCat("the token of environment '", id,
                                                              "': ", token.status().message()));
    }
    options.token = *std::move(token);
  }
  std::string fingerprint = absl::StrCat(options.address, "|", options.use_tls, "|",
                                         options.root_ca_file, "|", Sha256Hex(options.token));
  absl::MutexLock lock(&mu_);
  auto it = remotes_.find(std::string(id));
  if (it != remotes_.end() && it->second->fingerprint == fingerprint) return it->second;
  auto remote = std::make_shared<Remote>();
  ASSIGN_OR_RETURN(remote->orchestrator, client::GrpcOrchestratorClient::Create(options));
  ASSIGN_OR_RETURN(remote->extensions, client::GrpcExtensionsClient::Create(options));
  remote->fingerprint = std::move(fingerprint);
  remotes_[std::string(id)] = remote;
  return remote;
}

}  // namespace cmig::tasks
