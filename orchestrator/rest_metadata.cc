// /api/metadata and /api/event: definitions and event handlers, with every key they were given.
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
#include "orchestrator/rest_internal.h"
#include "orchestrator/search_query.h"
#include "orchestrator/services.h"

namespace cmig::orchestrator::rest {
namespace {

using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;

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

}  // namespace

void AddMetadataRoutes(std::vector<Route>& routes) {
  std::vector<Route> added = {
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
  };
  for (Route& r : added) routes.push_back(std::move(r));
}

}  // namespace cmig::orchestrator::rest
