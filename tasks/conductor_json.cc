#include "tasks/conductor_json.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace cmig {
namespace {

using conductor::proto::SchemaDef;
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
// json_name(), int32/int64 as JSON numbers, enums by name, repeated fields as arrays, maps as
// objects, google.protobuf.Value as plain JSON. A key that is absent or null reads as the proto
// zero. On writing, numbers, booleans and enums are always written (the Java model always has
// them); strings, lists, maps and messages only when non-empty. The tables below are where
// Conductor's Java model differs from that.

enum class Write {
  kGeneral,
  // A nullable Java field (Integer, Boolean, enum) that Jackson omits when null: written only
  // when it differs from what its absence reads as, so absent -> proto -> JSON stays absent.
  kUnlessAbsentValue,
  // Written even when empty: the Java model always has it.
  kAlways,
};

struct FieldRow {
  const Descriptor* (*message)();
  int field;
  // What an absent or null key reads as, in the dialect's JSON, when not the proto zero.
  const char* absent;
  Write write;
};

constexpr FieldRow kFieldRows[] = {
    // Conductor's gRPC server copies every proto scalar into the Java model, so an unset proto3
    // field would become 0 / the first enum value there: the proto must carry the Java default.
    {WorkflowDef::descriptor, WorkflowDef::kVersionFieldNumber, "1", Write::kGeneral},
    {WorkflowDef::descriptor, WorkflowDef::kSchemaVersionFieldNumber, "2", Write::kGeneral},
    {WorkflowDef::descriptor, WorkflowDef::kRestartableFieldNumber, "true", Write::kGeneral},
    {WorkflowDef::descriptor, WorkflowDef::kTimeoutPolicyFieldNumber, R"("ALERT_ONLY")",
     Write::kGeneral},
    {WorkflowDef::descriptor, WorkflowDef::kEnforceSchemaFieldNumber, "true", Write::kGeneral},
    {WorkflowDef::descriptor, WorkflowDef::kFailureWorkflowVersionFieldNumber, "0",
     Write::kUnlessAbsentValue},
    {WorkflowDef::descriptor, WorkflowDef::kTasksFieldNumber, nullptr, Write::kAlways},
    {TaskDef::descriptor, TaskDef::kRetryCountFieldNumber, "3", Write::kGeneral},
    {TaskDef::descriptor, TaskDef::kTimeoutPolicyFieldNumber, R"("TIME_OUT_WF")", Write::kGeneral},
    {TaskDef::descriptor, TaskDef::kRetryLogicFieldNumber, R"("FIXED")", Write::kGeneral},
    {TaskDef::descriptor, TaskDef::kRetryDelaySecondsFieldNumber, "60", Write::kGeneral},
    {TaskDef::descriptor, TaskDef::kResponseTimeoutSecondsFieldNumber, "3600", Write::kGeneral},
    {TaskDef::descriptor, TaskDef::kBackoffScaleFactorFieldNumber, "1", Write::kGeneral},
    // The Java getter answers 1 for null, and that is what Jackson and the gRPC mapper emit.
    {TaskDef::descriptor, TaskDef::kRateLimitFrequencyInSecondsFieldNumber, "1", Write::kGeneral},
    {TaskDef::descriptor, TaskDef::kTaskStatusListenerEnabledFieldNumber, "true", Write::kGeneral},
    {TaskDef::descriptor, TaskDef::kConcurrentExecLimitFieldNumber, "0", Write::kUnlessAbsentValue},
    {TaskDef::descriptor, TaskDef::kRateLimitPerFrequencyFieldNumber, "0",
     Write::kUnlessAbsentValue},
    {TaskDef::descriptor, TaskDef::kPollTimeoutSecondsFieldNumber, "0", Write::kUnlessAbsentValue},
    {WorkflowTask::descriptor, WorkflowTask::kTypeFieldNumber, R"("SIMPLE")", Write::kAlways},
    // Java's Integer retryCount is null unless given; the gRPC mapper encodes null as -1.
    {WorkflowTask::descriptor, WorkflowTask::kRetryCountFieldNumber, "-1",
     Write::kUnlessAbsentValue},
    {WorkflowTask::descriptor, WorkflowTask::kRateLimitedFieldNumber, "false",
     Write::kUnlessAbsentValue},
    {WorkflowTask::descriptor, WorkflowTask::kJoinModeFieldNumber, R"("SYNC")",
     Write::kUnlessAbsentValue},
    {SchemaDef::descriptor, SchemaDef::kVersionFieldNumber, "1", Write::kGeneral},
    // Absent means "latest", which the proto spells 0.
    {SubWorkflowParams::descriptor, SubWorkflowParams::kVersionFieldNumber, "0",
     Write::kUnlessAbsentValue},
};

// Keys of the Java model that no proto field carries, per message. Dropping one that holds the
// Java default loses nothing, so only other values are reported.
constexpr struct {
  const Descriptor* (*message)();
  absl::string_view key;
} kJavaOnlyKeys[] = {
    {TaskDef::descriptor, "inputSchema"},
    {TaskDef::descriptor, "outputSchema"},
    {TaskDef::descriptor, "enforceSchema"},
    {TaskDef::descriptor, "runtimeMetadata"},
    {WorkflowTask::descriptor, "onStateChange"},
    {WorkflowTask::descriptor, "dynamicForkJoinTasksParam"},
    {SubWorkflowParams::descriptor, "idempotencyKey"},
    {SubWorkflowParams::descriptor, "idempotencyStrategy"},
    {SubWorkflowParams::descriptor, "priority"},
    {SchemaDef::descriptor, "data"},
    {SchemaDef::descriptor, "externalRef"},
};

// Auditing keys on every Conductor object; the target server sets its own.
constexpr absl::string_view kAuditKeys[] = {"createTime", "updateTime", "createdBy",
                                            "updatedBy",  "ownerApp",   "accessPolicy"};

// WorkflowTaskList exists only because proto cannot nest repeated fields or put them in map
// values; Conductor writes it as its bare task list, so decisionCases is {"case": [tasks]} and
// forkTasks is [[tasks]].
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
  std::optional<Value> absent;
  Write write = Write::kGeneral;
};

const FieldRule* RuleFor(const FieldDescriptor* f) {
  static const auto* const rules = [] {
    auto* map = new absl::flat_hash_map<const FieldDescriptor*, FieldRule>();
    for (const FieldRow& row : kFieldRows) {
      const FieldDescriptor* field = row.message()->FindFieldByNumber(row.field);
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
// Reading: each helper checks the JSON type and names `path` in its error.

const char* JsonKind(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "number";
    case Value::kStringValue:
      return "string";
    case Value::kBoolValue:
      return "boolean";
    case Value::kStructValue:
      return "object";
    case Value::kListValue:
      return "array";
    case Value::KIND_NOT_SET:
      break;
  }
  return "nothing";
}

absl::Status TypeError(absl::string_view path, absl::string_view expected, const Value& v) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected ", expected, ", got ", JsonKind(v)));
}

absl::StatusOr<const Struct*> AsObject(const Value& v, absl::string_view path) {
  if (v.kind_case() != Value::kStructValue) {
    return TypeError(path, "an object", v);
  }
  return &v.struct_value();
}

absl::StatusOr<const google::protobuf::ListValue*> AsList(const Value& v, absl::string_view path) {
  if (v.kind_case() != Value::kListValue) {
    return TypeError(path, "an array", v);
  }
  return &v.list_value();
}

absl::StatusOr<std::string> AsString(const Value& v, absl::string_view path) {
  if (v.kind_case() != Value::kStringValue) {
    return TypeError(path, "a string", v);
  }
  return v.string_value();
}

absl::StatusOr<bool> AsBool(const Value& v, absl::string_view path) {
  if (v.kind_case() != Value::kBoolValue) {
    return TypeError(path, "a boolean", v);
  }
  return v.bool_value();
}

// `min` and `max` are inclusive. For int64 they stop short of 2^63, which doubles cannot tell
// from INT64_MAX and which would overflow the cast.
absl::StatusOr<int64_t> AsInteger(const Value& v, absl::string_view path, bool is_int32) {
  const double min = is_int32 ? std::numeric_limits<int32_t>::min() : -9223372036854774784.0;
  const double max = is_int32 ? std::numeric_limits<int32_t>::max() : 9223372036854774784.0;
  if (v.kind_case() != Value::kNumberValue) {
    return TypeError(path, "an integer", v);
  }
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
std::vector<std::pair<const std::string*, const Value*>> SortedFields(const Struct& s) {
  std::vector<std::pair<const std::string*, const Value*>> out;
  out.reserve(s.fields_size());
  for (const auto& [key, value] : s.fields()) {
    out.emplace_back(&key, &value);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  return out;
}

// A value a Java field without a proto counterpart would hold by default.
bool IsJavaDefault(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      return true;
    case Value::kBoolValue:
      return !v.bool_value();
    case Value::kListValue:
      return v.list_value().values_size() == 0;
    case Value::kStructValue:
      return v.struct_value().fields_size() == 0;
    default:
      return false;
  }
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
    ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
    out->Clear();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldRule* rule = RuleFor(d->field(i));
      if (rule != nullptr && rule->absent.has_value()) {
        RETURN_IF_ERROR(ReadOne(*rule->absent, path, out, d->field(i)));
      }
    }
    for (const auto& [key, val] : SortedFields(*s)) {
      if (val->kind_case() == Value::kNullValue) {
        continue;  // Jackson leaves the default.
      }
      if (const FieldDescriptor* f = FieldForKey(d, *key); f != nullptr) {
        RETURN_IF_ERROR(ReadField(*val, JsonPathChild(path, *key), out, f));
      } else {
        Unhandled(d, path, *key, *val);
      }
    }
    return absl::OkStatus();
  }

 private:
  // Reads the whole of field `f` (all elements of a repeated field or map).
  absl::Status ReadField(const Value& v, const std::string& path, Message* out,
                         const FieldDescriptor* f) {
    const Reflection* r = out->GetReflection();
    if (f->is_map()) {
      ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
      r->ClearField(out, f);
      for (const auto& [key, val] : SortedFields(*s)) {
        Message* entry = r->AddMessage(out, f);
        const Descriptor* entry_type = entry->GetDescriptor();
        entry->GetReflection()->SetString(entry, entry_type->map_key(), *key);
        RETURN_IF_ERROR(ReadOne(*val, JsonPathChild(path, *key), entry, entry_type->map_value()));
      }
      return absl::OkStatus();
    }
    if (f->is_repeated()) {
      ASSIGN_OR_RETURN(const google::protobuf::ListValue* list, AsList(v, path));
      r->ClearField(out, f);
      for (int i = 0; i < list->values_size(); ++i) {
        RETURN_IF_ERROR(ReadOne(list->values(i), JsonPathIndex(path, i), out, f));
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
      case FieldDescriptor::CPPTYPE_STRING: {
        ASSIGN_OR_RETURN(std::string s, AsString(v, path));
        add ? r->AddString(out, f, std::move(s)) : r->SetString(out, f, std::move(s));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        ASSIGN_OR_RETURN(bool b, AsBool(v, path));
        add ? r->AddBool(out, f, b) : r->SetBool(out, f, b);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT32: {
        ASSIGN_OR_RETURN(int64_t n, AsInteger(v, path, /*is_int32=*/true));
        add ? r->AddInt32(out, f, static_cast<int32_t>(n))
            : r->SetInt32(out, f, static_cast<int32_t>(n));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        ASSIGN_OR_RETURN(int64_t n, AsInteger(v, path, /*is_int32=*/false));
        add ? r->AddInt64(out, f, n) : r->SetInt64(out, f, n);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        // By name, as Jackson writes Java enums.
        ASSIGN_OR_RETURN(std::string name, AsString(v, path));
        const google::protobuf::EnumValueDescriptor* e = f->enum_type()->FindValueByName(name);
        if (e == nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(path, ": unknown value \"", name, "\""));
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
        // A field type the definition protos do not use yet; refuse rather than drop it.
        return absl::UnimplementedError(
            absl::StrCat(path, ": cannot read a ", f->cpp_type_name(), " field"));
    }
  }

  // Records a key no field of `d` carries.
  void Unhandled(const Descriptor* d, const std::string& path, const std::string& key,
                 const Value& v) {
    const bool audit =
        std::find(std::begin(kAuditKeys), std::end(kAuditKeys), key) != std::end(kAuditKeys);
    const bool java_only =
        std::any_of(std::begin(kJavaOnlyKeys), std::end(kJavaOnlyKeys),
                    [&](const auto& row) { return row.message() == d && row.key == key; });
    if ((audit || java_only) && IsJavaDefault(v)) {
      return;
    }
    if (dropped_ != nullptr) {
      dropped_->push_back({JsonPathChild(path, key), key,
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
      const google::protobuf::EnumValueDescriptor* e = f->enum_type()->FindValueByNumber(n);
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
      break;  // Unset: the round-trip test of every field catches a new type.
  }
  return v;
}

bool SameScalar(const Value& a, const Value& b) {
  return a.kind_case() == b.kind_case() && a.number_value() == b.number_value() &&
         a.bool_value() == b.bool_value() && a.string_value() == b.string_value();
}

// Adds field `f` of `m` to `out` under its JSON name, unless the dialect omits it.
// All elements of repeated field `f` as a JSON array.
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
  const Write write = rule != nullptr ? rule->write : Write::kGeneral;
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
  if (empty && write != Write::kAlways) {
    return;
  }
  if (write == Write::kUnlessAbsentValue && SameScalar(v, *rule->absent)) {
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

}  // namespace cmig
