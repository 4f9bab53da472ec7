#include "orchestrator/rest_api.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "definitions/conductor_json.h"
#include "definitions/conductor_messages.h"
#include "definitions/json.h"
#include "definitions/json_overlay.h"
#include "definitions/message_value.h"
#include "definitions/task_types.h"
#include "migration/migration_start.h"
#include "orchestrator/search_query.h"
#include "orchestrator/services.h"

namespace cmig::orchestrator {
namespace {

using conductor::proto::Task;
using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using google::protobuf::Value;

// Conductor's poll limits (ExecutionService): a batch poll waits at most 5 s, 100 ms unless told.
constexpr int kMaxPollTimeoutMs = 5000;
constexpr int kDefaultPollTimeoutMs = 100;

int HttpStatusOf(absl::StatusCode code) {
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

HttpResponse JsonResponse(const Value& v, int status = 200) {
  return HttpResponse{status, "application/json", WriteJson(v)};
}

// Conductor's ErrorResponse; `status` 0 = the one `s` maps to.
HttpResponse ErrorResponse(const absl::Status& s, int status = 0) {
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
const Value& Field(const Value& v, const std::string& key) {
  static const Value* const kNull = new Value();
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? *kNull : it->second;
}

Value StringValue(std::string s) {
  Value v;
  v.set_string_value(std::move(s));
  return v;
}

// Conductor's SearchResult.
Value SearchResult(int64_t total_hits, Value results) {
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
Engine::Done DoneOf(const CallPtr& call, int ok_status = 200) {
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

// The keys of a definition's JSON that its message cannot carry, as JSON text for the engine to
// keep with it (empty when there are none). The audit keys are the server's to set, not kept.
std::string ExtraKeys(const Value& original, const Value& converted) {
  Value extra = KeysMissingFrom(original, converted);
  if (extra.kind_case() != Value::kStructValue) return "";
  auto& fields = *extra.mutable_struct_value()->mutable_fields();
  for (const char* audit : {"createTime", "updateTime", "createdBy", "updatedBy"}) {
    fields.erase(audit);
  }
  return fields.empty() ? "" : WriteJson(extra);
}

// A stored definition as REST shows it: the message in Conductor's dialect plus the keys kept
// beside it.
Value WithExtra(Value converted, const std::string& extra) {
  if (!extra.empty()) {
    absl::StatusOr<Value> keys = ParseJson(extra);
    if (keys.ok()) AddMissingKeys(*keys, &converted);
  }
  return converted;
}

Value WorkflowDefJson(const Engine& engine, const WorkflowDef& def) {
  return WithExtra(WorkflowDefToValue(def), engine.WorkflowDefExtra(def.name(), def.version()));
}

Value TaskDefJson(const Engine& engine, const TaskDef& def) {
  return WithExtra(TaskDefToValue(def), engine.TaskDefExtra(def.name()));
}

absl::StatusOr<WorkflowDef> WorkflowDefOf(const Value& v) {
  absl::StatusOr<WorkflowDef> def = WorkflowDefFromValue(v, nullptr);
  if (!def.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a workflow definition: ", def.status().message()));
  }
  return def;
}

absl::StatusOr<TaskDef> TaskDefOf(const Value& v) {
  absl::StatusOr<TaskDef> def = TaskDefFromValue(v, nullptr);
  if (!def.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a task definition: ", def.status().message()));
  }
  return def;
}

template <typename T>
absl::StatusOr<std::vector<T>> ListOfDefs(const Value& v, absl::StatusOr<T> (*read)(const Value&)) {
  if (v.kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError("the request body must be a JSON list");
  }
  std::vector<T> out;
  for (int i = 0; i < v.list_value().values_size(); ++i) {
    absl::StatusOr<T> def = read(v.list_value().values(i));
    if (!def.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("[", i, "]: ", def.status().message()));
    }
    out.push_back(*std::move(def));
  }
  return out;
}

// A workflow as Conductor's REST API shows it: the message plus the Java model's derived keys.
Value WorkflowValue(const conductor::proto::Workflow& wf, int64_t start_time) {
  Value v = MessageToConductorValue(wf);
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["workflowName"].set_string_value(wf.workflow_definition().name());
  f["workflowVersion"].set_number_value(wf.workflow_definition().version());
  f["createTime"].set_number_value(static_cast<double>(start_time));
  f["startTime"].set_number_value(static_cast<double>(start_time));
  return v;
}

Value DefSummary(const WorkflowDef& d) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["name"].set_string_value(d.name());
  f["version"].set_number_value(d.version());
  return v;
}

// --- /api/metadata ---

void ListWorkflowDefs(Engine& engine, const CallPtr& call) {
  call->Json(ListOf(engine.ListWorkflowDefs("", /*all_versions=*/true),
                    [&engine](const WorkflowDef& d) { return WorkflowDefJson(engine, d); }));
}

void LatestWorkflowDefs(Engine& engine, const CallPtr& call) {
  call->Json(ListOf(engine.ListWorkflowDefs("", /*all_versions=*/false),
                    [&engine](const WorkflowDef& d) { return WorkflowDefJson(engine, d); }));
}

void WorkflowNames(Engine& engine, const CallPtr& call) {
  std::vector<std::string> names;
  for (const WorkflowDef& d : engine.ListWorkflowDefs("", /*all_versions=*/false)) {
    names.push_back(d.name());
  }
  call->Json(ListOf(names, StringValue));
}

void WorkflowNamesAndVersions(Engine& engine, const CallPtr& call) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  for (const WorkflowDef& d : engine.ListWorkflowDefs("", /*all_versions=*/true)) {
    *f[d.name()].mutable_list_value()->add_values() = DefSummary(d);
  }
  call->Json(v);
}

void WorkflowVersions(Engine& engine, const CallPtr& call) {
  call->Json(ListOf(engine.ListWorkflowDefs(call->param(0), /*all_versions=*/true), DefSummary));
}

void GetWorkflowDef(Engine& engine, const CallPtr& call) {
  absl::StatusOr<int64_t> version = call->QueryInt("version", 0);
  int64_t v = 0;
  if (!Take(call, std::move(version), &v)) return;
  absl::StatusOr<WorkflowDef> def = engine.GetWorkflowDef(call->param(0), static_cast<int>(v));
  if (!def.ok()) {
    call->Error(
        absl::NotFoundError(absl::StrCat("No such workflow found by name: ", call->param(0),
                                         ", version: ", v == 0 ? "null" : absl::StrCat(v))));
    return;
  }
  call->Json(WorkflowDefJson(engine, *def));
}

void CreateWorkflowDef(Engine& engine, const CallPtr& call) {
  Value body;
  WorkflowDef def;
  bool overwrite = false;
  if (!Take(call, call->Body(), &body) || !Take(call, WorkflowDefOf(body), &def) ||
      !Take(call, call->QueryBool("overwrite", false), &overwrite)) {
    return;
  }
  std::string extra = ExtraKeys(body, WorkflowDefToValue(def));
  if (overwrite) {
    engine.UpdateWorkflowDefs({std::move(def)}, DoneOf(call), {std::move(extra)});
    return;
  }
  engine.CreateWorkflowDef(std::move(def), DoneOf(call), std::move(extra));
}

void ValidateWorkflowDef(Engine&, const CallPtr& call) {
  Value body;
  WorkflowDef def;
  if (!Take(call, call->Body(), &body) || !Take(call, WorkflowDefOf(body), &def)) return;
  call->Finish(Engine::ValidateWorkflowDef(def));
}

void UpdateWorkflowDefs(Engine& engine, const CallPtr& call) {
  Value body;
  std::vector<WorkflowDef> defs;
  if (!Take(call, call->Body(), &body) || !Take(call, ListOfDefs(body, &WorkflowDefOf), &defs)) {
    return;
  }
  std::vector<std::string> names, extras;
  names.reserve(defs.size());
  extras.reserve(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    names.push_back(defs[i].name());
    extras.push_back(
        ExtraKeys(body.list_value().values(static_cast<int>(i)), WorkflowDefToValue(defs[i])));
  }
  engine.UpdateWorkflowDefs(
      std::move(defs),
      [call, names](const absl::Status& s) {
        if (!s.ok()) {
          call->Error(s);
          return;
        }
        // Conductor's BulkResponse.
        Value v;
        auto& f = *v.mutable_struct_value()->mutable_fields();
        f["bulkSuccessfulResults"] = ListOf(names, StringValue);
        f["bulkErrorResults"].mutable_struct_value();
        call->Json(v);
      },
      std::move(extras));
}

void DeleteWorkflowDef(Engine& engine, const CallPtr& call) {
  int version = 0;
  if (!absl::SimpleAtoi(call->param(1), &version)) {
    call->Error(
        absl::InvalidArgumentError(absl::StrCat("version '", call->param(1), "' is not a number")));
    return;
  }
  engine.DeleteWorkflowDef(call->param(0), version, DoneOf(call));
}

void ListTaskDefs(Engine& engine, const CallPtr& call) {
  call->Json(ListOf(engine.ListTaskDefs(),
                    [&engine](const TaskDef& d) { return TaskDefJson(engine, d); }));
}

void GetTaskDef(Engine& engine, const CallPtr& call) {
  absl::StatusOr<TaskDef> def = engine.GetTaskDef(call->param(0));
  if (!def.ok()) {
    call->Error(
        absl::NotFoundError(absl::StrCat("No such taskType found by name: ", call->param(0))));
    return;
  }
  call->Json(TaskDefJson(engine, *def));
}

void CreateTaskDefs(Engine& engine, const CallPtr& call) {
  Value body;
  std::vector<TaskDef> defs;
  if (!Take(call, call->Body(), &body) || !Take(call, ListOfDefs(body, &TaskDefOf), &defs)) return;
  std::vector<std::string> extras;
  extras.reserve(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    extras.push_back(
        ExtraKeys(body.list_value().values(static_cast<int>(i)), TaskDefToValue(defs[i])));
  }
  engine.CreateTaskDefs(std::move(defs), DoneOf(call), std::move(extras));
}

void UpdateTaskDef(Engine& engine, const CallPtr& call) {
  Value body;
  TaskDef def;
  if (!Take(call, call->Body(), &body) || !Take(call, TaskDefOf(body), &def)) return;
  std::string extra = ExtraKeys(body, TaskDefToValue(def));
  engine.UpdateTaskDef(std::move(def), DoneOf(call), std::move(extra));
}

void DeleteTaskDef(Engine& engine, const CallPtr& call) {
  engine.DeleteTaskDef(call->param(0), DoneOf(call));
}

// --- /api/event ---

Value EventHandlerJson(const Engine& engine, const conductor::proto::EventHandler& h) {
  return WithExtra(EventHandlerToValue(h), engine.EventHandlerExtra(h.name()));
}

// The event handler in the request's body and its keys beyond the message; false (answered)
// when it cannot be read.
bool ReadEventHandler(const CallPtr& call, conductor::proto::EventHandler* handler,
                      std::string* extra) {
  Value body;
  if (!Take(call, call->Body(), &body)) return false;
  absl::StatusOr<conductor::proto::EventHandler> h = EventHandlerFromValue(body);
  if (!h.ok()) {
    call->Error(
        absl::InvalidArgumentError(absl::StrCat("not an event handler: ", h.status().message())));
    return false;
  }
  *extra = ExtraKeys(body, EventHandlerToValue(*h));
  *handler = *std::move(h);
  return true;
}

void ListEventHandlers(Engine& engine, const CallPtr& call) {
  call->Json(ListOf(engine.ListEventHandlers(), [&engine](const conductor::proto::EventHandler& h) {
    return EventHandlerJson(engine, h);
  }));
}

void EventHandlersForEvent(Engine& engine, const CallPtr& call) {
  bool active_only = true;
  if (!Take(call, call->QueryBool("activeOnly", true), &active_only)) return;
  call->Json(ListOf(
      engine.EventHandlersForEvent(call->param(0), active_only),
      [&engine](const conductor::proto::EventHandler& h) { return EventHandlerJson(engine, h); }));
}

void AddEventHandler(Engine& engine, const CallPtr& call) {
  conductor::proto::EventHandler handler;
  std::string extra;
  if (!ReadEventHandler(call, &handler, &extra)) return;
  engine.AddEventHandler(std::move(handler), DoneOf(call), std::move(extra));
}

void UpdateEventHandler(Engine& engine, const CallPtr& call) {
  conductor::proto::EventHandler handler;
  std::string extra;
  if (!ReadEventHandler(call, &handler, &extra)) return;
  engine.UpdateEventHandler(std::move(handler), DoneOf(call), std::move(extra));
}

void RemoveEventHandler(Engine& engine, const CallPtr& call) {
  engine.RemoveEventHandler(call->param(0), DoneOf(call));
}

// --- /api/workflow ---

void AnswerWorkflowId(const CallPtr& call, const absl::StatusOr<std::string>& id) {
  if (id.ok()) {
    call->Text(*id);
  } else {
    call->Error(id.status());
  }
}

void StartWorkflow(Engine& engine, const CallPtr& call) {
  Value body;
  if (!Take(call, call->Body(), &body)) return;
  conductor::proto::StartWorkflowRequest request;
  if (absl::Status s = MessageFromConductorValue(body, &request); !s.ok()) {
    call->Error(
        absl::InvalidArgumentError(absl::StrCat("not a StartWorkflowRequest: ", s.message())));
    return;
  }
  engine.StartWorkflow(std::move(request), [call](const absl::StatusOr<std::string>& id) {
    AnswerWorkflowId(call, id);
  });
}

void StartWorkflowByName(Engine& engine, const CallPtr& call) {
  conductor::proto::StartWorkflowRequest request;
  request.set_name(call->param(0));
  int64_t version = 0, priority = 0;
  if (!Take(call, call->QueryInt("version", 0), &version) ||
      !Take(call, call->QueryInt("priority", 0), &priority)) {
    return;
  }
  request.set_version(static_cast<int>(version));
  request.set_priority(static_cast<int>(priority));
  request.set_correlation_id(call->Query("correlationId").value_or(""));
  if (!call->request().body.empty()) {
    Value body;
    if (!Take(call, call->Body(), &body)) return;
    if (body.kind_case() == Value::kStructValue) {
      *request.mutable_input() = body.struct_value().fields();
    } else if (body.kind_case() != Value::kNullValue) {
      call->Error(absl::InvalidArgumentError("the workflow input must be a JSON object"));
      return;
    }
  }
  engine.StartWorkflow(std::move(request), [call](const absl::StatusOr<std::string>& id) {
    AnswerWorkflowId(call, id);
  });
}

void GetWorkflow(Engine& engine, const CallPtr& call) {
  bool include_tasks = true;
  if (!Take(call, call->QueryBool("includeTasks", true), &include_tasks)) return;
  int64_t start_time = 0;
  absl::StatusOr<conductor::proto::Workflow> wf =
      engine.GetWorkflow(call->param(0), include_tasks, &start_time);
  if (!wf.ok()) {
    call->Error(wf.status());
    return;
  }
  call->Json(WorkflowValue(*wf, start_time));
}

void CorrelatedWorkflows(Engine& engine, const CallPtr& call) {
  bool include_closed = false, include_tasks = false;
  if (!Take(call, call->QueryBool("includeClosed", false), &include_closed) ||
      !Take(call, call->QueryBool("includeTasks", false), &include_tasks)) {
    return;
  }
  absl::StatusOr<std::vector<conductor::proto::Workflow>> list = engine.GetWorkflowsByCorrelationId(
      call->param(0), call->param(1), include_closed, include_tasks);
  if (!list.ok()) {
    call->Error(list.status());
    return;
  }
  call->Json(ListOf(*list, [&engine](const conductor::proto::Workflow& wf) {
    int64_t start_time = 0;
    engine.GetWorkflow(wf.workflow_id(), false, &start_time).IgnoreError();
    return WorkflowValue(wf, start_time);
  }));
}

// POST /{name}/correlated: a list of correlation ids -> {id: [workflows]}.
void CorrelatedWorkflowsBulk(Engine& engine, const CallPtr& call) {
  bool include_closed = false, include_tasks = false;
  Value body;
  if (!Take(call, call->QueryBool("includeClosed", false), &include_closed) ||
      !Take(call, call->QueryBool("includeTasks", false), &include_tasks) ||
      !Take(call, call->Body(), &body)) {
    return;
  }
  if (body.kind_case() != Value::kListValue) {
    call->Error(absl::InvalidArgumentError("the body must be a JSON list of correlation ids"));
    return;
  }
  Value out;
  auto& fields = *out.mutable_struct_value()->mutable_fields();
  for (const Value& cid : body.list_value().values()) {
    if (cid.kind_case() != Value::kStringValue) {
      call->Error(absl::InvalidArgumentError("a correlation id must be a string"));
      return;
    }
    absl::StatusOr<std::vector<conductor::proto::Workflow>> list =
        engine.GetWorkflowsByCorrelationId(call->param(0), cid.string_value(), include_closed,
                                           include_tasks);
    if (!list.ok()) {
      call->Error(list.status());
      return;
    }
    fields[cid.string_value()] = ListOf(*list, [&engine](const conductor::proto::Workflow& wf) {
      int64_t start_time = 0;
      engine.GetWorkflow(wf.workflow_id(), false, &start_time).IgnoreError();
      return WorkflowValue(wf, start_time);
    });
  }
  call->Json(out);
}

// GET /{id}/status: Conductor's WorkflowStatus summary.
void WorkflowStatusSummary(Engine& engine, const CallPtr& call) {
  bool include_output = false, include_variables = false;
  if (!Take(call, call->QueryBool("includeOutput", false), &include_output) ||
      !Take(call, call->QueryBool("includeVariables", false), &include_variables)) {
    return;
  }
  conductor::proto::Workflow wf;
  if (!Take(call, engine.GetWorkflow(call->param(0), /*include_tasks=*/false), &wf)) return;
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["workflowId"].set_string_value(wf.workflow_id());
  if (!wf.correlation_id().empty()) f["correlationId"].set_string_value(wf.correlation_id());
  f["status"].set_string_value(conductor::proto::Workflow::WorkflowStatus_Name(wf.status()));
  if (include_output) *f["output"].mutable_struct_value()->mutable_fields() = wf.output();
  if (include_variables) *f["variables"].mutable_struct_value()->mutable_fields() = wf.variables();
  call->Json(v);
}

// GET /{id}/tasks: a page of the workflow's tasks, optionally of some statuses.
void WorkflowTasksPage(Engine& engine, const CallPtr& call) {
  int64_t start = 0, count = 15;
  if (!Take(call, call->QueryInt("start", 0), &start) ||
      !Take(call, call->QueryInt("count", 15), &count)) {
    return;
  }
  if (start < 0 || count < 0) {
    call->Error(absl::InvalidArgumentError("start and count must not be negative"));
    return;
  }
  conductor::proto::Workflow wf;
  if (!Take(call, engine.GetWorkflow(call->param(0), /*include_tasks=*/true), &wf)) return;
  std::vector<std::string> statuses;
  for (const std::string& s : call->QueryAll("status")) {
    statuses.push_back(absl::AsciiStrToUpper(s));
  }
  std::vector<Task> matching;
  for (const Task& t : wf.tasks()) {
    const std::string& name = Task::Status_Name(t.status());
    if (statuses.empty() || std::find(statuses.begin(), statuses.end(), name) != statuses.end()) {
      matching.push_back(t);
    }
  }
  const size_t from = std::min<size_t>(static_cast<size_t>(start), matching.size());
  const size_t to = std::min<size_t>(from + static_cast<size_t>(count), matching.size());
  std::vector<Task> page(matching.begin() + static_cast<std::ptrdiff_t>(from),
                         matching.begin() + static_cast<std::ptrdiff_t>(to));
  call->Json(SearchResult(static_cast<int64_t>(matching.size()),
                          ListOf(page, [](const Task& t) { return MessageToConductorValue(t); })));
}

void TerminateWorkflow(Engine& engine, const CallPtr& call) {
  engine.TerminateWorkflow(call->param(0), call->Query("reason").value_or(""), DoneOf(call));
}

void RemoveWorkflow(Engine& engine, const CallPtr& call) {
  engine.RemoveWorkflow(call->param(0), DoneOf(call));
}

void PauseWorkflow(Engine& engine, const CallPtr& call) {
  engine.PauseWorkflow(call->param(0), DoneOf(call));
}

void ResumeWorkflow(Engine& engine, const CallPtr& call) {
  engine.ResumeWorkflow(call->param(0), DoneOf(call));
}

void DecideWorkflow(Engine& engine, const CallPtr& call) {
  engine.DecideWorkflow(call->param(0), DoneOf(call));
}

void RetryWorkflow(Engine& engine, const CallPtr& call) {
  engine.RetryWorkflow(call->param(0), DoneOf(call, 204));
}

void RestartWorkflow(Engine& engine, const CallPtr& call) {
  bool latest = false;
  if (!Take(call, call->QueryBool("useLatestDefinitions", false), &latest)) return;
  engine.RestartWorkflow(call->param(0), latest, DoneOf(call, 204));
}

void RerunWorkflow(Engine& engine, const CallPtr& call) {
  Value body;
  if (!Take(call, call->Body(), &body)) return;
  conductor::proto::RerunWorkflowRequest request;
  if (absl::Status s = MessageFromConductorValue(body, &request); !s.ok()) {
    call->Error(
        absl::InvalidArgumentError(absl::StrCat("not a RerunWorkflowRequest: ", s.message())));
    return;
  }
  request.set_re_run_from_workflow_id(call->param(0));
  engine.RerunWorkflow(std::move(request), [call](const absl::StatusOr<std::string>& id) {
    AnswerWorkflowId(call, id);
  });
}

absl::StatusOr<WorkflowPage> Search(Engine& engine, const Call& call) {
  ASSIGN_OR_RETURN(int64_t start, call.QueryInt("start", 0));
  ASSIGN_OR_RETURN(int64_t size, call.QueryInt("size", 100));
  if (start < 0 || size < 0 || start > INT32_MAX || size > INT32_MAX) {
    return absl::InvalidArgumentError("start and size must be non-negative 32-bit numbers");
  }
  ASSIGN_OR_RETURN(
      WorkflowQuery query,
      ParseSearchQuery(static_cast<int>(start), static_cast<int>(size),
                       call.Query("freeText").value_or("*"), call.Query("query").value_or("")));
  // Conductor's sort=<field>:ASC|DESC; results are kept in start-time order.
  if (std::optional<std::string> sort = call.Query("sort"); sort.has_value() && !sort->empty()) {
    if (*sort == "startTime:DESC") {
      query.newest_first = true;
    } else if (*sort != "startTime" && *sort != "startTime:ASC") {
      return absl::InvalidArgumentError(
          absl::StrCat("sort '", *sort,
                       "' is not supported: workflows sort by startTime:ASC or startTime:DESC"));
    }
  }
  return engine.SearchWorkflows(query);
}

void SearchWorkflows(Engine& engine, const CallPtr& call) {
  WorkflowPage page;
  if (!Take(call, Search(engine, *call), &page)) return;
  call->Json(SearchResult(page.total_hits, ListOf(page.rows, [](const WorkflowRow& row) {
                            return MessageToConductorValue(WorkflowSummaryOf(row));
                          })));
}

void SearchWorkflowsV2(Engine& engine, const CallPtr& call) {
  WorkflowPage page;
  if (!Take(call, Search(engine, *call), &page)) return;
  Value results;
  results.mutable_list_value();
  for (const WorkflowRow& row : page.rows) {
    // The engine's copy of a running workflow is newer than the store's row.
    int64_t start_time = row.start_time;
    absl::StatusOr<conductor::proto::Workflow> wf =
        engine.GetWorkflow(row.workflow.workflow_id(), /*include_tasks=*/false, &start_time);
    if (wf.ok()) *results.mutable_list_value()->add_values() = WorkflowValue(*wf, start_time);
  }
  call->Json(SearchResult(page.total_hits, std::move(results)));
}

void RunningWorkflows(Engine& engine, const CallPtr& call) {
  int64_t version = 1, start_time = 0, end_time = 0;
  if (!Take(call, call->QueryInt("version", 1), &version) ||
      !Take(call, call->QueryInt("startTime", 0), &start_time) ||
      !Take(call, call->QueryInt("endTime", 0), &end_time)) {
    return;
  }
  absl::StatusOr<std::vector<std::string>> ids =
      engine.GetRunningWorkflows(call->param(0), static_cast<int>(version), start_time, end_time);
  if (!ids.ok()) {
    call->Error(ids.status());
    return;
  }
  call->Json(ListOf(*ids, StringValue));
}

// --- /api/tasks ---

void PollTasks(Engine& engine, const CallPtr& call, bool batch) {
  int64_t count = 1, timeout = kDefaultPollTimeoutMs;
  if (batch && (!Take(call, call->QueryInt("count", 1), &count) ||
                !Take(call, call->QueryInt("timeout", kDefaultPollTimeoutMs), &timeout))) {
    return;
  }
  if (timeout > kMaxPollTimeoutMs) {
    call->Error(
        absl::InvalidArgumentError("Long Poll Timeout value cannot be more than 5 seconds"));
    return;
  }
  if (count <= 0) count = 1;
  count = std::min<int64_t>(count, 1000);
  if (timeout <= 0) timeout = kDefaultPollTimeoutMs;
  engine.Poll(
      TaskQueueName(call->param(0), call->Query("domain").value_or("")),
      call->Query("workerid").value_or(""), static_cast<int>(count), timeout,
      [call, batch](std::vector<Task> tasks) {
        if (batch) {
          call->Json(ListOf(tasks, [](const Task& t) { return MessageToConductorValue(t); }));
        } else if (tasks.empty()) {
          call->Empty(204);
        } else {
          call->Json(MessageToConductorValue(tasks.front()));
        }
      });
}

void UpdateTask(Engine& engine, const CallPtr& call) {
  Value body;
  if (!Take(call, call->Body(), &body)) return;
  conductor::proto::TaskResult result;
  if (absl::Status s = MessageFromConductorValue(body, &result); !s.ok()) {
    call->Error(absl::InvalidArgumentError(absl::StrCat("not a TaskResult: ", s.message())));
    return;
  }
  if (result.task_id().empty()) {
    call->Error(absl::InvalidArgumentError("TaskResult has no taskId"));
    return;
  }
  std::string task_id = result.task_id();
  engine.UpdateTask(std::move(result), [call, task_id](const absl::Status& s) {
    if (s.ok()) {
      call->Text(task_id);
    } else {
      call->Error(s);
    }
  });
}

void AddTaskLog(Engine& engine, const CallPtr& call) {
  // The body is the log line; a client that sent it as a JSON string gets its text logged.
  std::string line = call->request().body;
  if (line.size() >= 2 && line.front() == '"') {
    absl::StatusOr<Value> v = ParseJson(line);
    if (v.ok() && v->kind_case() == Value::kStringValue) line = v->string_value();
  }
  engine.AddLog(call->param(0), line, DoneOf(call));
}

void GetTaskLogs(Engine& engine, const CallPtr& call) {
  absl::StatusOr<std::vector<conductor::proto::TaskExecLog>> logs =
      engine.GetTaskLogs(call->param(0));
  if (!logs.ok()) {
    call->Error(logs.status());
    return;
  }
  if (logs->empty()) {
    call->Empty(204);
    return;
  }
  call->Json(ListOf(
      *logs, [](const conductor::proto::TaskExecLog& l) { return MessageToConductorValue(l); }));
}

void GetTask(Engine& engine, const CallPtr& call) {
  absl::StatusOr<Task> task = engine.GetTask(call->param(0));
  if (!task.ok()) {
    call->Error(
        absl::IsNotFound(task.status())
            ? absl::NotFoundError(absl::StrCat("Task not found for taskId: ", call->param(0)))
            : task.status());
    return;
  }
  call->Json(MessageToConductorValue(*task));
}

void QueueSizes(Engine& engine, const CallPtr& call) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  for (const std::string& type : call->QueryAll("taskType")) {
    f[type].set_number_value(static_cast<double>(engine.QueueSize(type)));
  }
  call->Json(v);
}

void QueueSize(Engine& engine, const CallPtr& call) {
  std::optional<std::string> type = call->Query("taskType");
  if (!type.has_value()) {
    call->Error(absl::InvalidArgumentError("parameter 'taskType' is required"));
    return;
  }
  Value v;
  v.set_number_value(static_cast<double>(
      engine.QueueSize(TaskQueueName(*type, call->Query("domain").value_or("")))));
  call->Json(v);
}

void AllQueues(Engine& engine, const CallPtr& call) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  for (const auto& [name, size] : engine.QueueSizes()) {
    f[name].set_number_value(static_cast<double>(size));
  }
  call->Json(v);
}

void Health(Engine&, const CallPtr& call) {
  Value v;
  auto& f = *v.mutable_struct_value()->mutable_fields();
  f["healthy"].set_bool_value(true);
  f["healthResults"].mutable_list_value();
  f["suppressedHealthResults"].mutable_list_value();
  call->Json(v);
}

std::vector<std::string> Segments(absl::string_view path) {
  std::vector<std::string> out;
  for (absl::string_view s : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    out.push_back(PercentDecode(s, /*plus_is_space=*/false));
  }
  return out;
}

Route R(std::string method, absl::string_view pattern, RouteFn fn) {
  return Route{std::move(method), Segments(pattern), std::move(fn)};
}

// A route conductor-oss does not serve.
Route Beyond(Route r) {
  r.beyond_conductor = true;
  return r;
}

// --- /api/secrets and /api/token ---

// A secret's value as sent: the raw body, or the text of a body that is one JSON string (what
// JSON clients send for a string).
std::string BodyText(const std::string& body) {
  if (body.size() >= 2 && body.front() == '"') {
    absl::StatusOr<Value> v = ParseJson(body);
    if (v.ok() && v->kind_case() == Value::kStringValue) return v->string_value();
  }
  return body;
}

void AddSecretRoutes(const std::shared_ptr<ExtensionStore>& store, std::vector<Route>& routes) {
  routes.push_back(R("GET", "/api/secrets", [store](Engine&, const CallPtr& call) {
    std::vector<std::string> names;
    if (store != nullptr && !Take(call, store->ListSecretNames(), &names)) return;
    call->Json(ListOf(names, StringValue));
  }));
  if (store == nullptr) return;
  routes.push_back(Beyond(R("GET", "/api/secrets/{}/exists", [store](Engine&, const CallPtr& call) {
    absl::StatusOr<std::string> value = store->GetSecret(call->param(0));
    if (!value.ok() && !absl::IsNotFound(value.status())) {
      call->Error(value.status());
      return;
    }
    Value v;
    v.set_bool_value(value.ok());
    call->Json(v);
  })));
  routes.push_back(Beyond(R("PUT", "/api/secrets/{}", [store](Engine&, const CallPtr& call) {
    call->Finish(store->PutSecret(call->param(0), BodyText(call->request().body)));
  })));
  routes.push_back(Beyond(R("GET", "/api/secrets/{}", [store](Engine&, const CallPtr& call) {
    std::string value;
    if (Take(call, store->GetSecret(call->param(0)), &value)) call->Text(std::move(value));
  })));
  routes.push_back(Beyond(R("DELETE", "/api/secrets/{}", [store](Engine&, const CallPtr& call) {
    call->Finish(store->DeleteSecret(call->param(0)));
  })));
}

// --- /api/cmig: the project's own operations ---

absl::StatusOr<Value> ProtoJson(const google::protobuf::Message& m) { return MessageToValue(m); }

void AddCmigRoutes(const std::shared_ptr<ExtensionStore>& store, int64_t max_package_bytes,
                   std::vector<Route>& routes) {
  if (store == nullptr) return;
  routes.push_back(Beyond(
      R("PUT", "/api/cmig/packages/{}", [store, max_package_bytes](Engine&, const CallPtr& call) {
        call->Finish(store->PutPackage(call->param(0), call->request().body, max_package_bytes));
      })));
  routes.push_back(Beyond(R("GET", "/api/cmig/packages/{}", [store](Engine&, const CallPtr& call) {
    std::string bytes;
    if (Take(call, store->GetPackage(call->param(0)), &bytes)) {
      call->Respond(HttpResponse{200, "application/octet-stream", std::move(bytes)});
    }
  })));
  routes.push_back(Beyond(R("GET", "/api/cmig/environments", [store](Engine&, const CallPtr& call) {
    std::vector<v1::Environment> list;
    if (!Take(call, store->ListEnvironments(), &list)) return;
    Value out;
    out.mutable_list_value();
    for (const v1::Environment& e : list) {
      Value v;
      if (!Take(call, ProtoJson(e), &v)) return;
      *out.mutable_list_value()->add_values() = std::move(v);
    }
    call->Json(out);
  })));
  routes.push_back(
      Beyond(R("GET", "/api/cmig/environments/{}", [store](Engine&, const CallPtr& call) {
        v1::Environment e;
        Value v;
        if (Take(call, store->GetEnvironment(call->param(0)), &e) && Take(call, ProtoJson(e), &v)) {
          call->Json(v);
        }
      })));
  routes.push_back(
      Beyond(R("PUT", "/api/cmig/environments/{}", [store](Engine&, const CallPtr& call) {
        Value body;
        if (!Take(call, call->Body(), &body)) return;
        v1::Environment e;
        if (absl::Status s = MessageFromValue(body, &e); !s.ok()) {
          call->Error(
              absl::InvalidArgumentError(absl::StrCat("not an environment: ", s.message())));
          return;
        }
        if (!e.id().empty() && e.id() != call->param(0)) {
          call->Error(absl::InvalidArgumentError(absl::StrCat(
              "the body's id '", e.id(), "' is not the path's '", call->param(0), "'")));
          return;
        }
        e.set_id(call->param(0));
        call->Finish(store->PutEnvironment(e));
      })));
  routes.push_back(
      Beyond(R("DELETE", "/api/cmig/environments/{}", [store](Engine&, const CallPtr& call) {
        call->Finish(store->DeleteEnvironment(call->param(0)));
      })));
  // Starts a migration as `migrationctl migrate` does: {"targetEnvironment", "selection",
  // "options", "sourceEnvironment" (default "local")} -> {"workflowId"}.
  routes.push_back(
      Beyond(R("POST", "/api/cmig/migrations", [store](Engine& engine, const CallPtr& call) {
        Value body;
        if (!Take(call, call->Body(), &body)) return;
        const std::string target = Field(body, "targetEnvironment").string_value();
        std::string source = Field(body, "sourceEnvironment").string_value();
        if (source.empty()) source = "local";
        v1::Selection selection;
        v1::MigrationOptions options;
        if (absl::Status s = MessageFromValue(Field(body, "selection"), &selection); !s.ok()) {
          call->Error(absl::InvalidArgumentError(absl::StrCat("selection: ", s.message())));
          return;
        }
        if (Field(body, "options").kind_case() == Value::kStructValue) {
          if (absl::Status s = MessageFromValue(Field(body, "options"), &options); !s.ok()) {
            call->Error(absl::InvalidArgumentError(absl::StrCat("options: ", s.message())));
            return;
          }
        }
        conductor::proto::StartWorkflowRequest start;
        if (!Take(call, migration::OutgoingMigrationStart(source, target, selection, options),
                  &start)) {
          return;
        }
        if (absl::Status s = store->GetEnvironment(target).status(); !s.ok()) {
          call->Error(absl::IsNotFound(s) ? absl::InvalidArgumentError(
                                                absl::StrCat("no target environment '", target,
                                                             "' (see GET /api/cmig/environments)"))
                                          : s);
          return;
        }
        engine.StartWorkflow(std::move(start), [call](const absl::StatusOr<std::string>& id) {
          if (!id.ok()) {
            call->Error(id.status());
            return;
          }
          Value v;
          (*v.mutable_struct_value()->mutable_fields())["workflowId"].set_string_value(*id);
          call->Json(v);
        });
      })));
}

void AddTokenRoute(const std::shared_ptr<ExtensionStore>& store, IssuedTokens* issued,
                   std::vector<Route>& routes) {
  if (store == nullptr || issued == nullptr) return;
  Route token = Beyond(R("POST", "/api/token", [store, issued](Engine&, const CallPtr& call) {
    Value body;
    if (!Take(call, call->Body(), &body)) return;
    const std::string& id = Field(body, "keyId").string_value();
    const std::string& secret = Field(body, "keySecret").string_value();
    if (id.empty() || secret.empty()) {
      call->Error(absl::InvalidArgumentError("the body needs keyId and keySecret"));
      return;
    }
    if (absl::Status s = store->CheckAccessKey(id, secret); !s.ok()) {
      call->Error(s);
      return;
    }
    std::string token = issued->Issue();
    if (token.empty()) {
      call->Error(absl::UnavailableError("no token could be issued; try again"));
      return;
    }
    Value v;
    (*v.mutable_struct_value()->mutable_fields())["token"].set_string_value(std::move(token));
    call->Json(v);
  }));
  token.open = true;
  routes.push_back(std::move(token));
}

// Literal paths come before the parameterised paths they would otherwise match
// ("/api/workflow/search" before "/api/workflow/{}").
std::vector<Route> Routes(const RestOptions& options) {
  std::vector<Route> routes = {
      R("GET", "/health", Health),
      R("GET", "/api/health", Health),
      // Metadata.
      R("GET", "/api/metadata/workflow", ListWorkflowDefs),
      R("POST", "/api/metadata/workflow", CreateWorkflowDef),
      R("PUT", "/api/metadata/workflow", UpdateWorkflowDefs),
      R("POST", "/api/metadata/workflow/validate", ValidateWorkflowDef),
      R("GET", "/api/metadata/workflow/names-and-versions", WorkflowNamesAndVersions),
      R("GET", "/api/metadata/workflow/names", WorkflowNames),
      R("GET", "/api/metadata/workflow/latest-versions", LatestWorkflowDefs),
      R("GET", "/api/metadata/workflow/{}/versions", WorkflowVersions),
      R("GET", "/api/metadata/workflow/{}", GetWorkflowDef),
      R("DELETE", "/api/metadata/workflow/{}/{}", DeleteWorkflowDef),
      R("GET", "/api/metadata/taskdefs", ListTaskDefs),
      R("POST", "/api/metadata/taskdefs", CreateTaskDefs),
      R("PUT", "/api/metadata/taskdefs", UpdateTaskDef),
      R("GET", "/api/metadata/taskdefs/{}", GetTaskDef),
      R("DELETE", "/api/metadata/taskdefs/{}", DeleteTaskDef),
      // Event handlers.
      R("GET", "/api/event", ListEventHandlers),
      R("POST", "/api/event", AddEventHandler),
      R("PUT", "/api/event", UpdateEventHandler),
      R("GET", "/api/event/{}", EventHandlersForEvent),
      R("DELETE", "/api/event/{}", RemoveEventHandler),
      // Workflows.
      R("POST", "/api/workflow", StartWorkflow),
      R("GET", "/api/workflow/search", SearchWorkflows),
      R("GET", "/api/workflow/search-v2", SearchWorkflowsV2),
      R("GET", "/api/workflow/running/{}", RunningWorkflows),
      R("PUT", "/api/workflow/decide/{}", DecideWorkflow),
      R("POST", "/api/workflow/{}", StartWorkflowByName),
      R("GET", "/api/workflow/{}", GetWorkflow),
      R("DELETE", "/api/workflow/{}", TerminateWorkflow),
      R("DELETE", "/api/workflow/{}/remove", RemoveWorkflow),
      R("PUT", "/api/workflow/{}/pause", PauseWorkflow),
      R("PUT", "/api/workflow/{}/resume", ResumeWorkflow),
      R("POST", "/api/workflow/{}/retry", RetryWorkflow),
      R("POST", "/api/workflow/{}/restart", RestartWorkflow),
      R("POST", "/api/workflow/{}/rerun", RerunWorkflow),
      R("GET", "/api/workflow/{}/correlated/{}", CorrelatedWorkflows),
      R("POST", "/api/workflow/{}/correlated", CorrelatedWorkflowsBulk),
      R("GET", "/api/workflow/{}/status", WorkflowStatusSummary),
      R("GET", "/api/workflow/{}/tasks", WorkflowTasksPage),
      // Tasks.
      R("GET", "/api/tasks/poll/batch/{}",
        [](Engine& e, const CallPtr& c) { PollTasks(e, c, /*batch=*/true); }),
      R("GET", "/api/tasks/poll/{}",
        [](Engine& e, const CallPtr& c) { PollTasks(e, c, /*batch=*/false); }),
      R("POST", "/api/tasks", UpdateTask),
      R("GET", "/api/tasks/queue/sizes", QueueSizes),
      R("GET", "/api/tasks/queue/size", QueueSize),
      R("GET", "/api/tasks/queue/all", AllQueues),
      R("POST", "/api/tasks/{}/log", AddTaskLog),
      R("GET", "/api/tasks/{}/log", GetTaskLogs),
      R("GET", "/api/tasks/{}", GetTask),
  };
  routes[0].open = routes[1].open = true;
  AddSecretRoutes(options.extensions, routes);
  AddTokenRoute(options.extensions, options.issued_tokens, routes);
  AddCmigRoutes(options.extensions, options.max_package_bytes, routes);
  return routes;
}

bool Matches(const Route& route, const std::vector<std::string>& segments,
             std::vector<std::string>* params) {
  if (route.segments.size() != segments.size()) return false;
  params->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (route.segments[i] == "{}") {
      params->push_back(segments[i]);
    } else if (route.segments[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

// The token an HTTP request presents, nullopt when none.
std::optional<absl::string_view> TokenOf(const HttpRequest& req) {
  if (std::optional<absl::string_view> t = req.Header("x-authorization"); t.has_value()) return t;
  if (std::optional<absl::string_view> a = req.Header("authorization"); a.has_value()) {
    absl::string_view v = *a;
    if (absl::ConsumePrefix(&v, "Bearer ") || absl::ConsumePrefix(&v, "bearer ")) {
      return absl::StripAsciiWhitespace(v);
    }
    return absl::string_view();
  }
  return std::nullopt;
}

}  // namespace

HttpHandler MakeRestHandler(Engine& engine, const Authenticator& auth, const RestOptions& options) {
  auto routes = std::make_shared<const std::vector<Route>>(Routes(options));
  return [&engine, &auth, api_only = options.conductor_api_only, routes](HttpRequest req,
                                                                         HttpRespond respond) {
    std::vector<std::string> segments = Segments(req.path);
    const Route* found = nullptr;
    bool path_known = false;
    std::vector<std::string> params;
    for (const Route& route : *routes) {
      if (route.beyond_conductor && api_only) continue;
      if (!Matches(route, segments, &params)) continue;
      path_known = true;
      if (route.method == req.method) {
        found = &route;
        break;
      }
    }
    const bool open = found != nullptr ? found->open : (segments.empty() || segments[0] != "api");
    if (!open) {
      if (absl::Status s = auth.CheckToken(TokenOf(req)); !s.ok()) {
        respond(ErrorResponse(s));
        return;
      }
    }
    if (found == nullptr) {
      respond(path_known ? ErrorResponse(absl::InvalidArgumentError(absl::StrCat(
                                             "Request method '", req.method, "' is not supported")),
                                         405)
                         : ErrorResponse(
                               absl::NotFoundError(absl::StrCat("No static resource ", req.path))));
      return;
    }
    auto call = std::make_shared<Call>(std::move(req), std::move(respond));
    call->params() = std::move(params);
    found->fn(engine, call);
  };
}

}  // namespace cmig::orchestrator
