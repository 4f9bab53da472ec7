// Bearer-token checks in the server's credentials (auth.h).
#include "orchestrator/auth.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>

#include <fstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "openssl/rand.h"

namespace cmig::orchestrator {
namespace {

absl::string_view View(const grpc_slice& s) {
  return absl::string_view(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)),
                           GRPC_SLICE_LENGTH(s));
}

// What the processor needs for every call; owned by the core credentials it is set on, which
// delete it (DestroyState) when the last listener using them is gone.
struct ProcessorState {
  const Authenticator* auth;
  absl::flat_hash_set<std::string> protected_services;
};

// grpc_auth_metadata_processor.process: runs for each call before it is dispatched, with the
// call's initial metadata, including the ":path" pseudo-header ("/package.Service/Method").
void Process(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md, size_t num_md,
             grpc_process_auth_metadata_done_cb cb, void* user_data) {
  const auto& s = *static_cast<const ProcessorState*>(state);
  std::optional<absl::string_view> path, authorization;
  for (size_t i = 0; i < num_md; ++i) {
    absl::string_view key = View(md[i].key);
    if (key == ":path") path = View(md[i].value);
    if (key == "authorization") authorization = View(md[i].value);
  }
  absl::string_view service = path.value_or("");
  absl::ConsumePrefix(&service, "/");
  service = service.substr(0, service.find('/'));
  absl::Status status = absl::OkStatus();
  // Without a path the call cannot be routed to a protected service either; checking it anyway
  // keeps a transport that left the path out from opening every service.
  if (!path.has_value() || s.protected_services.contains(service)) {
    status = s.auth->Check(authorization);
  }
  if (status.ok()) {
    cb(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
    return;
  }
  std::string details(status.message());
  cb(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED, details.c_str());
}

void DestroyState(void* state) { delete static_cast<ProcessorState*>(state); }

class AuthenticatingServerCredentials final : public ::grpc::ServerCredentials {
 public:
  AuthenticatingServerCredentials(const Authenticator& auth, std::optional<TlsKeyPair> tls,
                                  std::vector<std::string> protected_services)
      : auth_(auth),
        tls_(std::move(tls)),
        protected_services_(protected_services.begin(), protected_services.end()) {}

  void SetAuthMetadataProcessor(
      const std::shared_ptr<::grpc::AuthMetadataProcessor>& /*processor*/) override {
    // These credentials bring their own processor; a second one would silently replace it.
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    grpc_server_credentials* creds;
    if (tls_.has_value()) {
      grpc_ssl_pem_key_cert_pair pair{tls_->key_pem.c_str(), tls_->cert_pem.c_str()};
      creds = grpc_ssl_server_credentials_create_ex(
          nullptr, &pair, 1, GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, nullptr);
    } else {
      creds = grpc_insecure_server_credentials_create();
    }
    grpc_server_credentials_set_auth_metadata_processor(
        creds, grpc_auth_metadata_processor{&Process, &DestroyState,
                                            new ProcessorState{&auth_, protected_services_}});
    int port = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);
    return port;
  }

  const Authenticator& auth_;
  const std::optional<TlsKeyPair> tls_;
  const absl::flat_hash_set<std::string> protected_services_;
};

}  // namespace

Authenticator::Authenticator(std::vector<std::string> tokens)
    : tokens_(tokens.begin(), tokens.end()) {}

absl::StatusOr<Authenticator> Authenticator::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokens file ", path));
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view t = absl::StripAsciiWhitespace(line);
    if (t.empty() || t[0] == '#') continue;
    tokens.emplace_back(t);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("tokens file ", path, " holds no token"));
  }
  return Authenticator(std::move(tokens));
}

absl::Status Authenticator::Check(std::optional<absl::string_view> authorization) const {
  if (tokens_.empty()) return absl::OkStatus();
  if (!authorization.has_value()) return absl::UnauthenticatedError("missing bearer token");
  absl::string_view value = *authorization;
  if (!absl::ConsumePrefix(&value, "Bearer ")) {
    return absl::UnauthenticatedError("authorization is not a bearer token");
  }
  if (!Accepts(value)) return absl::UnauthenticatedError("invalid bearer token");
  return absl::OkStatus();
}

bool Authenticator::Accepts(absl::string_view token) const {
  return tokens_.contains(token) || (issued_ != nullptr && issued_->Valid(token));
}

std::string IssuedTokens::Issue() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return "";
  std::string token =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(raw), sizeof(raw)));
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  absl::erase_if(expiry_, [now, this](const auto& entry) { return entry.second + ttl_ <= now; });
  expiry_[token] = now + ttl_;
  return token;
}

bool IssuedTokens::Valid(absl::string_view token) const {
  absl::MutexLock lock(&mu_);
  auto it = expiry_.find(token);
  return it != expiry_.end() && Now() < it->second;
}

bool IssuedTokens::Expired(absl::string_view token) const {
  absl::MutexLock lock(&mu_);
  auto it = expiry_.find(token);
  return it != expiry_.end() && Now() >= it->second;
}

absl::Status Authenticator::CheckToken(std::optional<absl::string_view> token) const {
  if (tokens_.empty()) return absl::OkStatus();
  if (!token.has_value() || token->empty()) return absl::UnauthenticatedError("missing token");
  if (issued_ != nullptr && issued_->Expired(*token)) {
    return absl::UnauthenticatedError("token expired");
  }
  if (!Accepts(*token)) return absl::PermissionDeniedError("invalid token");
  return absl::OkStatus();
}

std::shared_ptr<::grpc::ServerCredentials> AuthenticatingCredentials(
    const Authenticator& auth, const std::optional<TlsKeyPair>& tls,
    std::vector<std::string> protected_services) {
  if (!auth.enabled()) {
    if (!tls.has_value()) return ::grpc::InsecureServerCredentials();
    ::grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({tls->key_pem, tls->cert_pem});
    return ::grpc::SslServerCredentials(ssl);
  }
  return std::make_shared<AuthenticatingServerCredentials>(auth, tls,
                                                           std::move(protected_services));
}

}  // namespace cmig::orchestrator
