// RestConductorClient on libcurl's easy interface: a pool of easy handles (each keeps its
// connections alive between calls), one token cache, and the mapping of HTTP answers to absl
// codes. See rest_client.h for the contract.
#include "client/rest_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "definitions/conductor_json.h"
#include "definitions/json.h"
#include "definitions/json_overlay.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::client {
namespace {

using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using google::protobuf::Value;

// A JWT is renewed this long before its `exp`, so that a call started just before the expiry
// does not reach the server with a token that has expired on the way.
constexpr absl::Duration kJwtRenewMargin = absl::Seconds(60);
// Server bodies quoted in messages are cut here: enough for Conductor's error messages, not
// enough to flood a log with an HTML error page.
constexpr size_t kMaxQuoted = 300;

// curl_global_init is not thread-safe and must run before the first easy handle; a function-local
// static runs it exactly once, whichever thread creates the first client.
absl::Status InitCurlOnce() {
  static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInit != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("libcurl could not be initialised: ", curl_easy_strerror(kInit)));
  }
  return absl::OkStatus();
}

// RFC 3986 percent-encoding of one path segment: only the unreserved characters stay, so a name
// with '/', '?', '#', '%' or spaces stays one segment and reaches the server as it was given.
std::string EscapeSegment(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// `s` cut to about `max` bytes (not inside a UTF-8 sequence) with control characters escaped,
// so that a server's answer cannot forge lines in a log or a terminal.
std::string Printable(absl::string_view s, size_t max) {
  bool cut = false;
  if (s.size() > max) {
    size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    s = s.substr(0, end);
    cut = true;
  }
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(c);
    }
  }
  if (cut) out += "...";
  return out;
}

// The absl code of an HTTP error status, as rest_client.h lists them.
absl::StatusCode CodeOfHttp(long status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
    case 501:
      return absl::StatusCode::kUnimplemented;
    case 408:
      return absl::StatusCode::kDeadlineExceeded;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 413:
      return absl::StatusCode::kResourceExhausted;
    case 429:
      return absl::StatusCode::kUnavailable;
    default:
      break;
  }
  if (status >= 500) return absl::StatusCode::kUnavailable;
  if (status >= 400) return absl::StatusCode::kFailedPrecondition;
  // 1xx / 3xx: redirects are not followed (they would carry the token to another host).
  return absl::StatusCode::kUnknown;
}

// A JWT's `exp` claim; nullopt when `token` is not a JWT or has none.
std::optional<absl::Time> JwtExpiry(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return std::nullopt;
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return std::nullopt;
  absl::StatusOr<Value> claims = ParseJson(payload);
  if (!claims.ok() || claims->kind_case() != Value::kStructValue) return std::nullopt;
  auto it = claims->struct_value().fields().find("exp");
  if (it == claims->struct_value().fields().end() ||
      it->second.kind_case() != Value::kNumberValue) {
    return std::nullopt;
  }
  return absl::FromUnixSeconds(static_cast<int64_t>(it->second.number_value()));
}

// True when `s` holds a byte that would end or corrupt an HTTP header line.
bool HasControlCharacter(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

size_t AppendToString(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// One HTTP exchange's outcome.
struct HttpAnswer {
  long status = 0;
  std::string body;
  // For an error status: the server's `message` (or its body), printable, cut, with every
  // credential this client knows removed. Empty otherwise.
  std::string message;

  bool ok() const { return status >= 200 && status < 300; }
};

// The text of a server's error body: its JSON `message` when there is one, else the body.
std::string ServerText(const std::string& body) {
  absl::StatusOr<Value> v = ParseJson(body);
  if (v.ok() && v->kind_case() == Value::kStructValue) {
    auto it = v->struct_value().fields().find("message");
    if (it != v->struct_value().fields().end() && it->second.kind_case() == Value::kStringValue) {
      return it->second.string_value();
    }
  }
  return body;
}

}  // namespace

struct RestConductorClient::Impl {
  Impl(RestOptions o, std::string b)
      : options(std::move(o)),
        base(std::move(b)),
        env(options.environment.empty() ? base : options.environment) {}
  ~Impl() {
    absl::MutexLock lock(&pool_mu);
    for (CURL* handle : pool) curl_easy_cleanup(handle);
  }

  const RestOptions options;
  const std::string base;  // without a trailing '/'
  const std::string env;   // the name in messages

  // "environment 'prod': "
  std::string Prefix() const { return absl::StrCat("environment '", env, "': "); }

  // `text` without the configured credentials nor `sent_token`: a server may echo what it was
  // sent, and a status is logged by whoever receives it.
  std::string Scrub(std::string text, absl::string_view sent_token) const {
    for (absl::string_view secret :
         {absl::string_view(options.token), absl::string_view(options.key_secret), sent_token}) {
      if (!secret.empty()) text = absl::StrReplaceAll(text, {{secret, "<redacted>"}});
    }
    return text;
  }

  // --- transport ---

  CURL* Acquire() {
    {
      absl::MutexLock lock(&pool_mu);
      if (!pool.empty()) {
        CURL* handle = pool.back();
        pool.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  // Back to the pool; curl_easy_reset drops every option (pointers into the finished call's
  // locals among them) but keeps the handle's live connections, DNS and TLS session caches.
  void Release(CURL* handle) {
    curl_easy_reset(handle);
    absl::MutexLock lock(&pool_mu);
    pool.push_back(handle);
  }

  // One HTTP exchange: `path` (already escaped, with its query) under the base URL, `body` as
  // JSON when not null, `token` in X-Authorization when not empty. Unavailable on a transport
  // failure, DeadlineExceeded on a timeout; any HTTP status is an answer.
  absl::StatusOr<HttpAnswer> Perform(absl::string_view method, const std::string& path,
                                     const std::string* body, const std::string& token) {
    CURL* curl = Acquire();
    if (curl == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat(Prefix(), method, " ", path, ": libcurl could not make a handle"));
    }
    const std::string url = base + path;
    HttpAnswer answer;
    char error[CURL_ERROR_SIZE] = {0};
    curl_slist* raw_headers = nullptr;
    // Without an empty Expect header curl waits up to a second for "100 Continue" before
    // sending a large body.
    raw_headers = curl_slist_append(raw_headers, "Expect:");
    if (body != nullptr) {
      raw_headers = curl_slist_append(raw_headers, "Content-Type: application/json");
    }
    if (!token.empty()) {
      raw_headers =
          curl_slist_append(raw_headers, absl::StrCat("X-Authorization: ", token).c_str());
    }
    std::unique_ptr<curl_slist, SlistFree> headers(raw_headers);

    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    // Signals would interrupt other threads' calls; timeouts then rely on curl's own timers.
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options.connect_timeout)));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options.call_timeout)));
    if (!options.root_ca_file.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, options.root_ca_file.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendToString);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
    if (method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
      const std::string verb(method);
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, verb.c_str());
    }
    if (body != nullptr) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
    Release(curl);
    if (rc != CURLE_OK) {
      std::string detail = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
      std::string message = absl::StrCat(Prefix(), method, " ", path, ": ",
                                         Scrub(Printable(detail, kMaxQuoted), token));
      if (rc == CURLE_OPERATION_TIMEDOUT) return absl::DeadlineExceededError(message);
      return absl::UnavailableError(message);
    }
    return answer;
  }

  // --- auth ---

  struct Credential {
    std::string token;        // empty: send none
    uint64_t generation = 0;  // which exchange produced it
  };

  // POST /token with the access key; caches the token it answers.
  absl::Status ExchangeKeyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(token_mu) {
    Value request;
    auto& fields = *request.mutable_struct_value()->mutable_fields();
    fields["keyId"].set_string_value(options.key_id);
    fields["keySecret"].set_string_value(options.key_secret);
    const std::string text = WriteJson(request);
    ASSIGN_OR_RETURN(HttpAnswer answer, Perform("POST", "/token", &text, /*token=*/""));
    if (!answer.ok()) {
      const std::string message = Scrub(Printable(ServerText(answer.body), kMaxQuoted), "");
      if (answer.status == 401 || answer.status == 403) {
        return absl::Status(
            CodeOfHttp(answer.status),
            absl::StrCat(Prefix(), "the access key '", options.key_id, "' was refused (HTTP ",
                         answer.status, ") at POST /token", message.empty() ? "" : ": ", message));
      }
      return absl::Status(CodeOfHttp(answer.status),
                          absl::StrCat(Prefix(), "the access key '", options.key_id,
                                       "' could not be exchanged for a token: POST /token: HTTP ",
                                       answer.status, message.empty() ? "" : ": ", message));
    }
    // The body holds the token: it goes into no message.
    absl::StatusOr<Value> v = ParseJson(answer.body);
    const Value* got = nullptr;
    if (v.ok() && v->kind_case() == Value::kStructValue) {
      auto it = v->struct_value().fields().find("token");
      if (it != v->struct_value().fields().end()) got = &it->second;
    }
    if (got == nullptr || got->kind_case() != Value::kStringValue || got->string_value().empty()) {
      return absl::UnavailableError(
          absl::StrCat(Prefix(), "POST /token: HTTP ", answer.status,
                       " answered without a token (expected {\"token\": \"...\"})"));
    }
    if (HasControlCharacter(got->string_value())) {
      return absl::UnavailableError(
          absl::StrCat(Prefix(), "POST /token answered a token that cannot be sent in a header"));
    }
    token = got->string_value();
    std::optional<absl::Time> expiry = JwtExpiry(token);
    expires_at = expiry.value_or(absl::InfiniteFuture());
    renew_at = expiry.has_value() ? *expiry - kJwtRenewMargin : absl::Now() + options.token_refresh;
    ++generation;
    return absl::OkStatus();
  }

  // The token to send: the static one, or the cached exchanged one (exchanged now when there is
  // none yet or it is due for renewal).
  absl::StatusOr<Credential> CurrentCredential() {
    if (options.key_id.empty()) return Credential{options.token, 0};
    absl::MutexLock lock(&token_mu);
    const absl::Time now = absl::Now();
    if (token.empty() || now >= renew_at) {
      // Renewal starts before the expiry: a failed exchange then keeps the token still valid.
      absl::Status exchanged = ExchangeKeyLocked();
      if (!exchanged.ok() && (token.empty() || now >= expires_at)) return exchanged;
    }
    return Credential{token, generation};
  }

  // A new token after the server refused the one of `refused_generation`. Threads refused at the
  // same time make one exchange: the later ones find the generation moved on and take its token.
  absl::StatusOr<Credential> Renew(uint64_t refused_generation) {
    absl::MutexLock lock(&token_mu);
    if (generation == refused_generation) RETURN_IF_ERROR(ExchangeKeyLocked());
    return Credential{token, generation};
  }

  // --- calls ---

  // Perform with credentials; a 401 / 403 with an access key renews the token once and sends
  // the call once more (a server refuses before acting, so a POST is not applied twice).
  absl::StatusOr<HttpAnswer> Call(absl::string_view method, const std::string& path,
                                  const std::string* body = nullptr) {
    ASSIGN_OR_RETURN(Credential credential, CurrentCredential());
    ASSIGN_OR_RETURN(HttpAnswer answer, Perform(method, path, body, credential.token));
    if ((answer.status == 401 || answer.status == 403) && !options.key_id.empty()) {
      ASSIGN_OR_RETURN(credential, Renew(credential.generation));
      ASSIGN_OR_RETURN(answer, Perform(method, path, body, credential.token));
    }
    if (!answer.ok()) {
      answer.message = Scrub(Printable(ServerText(answer.body), kMaxQuoted), credential.token);
    }
    return answer;
  }

  // "GET /metadata/workflow/x: HTTP 404: <server message>"
  static std::string Describe(absl::string_view method, const std::string& path,
                              const HttpAnswer& answer) {
    return absl::StrCat(method, " ", path, ": HTTP ", answer.status,
                        answer.message.empty() ? "" : ": ", answer.message);
  }

  absl::Status HttpError(absl::string_view method, const std::string& path,
                         const HttpAnswer& answer) const {
    return absl::Status(CodeOfHttp(answer.status),
                        absl::StrCat(Prefix(), Describe(method, path, answer)));
  }

  // Call, with every non-2xx answer an error.
  absl::StatusOr<HttpAnswer> Send(absl::string_view method, const std::string& path,
                                  const std::string* body = nullptr) {
    ASSIGN_OR_RETURN(HttpAnswer answer, Call(method, path, body));
    if (!answer.ok()) return HttpError(method, path, answer);
    return answer;
  }

  // A 2xx answer's body as JSON; InvalidArgument naming the call when it is not.
  absl::StatusOr<Value> Json(absl::string_view method, const std::string& path,
                             const HttpAnswer& answer) const {
    absl::StatusOr<Value> v = ParseJson(answer.body);
    if (!v.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Prefix(), method, " ", path,
                       ": the answer is not JSON: ", Printable(v.status().message(), kMaxQuoted)));
    }
    return v;
  }

  absl::StatusOr<Value> GetJsonList(const std::string& path) {
    ASSIGN_OR_RETURN(HttpAnswer answer, Send("GET", path));
    ASSIGN_OR_RETURN(Value v, Json("GET", path, answer));
    if (v.kind_case() != Value::kListValue) {
      return absl::InvalidArgumentError(
          absl::StrCat(Prefix(), "GET ", path, ": the answer is not a JSON list"));
    }
    return v;
  }

  absl::Status CheckName(absl::string_view what, absl::string_view name) const {
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(Prefix(), "no ", what, " name"));
    }
    return absl::OkStatus();
  }

  // The secret API's answer to a route it lacks (404 or 405 where the route would be).
  absl::Status NoSecretApi(absl::string_view method, const std::string& path,
                           const HttpAnswer& answer) const {
    return absl::UnimplementedError(absl::StrCat("environment '", env, "' has no secret API (",
                                                 Describe(method, path, answer), ")"));
  }

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

absl::StatusOr<std::unique_ptr<RestConductorClient>> RestConductorClient::Create(
    RestOptions options) {
  std::string base = options.base_url;
  while (absl::EndsWith(base, "/")) base.pop_back();
  const std::string lower = absl::AsciiStrToLower(base);
  if (!absl::StartsWith(lower, "http://") && !absl::StartsWith(lower, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat("environment '", options.environment,
                                                   "': base URL '", Printable(base, kMaxQuoted),
                                                   "' is not http:// or https://"));
  }
  const std::string env = options.environment.empty() ? base : options.environment;
  if (!options.token.empty() && (!options.key_id.empty() || !options.key_secret.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "environment '", env, "': both a token and an access key are configured; give one"));
  }
  if (HasControlCharacter(options.token) || HasControlCharacter(options.key_id)) {
    // The token is not quoted: it is a secret even when malformed.
    return absl::InvalidArgumentError(absl::StrCat(
        "environment '", env, "': the token or key id holds control characters (a line break?)"));
  }
  if (options.key_id.empty() != options.key_secret.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment '", env, "': an access key needs both its id and its secret"));
  }
  if (!options.root_ca_file.empty()) {
    std::error_code ec;
    std::ifstream in(options.root_ca_file);
    if (!std::filesystem::is_regular_file(options.root_ca_file, ec) || !in.good()) {
      return absl::NotFoundError(absl::StrCat("environment '", env, "': root CA file '",
                                              options.root_ca_file, "' cannot be read"));
    }
  }
  RETURN_IF_ERROR(InitCurlOnce());
  return std::unique_ptr<RestConductorClient>(
      new RestConductorClient(std::make_unique<Impl>(std::move(options), std::move(base))));
}

RestConductorClient::RestConductorClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestConductorClient::~RestConductorClient() = default;

const std::string& RestConductorClient::base_url() const { return impl_->base; }

absl::Status RestConductorClient::Ping() {
  // CurrentCredential exchanges the key first, so a wrong key fails here with the exchange's
  // own error rather than as a refused metadata call.
  RETURN_IF_ERROR(impl_->CurrentCredential().status());
  return impl_->Send("GET", "/metadata/workflow/names-and-versions").status();
}

// --- MetadataClient ---

absl::StatusOr<WorkflowDef> RestConductorClient::GetWorkflowDef(absl::string_view name,
                                                                int version) {
  RETURN_IF_ERROR(impl_->CheckName("workflow", name));
  std::string path = absl::StrCat("/metadata/workflow/", EscapeSegment(name));
  if (version > 0) absl::StrAppend(&path, "?version=", version);
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Send("GET", path));
  if (absl::StripAsciiWhitespace(answer.body).empty()) {
    return absl::NotFoundError(absl::StrCat(impl_->Prefix(), "GET ", path, ": HTTP ", answer.status,
                                            " with an empty body: no workflow '", name,
                                            "' version ",
                                            version > 0 ? absl::StrCat(version) : "latest"));
  }
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  absl::StatusOr<WorkflowDef> def = WorkflowDefFromValue(v, nullptr);
  if (!def.ok()) {
    return absl::Status(def.status().code(),
                        absl::StrCat(impl_->Prefix(), "GET ", path, ": ", def.status().message()));
  }
  return def;
}

absl::Status RestConductorClient::CreateWorkflowDef(const WorkflowDef& def) {
  const std::string body = WriteJson(WorkflowDefToValue(def));
  return impl_->Send("POST", "/metadata/workflow", &body).status();
}

absl::Status RestConductorClient::UpdateWorkflowDefs(const std::vector<WorkflowDef>& defs) {
  return UpdateWorkflowDefsWithExtras(defs, {});
}

absl::Status RestConductorClient::UpdateWorkflowDefsWithExtras(const std::vector<WorkflowDef>& defs,
                                                               const std::vector<Value>& extras) {
  Value list;
  list.mutable_list_value();
  for (size_t i = 0; i < defs.size(); ++i) {
    Value v = WorkflowDefToValue(defs[i]);
    if (i < extras.size()) AddMissingKeys(extras[i], &v);
    *list.mutable_list_value()->add_values() = std::move(v);
  }
  const std::string body = WriteJson(list);
  return impl_->Send("PUT", "/metadata/workflow", &body).status();
}

absl::StatusOr<TaskDef> RestConductorClient::GetTaskDef(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("task definition", name));
  const std::string path = absl::StrCat("/metadata/taskdefs/", EscapeSegment(name));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Send("GET", path));
  if (absl::StripAsciiWhitespace(answer.body).empty()) {
    return absl::NotFoundError(absl::StrCat(impl_->Prefix(), "GET ", path, ": HTTP ", answer.status,
                                            " with an empty body: no task '", name, "'"));
  }
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  absl::StatusOr<TaskDef> def = TaskDefFromValue(v, nullptr);
  if (!def.ok()) {
    return absl::Status(def.status().code(),
                        absl::StrCat(impl_->Prefix(), "GET ", path, ": ", def.status().message()));
  }
  return def;
}

absl::Status RestConductorClient::CreateTaskDefs(const std::vector<TaskDef>& defs) {
  return CreateTaskDefsWithExtras(defs, {});
}

absl::Status RestConductorClient::CreateTaskDefsWithExtras(const std::vector<TaskDef>& defs,
                                                           const std::vector<Value>& extras) {
  Value list;
  list.mutable_list_value();
  for (size_t i = 0; i < defs.size(); ++i) {
    Value v = TaskDefToValue(defs[i]);
    if (i < extras.size()) AddMissingKeys(extras[i], &v);
    *list.mutable_list_value()->add_values() = std::move(v);
  }
  const std::string body = WriteJson(list);
  return impl_->Send("POST", "/metadata/taskdefs", &body).status();
}

absl::Status RestConductorClient::UpdateTaskDef(const TaskDef& def) {
  const std::string body = WriteJson(TaskDefToValue(def));
  return impl_->Send("PUT", "/metadata/taskdefs", &body).status();
}

absl::StatusOr<std::vector<WorkflowDef>> RestConductorClient::ListWorkflowDefs(
    absl::string_view name, bool all_versions) {
  return ListWorkflows(name, all_versions, nullptr);
}

absl::StatusOr<std::vector<WorkflowDef>> RestConductorClient::ListWorkflowDefsWithExtras(
    std::vector<Value>* extras) {
  return ListWorkflows("", /*all_versions=*/true, extras);
}

absl::StatusOr<std::vector<WorkflowDef>> RestConductorClient::ListWorkflows(
    absl::string_view name, bool all_versions, std::vector<Value>* extras) {
  // Every version of every workflow: conductor-oss and Orkes both serve this path, while
  // latest-versions is missing from older servers.
  const std::string path = "/metadata/workflow";
  ASSIGN_OR_RETURN(Value list, impl_->GetJsonList(path));
  std::vector<std::pair<WorkflowDef, Value>> defs;
  for (int i = 0; i < list.list_value().values_size(); ++i) {
    const Value& original = list.list_value().values(i);
    absl::StatusOr<WorkflowDef> def = WorkflowDefFromValue(original, nullptr);
    if (!def.ok()) {
      return absl::Status(def.status().code(), absl::StrCat(impl_->Prefix(), "GET ", path, ": [", i,
                                                            "]: ", def.status().message()));
    }
    if (!name.empty() && def->name() != name) continue;
    Value extra = extras != nullptr ? WorkflowDefExtraKeys(original, *def) : Value();
    defs.emplace_back(*std::move(def), std::move(extra));
  }
  std::sort(defs.begin(), defs.end(), [](const auto& a, const auto& b) {
    if (a.first.name() != b.first.name()) return a.first.name() < b.first.name();
    return a.first.version() < b.first.version();
  });
  std::vector<WorkflowDef> out;
  if (extras != nullptr) extras->clear();
  for (size_t i = 0; i < defs.size(); ++i) {
    // Sorted by version within a name: the last of each run of a name is its latest.
    if (!all_versions && i + 1 < defs.size() && defs[i + 1].first.name() == defs[i].first.name()) {
      continue;
    }
    out.push_back(std::move(defs[i].first));
    if (extras != nullptr) extras->push_back(std::move(defs[i].second));
  }
  return out;
}

absl::StatusOr<std::vector<TaskDef>> RestConductorClient::ListTaskDefs() {
  return ListTasks(nullptr);
}

absl::StatusOr<std::vector<TaskDef>> RestConductorClient::ListTaskDefsWithExtras(
    std::vector<Value>* extras) {
  return ListTasks(extras);
}

absl::StatusOr<std::vector<TaskDef>> RestConductorClient::ListTasks(std::vector<Value>* extras) {
  const std::string path = "/metadata/taskdefs";
  ASSIGN_OR_RETURN(Value list, impl_->GetJsonList(path));
  std::vector<std::pair<TaskDef, Value>> defs;
  for (int i = 0; i < list.list_value().values_size(); ++i) {
    const Value& original = list.list_value().values(i);
    absl::StatusOr<TaskDef> def = TaskDefFromValue(original, nullptr);
    if (!def.ok()) {
      return absl::Status(def.status().code(), absl::StrCat(impl_->Prefix(), "GET ", path, ": [", i,
                                                            "]: ", def.status().message()));
    }
    Value extra = extras != nullptr ? TaskDefExtraKeys(original, *def) : Value();
    defs.emplace_back(*std::move(def), std::move(extra));
  }
  std::sort(defs.begin(), defs.end(),
            [](const auto& a, const auto& b) { return a.first.name() < b.first.name(); });
  std::vector<TaskDef> out;
  if (extras != nullptr) extras->clear();
  for (auto& [def, extra] : defs) {
    out.push_back(std::move(def));
    if (extras != nullptr) extras->push_back(std::move(extra));
  }
  return out;
}

// --- DefinitionAdminClient ---

absl::Status RestConductorClient::DeleteWorkflowDef(absl::string_view name, int version) {
  RETURN_IF_ERROR(impl_->CheckName("workflow", name));
  return impl_
      ->Send("DELETE", absl::StrCat("/metadata/workflow/", EscapeSegment(name), "/", version))
      .status();
}

absl::Status RestConductorClient::DeleteTaskDef(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("task definition", name));
  return impl_->Send("DELETE", absl::StrCat("/metadata/taskdefs/", EscapeSegment(name))).status();
}

// --- SecretClient ---

absl::Status RestConductorClient::PutSecret(absl::string_view name, absl::string_view value) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name));
  Value json;
  json.set_string_value(std::string(value));
  const std::string body = WriteJson(json);
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("PUT", path, &body));
  // A PUT creates: a 404 cannot mean "no such secret", only "no such route".
  if (answer.status == 404 || answer.status == 405) return impl_->NoSecretApi("PUT", path, answer);
  if (!answer.ok()) return impl_->HttpError("PUT", path, answer);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RestConductorClient::GetSecret(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("GET", path));
  if (answer.status == 405) return impl_->NoSecretApi("GET", path, answer);
  if (!answer.ok()) return impl_->HttpError("GET", path, answer);
  // Orkes answers a JSON string; a plain-text answer is the value itself.
  if (absl::StartsWith(answer.body, "\"")) {
    absl::StatusOr<Value> v = ParseJson(answer.body);
    if (v.ok() && v->kind_case() == Value::kStringValue) return v->string_value();
  }
  return std::move(answer.body);
}

absl::StatusOr<std::vector<std::string>> RestConductorClient::ListSecretNames() {
  const std::string path = "/secrets";
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("GET", path));
  if (answer.status == 404 || answer.status == 405) return impl_->NoSecretApi("GET", path, answer);
  if (!answer.ok()) return impl_->HttpError("GET", path, answer);
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  if (v.kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(impl_->Prefix(), "GET ", path, ": the answer is not a JSON list of names"));
  }
  std::vector<std::string> names;
  for (const Value& item : v.list_value().values()) {
    if (item.kind_case() != Value::kStringValue) {
      return absl::InvalidArgumentError(
          absl::StrCat(impl_->Prefix(), "GET ", path, ": the answer is not a JSON list of names"));
    }
    names.push_back(item.string_value());
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status RestConductorClient::DeleteSecret(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name));
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("DELETE", path));
  if (answer.status == 405) return impl_->NoSecretApi("DELETE", path, answer);
  if (!answer.ok()) return impl_->HttpError("DELETE", path, answer);
  return absl::OkStatus();
}

absl::StatusOr<bool> RestConductorClient::SecretExists(absl::string_view name) {
  RETURN_IF_ERROR(impl_->CheckName("secret", name));
  const std::string path = absl::StrCat("/secrets/", EscapeSegment(name), "/exists");
  ASSIGN_OR_RETURN(HttpAnswer answer, impl_->Call("GET", path));
  if (answer.status == 404 || answer.status == 405) {
    // No exists route (conductor-oss serves the names only): look in the list.
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListSecretNames());
    return std::find(names.begin(), names.end(), name) != names.end();
  }
  if (!answer.ok()) return impl_->HttpError("GET", path, answer);
  ASSIGN_OR_RETURN(Value v, impl_->Json("GET", path, answer));
  if (v.kind_case() != Value::kBoolValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(impl_->Prefix(), "GET ", path, ": the answer is not true or false"));
  }
  return v.bool_value();
}

}  // namespace cmig::client
