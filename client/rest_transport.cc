// The transport behind RestConductorClient on libcurl's easy interface: a pool of easy handles
// (each keeps its connections alive between calls), one token cache, and the mapping of HTTP
// answers to absl codes. See rest_transport.h.
#include "client/rest_transport.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "definitions/json.h"

namespace cmig::client {
namespace {

using google::protobuf::Value;

// A JWT is renewed this long before its `exp`, so that a call started just before the expiry
// does not reach the server with a token that has expired on the way.
constexpr absl::Duration kJwtRenewMargin = absl::Seconds(60);

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

size_t AppendToString(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
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

// True when `s` holds a byte that would end or corrupt an HTTP header line.
bool HasControlCharacter(absl::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

RestConductorClient::Impl::Impl(RestOptions o, std::string b)
    : options(std::move(o)),
      base(std::move(b)),
      env(options.environment.empty() ? base : options.environment) {}

RestConductorClient::Impl::~Impl() {
  absl::MutexLock lock(&pool_mu);
  for (CURL* handle : pool) curl_easy_cleanup(handle);
}

std::string RestConductorClient::Impl::Prefix() const {
  return absl::StrCat("environment '", env, "': ");
}

std::string RestConductorClient::Impl::Scrub(std::string text, absl::string_view sent_token) const {
  for (absl::string_view secret :
       {absl::string_view(options.token), absl::string_view(options.key_secret), sent_token}) {
    if (!secret.empty()) text = absl::StrReplaceAll(text, {{secret, "<redacted>"}});
  }
  return text;
}

CURL* RestConductorClient::Impl::Acquire() {
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

void RestConductorClient::Impl::Release(CURL* handle) {
  curl_easy_reset(handle);
  absl::MutexLock lock(&pool_mu);
  pool.push_back(handle);
}

absl::StatusOr<HttpAnswer> RestConductorClient::Impl::Perform(absl::string_view method,
                                                              const std::string& path,
                                                              const std::string* body,
                                                              const std::string& token) {
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
    raw_headers = curl_slist_append(raw_headers, absl::StrCat("X-Authorization: ", token).c_str());
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

absl::Status RestConductorClient::Impl::ExchangeKeyLocked() {
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

absl::StatusOr<RestConductorClient::Impl::Credential>
RestConductorClient::Impl::CurrentCredential() {
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

absl::StatusOr<RestConductorClient::Impl::Credential> RestConductorClient::Impl::Renew(
    uint64_t refused_generation) {
  absl::MutexLock lock(&token_mu);
  if (generation == refused_generation) RETURN_IF_ERROR(ExchangeKeyLocked());
  return Credential{token, generation};
}

absl::StatusOr<HttpAnswer> RestConductorClient::Impl::Call(absl::string_view method,
                                                           const std::string& path,
                                                           const std::string* body) {
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

std::string RestConductorClient::Impl::Describe(absl::string_view method, const std::string& path,
                                                const HttpAnswer& answer) {
  return absl::StrCat(method, " ", path, ": HTTP ", answer.status,
                      answer.message.empty() ? "" : ": ", answer.message);
}

absl::Status RestConductorClient::Impl::HttpError(absl::string_view method, const std::string& path,
                                                  const HttpAnswer& answer) const {
  return absl::Status(CodeOfHttp(answer.status),
                      absl::StrCat(Prefix(), Describe(method, path, answer)));
}

absl::StatusOr<HttpAnswer> RestConductorClient::Impl::Send(absl::string_view method,
                                                           const std::string& path,
                                                           const std::string* body) {
  ASSIGN_OR_RETURN(HttpAnswer answer, Call(method, path, body));
  if (!answer.ok()) return HttpError(method, path, answer);
  return answer;
}

absl::StatusOr<Value> RestConductorClient::Impl::Json(absl::string_view method,
                                                      const std::string& path,
                                                      const HttpAnswer& answer) const {
  absl::StatusOr<Value> v = ParseJson(answer.body);
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Prefix(), method, " ", path,
                     ": the answer is not JSON: ", Printable(v.status().message(), kMaxQuoted)));
  }
  return v;
}

absl::StatusOr<Value> RestConductorClient::Impl::GetJsonList(const std::string& path) {
  ASSIGN_OR_RETURN(HttpAnswer answer, Send("GET", path));
  ASSIGN_OR_RETURN(Value v, Json("GET", path, answer));
  if (v.kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(Prefix(), "GET ", path, ": the answer is not a JSON list"));
  }
  return v;
}

absl::Status RestConductorClient::Impl::CheckName(absl::string_view what,
                                                  absl::string_view name) const {
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Prefix(), "no ", what, " name"));
  }
  return absl::OkStatus();
}

absl::Status RestConductorClient::Impl::NoSecretApi(absl::string_view method,
                                                    const std::string& path,
                                                    const HttpAnswer& answer) const {
  return absl::UnimplementedError(absl::StrCat("environment '", env, "' has no secret API (",
                                               Describe(method, path, answer), ")"));
}

}  // namespace cmig::client
