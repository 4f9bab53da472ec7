// Internal to the REST client (rest_client.cc, rest_events.cc): the transport behind
// RestConductorClient. A pool of libcurl easy handles (each keeps its connections alive between
// calls), one token cache with the Orkes access-key exchange, and the mapping of HTTP answers to
// absl codes. Not a public header: nothing outside client/rest_*.cc includes it. See
// rest_client.h for the contract every call keeps.
//
//   ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Send("GET", "/event"));
//   ASSIGN_OR_RETURN(google::protobuf::Value v, impl_->Json("GET", "/event", answer));
#ifndef CMIG_CLIENT_REST_TRANSPORT_H_
#define CMIG_CLIENT_REST_TRANSPORT_H_

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/rest_client.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::client {

// Server bodies quoted in messages are cut here: enough for Conductor's error messages, not
// enough to flood a log with an HTML error page.
inline constexpr size_t kMaxQuoted = 300;

// curl_global_init, once per process, whichever thread creates the first client. Internal when
// libcurl cannot be initialised.
absl::Status InitCurlOnce();

// RFC 3986 percent-encoding of one path segment: only the unreserved characters stay, so a name
// with '/', '?', '#', '%' or spaces stays one segment and reaches the server as it was given.
std::string EscapeSegment(absl::string_view s);

// `s` cut to about `max` bytes (not inside a UTF-8 sequence) with control characters escaped,
// so that a server's answer cannot forge lines in a log or a terminal.
std::string Printable(absl::string_view s, size_t max);

// The absl code of an HTTP error status, as rest_client.h lists them.
absl::StatusCode CodeOfHttp(long status);

// True when `s` holds a byte that would end or corrupt an HTTP header line.
bool HasControlCharacter(absl::string_view s);

// One HTTP exchange's outcome.
struct HttpAnswer {
  long status = 0;
  std::string body;
  // For an error status: the server's `message` (or its body), printable, cut, with every
  // credential this client knows removed. Empty otherwise.
  std::string message;

  bool ok() const { return status >= 200 && status < 300; }
};

// Everything a RestConductorClient holds. Thread-safe: the handle pool and the token cache are
// guarded by their mutexes; the rest is fixed at construction.
struct RestConductorClient::Impl {
  // `b` is the base URL without a trailing '/'; `o` has been checked by Create.
  Impl(RestOptions o, std::string b);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  const RestOptions options;
  const std::string base;  // without a trailing '/'
  const std::string env;   // the name in messages

  // "environment 'prod': "
  std::string Prefix() const;

  // `text` without the configured credentials nor `sent_token`: a server may echo what it was
  // sent, and a status is logged by whoever receives it.
  std::string Scrub(std::string text, absl::string_view sent_token) const;

  // --- transport ---

  // An idle handle from the pool, or a new one (null when libcurl cannot make one).
  CURL* Acquire();
  // Back to the pool; curl_easy_reset drops every option (pointers into the finished call's
  // locals among them) but keeps the handle's live connections, DNS and TLS session caches.
  void Release(CURL* handle);

  // One HTTP exchange: `path` (already escaped, with its query) under the base URL, `body` as
  // JSON when not null, `token` in X-Authorization when not empty. Unavailable on a transport
  // failure, DeadlineExceeded on a timeout; any HTTP status is an answer.
  absl::StatusOr<HttpAnswer> Perform(absl::string_view method, const std::string& path,
                                     const std::string* body, const std::string& token);

  // --- auth ---

  struct Credential {
    std::string token;        // empty: send none
    uint64_t generation = 0;  // which exchange produced it
  };

  // POST /token with the access key; caches the token it answers.
  absl::Status ExchangeKeyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(token_mu);

  // The token to send: the static one, or the cached exchanged one (exchanged now when there is
  // none yet or it is due for renewal).
  absl::StatusOr<Credential> CurrentCredential();

  // A new token after the server refused the one of `refused_generation`. Threads refused at the
  // same time make one exchange: the later ones find the generation moved on and take its token.
  absl::StatusOr<Credential> Renew(uint64_t refused_generation);

  // --- calls ---

  // Perform with credentials; a 401 / 403 with an access key renews the token once and sends
  // the call once more (a server refuses before acting, so a POST is not applied twice).
  absl::StatusOr<HttpAnswer> Call(absl::string_view method, const std::string& path,
                                  const std::string* body = nullptr);

  // "GET /metadata/workflow/x: HTTP 404: <server message>"
  static std::string Describe(absl::string_view method, const std::string& path,
                              const HttpAnswer& answer);

  // The absl status of a non-2xx answer, named as Describe names it.
  absl::Status HttpError(absl::string_view method, const std::string& path,
                         const HttpAnswer& answer) const;

  // Call, with every non-2xx answer an error.
  absl::StatusOr<HttpAnswer> Send(absl::string_view method, const std::string& path,
                                  const std::string* body = nullptr);

  // A 2xx answer's body as JSON; InvalidArgument naming the call when it is not.
  absl::StatusOr<google::protobuf::Value> Json(absl::string_view method, const std::string& path,
                                               const HttpAnswer& answer) const;

  // GET `path`, whose answer must be a JSON list; InvalidArgument naming the call when not.
  absl::StatusOr<google::protobuf::Value> GetJsonList(const std::string& path);

  // InvalidArgument "no <what> name" for an empty name.
  absl::Status CheckName(absl::string_view what, absl::string_view name) const;

  // The secret API's answer to a route it lacks (404 or 405 where the route would be).
  absl::Status NoSecretApi(absl::string_view method, const std::string& path,
                           const HttpAnswer& answer) const;

  absl::Mutex pool_mu;
  // Idle handles; a handle in use is owned by its call. Grows to the peak concurrency.
  std::vector<CURL*> pool ABSL_GUARDED_BY(pool_mu);

  // Held across a key exchange, so that callers needing a token wait for one exchange rather
  // than each making its own.
  absl::Mutex token_mu;
  std::string token ABSL_GUARDED_BY(token_mu);  // exchanged for the access key; empty: none yet
  absl::Time renew_at ABSL_GUARDED_BY(token_mu) = absl::InfinitePast();
  // A JWT's `exp`; infinite for an opaque token (the server says when it is no longer valid).
  absl::Time expires_at ABSL_GUARDED_BY(token_mu) = absl::InfinitePast();
  uint64_t generation ABSL_GUARDED_BY(token_mu) = 0;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_REST_TRANSPORT_H_
