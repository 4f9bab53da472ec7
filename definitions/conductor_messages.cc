#include "definitions/conductor_messages.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "conductor/model/workflowtask.pb.h"
#include "definitions/conductor_json.h"
#include "definitions/json.h"
#include "definitions/message_value.h"

namespace cmig {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Value;

enum class Special {
  kNone,
  kAny,
  kValue,
  kStruct,
  kListValue,
  kWorkflowDef,
  kWorkflowTask,
  kTaskDef
};

Special SpecialOf(const Descriptor* d) {
  const std::string& name = d->full_name();
  if (name == "google.protobuf.Any") return Special::kAny;
  if (name == "google.protobuf.Value") return Special::kValue;
  if (name == "google.protobuf.Struct") return Special::kStruct;
  if (name == "google.protobuf.ListValue") return Special::kListValue;
  if (name == conductor::proto::WorkflowDef::descriptor()->full_name()) {
    return Special::kWorkflowDef;
  }
  if (name == conductor::proto::WorkflowTask::descriptor()->full_name()) {
    return Special::kWorkflowTask;
  }
  if (name == conductor::proto::TaskDef::descriptor()->full_name()) return Special::kTaskDef;
  return Special::kNone;
}

Value NumberValue(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value MessageValue(const Message& m) {
  switch (SpecialOf(m.GetDescriptor())) {
    case Special::kValue:
      return static_cast<const Value&>(m);
    case Special::kStruct: {
      Value v;
      *v.mutable_struct_value() = static_cast<const google::protobuf::Struct&>(m);
      return v;
    }
    case Special::kListValue: {
      Value v;
      *v.mutable_list_value() = static_cast<const google::protobuf::ListValue&>(m);
      return v;
    }
    case Special::kWorkflowDef:
      return WorkflowDefToValue(static_cast<const conductor::proto::WorkflowDef&>(m));
    case Special::kWorkflowTask:
      return WorkflowTaskToValue(static_cast<const conductor::proto::WorkflowTask&>(m));
    case Special::kTaskDef:
      return TaskDefToValue(static_cast<const conductor::proto::TaskDef&>(m));
    case Special::kAny:
    case Special::kNone:
      break;
  }
  return MessageToConductorValue(m);
}

// One scalar of field `f` (element `index` when repeated, -1 otherwise).
Value ScalarValue(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  Value v;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return NumberValue(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return NumberValue(
          static_cast<double>(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f)));
    case FieldDescriptor::CPPTYPE_UINT32:
      return NumberValue(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return NumberValue(
          static_cast<double>(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f)));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return NumberValue(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return NumberValue(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      v.set_bool_value(rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f));
      return v;
    case FieldDescriptor::CPPTYPE_ENUM:
      v.set_string_value((rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name());
      return v;
    case FieldDescriptor::CPPTYPE_STRING:
      v.set_string_value(rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f));
      return v;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageValue(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
  }
  return v;
}

// A map entry's key as JSON object key.
std::string MapKey(const Message& entry) {
  const FieldDescriptor* key = entry.GetDescriptor()->map_key();
  Value v = ScalarValue(entry, key, -1);
  if (v.kind_case() == Value::kStringValue) return v.string_value();
  if (v.kind_case() == Value::kBoolValue) return v.bool_value() ? "true" : "false";
  return absl::StrCat(static_cast<int64_t>(v.number_value()));
}

const FieldDescriptor* FieldByJsonName(const Descriptor* d, const std::string& key) {
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == key) return d->field(i);
  }
  return nullptr;
}

}  // namespace

Value MessageToConductorValue(const Message& m) {
  Value out;
  auto& fields = *out.mutable_struct_value()->mutable_fields();
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        SpecialOf(f->message_type()) == Special::kAny) {
      continue;
    }
    if (f->is_map()) {
      Value map;
      auto& entries = *map.mutable_struct_value()->mutable_fields();
      const FieldDescriptor* value_field = f->message_type()->map_value();
      for (int j = 0; j < r->FieldSize(m, f); ++j) {
        const Message& entry = r->GetRepeatedMessage(m, f, j);
        entries[MapKey(entry)] = ScalarValue(entry, value_field, -1);
      }
      fields[f->json_name()] = std::move(map);
    } else if (f->is_repeated()) {
      Value list;
      list.mutable_list_value();
      for (int j = 0; j < r->FieldSize(m, f); ++j) {
        *list.mutable_list_value()->add_values() = ScalarValue(m, f, j);
      }
      fields[f->json_name()] = std::move(list);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (r->HasField(m, f)) fields[f->json_name()] = ScalarValue(m, f, -1);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (!r->GetString(m, f).empty()) fields[f->json_name()] = ScalarValue(m, f, -1);
    } else {
      fields[f->json_name()] = ScalarValue(m, f, -1);
    }
  }
  return out;
}

absl::Status MessageFromConductorValue(const Value& v, Message* m) {
  m->Clear();
  if (v.kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError("expected a JSON object");
  }
  const Descriptor* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  // Definitions go through their own dialect; what is left, through protobuf's JSON mapping.
  Value rest;
  auto& rest_fields = *rest.mutable_struct_value()->mutable_fields();
  std::vector<std::pair<const FieldDescriptor*, const Value*>> definitions;
  for (const auto& [key, value] : v.struct_value().fields()) {
    const FieldDescriptor* f = FieldByJsonName(d, key);
    if (f == nullptr) continue;  // unknown keys are ignored
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
      Special s = SpecialOf(f->message_type());
      if (s == Special::kAny) continue;
      if (s == Special::kWorkflowDef || s == Special::kWorkflowTask || s == Special::kTaskDef) {
        if (value.kind_case() != Value::kNullValue) definitions.emplace_back(f, &value);
        continue;
      }
    }
    rest_fields[key] = value;
  }
  if (absl::Status s = MessageFromValue(rest, m, /*ignore_unknown_fields=*/true); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  for (const auto& [f, value] : definitions) {
    Message* target = r->MutableMessage(m, f);
    absl::Status s;
    switch (SpecialOf(f->message_type())) {
      case Special::kWorkflowDef: {
        absl::StatusOr<conductor::proto::WorkflowDef> def = WorkflowDefFromValue(*value, nullptr);
        if (def.ok()) target->CopyFrom(*def);
        s = def.status();
        break;
      }
      case Special::kWorkflowTask: {
        absl::StatusOr<conductor::proto::WorkflowTask> t = WorkflowTaskFromValue(*value, nullptr);
        if (t.ok()) target->CopyFrom(*t);
        s = t.status();
        break;
      }
      default: {
        absl::StatusOr<conductor::proto::TaskDef> t = TaskDefFromValue(*value, nullptr);
        if (t.ok()) target->CopyFrom(*t);
        s = t.status();
        break;
      }
    }
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(f->json_name(), ": ", s.message()));
  }
  return absl::OkStatus();
}

namespace {

constexpr char kExpandJava[] = "expandInlineJSON";
constexpr char kExpandProto[] = "expandInlineJson";

// Applies `fn` to each action object of an event handler's JSON.
template <typename Fn>
void ForEachAction(Value& handler, Fn fn) {
  if (handler.kind_case() != Value::kStructValue) return;
  auto& fields = *handler.mutable_struct_value()->mutable_fields();
  auto it = fields.find("actions");
  if (it == fields.end() || it->second.kind_case() != Value::kListValue) return;
  for (Value& action : *it->second.mutable_list_value()->mutable_values()) {
    if (action.kind_case() == Value::kStructValue) {
      fn(*action.mutable_struct_value()->mutable_fields());
    }
  }
}

void RenameKey(google::protobuf::Map<std::string, Value>& fields, const std::string& from,
               const std::string& to) {
  auto it = fields.find(from);
  if (it == fields.end()) return;
  Value v = it->second;
  fields.erase(it);
  fields[to] = std::move(v);
}

}  // namespace

Value EventHandlerToValue(const conductor::proto::EventHandler& h) {
  Value v = MessageToConductorValue(h);
  ForEachAction(v, [](google::protobuf::Map<std::string, Value>& action) {
    auto it = action.find("action");
    if (it != action.end()) {
      it->second.set_string_value(absl::AsciiStrToLower(it->second.string_value()));
    }
    RenameKey(action, kExpandProto, kExpandJava);
  });
  return v;
}

absl::StatusOr<conductor::proto::EventHandler> EventHandlerFromValue(const Value& v) {
  Value copy = v;
  absl::Status bad_action;
  ForEachAction(copy, [&bad_action](google::protobuf::Map<std::string, Value>& action) {
    auto it = action.find("action");
    if (it != action.end() && it->second.kind_case() == Value::kStringValue) {
      const std::string& given = it->second.string_value();
      conductor::proto::EventHandler::Action::Type type;
      // Unknown keys are ignored, but an unknown action would silently become start_workflow.
      if (!conductor::proto::EventHandler::Action::Type_Parse(absl::AsciiStrToUpper(given),
                                                              &type)) {
        bad_action = absl::InvalidArgumentError(absl::StrCat("unknown action '", given, "'"));
      }
      it->second.set_string_value(absl::AsciiStrToUpper(given));
    }
    RenameKey(action, kExpandJava, kExpandProto);
  });
  RETURN_IF_ERROR(bad_action);
  conductor::proto::EventHandler h;
  RETURN_IF_ERROR(MessageFromConductorValue(copy, &h));
  return h;
}

absl::StatusOr<conductor::proto::EventHandler> ParseEventHandler(absl::string_view json) {
  absl::StatusOr<Value> v = ParseJson(json);
  if (!v.ok() || !v->has_struct_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a valid event handler: ", v.ok() ? "not a JSON object" : v.status().message()));
  }
  absl::StatusOr<conductor::proto::EventHandler> h = EventHandlerFromValue(*v);
  if (!h.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid event handler: ", h.status().message()));
  }
  return h;
}

Value ScheduleDefinitionToValue(const v1::WorkflowSchedule& s) {
  Value v = MessageToConductorValue(s);
  auto& fields = *v.mutable_struct_value()->mutable_fields();
  for (const char* set_by_server :
       {"createTime", "createdBy", "updatedTime", "updatedBy", "nextRunTime"}) {
    fields.erase(set_by_server);
  }
  for (const char* bound : {"scheduleStartTime", "scheduleEndTime"}) {
    auto it = fields.find(bound);
    if (it != fields.end() && it->second.number_value() == 0) fields.erase(it);
  }
  if (!s.skip_while_running()) fields.erase("skipWhileRunning");
  if (s.zone_id().empty()) fields["zoneId"].set_string_value("UTC");
  return v;
}

absl::StatusOr<v1::WorkflowSchedule> ParseScheduleDefinition(absl::string_view json) {
  absl::StatusOr<Value> v = ParseJson(json);
  if (!v.ok() || !v->has_struct_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a valid schedule: ", v.ok() ? "not a JSON object" : v.status().message()));
  }
  v1::WorkflowSchedule s;
  if (absl::Status st = MessageFromConductorValue(*v, &s); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a valid schedule: ", st.message()));
  }
  if (s.name().empty()) return absl::InvalidArgumentError("not a valid schedule: it has no name");
  return s;
}

}  // namespace cmig
