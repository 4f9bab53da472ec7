// Bearer-token authentication of the orchestrator's RPCs, checked once per call for every
// service, before gRPC hands the call to it.
//
// The check sits in the server's credentials (gRPC's auth metadata processor, the one hook that
// runs ahead of every handler: gRPC C++ server interceptors cannot refuse a call), so no
// service, present or future, carries an auth check of its own. Calls to services outside the
// protected set (grpc.health.v1.Health, unknown services) are not checked, so health probes
// need no token and an unknown method stays UNIMPLEMENTED.
//
//   ASSIGN_OR_RETURN(Authenticator auth, Authenticator::FromFile(tokens_file));
//   builder.AddListeningPort(address,
//                            AuthenticatingCredentials(auth, /*tls=*/std::nullopt, names));
#ifndef CMIG_ORCHESTRATOR_AUTH_H_
#define CMIG_ORCHESTRATOR_AUTH_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/clock.h"

namespace cmig::orchestrator {

// Tokens handed out for access keys (POST /api/token), each valid for `ttl` from its issue.
// Kept in memory only: a restarted server asks its clients to exchange their keys again, as an
// expired token does. Thread-safe.
class IssuedTokens {
 public:
  // Expiry is read off `clock` (borrowed; the orchestrator's, so a test's fake clock drives it).
  IssuedTokens(absl::Duration ttl, const Clock& clock) : ttl_(ttl), clock_(clock) {}
  absl::Duration ttl() const { return ttl_; }
  // A new random token; empty when no random bytes could be had.
  std::string Issue();
  // True while `token` was issued here and has not expired.
  bool Valid(absl::string_view token) const;
  // True when `token` was issued here and has expired (remembered for one more ttl), so a client
  // is told 401 and asks for a new one, as Orkes answers an expired token.
  bool Expired(absl::string_view token) const;

 private:
  absl::Time Now() const { return absl::FromUnixMillis(clock_.NowMs()); }

  const absl::Duration ttl_;
  const Clock& clock_;
  mutable absl::Mutex mu_;
  // token -> expiry; entries expired for longer than ttl are dropped when the next token is
  // issued.
  absl::flat_hash_map<std::string, absl::Time> expiry_ ABSL_GUARDED_BY(mu_);
};

// Checks `authorization: Bearer <token>` against a fixed set of tokens, plus the tokens issued
// for access keys when given IssuedTokens. With no fixed tokens every call passes. Thread-safe;
// fixed after construction but for AcceptIssued, called before serving.
class Authenticator {
 public:
  // Reads one token per line; blank lines and lines starting with '#' are skipped.
  // INVALID_ARGUMENT when the file names no token (an empty file would silently
  // turn authentication off); NOT_FOUND when it cannot be read.
  static absl::StatusOr<Authenticator> FromFile(const std::string& path);
  Authenticator() = default;
  explicit Authenticator(std::vector<std::string> tokens);

  bool enabled() const { return !tokens_.empty(); }
  // Also accepts the tokens `issued` hands out; `issued` must outlive this.
  void AcceptIssued(const IssuedTokens* issued) { issued_ = issued; }

  // `authorization` is the call's authorization header, nullopt when it has none.
  // UNAUTHENTICATED without a valid token. Never echoes the presented token.
  absl::Status Check(std::optional<absl::string_view> authorization) const;
  // The bare token of an HTTP request (from `X-Authorization` or `Authorization: Bearer`):
  // UNAUTHENTICATED without one or with an issued token that expired, PERMISSION_DENIED with one
  // that is not accepted, as a Conductor or Orkes server answers 401 and 403.
  absl::Status CheckToken(std::optional<absl::string_view> token) const;

 private:
  bool Accepts(absl::string_view token) const;

  absl::flat_hash_set<std::string> tokens_;
  const IssuedTokens* issued_ = nullptr;
};

// A certificate chain and its private key, PEM.
struct TlsKeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// Server credentials, plaintext or TLS (`tls`), that check every call to a service named in
// `protected_services` ("conductor.grpc.tasks.TaskService") with `auth` before the service
// sees it; a refused call ends UNAUTHENTICATED. `auth` must outlive every server the
// credentials are added to. With `auth` not enabled, gRPC's own credentials are returned.
std::shared_ptr<::grpc::ServerCredentials> AuthenticatingCredentials(
    const Authenticator& auth, const std::optional<TlsKeyPair>& tls,
    std::vector<std::string> protected_services);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_AUTH_H_
