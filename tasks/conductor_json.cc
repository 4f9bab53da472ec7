#include "tasks/conductor_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace cmig {
namespace {

using conductor::proto::CacheConfig;
using conductor::proto::RateLimitConfig;
using conductor::proto::SchemaDef;
using conductor::proto::SubWorkflowParams;
using conductor::proto::TaskDef;
using conductor::proto::WorkflowDef;
using conductor::proto::WorkflowTask;
using google::protobuf::Struct;
using google::protobuf::Value;

// ---------------------------------------------------------------------------------------------
// Reading helpers: each checks the JSON type and names `path` in its error.

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

absl::StatusOr<int64_t> AsInteger(const Value& v, absl::string_view path, int64_t min,
                                  int64_t max) {
  if (v.kind_case() != Value::kNumberValue) {
    return TypeError(path, "an integer", v);
  }
  const double d = v.number_value();
  if (std::trunc(d) != d) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected an integer, got ", d));
  }
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", d, " is out of range"));
  }
  return static_cast<int64_t>(d);
}

absl::StatusOr<int32_t> AsInt32(const Value& v, absl::string_view path) {
  ASSIGN_OR_RETURN(int64_t x, AsInteger(v, path, std::numeric_limits<int32_t>::min(),
                                        std::numeric_limits<int32_t>::max()));
  return static_cast<int32_t>(x);
}

// Doubles cannot represent INT64_MAX; 2^63 itself would overflow the cast.
absl::StatusOr<int64_t> AsInt64(const Value& v, absl::string_view path) {
  return AsInteger(v, path, -9223372036854774784LL, 9223372036854774784LL);
}

absl::Status ReadStringList(const Value& v, absl::string_view path,
                            google::protobuf::RepeatedPtrField<std::string>* out) {
  ASSIGN_OR_RETURN(const google::protobuf::ListValue* list, AsList(v, path));
  out->Clear();
  for (int i = 0; i < list->values_size(); ++i) {
    ASSIGN_OR_RETURN(*out->Add(), AsString(list->values(i), JsonPathIndex(path, i)));
  }
  return absl::OkStatus();
}

absl::Status ReadValueMap(const Value& v, absl::string_view path,
                          google::protobuf::Map<std::string, Value>* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  *out = s->fields();
  return absl::OkStatus();
}

absl::Status ReadStringMap(const Value& v, absl::string_view path,
                           google::protobuf::Map<std::string, std::string>* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->clear();
  for (const auto& [key, value] : s->fields()) {
    ASSIGN_OR_RETURN((*out)[key], AsString(value, JsonPathChild(path, key)));
  }
  return absl::OkStatus();
}

// Reads an enum by its name (Conductor writes names, as Jackson does for Java enums).
template <typename E>
absl::StatusOr<E> AsEnum(const Value& v, absl::string_view path,
                         bool (*parse)(const std::string&, E*)) {
  ASSIGN_OR_RETURN(std::string name, AsString(v, path));
  E e;
  if (!parse(name, &e)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unknown value \"", name, "\""));
  }
  return e;
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

bool IsAuditKey(absl::string_view key) {
  return key == "createTime" || key == "updateTime" || key == "createdBy" || key == "updatedBy" ||
         key == "ownerApp" || key == "accessPolicy";
}

// A value a Java field without a proto counterpart would hold by default; dropping it loses
// nothing because the receiving server applies the same default.
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

bool IsOneOf(absl::string_view key, std::initializer_list<absl::string_view> keys) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

class Reader {
 public:
  explicit Reader(std::vector<JsonDiagnostic>* dropped) : dropped_(dropped) {}

  absl::Status ReadWorkflowDef(const Value& v, const std::string& path, WorkflowDef* out);
  absl::Status ReadTaskDef(const Value& v, const std::string& path, TaskDef* out);
  absl::Status ReadWorkflowTask(const Value& v, const std::string& path, WorkflowTask* out);

 private:
  absl::Status ReadTaskList(const Value& v, const std::string& path,
                            google::protobuf::RepeatedPtrField<WorkflowTask>* out);
  absl::Status ReadSubWorkflowParams(const Value& v, const std::string& path,
                                     SubWorkflowParams* out);
  absl::Status ReadSchemaDef(const Value& v, const std::string& path, SchemaDef* out);
  absl::Status ReadCacheConfig(const Value& v, const std::string& path, CacheConfig* out);
  absl::Status ReadRateLimitConfig(const Value& v, const std::string& path, RateLimitConfig* out);

  // Records a key no proto field carries. `known_unsupported` are the Java model's fields
  // without a proto counterpart for this object.
  void Unhandled(const std::string& path, const std::string& key, const Value& v,
                 std::initializer_list<absl::string_view> known_unsupported) {
    const std::string child = JsonPathChild(path, key);
    if (IsAuditKey(key)) {
      if (!IsJavaDefault(v)) {
        Report(child, key, kDiagnosticAudit);
      }
    } else if (IsOneOf(key, known_unsupported)) {
      if (!IsJavaDefault(v)) {
        Report(child, key, kDiagnosticUnsupported);
      }
    } else {
      Report(child, key, kDiagnosticUnsupported);
    }
  }

  void Report(const std::string& path, const std::string& key, absl::string_view kind) {
    if (dropped_ != nullptr) {
      dropped_->push_back({path, key, std::string(kind)});
    }
  }

  std::vector<JsonDiagnostic>* const dropped_;
};

absl::Status Reader::ReadTaskList(const Value& v, const std::string& path,
                                  google::protobuf::RepeatedPtrField<WorkflowTask>* out) {
  ASSIGN_OR_RETURN(const google::protobuf::ListValue* list, AsList(v, path));
  out->Clear();
  for (int i = 0; i < list->values_size(); ++i) {
    RETURN_IF_ERROR(ReadWorkflowTask(list->values(i), JsonPathIndex(path, i), out->Add()));
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadWorkflowDef(const Value& v, const std::string& path, WorkflowDef* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->Clear();
  out->set_version(1);
  out->set_schema_version(2);
  out->set_restartable(true);
  out->set_timeout_policy(WorkflowDef::ALERT_ONLY);
  out->set_enforce_schema(true);
  for (const auto& [key_ptr, val_ptr] : SortedFields(*s)) {
    const std::string& k = *key_ptr;
    const Value& val = *val_ptr;
    if (val.kind_case() == Value::kNullValue) {
      continue;  // Jackson leaves the default.
    }
    const std::string p = JsonPathChild(path, k);
    if (k == "name") {
      ASSIGN_OR_RETURN(*out->mutable_name(), AsString(val, p));
    } else if (k == "description") {
      ASSIGN_OR_RETURN(*out->mutable_description(), AsString(val, p));
    } else if (k == "version") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_version(x);
    } else if (k == "tasks") {
      RETURN_IF_ERROR(ReadTaskList(val, p, out->mutable_tasks()));
    } else if (k == "inputParameters") {
      RETURN_IF_ERROR(ReadStringList(val, p, out->mutable_input_parameters()));
    } else if (k == "outputParameters") {
      RETURN_IF_ERROR(ReadValueMap(val, p, out->mutable_output_parameters()));
    } else if (k == "failureWorkflow") {
      ASSIGN_OR_RETURN(*out->mutable_failure_workflow(), AsString(val, p));
    } else if (k == "schemaVersion") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_schema_version(x);
    } else if (k == "restartable") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_restartable(x);
    } else if (k == "workflowStatusListenerEnabled") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_workflow_status_listener_enabled(x);
    } else if (k == "ownerEmail") {
      ASSIGN_OR_RETURN(*out->mutable_owner_email(), AsString(val, p));
    } else if (k == "timeoutPolicy") {
      ASSIGN_OR_RETURN(auto x, AsEnum(val, p, &WorkflowDef::TimeoutPolicy_Parse));
      out->set_timeout_policy(x);
    } else if (k == "timeoutSeconds") {
      ASSIGN_OR_RETURN(int64_t x, AsInt64(val, p));
      out->set_timeout_seconds(x);
    } else if (k == "variables") {
      RETURN_IF_ERROR(ReadValueMap(val, p, out->mutable_variables()));
    } else if (k == "inputTemplate") {
      RETURN_IF_ERROR(ReadValueMap(val, p, out->mutable_input_template()));
    } else if (k == "failureWorkflowVersion") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_failure_workflow_version(x);
    } else if (k == "workflowStatusListenerSink") {
      ASSIGN_OR_RETURN(*out->mutable_workflow_status_listener_sink(), AsString(val, p));
    } else if (k == "rateLimitConfig") {
      RETURN_IF_ERROR(ReadRateLimitConfig(val, p, out->mutable_rate_limit_config()));
    } else if (k == "inputSchema") {
      RETURN_IF_ERROR(ReadSchemaDef(val, p, out->mutable_input_schema()));
    } else if (k == "outputSchema") {
      RETURN_IF_ERROR(ReadSchemaDef(val, p, out->mutable_output_schema()));
    } else if (k == "enforceSchema") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_enforce_schema(x);
    } else if (k == "metadata") {
      RETURN_IF_ERROR(ReadValueMap(val, p, out->mutable_metadata()));
    } else if (k == "cacheConfig") {
      RETURN_IF_ERROR(ReadCacheConfig(val, p, out->mutable_cache_config()));
    } else if (k == "maskedFields") {
      RETURN_IF_ERROR(ReadStringList(val, p, out->mutable_masked_fields()));
    } else {
      Unhandled(path, k, val, {});
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadTaskDef(const Value& v, const std::string& path, TaskDef* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->Clear();
  out->set_retry_count(3);
  out->set_timeout_policy(TaskDef::TIME_OUT_WF);
  out->set_retry_logic(TaskDef::FIXED);
  out->set_retry_delay_seconds(60);
  out->set_response_timeout_seconds(3600);
  out->set_backoff_scale_factor(1);
  // The Java getter answers 1 for null, and that is what Jackson and the gRPC mapper emit.
  out->set_rate_limit_frequency_in_seconds(1);
  out->set_task_status_listener_enabled(true);
  for (const auto& [key_ptr, val_ptr] : SortedFields(*s)) {
    const std::string& k = *key_ptr;
    const Value& val = *val_ptr;
    if (val.kind_case() == Value::kNullValue) {
      continue;
    }
    const std::string p = JsonPathChild(path, k);
    if (k == "name") {
      ASSIGN_OR_RETURN(*out->mutable_name(), AsString(val, p));
    } else if (k == "description") {
      ASSIGN_OR_RETURN(*out->mutable_description(), AsString(val, p));
    } else if (k == "retryCount") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_retry_count(x);
    } else if (k == "timeoutSeconds") {
      ASSIGN_OR_RETURN(int64_t x, AsInt64(val, p));
      out->set_timeout_seconds(x);
    } else if (k == "inputKeys") {
      RETURN_IF_ERROR(ReadStringList(val, p, out->mutable_input_keys()));
    } else if (k == "outputKeys") {
      RETURN_IF_ERROR(ReadStringList(val, p, out->mutable_output_keys()));
    } else if (k == "timeoutPolicy") {
      ASSIGN_OR_RETURN(auto x, AsEnum(val, p, &TaskDef::TimeoutPolicy_Parse));
      out->set_timeout_policy(x);
    } else if (k == "retryLogic") {
      ASSIGN_OR_RETURN(auto x, AsEnum(val, p, &TaskDef::RetryLogic_Parse));
      out->set_retry_logic(x);
    } else if (k == "retryDelaySeconds") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_retry_delay_seconds(x);
    } else if (k == "responseTimeoutSeconds") {
      ASSIGN_OR_RETURN(int64_t x, AsInt64(val, p));
      out->set_response_timeout_seconds(x);
    } else if (k == "concurrentExecLimit") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_concurrent_exec_limit(x);
    } else if (k == "inputTemplate") {
      RETURN_IF_ERROR(ReadValueMap(val, p, out->mutable_input_template()));
    } else if (k == "rateLimitPerFrequency") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_rate_limit_per_frequency(x);
    } else if (k == "rateLimitFrequencyInSeconds") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_rate_limit_frequency_in_seconds(x);
    } else if (k == "isolationGroupId") {
      ASSIGN_OR_RETURN(*out->mutable_isolation_group_id(), AsString(val, p));
    } else if (k == "executionNameSpace") {
      ASSIGN_OR_RETURN(*out->mutable_execution_name_space(), AsString(val, p));
    } else if (k == "ownerEmail") {
      ASSIGN_OR_RETURN(*out->mutable_owner_email(), AsString(val, p));
    } else if (k == "pollTimeoutSeconds") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_poll_timeout_seconds(x);
    } else if (k == "backoffScaleFactor") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_backoff_scale_factor(x);
    } else if (k == "maxRetryDelaySeconds") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_max_retry_delay_seconds(x);
    } else if (k == "backoffJitterMs") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_backoff_jitter_ms(x);
    } else if (k == "baseType") {
      ASSIGN_OR_RETURN(*out->mutable_base_type(), AsString(val, p));
    } else if (k == "totalTimeoutSeconds") {
      ASSIGN_OR_RETURN(int64_t x, AsInt64(val, p));
      out->set_total_timeout_seconds(x);
    } else if (k == "taskStatusListenerEnabled") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_task_status_listener_enabled(x);
    } else {
      Unhandled(path, k, val, {"inputSchema", "outputSchema", "enforceSchema", "runtimeMetadata"});
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadWorkflowTask(const Value& v, const std::string& path, WorkflowTask* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->Clear();
  out->set_type("SIMPLE");
  // Java's Integer retryCount is null unless given; the gRPC mapper encodes null as -1.
  out->set_retry_count(-1);
  for (const auto& [key_ptr, val_ptr] : SortedFields(*s)) {
    const std::string& k = *key_ptr;
    const Value& val = *val_ptr;
    if (val.kind_case() == Value::kNullValue) {
      continue;
    }
    const std::string p = JsonPathChild(path, k);
    if (k == "name") {
      ASSIGN_OR_RETURN(*out->mutable_name(), AsString(val, p));
    } else if (k == "taskReferenceName") {
      ASSIGN_OR_RETURN(*out->mutable_task_reference_name(), AsString(val, p));
    } else if (k == "description") {
      ASSIGN_OR_RETURN(*out->mutable_description(), AsString(val, p));
    } else if (k == "inputParameters") {
      RETURN_IF_ERROR(ReadValueMap(val, p, out->mutable_input_parameters()));
    } else if (k == "type") {
      ASSIGN_OR_RETURN(*out->mutable_type(), AsString(val, p));
    } else if (k == "dynamicTaskNameParam") {
      ASSIGN_OR_RETURN(*out->mutable_dynamic_task_name_param(), AsString(val, p));
    } else if (k == "caseValueParam") {
      ASSIGN_OR_RETURN(*out->mutable_case_value_param(), AsString(val, p));
    } else if (k == "caseExpression") {
      ASSIGN_OR_RETURN(*out->mutable_case_expression(), AsString(val, p));
    } else if (k == "scriptExpression") {
      ASSIGN_OR_RETURN(*out->mutable_script_expression(), AsString(val, p));
    } else if (k == "decisionCases") {
      ASSIGN_OR_RETURN(const Struct* cases, AsObject(val, p));
      auto* map = out->mutable_decision_cases();
      for (const auto& [case_key, case_val] : SortedFields(*cases)) {
        RETURN_IF_ERROR(ReadTaskList(*case_val, JsonPathChild(p, *case_key),
                                     (*map)[*case_key].mutable_tasks()));
      }
    } else if (k == "dynamicForkTasksParam") {
      ASSIGN_OR_RETURN(*out->mutable_dynamic_fork_tasks_param(), AsString(val, p));
    } else if (k == "dynamicForkTasksInputParamName") {
      ASSIGN_OR_RETURN(*out->mutable_dynamic_fork_tasks_input_param_name(), AsString(val, p));
    } else if (k == "defaultCase") {
      RETURN_IF_ERROR(ReadTaskList(val, p, out->mutable_default_case()));
    } else if (k == "forkTasks") {
      ASSIGN_OR_RETURN(const google::protobuf::ListValue* branches, AsList(val, p));
      for (int i = 0; i < branches->values_size(); ++i) {
        RETURN_IF_ERROR(ReadTaskList(branches->values(i), JsonPathIndex(p, i),
                                     out->add_fork_tasks()->mutable_tasks()));
      }
    } else if (k == "startDelay") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_start_delay(x);
    } else if (k == "subWorkflowParam") {
      RETURN_IF_ERROR(ReadSubWorkflowParams(val, p, out->mutable_sub_workflow_param()));
    } else if (k == "joinOn") {
      RETURN_IF_ERROR(ReadStringList(val, p, out->mutable_join_on()));
    } else if (k == "sink") {
      ASSIGN_OR_RETURN(*out->mutable_sink(), AsString(val, p));
    } else if (k == "optional") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_optional(x);
    } else if (k == "taskDefinition") {
      RETURN_IF_ERROR(ReadTaskDef(val, p, out->mutable_task_definition()));
    } else if (k == "rateLimited") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_rate_limited(x);
    } else if (k == "defaultExclusiveJoinTask") {
      RETURN_IF_ERROR(ReadStringList(val, p, out->mutable_default_exclusive_join_task()));
    } else if (k == "asyncComplete") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_async_complete(x);
    } else if (k == "loopCondition") {
      ASSIGN_OR_RETURN(*out->mutable_loop_condition(), AsString(val, p));
    } else if (k == "loopOver") {
      RETURN_IF_ERROR(ReadTaskList(val, p, out->mutable_loop_over()));
    } else if (k == "items") {
      ASSIGN_OR_RETURN(*out->mutable_items(), AsString(val, p));
    } else if (k == "retryCount") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_retry_count(x);
    } else if (k == "evaluatorType") {
      ASSIGN_OR_RETURN(*out->mutable_evaluator_type(), AsString(val, p));
    } else if (k == "expression") {
      ASSIGN_OR_RETURN(*out->mutable_expression(), AsString(val, p));
    } else if (k == "joinStatus") {
      ASSIGN_OR_RETURN(*out->mutable_join_status(), AsString(val, p));
    } else if (k == "cacheConfig") {
      RETURN_IF_ERROR(ReadCacheConfig(val, p, out->mutable_cache_config()));
    } else if (k == "permissive") {
      ASSIGN_OR_RETURN(bool x, AsBool(val, p));
      out->set_permissive(x);
    } else if (k == "joinMode") {
      ASSIGN_OR_RETURN(auto x, AsEnum(val, p, &WorkflowTask::JoinMode_Parse));
      out->set_join_mode(x);
    } else if (k == "metadata") {
      RETURN_IF_ERROR(ReadValueMap(val, p, out->mutable_metadata()));
    } else {
      Unhandled(path, k, val, {"onStateChange", "dynamicForkJoinTasksParam"});
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadSubWorkflowParams(const Value& v, const std::string& path,
                                           SubWorkflowParams* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->Clear();
  for (const auto& [key_ptr, val_ptr] : SortedFields(*s)) {
    const std::string& k = *key_ptr;
    const Value& val = *val_ptr;
    if (val.kind_case() == Value::kNullValue) {
      continue;
    }
    const std::string p = JsonPathChild(path, k);
    if (k == "name") {
      ASSIGN_OR_RETURN(*out->mutable_name(), AsString(val, p));
    } else if (k == "version") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_version(x);
    } else if (k == "taskToDomain") {
      RETURN_IF_ERROR(ReadStringMap(val, p, out->mutable_task_to_domain()));
    } else if (k == "workflowDefinition") {
      if (val.kind_case() == Value::kStringValue) {
        // A "${...}" expression resolved by Conductor at run time.
        *out->mutable_workflow_definition() = val;
      } else if (val.kind_case() == Value::kStructValue) {
        WorkflowDef inline_def;
        RETURN_IF_ERROR(ReadWorkflowDef(val, p, &inline_def));
        *out->mutable_workflow_definition() = WorkflowDefToValue(inline_def);
      } else {
        return TypeError(p, "an object or a string", val);
      }
    } else {
      Unhandled(path, k, val, {"idempotencyKey", "idempotencyStrategy", "priority"});
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadSchemaDef(const Value& v, const std::string& path, SchemaDef* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->Clear();
  out->set_version(1);
  for (const auto& [key_ptr, val_ptr] : SortedFields(*s)) {
    const std::string& k = *key_ptr;
    const Value& val = *val_ptr;
    if (val.kind_case() == Value::kNullValue) {
      continue;
    }
    const std::string p = JsonPathChild(path, k);
    if (k == "name") {
      ASSIGN_OR_RETURN(*out->mutable_name(), AsString(val, p));
    } else if (k == "version") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_version(x);
    } else if (k == "type") {
      ASSIGN_OR_RETURN(auto x, AsEnum(val, p, &SchemaDef::Type_Parse));
      out->set_type(x);
    } else {
      Unhandled(path, k, val, {"data", "externalRef"});
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadCacheConfig(const Value& v, const std::string& path, CacheConfig* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->Clear();
  for (const auto& [key_ptr, val_ptr] : SortedFields(*s)) {
    const std::string& k = *key_ptr;
    const Value& val = *val_ptr;
    if (val.kind_case() == Value::kNullValue) {
      continue;
    }
    const std::string p = JsonPathChild(path, k);
    if (k == "key") {
      ASSIGN_OR_RETURN(*out->mutable_key(), AsString(val, p));
    } else if (k == "ttlInSecond") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_ttl_in_second(x);
    } else {
      Unhandled(path, k, val, {});
    }
  }
  return absl::OkStatus();
}

absl::Status Reader::ReadRateLimitConfig(const Value& v, const std::string& path,
                                         RateLimitConfig* out) {
  ASSIGN_OR_RETURN(const Struct* s, AsObject(v, path));
  out->Clear();
  for (const auto& [key_ptr, val_ptr] : SortedFields(*s)) {
    const std::string& k = *key_ptr;
    const Value& val = *val_ptr;
    if (val.kind_case() == Value::kNullValue) {
      continue;
    }
    const std::string p = JsonPathChild(path, k);
    if (k == "rateLimitKey") {
      ASSIGN_OR_RETURN(*out->mutable_rate_limit_key(), AsString(val, p));
    } else if (k == "concurrentExecLimit") {
      ASSIGN_OR_RETURN(int32_t x, AsInt32(val, p));
      out->set_concurrent_exec_limit(x);
    } else if (k == "policy") {
      ASSIGN_OR_RETURN(auto x, AsEnum(val, p, &RateLimitConfig::RateLimitPolicy_Parse));
      out->set_policy(x);
    } else {
      Unhandled(path, k, val, {});
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Writing.

class ObjectWriter {
 public:
  explicit ObjectWriter(Value* v) : fields_(v->mutable_struct_value()->mutable_fields()) {}

  void String(const char* key, const std::string& s) { (*fields_)[key].set_string_value(s); }
  void StringIfSet(const char* key, const std::string& s) {
    if (!s.empty()) {
      String(key, s);
    }
  }
  void Number(const char* key, int64_t n) {
    (*fields_)[key].set_number_value(static_cast<double>(n));
  }
  void NumberIfSet(const char* key, int64_t n) {
    if (n != 0) {
      Number(key, n);
    }
  }
  void Bool(const char* key, bool b) { (*fields_)[key].set_bool_value(b); }
  void BoolIfSet(const char* key, bool b) {
    if (b) {
      Bool(key, b);
    }
  }
  void Enum(const char* key, const std::string& name, int number) {
    if (name.empty()) {
      Number(key, number);  // A value newer than our proto: keep the number.
    } else {
      String(key, name);
    }
  }
  void StringList(const char* key, const google::protobuf::RepeatedPtrField<std::string>& list) {
    if (list.empty()) {
      return;
    }
    auto* values = (*fields_)[key].mutable_list_value()->mutable_values();
    for (const std::string& s : list) {
      values->Add()->set_string_value(s);
    }
  }
  void ValueMap(const char* key, const google::protobuf::Map<std::string, Value>& map) {
    if (map.empty()) {
      return;
    }
    *(*fields_)[key].mutable_struct_value()->mutable_fields() = map;
  }
  void TaskList(const char* key, const google::protobuf::RepeatedPtrField<WorkflowTask>& tasks,
                bool even_if_empty = false) {
    if (tasks.empty() && !even_if_empty) {
      return;
    }
    Value& list = (*fields_)[key];
    list.mutable_list_value();
    for (const WorkflowTask& t : tasks) {
      *list.mutable_list_value()->add_values() = WorkflowTaskToValue(t);
    }
  }
  Value* Child(const char* key) { return &(*fields_)[key]; }

 private:
  google::protobuf::Map<std::string, Value>* const fields_;
};

Value SchemaDefToValue(const SchemaDef& s) {
  Value v;
  ObjectWriter w(&v);
  w.StringIfSet("name", s.name());
  w.Number("version", s.version());
  w.Enum("type", SchemaDef::Type_Name(s.type()), s.type());
  return v;
}

Value CacheConfigToValue(const CacheConfig& c) {
  Value v;
  ObjectWriter w(&v);
  w.StringIfSet("key", c.key());
  w.Number("ttlInSecond", c.ttl_in_second());
  return v;
}

Value RateLimitConfigToValue(const RateLimitConfig& r) {
  Value v;
  ObjectWriter w(&v);
  w.StringIfSet("rateLimitKey", r.rate_limit_key());
  w.Number("concurrentExecLimit", r.concurrent_exec_limit());
  w.Enum("policy", RateLimitConfig::RateLimitPolicy_Name(r.policy()), r.policy());
  return v;
}

Value SubWorkflowParamsToValue(const SubWorkflowParams& s) {
  Value v;
  ObjectWriter w(&v);
  w.StringIfSet("name", s.name());
  w.NumberIfSet("version", s.version());
  if (!s.task_to_domain().empty()) {
    auto* fields = w.Child("taskToDomain")->mutable_struct_value()->mutable_fields();
    for (const auto& [task, domain] : s.task_to_domain()) {
      (*fields)[task].set_string_value(domain);
    }
  }
  if (s.has_workflow_definition()) {
    const Value& def = s.workflow_definition();
    if (def.kind_case() == Value::kStructValue) {
      // Normalise an inline definition so equal definitions write (and hash) the same however
      // they were spelled; one this converter cannot read is kept exactly as it came.
      Reader reader(nullptr);
      WorkflowDef inline_def;
      if (reader.ReadWorkflowDef(def, "$", &inline_def).ok()) {
        *w.Child("workflowDefinition") = WorkflowDefToValue(inline_def);
      } else {
        *w.Child("workflowDefinition") = def;
      }
    } else if (def.kind_case() != Value::kNullValue && def.kind_case() != Value::KIND_NOT_SET) {
      *w.Child("workflowDefinition") = def;
    }
  }
  return v;
}

}  // namespace

absl::StatusOr<WorkflowDef> WorkflowDefFromValue(const Value& v,
                                                 std::vector<JsonDiagnostic>* dropped) {
  WorkflowDef out;
  RETURN_IF_ERROR(Reader(dropped).ReadWorkflowDef(v, "$", &out));
  return out;
}

absl::StatusOr<TaskDef> TaskDefFromValue(const Value& v, std::vector<JsonDiagnostic>* dropped) {
  TaskDef out;
  RETURN_IF_ERROR(Reader(dropped).ReadTaskDef(v, "$", &out));
  return out;
}

absl::StatusOr<WorkflowTask> WorkflowTaskFromValue(const Value& v,
                                                   std::vector<JsonDiagnostic>* dropped) {
  WorkflowTask out;
  RETURN_IF_ERROR(Reader(dropped).ReadWorkflowTask(v, "$", &out));
  return out;
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

Value WorkflowDefToValue(const WorkflowDef& d) {
  Value v;
  ObjectWriter w(&v);
  w.StringIfSet("name", d.name());
  w.StringIfSet("description", d.description());
  w.Number("version", d.version());
  w.TaskList("tasks", d.tasks(), /*even_if_empty=*/true);
  w.StringList("inputParameters", d.input_parameters());
  w.ValueMap("outputParameters", d.output_parameters());
  w.StringIfSet("failureWorkflow", d.failure_workflow());
  w.Number("schemaVersion", d.schema_version());
  w.Bool("restartable", d.restartable());
  w.Bool("workflowStatusListenerEnabled", d.workflow_status_listener_enabled());
  w.StringIfSet("ownerEmail", d.owner_email());
  w.Enum("timeoutPolicy", WorkflowDef::TimeoutPolicy_Name(d.timeout_policy()), d.timeout_policy());
  w.Number("timeoutSeconds", d.timeout_seconds());
  w.ValueMap("variables", d.variables());
  w.ValueMap("inputTemplate", d.input_template());
  w.NumberIfSet("failureWorkflowVersion", d.failure_workflow_version());
  w.StringIfSet("workflowStatusListenerSink", d.workflow_status_listener_sink());
  if (d.has_rate_limit_config()) {
    *w.Child("rateLimitConfig") = RateLimitConfigToValue(d.rate_limit_config());
  }
  if (d.has_input_schema()) {
    *w.Child("inputSchema") = SchemaDefToValue(d.input_schema());
  }
  if (d.has_output_schema()) {
    *w.Child("outputSchema") = SchemaDefToValue(d.output_schema());
  }
  w.Bool("enforceSchema", d.enforce_schema());
  w.ValueMap("metadata", d.metadata());
  if (d.has_cache_config()) {
    *w.Child("cacheConfig") = CacheConfigToValue(d.cache_config());
  }
  w.StringList("maskedFields", d.masked_fields());
  return v;
}

Value TaskDefToValue(const TaskDef& d) {
  Value v;
  ObjectWriter w(&v);
  w.StringIfSet("name", d.name());
  w.StringIfSet("description", d.description());
  w.Number("retryCount", d.retry_count());
  w.Number("timeoutSeconds", d.timeout_seconds());
  w.StringList("inputKeys", d.input_keys());
  w.StringList("outputKeys", d.output_keys());
  w.Enum("timeoutPolicy", TaskDef::TimeoutPolicy_Name(d.timeout_policy()), d.timeout_policy());
  w.Enum("retryLogic", TaskDef::RetryLogic_Name(d.retry_logic()), d.retry_logic());
  w.Number("retryDelaySeconds", d.retry_delay_seconds());
  w.Number("responseTimeoutSeconds", d.response_timeout_seconds());
  w.NumberIfSet("concurrentExecLimit", d.concurrent_exec_limit());
  w.ValueMap("inputTemplate", d.input_template());
  w.NumberIfSet("rateLimitPerFrequency", d.rate_limit_per_frequency());
  w.Number("rateLimitFrequencyInSeconds", d.rate_limit_frequency_in_seconds());
  w.StringIfSet("isolationGroupId", d.isolation_group_id());
  w.StringIfSet("executionNameSpace", d.execution_name_space());
  w.StringIfSet("ownerEmail", d.owner_email());
  w.NumberIfSet("pollTimeoutSeconds", d.poll_timeout_seconds());
  w.Number("backoffScaleFactor", d.backoff_scale_factor());
  w.Number("maxRetryDelaySeconds", d.max_retry_delay_seconds());
  w.Number("backoffJitterMs", d.backoff_jitter_ms());
  w.StringIfSet("baseType", d.base_type());
  w.Number("totalTimeoutSeconds", d.total_timeout_seconds());
  w.Bool("taskStatusListenerEnabled", d.task_status_listener_enabled());
  return v;
}

Value WorkflowTaskToValue(const WorkflowTask& t) {
  Value v;
  ObjectWriter w(&v);
  w.StringIfSet("name", t.name());
  w.StringIfSet("taskReferenceName", t.task_reference_name());
  w.StringIfSet("description", t.description());
  w.ValueMap("inputParameters", t.input_parameters());
  w.String("type", t.type());
  w.StringIfSet("dynamicTaskNameParam", t.dynamic_task_name_param());
  w.StringIfSet("caseValueParam", t.case_value_param());
  w.StringIfSet("caseExpression", t.case_expression());
  w.StringIfSet("scriptExpression", t.script_expression());
  if (!t.decision_cases().empty()) {
    auto* cases = w.Child("decisionCases")->mutable_struct_value()->mutable_fields();
    for (const auto& [key, list] : t.decision_cases()) {
      Value& branch = (*cases)[key];
      branch.mutable_list_value();
      for (const WorkflowTask& c : list.tasks()) {
        *branch.mutable_list_value()->add_values() = WorkflowTaskToValue(c);
      }
    }
  }
  w.StringIfSet("dynamicForkTasksParam", t.dynamic_fork_tasks_param());
  w.StringIfSet("dynamicForkTasksInputParamName", t.dynamic_fork_tasks_input_param_name());
  w.TaskList("defaultCase", t.default_case());
  if (!t.fork_tasks().empty()) {
    auto* branches = w.Child("forkTasks")->mutable_list_value();
    for (const WorkflowTask::WorkflowTaskList& list : t.fork_tasks()) {
      Value* branch = branches->add_values();
      branch->mutable_list_value();
      for (const WorkflowTask& c : list.tasks()) {
        *branch->mutable_list_value()->add_values() = WorkflowTaskToValue(c);
      }
    }
  }
  w.Number("startDelay", t.start_delay());
  if (t.has_sub_workflow_param()) {
    *w.Child("subWorkflowParam") = SubWorkflowParamsToValue(t.sub_workflow_param());
  }
  w.StringList("joinOn", t.join_on());
  w.StringIfSet("sink", t.sink());
  w.Bool("optional", t.optional());
  if (t.has_task_definition()) {
    *w.Child("taskDefinition") = TaskDefToValue(t.task_definition());
  }
  w.BoolIfSet("rateLimited", t.rate_limited());
  w.StringList("defaultExclusiveJoinTask", t.default_exclusive_join_task());
  w.Bool("asyncComplete", t.async_complete());
  w.StringIfSet("loopCondition", t.loop_condition());
  w.TaskList("loopOver", t.loop_over());
  w.StringIfSet("items", t.items());
  if (t.retry_count() != -1) {
    w.Number("retryCount", t.retry_count());
  }
  w.StringIfSet("evaluatorType", t.evaluator_type());
  w.StringIfSet("expression", t.expression());
  w.StringIfSet("joinStatus", t.join_status());
  if (t.has_cache_config()) {
    *w.Child("cacheConfig") = CacheConfigToValue(t.cache_config());
  }
  w.Bool("permissive", t.permissive());
  if (t.join_mode() != WorkflowTask::SYNC) {
    w.Enum("joinMode", WorkflowTask::JoinMode_Name(t.join_mode()), t.join_mode());
  }
  w.ValueMap("metadata", t.metadata());
  return v;
}

std::string WorkflowDefToConductorJson(const WorkflowDef& d, bool pretty) {
  return WriteJson(WorkflowDefToValue(d), pretty);
}

std::string TaskDefToConductorJson(const TaskDef& d, bool pretty) {
  return WriteJson(TaskDefToValue(d), pretty);
}

}  // namespace cmig
