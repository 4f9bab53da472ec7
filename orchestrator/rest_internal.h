// What the REST API's parts share (private to the orchestrator): one request being answered
// (Call), the route table's entries, Conductor's error body and JSON helpers. rest_api.cc routes
// and authenticates; rest_metadata.cc serves /api/metadata and /api/event; rest_execution.cc
// serves /api/workflow and /api/tasks.
#ifndef CMIG_ORCHESTRATOR_REST_INTERNAL_H_
#define CMIG_ORCHESTRATOR_REST_INTERNAL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/conductor_environment.h"
#include "definitions/json.h"
#include "google/protobuf/struct.pb.h"
#include "orchestrator/engine.h"
#include "orchestrator/extensions.h"
#include "orchestrator/http_server.h"

namespace cmig::orchestrator {
class Scheduler;
}  // namespace cmig::orchestrator

namespace cmig::orchestrator::rest {

using google::protobuf::Value;

inline int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

inline HttpResponse JsonResponse(const Value& v, int status = 200) {
  return HttpResponse{status, "application/json", WriteJson(v)};
}

// Conductor's ErrorResponse; `status` 0 = the one `s` maps to.
inline HttpResponse ErrorResponse(const absl::Status& s, int status = 0) {
  if (status == 0) status = HttpStatusOf(s.code());
  Value body;
  auto& f = *body.mutable_struct_value()->mutable_fields();
  f["status"].set_number_value(status);
  f["message"].set_string_value(std::string(s.message()));
  f["instance"].set_string_value("cmig-orchestrator");
  f["retryable"].set_bool_value(status == 503);
  return JsonResponse(body, status);
}

// `key` of object `v`; null when absent or when `v` is not an object.
inline const Value& Field(const Value& v, const std::string& key) {
  static const Value* const kNull = new Value();
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? *kNull : it->second;
}

inline Value StringValue(std::string s) {
  Value v;
  v.set_string_value(std::move(s));
  return v;
}

// Conductor's SearchResult.
inline Value SearchResult(int64_t total_hits, Value results) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["totalHits"].set_number_value(static_cast<double>(total_hits));
  f["results"] = std::move(results);
  return v;
}

template <typename T, typename Fn>
Value ListOf(const std::vector<T>& items, Fn fn) {
  Value v;
  auto* list = v.mutable_list_value();
  for (const T& item : items) *list->add_values() = fn(item);
  return v;
}

// One request being answered: its path parameters, its query, and the way to answer.
class Call {
 public:
  Call(HttpRequest req, HttpRespond respond) : req_(std::move(req)), respond_(std::move(respond)) {
    for (absl::string_view pair : absl::StrSplit(req_.query, '&', absl::SkipEmpty())) {
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(pair, absl::MaxSplits('=', 1));
      query_[PercentDecode(kv.first, true)].push_back(PercentDecode(kv.second, true));
    }
  }

  const HttpRequest& request() const { return req_; }
  std::vector<std::string>& params() { return params_; }
  const std::string& param(size_t i) const { return params_[i]; }

  std::optional<std::string> Query(const std::string& name) const {
    auto it = query_.find(name);
    if (it == query_.end() || it->second.empty()) return std::nullopt;
    return it->second.front();
  }
  std::vector<std::string> QueryAll(const std::string& name) const {
    auto it = query_.find(name);
    if (it == query_.end()) return {};
    std::vector<std::string> out;
    for (const std::string& v : it->second) {
      for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        out.emplace_back(part);
      }
    }
    return out;
  }
  absl::StatusOr<bool> QueryBool(const std::string& name, bool fallback) const {
    std::optional<std::string> v = Query(name);
    if (!v.has_value()) return fallback;
    std::string lower = absl::AsciiStrToLower(*v);
    if (lower == "true") return true;
    if (lower == "false") return false;
    return absl::InvalidArgumentError(
        absl::StrCat("parameter '", name, "' must be true or false, not '", *v, "'"));
  }
  absl::StatusOr<int64_t> QueryInt(const std::string& name, int64_t fallback) const {
    std::optional<std::string> v = Query(name);
    if (!v.has_value() || v->empty()) return fallback;
    int64_t out = 0;
    if (!absl::SimpleAtoi(*v, &out)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "' must be a number, not '", *v, "'"));
    }
    return out;
  }

  absl::StatusOr<Value> Body() const {
    if (req_.body.empty()) return absl::InvalidArgumentError("the request has no body");
    absl::StatusOr<Value> v = ParseJson(req_.body);
    if (!v.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the request body is not JSON: ", v.status().message()));
    }
    return v;
  }

  void Respond(HttpResponse r) { respond_(std::move(r)); }
  void Json(const Value& v) { Respond(JsonResponse(v)); }
  void Text(std::string text) { Respond(HttpResponse{200, "text/plain", std::move(text)}); }
  void Empty(int status = 200) { Respond(HttpResponse{status, "", ""}); }
  void Error(const absl::Status& s) { Respond(ErrorResponse(s)); }
  // Answers `s`: an empty `ok_status` on success, the error otherwise.
  void Finish(const absl::Status& s, int ok_status = 200) {
    if (s.ok()) {
      Empty(ok_status);
    } else {
      Error(s);
    }
  }

 private:
  HttpRequest req_;
  HttpRespond respond_;
  std::vector<std::string> params_;
  absl::flat_hash_map<std::string, std::vector<std::string>> query_;
};

// Answers with a call that outlives the handler (asynchronous engine calls).
using CallPtr = std::shared_ptr<Call>;

// An engine callback that answers like Call::Finish; it keeps the call alive until it runs.
inline Engine::Done DoneOf(const CallPtr& call, int ok_status = 200) {
  return [call, ok_status](const absl::Status& s) { call->Finish(s, ok_status); };
}
using RouteFn = std::function<void(Engine&, const CallPtr&)>;

struct Route {
  std::string method;
  std::vector<std::string> segments;  // "{}" = a path parameter
  RouteFn fn;
  bool beyond_conductor = false;  // not served by conductor-oss (Orkes' or the project's own)
  bool open = false;              // answered without a token
};

template <typename T>
bool Take(const CallPtr& call, absl::StatusOr<T> v, T* out) {
  if (!v.ok()) {
    call->Error(v.status());
    return false;
  }
  *out = *std::move(v);
  return true;
}

inline std::vector<std::string> Segments(absl::string_view path) {
  std::vector<std::string> out;
  for (absl::string_view s : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    out.push_back(PercentDecode(s, /*plus_is_space=*/false));
  }
  return out;
}

// InvalidArgument naming the part of `req`'s path or query that is not UTF-8 once decoded:
// such text cannot be kept in a definition, a task or a log, nor sent to a gRPC client.
absl::Status CheckUtf8(const HttpRequest& req);

// The text a body carries: the raw body, or the text of a body that is one JSON string (what
// JSON clients send for a string). InvalidArgument, naming `what`, when it is not UTF-8.
absl::StatusOr<std::string> BodyText(const std::string& body, absl::string_view what);

inline Route R(std::string method, absl::string_view pattern, RouteFn fn) {
  return Route{std::move(method), Segments(pattern), std::move(fn)};
}

// Clients for stored environment `env`, with the credential its secret names, read from `store`
// and never shown; a secret that cannot be read is FailedPrecondition (rest_incoming.cc).
absl::StatusOr<std::unique_ptr<client::ConductorEnvironment>> ConnectStoredEnvironment(
    ExtensionStore& store, const v1::Environment& env, absl::Duration call_timeout);

// An environment's refusal of its credential is not this caller's: answered FailedPrecondition,
// never the 401/403 a client would take for its own token; other errors get `otherwise`.
inline absl::Status AsEnvironmentError(const absl::Status& s, absl::StatusCode otherwise,
                                       absl::string_view context = "") {
  const bool refused = absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s);
  return absl::Status(refused ? absl::StatusCode::kFailedPrecondition : otherwise,
                      absl::StrCat(context, s.message()));
}

// Starts `start` and answers {"workflowId"} (or the error).
inline void StartAndAnswerId(Engine& engine, conductor::proto::StartWorkflowRequest start,
                             const CallPtr& call) {
  engine.StartWorkflow(std::move(start), [call](const absl::StatusOr<std::string>& id) {
    if (!id.ok()) {
      call->Error(id.status());
      return;
    }
    Value v;
    (*v.mutable_struct_value()->mutable_fields())["workflowId"].set_string_value(*id);
    call->Json(v);
  });
}

// A route conductor-oss does not serve.
inline Route Beyond(Route r) {
  r.beyond_conductor = true;
  return r;
}

// Appends the routes of /api/metadata and /api/event (rest_metadata.cc).
void AddMetadataRoutes(std::vector<Route>& routes);
// Appends the routes of /api/workflow and /api/tasks (rest_execution.cc).
void AddExecutionRoutes(std::vector<Route>& routes, int64_t wait_limit_ms);
// Conductor's scheduler paths (rest_scheduler.cc); none without a scheduler.
void AddSchedulerRoutes(Scheduler* scheduler, std::vector<Route>& routes);
// Appends GET /api/cmig/migrations/{id}/incoming (rest_incoming.cc); nothing without `store`.
void AddIncomingRoute(const std::shared_ptr<ExtensionStore>& store, std::vector<Route>& routes);
// Appends POST /api/cmig/packages (upload), .../{digest}/inspect and .../{digest}/import
// (rest_packages.cc); nothing without `store`.
void AddPackageRoutes(const std::shared_ptr<ExtensionStore>& store, int64_t max_package_bytes,
                      std::vector<Route>& routes);

}  // namespace cmig::orchestrator::rest

#endif  // CMIG_ORCHESTRATOR_REST_INTERNAL_H_
