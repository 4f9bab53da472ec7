#include "definitions/conductor_json.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "definitions/json_overlay.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace cmig {
namespace {

using conductor::proto::SubWorkflowParams;
using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::Struct;
using google::protobuf::Value;

// ---------------------------------------------------------------------------------------------
// The dialect. Every field of every definition message maps by reflection: JSON key =
// json_name(), int32/int64 as JSON numbers, enums by name (as Jackson writes Java enums),
// repeated fields as arrays, maps as objects, google.protobuf.Value as plain JSON. An absent or
// null key reads as the proto zero. On writing, numbers, booleans and enums are always written
// (the Java model always has them); strings, lists, maps and messages only when non-empty.
// The tables below are where Conductor's Java model differs from that.

// Fields whose absent value or writing differs from the general rule, keyed by full field name.
enum class Write {
  kGeneral,
  // A nullable Java field (Integer, Boolean, enum) that Jackson omits when null: written only
  // when it differs from what absence reads as, so absent -> proto -> JSON stays absent.
  kUnlessAbsentValue,
  // Written even when empty: the Java model always has it.
  kAlways,
};
constexpr struct FieldRow {
  const char* field;
  // What an absent or null key reads as (the Java model's default), in the dialect's JSON;
  // nullptr: the proto zero. Conductor's gRPC server copies every proto scalar into the Java
  // model, so an unset proto3 field would become 0 / the first enum value there.
  const char* absent;
  Write write;
} kFieldRows[] = {
    {"conductor.proto.WorkflowDef.version", "1", Write::kGeneral},
    {"conductor.proto.WorkflowDef.schema_version", "2", Write::kGeneral},
    {"conductor.proto.WorkflowDef.restartable", "true", Write::kGeneral},
    {"conductor.proto.WorkflowDef.timeout_policy", R"("ALERT_ONLY")", Write::kGeneral},
    {"conductor.proto.WorkflowDef.enforce_schema", "true", Write::kGeneral},
    {"conductor.proto.WorkflowDef.failure_workflow_version", "0", Write::kUnlessAbsentValue},
    {"conductor.proto.WorkflowDef.tasks", nullptr, Write::kAlways},
    {"conductor.proto.TaskDef.retry_count", "3", Write::kGeneral},
    {"conductor.proto.TaskDef.timeout_policy", R"("TIME_OUT_WF")", Write::kGeneral},
    {"conductor.proto.TaskDef.retry_logic", R"("FIXED")", Write::kGeneral},
    {"conductor.proto.TaskDef.retry_delay_seconds", "60", Write::kGeneral},
    {"conductor.proto.TaskDef.response_timeout_seconds", "3600", Write::kGeneral},
    {"conductor.proto.TaskDef.backoff_scale_factor", "1", Write::kGeneral},
    // The Java getter answers 1 for null, and that is what Jackson and the gRPC mapper emit.
    {"conductor.proto.TaskDef.rate_limit_frequency_in_seconds", "1", Write::kGeneral},
    {"conductor.proto.TaskDef.task_status_listener_enabled", "true", Write::kGeneral},
    {"conductor.proto.TaskDef.concurrent_exec_limit", "0", Write::kUnlessAbsentValue},
    {"conductor.proto.TaskDef.rate_limit_per_frequency", "0", Write::kUnlessAbsentValue},
    {"conductor.proto.TaskDef.poll_timeout_seconds", "0", Write::kUnlessAbsentValue},
    {"conductor.proto.WorkflowTask.type", R"("SIMPLE")", Write::kAlways},
    // Java's Integer retryCount is null unless given; the gRPC mapper encodes null as -1.
    {"conductor.proto.WorkflowTask.retry_count", "-1", Write::kUnlessAbsentValue},
    {"conductor.proto.WorkflowTask.rate_limited", "false", Write::kUnlessAbsentValue},
    {"conductor.proto.WorkflowTask.join_mode", R"("SYNC")", Write::kUnlessAbsentValue},
    {"conductor.proto.SchemaDef.version", "1", Write::kGeneral},
    // Absent is the latest version, which the proto spells 0.
    {"conductor.proto.SubWorkflowParams.version", "0", Write::kUnlessAbsentValue},
};

// Keys of the Java model that no proto field carries, per message. Dropping one that holds the
// Java default (see IsJavaDefault) loses nothing, so only other values are reported.
constexpr struct {
  const char* message;
  const char* keys;  // space-separated
} kJavaOnlyKeys[] = {
    {"conductor.proto.TaskDef", "inputSchema outputSchema enforceSchema runtimeMetadata"},
    {"conductor.proto.WorkflowTask", "onStateChange dynamicForkJoinTasksParam"},
    {"conductor.proto.SubWorkflowParams", "idempotencyKey idempotencyStrategy priority"},
    {"conductor.proto.SchemaDef", "data externalRef"},
};

// Auditing keys any Conductor object may carry; the target server sets its own.
constexpr absl::string_view kAuditKeys[] = {"createTime", "updateTime", "createdBy",
                                            "updatedBy",  "ownerApp",   "accessPolicy"};

// WorkflowTaskList exists only because proto cannot nest repeated fields or put them in map
// values; Conductor has List<List<WorkflowTask>> and Map<String, List<WorkflowTask>>, so the
// message is its bare task array: decisionCases is {"case": [tasks]}, forkTasks is [[tasks]].
bool IsBareList(const Descriptor* d) { return d == WorkflowTask::WorkflowTaskList::descriptor(); }

// SubWorkflowParams.workflowDefinition is a google.protobuf.Value on the wire, but an object
// there is an inline WorkflowDef: it is normalised through this converter (defaults filled,
// dropped keys reported) so equal definitions write and hash the same however they were
// spelled. A string is a "${...}" expression Conductor resolves at run time, kept as is.
bool IsInlineDefinition(const FieldDescriptor* f) {
  return f->containing_type() == SubWorkflowParams::descriptor() &&
         f->number() == SubWorkflowParams::kWorkflowDefinitionFieldNumber;
}

struct FieldRule {
  Write write;
  std::optional<Value> absent;
};

// nullptr when `f` follows the general mapping.
const FieldRule* RuleFor(const FieldDescriptor* f) {
  static const auto* const rules = [] {
    auto* map = new absl::flat_hash_map<const FieldDescriptor*, FieldRule>();
    WorkflowDef::descriptor();  // makes sure every definition message is in the pool
    for (const FieldRow& row : kFieldRows) {
      const FieldDescriptor* field =
          google::protobuf::DescriptorPool::generated_pool()->FindFieldByName(row.field);
      assert(field != nullptr);
      assert(row.absent != nullptr || row.write != Write::kUnlessAbsentValue);
      FieldRule& rule = (*map)[field];
      rule.write = row.write;
      if (row.absent != nullptr) {
        absl::StatusOr<Value> v = ParseJson(row.absent);
        assert(v.ok());
        rule.absent = *std::move(v);
      }
    }
    return map;
  }();
  auto it = rules->find(f);
  return it == rules->end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------------
// Reading.

// The name tables below are indexed by Value::KindCase (struct.proto's field numbers).
absl::Status TypeError(absl::string_view path, absl::string_view expected, const Value& v) {
  static constexpr const char* kGot[] = {"nothing", "null",   "number", "string",
                                         "boolean", "object", "array"};
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected ", expected, ", got ", kGot[v.kind_case()]));
}

// OK when `v` is of `kind`, else InvalidArgument naming `path`.
absl::Status Expect(const Value& v, Value::KindCase kind, absl::string_view path) {
  static constexpr const char* kExpected[] = {"",          "null",      "an integer", "a string",
                                              "a boolean", "an object", "an array"};
  return v.kind_case() == kind ? absl::OkStatus() : TypeError(path, kExpected[kind], v);
}

absl::StatusOr<int64_t> AsInteger(const Value& v, absl::string_view path, bool int32) {
  // int64 stops short of 2^63, which doubles cannot tell from INT64_MAX and which would
  // overflow the cast.
  const double max = int32 ? 2147483647.0 : 9223372036854774784.0;
  const double min = int32 ? -2147483648.0 : -max;
  RETURN_IF_ERROR(Expect(v, Value::kNumberValue, path));
  const double d = v.number_value();
  if (std::trunc(d) != d) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected an integer, got ", d));
  }
  if (d < min || d > max) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", d, " is out of range"));
  }
  return static_cast<int64_t>(d);
}

// Keys in byte order, so diagnostics and the first reported error do not depend on hash order.
std::map<absl::string_view, const Value*> Sorted(const Struct& s) {
  std::map<absl::string_view, const Value*> out;
  for (const auto& [key, value] : s.fields()) {
    out.emplace(key, &value);
  }
  return out;
}

// A value a Java field without a proto counterpart holds by default.
bool IsJavaDefault(const Value& v) {
  return v.kind_case() == Value::kNullValue || v.kind_case() == Value::KIND_NOT_SET ||
         (v.has_bool_value() && !v.bool_value()) ||
         (v.has_list_value() && v.list_value().values().empty()) ||
         (v.has_struct_value() && v.struct_value().fields().empty());
}

const FieldDescriptor* FieldForKey(const Descriptor* d, absl::string_view key) {
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->json_name() == key) {
      return d->field(i);
    }
  }
  return nullptr;
}

Value MessageToValue(const Message& m);

class Reader {
 public:
  explicit Reader(std::vector<JsonDiagnostic>* dropped) : dropped_(dropped) {}

  // Reads the object `v` into `out`, which is cleared and given the Java defaults first.
  absl::Status ReadMessage(const Value& v, const std::string& path, Message* out) {
    const Descriptor* d = out->GetDescriptor();
    if (IsBareList(d)) {
      return ReadField(v, path, out, d->field(0));
    }
    RETURN_IF_ERROR(Expect(v, Value::kStructValue, path));
    out->Clear();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldRule* rule = RuleFor(d->field(i));
      if (rule != nullptr && rule->absent.has_value()) {
        RETURN_IF_ERROR(ReadOne(*rule->absent, path, out, d->field(i)));
      }
    }
    for (const auto& [key, val] : Sorted(v.struct_value())) {
      if (val->kind_case() == Value::kNullValue) {
        continue;  // Jackson leaves the default.
      }
      if (const FieldDescriptor* f = FieldForKey(d, key); f != nullptr) {
        RETURN_IF_ERROR(ReadField(*val, JsonPathChild(path, key), out, f));
      } else {
        Unhandled(d, path, key, *val);
      }
    }
    return absl::OkStatus();
  }

 private:
  // Reads all of field `f`: every element of a repeated field or map.
  absl::Status ReadField(const Value& v, const std::string& path, Message* out,
                         const FieldDescriptor* f) {
    if (f->is_map()) {
      RETURN_IF_ERROR(Expect(v, Value::kStructValue, path));
      for (const auto& [key, val] : Sorted(v.struct_value())) {
        Message* entry = out->GetReflection()->AddMessage(out, f);
        const Descriptor* entry_type = entry->GetDescriptor();
        entry->GetReflection()->SetString(entry, entry_type->map_key(), std::string(key));
        RETURN_IF_ERROR(ReadOne(*val, JsonPathChild(path, key), entry, entry_type->map_value()));
      }
      return absl::OkStatus();
    }
    if (f->is_repeated()) {
      RETURN_IF_ERROR(Expect(v, Value::kListValue, path));
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        RETURN_IF_ERROR(ReadOne(v.list_value().values(i), JsonPathIndex(path, i), out, f));
      }
      return absl::OkStatus();
    }
    return ReadOne(v, path, out, f);
  }

  // Reads one value of `f`: sets a singular field, appends to a repeated one.
  absl::Status ReadOne(const Value& v, const std::string& path, Message* out,
                       const FieldDescriptor* f) {
    const Reflection* r = out->GetReflection();
    const bool add = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        RETURN_IF_ERROR(Expect(v, Value::kStringValue, path));
        add ? r->AddString(out, f, v.string_value()) : r->SetString(out, f, v.string_value());
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_BOOL:
        RETURN_IF_ERROR(Expect(v, Value::kBoolValue, path));
        add ? r->AddBool(out, f, v.bool_value()) : r->SetBool(out, f, v.bool_value());
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT32: {
        ASSIGN_OR_RETURN(int64_t n, AsInteger(v, path, /*int32=*/true));
        add ? r->AddInt32(out, f, static_cast<int32_t>(n))
            : r->SetInt32(out, f, static_cast<int32_t>(n));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        ASSIGN_OR_RETURN(int64_t n, AsInteger(v, path, /*int32=*/false));
        add ? r->AddInt64(out, f, n) : r->SetInt64(out, f, n);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        RETURN_IF_ERROR(Expect(v, Value::kStringValue, path));
        const auto* e = f->enum_type()->FindValueByName(v.string_value());
        if (e == nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ": unknown value \"", v.string_value(), "\""));
        }
        add ? r->AddEnum(out, f, e) : r->SetEnum(out, f, e);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message* m = add ? r->AddMessage(out, f) : r->MutableMessage(out, f);
        if (f->message_type() != Value::descriptor()) {
          return ReadMessage(v, path, m);
        }
        if (!IsInlineDefinition(f) || v.kind_case() == Value::kStringValue) {
          m->CopyFrom(v);
          return absl::OkStatus();
        }
        if (v.kind_case() != Value::kStructValue) {
          return TypeError(path, "an object or a string", v);
        }
        WorkflowDef def;
        RETURN_IF_ERROR(ReadMessage(v, path, &def));
        m->CopyFrom(MessageToValue(def));
        return absl::OkStatus();
      }
      default:
        // A field type the definition protos do not use yet: refuse rather than drop it.
        return absl::UnimplementedError(
            absl::StrCat(path, ": cannot read a ", f->cpp_type_name(), " field"));
    }
  }

  // Records a key no field of `d` carries.
  void Unhandled(const Descriptor* d, const std::string& path, absl::string_view key,
                 const Value& v) {
    const bool audit =
        std::find(std::begin(kAuditKeys), std::end(kAuditKeys), key) != std::end(kAuditKeys);
    const bool java_only =
        std::any_of(std::begin(kJavaOnlyKeys), std::end(kJavaOnlyKeys), [&](const auto& row) {
          return d->full_name() == row.message &&
                 absl::c_linear_search(absl::StrSplit(row.keys, ' '), key);
        });
    if ((audit || java_only) && IsJavaDefault(v)) {
      return;
    }
    if (dropped_ != nullptr) {
      dropped_->push_back({JsonPathChild(path, key), std::string(key),
                           std::string(audit ? kDiagnosticAudit : kDiagnosticUnsupported)});
    }
  }

  std::vector<JsonDiagnostic>* const dropped_;
};

// ---------------------------------------------------------------------------------------------
// Writing.

// One value of `f`: the field itself, or element `i` of a repeated field.
Value OneToValue(const Message& m, const FieldDescriptor* f, int i) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  Value v;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      v.set_string_value(rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      v.set_bool_value(rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      v.set_number_value(rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      v.set_number_value(
          static_cast<double>(rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f)));
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int n = rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
      const auto* e = f->enum_type()->FindValueByNumber(n);
      // A value newer than our proto keeps its number.
      e == nullptr ? v.set_number_value(n) : v.set_string_value(e->name());
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
      if (f->message_type() != Value::descriptor()) {
        return MessageToValue(sub);
      }
      v.CopyFrom(sub);
      if (IsInlineDefinition(f) && v.kind_case() == Value::kStructValue) {
        // Normalised also when the proto came from elsewhere (e.g. a Conductor gRPC server);
        // one this converter cannot read is kept exactly as it came.
        WorkflowDef def;
        if (Reader(nullptr).ReadMessage(v, "$", &def).ok()) {
          v = MessageToValue(def);
        }
      }
      break;
    }
    default:
      break;  // Left unset; the reflection round-trip test catches a new field type.
  }
  return v;
}

// All elements of repeated field `f` as an array.
Value ListToValue(const Message& m, const FieldDescriptor* f) {
  Value v;
  auto* list = v.mutable_list_value();
  for (int i = 0; i < m.GetReflection()->FieldSize(m, f); ++i) {
    *list->add_values() = OneToValue(m, f, i);
  }
  return v;
}

// Adds field `f` of `m` to `out` under its JSON name, unless the dialect omits it.
void WriteField(const Message& m, const FieldDescriptor* f, Struct* out) {
  const Reflection* r = m.GetReflection();
  const FieldRule* rule = RuleFor(f);
  Value v;
  bool empty = false;
  if (f->is_map()) {
    auto* fields = v.mutable_struct_value()->mutable_fields();
    for (int i = 0; i < r->FieldSize(m, f); ++i) {
      const Message& entry = r->GetRepeatedMessage(m, f, i);
      const Descriptor* entry_type = entry.GetDescriptor();
      (*fields)[entry.GetReflection()->GetString(entry, entry_type->map_key())] =
          OneToValue(entry, entry_type->map_value(), 0);
    }
    empty = fields->empty();
  } else if (f->is_repeated()) {
    v = ListToValue(m, f);
    empty = v.list_value().values().empty();
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !r->HasField(m, f)) {
    return;
  } else {
    v = OneToValue(m, f, 0);
    empty = f->cpp_type() == FieldDescriptor::CPPTYPE_STRING
                ? v.string_value().empty()
                : v.kind_case() == Value::kNullValue || v.kind_case() == Value::KIND_NOT_SET;
  }
  const Write write = rule != nullptr ? rule->write : Write::kGeneral;
  if (empty && write != Write::kAlways) {
    return;
  }
  if (write == Write::kUnlessAbsentValue && v.kind_case() == rule->absent->kind_case() &&
      v.number_value() == rule->absent->number_value() &&
      v.bool_value() == rule->absent->bool_value() &&
      v.string_value() == rule->absent->string_value()) {
    return;
  }
  (*out->mutable_fields())[f->json_name()] = std::move(v);
}

Value MessageToValue(const Message& m) {
  const Descriptor* d = m.GetDescriptor();
  if (IsBareList(d)) {
    return ListToValue(m, d->field(0));  // an empty branch is still a branch
  }
  Value v;
  Struct* s = v.mutable_struct_value();
  for (int i = 0; i < d->field_count(); ++i) {
    WriteField(m, d->field(i), s);
  }
  return v;
}

template <typename T>
absl::StatusOr<T> FromValue(const Value& v, std::vector<JsonDiagnostic>* dropped) {
  T out;
  RETURN_IF_ERROR(Reader(dropped).ReadMessage(v, "$", &out));
  return out;
}

// Canonical JSON written by this project never holds a key the proto cannot carry, so one in a
// package item means the item is not the kind it claims (or was not written by us).
absl::Status RejectDropped(const std::vector<JsonDiagnostic>& dropped, absl::string_view what) {
  if (dropped.empty()) {
    return absl::OkStatus();
  }
  std::vector<std::string> keys;
  keys.reserve(dropped.size());
  for (const JsonDiagnostic& d : dropped) {
    keys.push_back(d.path);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a valid ", what, " definition: unexpected ", absl::StrJoin(keys, ", ")));
}

}  // namespace

absl::StatusOr<WorkflowDef> WorkflowDefFromValue(const Value& v,
                                                 std::vector<JsonDiagnostic>* dropped) {
  return FromValue<WorkflowDef>(v, dropped);
}

absl::StatusOr<TaskDef> TaskDefFromValue(const Value& v, std::vector<JsonDiagnostic>* dropped) {
  return FromValue<TaskDef>(v, dropped);
}

absl::StatusOr<WorkflowTask> WorkflowTaskFromValue(const Value& v,
                                                   std::vector<JsonDiagnostic>* dropped) {
  return FromValue<WorkflowTask>(v, dropped);
}

absl::StatusOr<WorkflowDef> WorkflowDefFromConductorJson(absl::string_view json,
                                                         std::vector<JsonDiagnostic>* dropped) {
  ASSIGN_OR_RETURN(Value v, ParseJson(json));
  return WorkflowDefFromValue(v, dropped);
}

absl::StatusOr<TaskDef> TaskDefFromConductorJson(absl::string_view json,
                                                 std::vector<JsonDiagnostic>* dropped) {
  ASSIGN_OR_RETURN(Value v, ParseJson(json));
  return TaskDefFromValue(v, dropped);
}

Value WorkflowDefToValue(const WorkflowDef& d) { return MessageToValue(d); }
Value TaskDefToValue(const TaskDef& d) { return MessageToValue(d); }
Value WorkflowTaskToValue(const WorkflowTask& t) { return MessageToValue(t); }

std::string WorkflowDefToConductorJson(const WorkflowDef& d, bool pretty) {
  return WriteJson(WorkflowDefToValue(d), pretty);
}

std::string TaskDefToConductorJson(const TaskDef& d, bool pretty) {
  return WriteJson(TaskDefToValue(d), pretty);
}

absl::StatusOr<conductor::proto::WorkflowDef> ParseWorkflowDef(absl::string_view json) {
  std::vector<JsonDiagnostic> dropped;
  auto def = WorkflowDefFromConductorJson(json, &dropped);
  if (!def.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid workflow definition: ", def.status().message()));
  }
  if (absl::Status st = RejectDropped(dropped, "workflow"); !st.ok()) {
    return st;
  }
  return def;
}

absl::StatusOr<conductor::proto::TaskDef> ParseTaskDef(absl::string_view json) {
  std::vector<JsonDiagnostic> dropped;
  auto def = TaskDefFromConductorJson(json, &dropped);
  if (!def.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid task definition: ", def.status().message()));
  }
  if (absl::Status st = RejectDropped(dropped, "task"); !st.ok()) {
    return st;
  }
  return def;
}

namespace {

Value WithoutAuditKeys(Value extra) {
  if (!extra.has_struct_value()) return extra;
  auto& fields = *extra.mutable_struct_value()->mutable_fields();
  for (absl::string_view key : kAuditKeys) fields.erase(std::string(key));
  if (fields.empty()) extra.set_null_value(google::protobuf::NULL_VALUE);
  return extra;
}

}  // namespace

Value WorkflowDefExtraKeys(const Value& original, const conductor::proto::WorkflowDef& d) {
  return WithoutAuditKeys(KeysMissingFrom(original, WorkflowDefToValue(d)));
}

Value TaskDefExtraKeys(const Value& original, const conductor::proto::TaskDef& d) {
  return WithoutAuditKeys(KeysMissingFrom(original, TaskDefToValue(d)));
}

}  // namespace cmig
