// Parameter-expression resolution (expressions.h): JSONPath-like paths over the document
// Conductor builds from a workflow and its tasks, and Java's string forms of JSON values.
#include "orchestrator/expressions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace cmig::orchestrator {
namespace {

using conductor::proto::Task;
using conductor::proto::Workflow;
using google::protobuf::ListValue;
using google::protobuf::Map;
using google::protobuf::Struct;
using google::protobuf::Value;

Value MapValue(const Map<std::string, Value>& m) {
  Value v;
  v.mutable_struct_value()->mutable_fields()->insert(m.begin(), m.end());
  return v;
}

// ---------------------------------------------------------------------------------------------
// Paths.

using Segment = std::variant<std::string, int64_t>;

// Parses "a.b[0]['c'].d" (optionally prefixed by "$" or "$."); nullopt when malformed or when
// it uses JSONPath features (wildcards, filters, slices) this resolver does not implement.
std::optional<std::vector<Segment>> ParsePath(absl::string_view path) {
  path = absl::StripAsciiWhitespace(path);
  if (absl::ConsumePrefix(&path, "$")) absl::ConsumePrefix(&path, ".");
  std::vector<Segment> segs;
  size_t i = 0;
  while (i < path.size()) {
    char c = path[i];
    if (c == '.') {
      ++i;
      continue;
    }
    if (c == '[') {
      size_t close = path.find(']', i);
      if (close == absl::string_view::npos) return std::nullopt;
      absl::string_view inner = absl::StripAsciiWhitespace(path.substr(i + 1, close - i - 1));
      if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') &&
          inner.back() == inner.front()) {
        segs.emplace_back(std::string(inner.substr(1, inner.size() - 2)));
      } else {
        int64_t index;
        if (!absl::SimpleAtoi(inner, &index)) return std::nullopt;
        segs.emplace_back(index);
      }
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == absl::string_view::npos) end = path.size();
    absl::string_view key = path.substr(i, end - i);
    if (key == "*" || key.empty()) return std::nullopt;
    segs.emplace_back(std::string(key));
    i = end;
  }
  if (segs.empty()) return std::nullopt;
  return segs;
}

Value Walk(const Value& v, const std::vector<Segment>& segs, size_t i);

Value WalkMap(const Map<std::string, Value>& m, const std::vector<Segment>& segs, size_t i) {
  if (i == segs.size()) return MapValue(m);
  const std::string* key = std::get_if<std::string>(&segs[i]);
  if (key == nullptr) return NullValue();
  auto it = m.find(*key);
  if (it == m.end()) return NullValue();
  return Walk(it->second, segs, i + 1);
}

Value Walk(const Value& v, const std::vector<Segment>& segs, size_t i) {
  if (i == segs.size()) return v;
  if (const auto* key = std::get_if<std::string>(&segs[i])) {
    if (v.kind_case() != Value::kStructValue) return NullValue();
    return WalkMap(v.struct_value().fields(), segs, i);
  }
  int64_t index = std::get<int64_t>(segs[i]);
  if (v.kind_case() != Value::kListValue) return NullValue();
  const ListValue& list = v.list_value();
  if (index < 0) index += list.values_size();  // JSONPath allows [-1] for the last element
  if (index < 0 || index >= list.values_size()) return NullValue();
  return Walk(list.values(static_cast<int>(index)), segs, i + 1);
}

Value OptionalString(const std::string& s) { return s.empty() ? NullValue() : StringValue(s); }

// The latest attempt of `ref`; tasks inside a DO_WHILE carry "ref__<iteration>" names and are
// addressed by their base name, as Conductor's expression document does.
const Task* LatestTask(const Workflow& wf, absl::string_view ref) {
  for (int i = wf.tasks_size() - 1; i >= 0; --i) {
    const Task& t = wf.tasks(i);
    if (t.reference_task_name() == ref) return &t;
    if (t.iteration() > 0 && t.reference_task_name() == absl::StrCat(ref, "__", t.iteration())) {
      return &t;
    }
  }
  return nullptr;
}

Value WorkflowField(const Workflow& wf, const std::string& key) {
  if (key == "workflowId") return OptionalString(wf.workflow_id());
  if (key == "correlationId") return OptionalString(wf.correlation_id());
  if (key == "status") return StringValue(Workflow::WorkflowStatus_Name(wf.status()));
  if (key == "parentWorkflowId") return OptionalString(wf.parent_workflow_id());
  if (key == "parentWorkflowTaskId") return OptionalString(wf.parent_workflow_task_id());
  if (key == "workflowType") return OptionalString(wf.workflow_definition().name());
  if (key == "version") return NumberValue(wf.workflow_definition().version());
  if (key == "reasonForIncompletion") return OptionalString(wf.reason_for_incompletion());
  if (key == "schemaVersion") return NumberValue(wf.workflow_definition().schema_version());
  return NullValue();
}

Value TaskField(const Task& t, const std::string& key) {
  if (key == "taskType") return OptionalString(t.task_type());
  if (key == "status") return StringValue(Task::Status_Name(t.status()));
  if (key == "referenceTaskName") return OptionalString(t.reference_task_name());
  if (key == "retryCount") return NumberValue(t.retry_count());
  if (key == "correlationId") return OptionalString(t.correlation_id());
  if (key == "pollCount") return NumberValue(t.poll_count());
  if (key == "taskDefName") return OptionalString(t.task_def_name());
  if (key == "scheduledTime") return NumberValue(static_cast<double>(t.scheduled_time()));
  if (key == "startTime") return NumberValue(static_cast<double>(t.start_time()));
  if (key == "endTime") return NumberValue(static_cast<double>(t.end_time()));
  if (key == "workflowInstanceId") return OptionalString(t.workflow_instance_id());
  if (key == "taskId") return OptionalString(t.task_id());
  if (key == "reasonForIncompletion") return OptionalString(t.reason_for_incompletion());
  if (key == "callbackAfterSeconds") {
    return NumberValue(static_cast<double>(t.callback_after_seconds()));
  }
  if (key == "workerId") return OptionalString(t.worker_id());
  if (key == "iteration") return NumberValue(t.iteration());
  return NullValue();
}

constexpr const char* kWorkflowKeys[] = {
    "workflowId",       "correlationId",         "status",
    "parentWorkflowId", "parentWorkflowTaskId",  "workflowType",
    "version",          "reasonForIncompletion", "schemaVersion"};
constexpr const char* kTaskKeys[] = {"taskType",
                                     "status",
                                     "referenceTaskName",
                                     "retryCount",
                                     "correlationId",
                                     "pollCount",
                                     "taskDefName",
                                     "scheduledTime",
                                     "startTime",
                                     "endTime",
                                     "workflowInstanceId",
                                     "taskId",
                                     "reasonForIncompletion",
                                     "callbackAfterSeconds",
                                     "workerId",
                                     "iteration"};

Value ReadSegments(const Workflow& wf, const std::vector<Segment>& segs) {
  const std::string* root = std::get_if<std::string>(&segs[0]);
  if (root == nullptr) return NullValue();
  if (*root == "workflow") {
    if (segs.size() == 1) {
      Value whole;
      auto& f = *whole.mutable_struct_value()->mutable_fields();
      f["input"] = MapValue(wf.input());
      f["output"] = MapValue(wf.output());
      f["variables"] = MapValue(wf.variables());
      for (const char* k : kWorkflowKeys) f[k] = WorkflowField(wf, k);
      return whole;
    }
    const std::string* key = std::get_if<std::string>(&segs[1]);
    if (key == nullptr) return NullValue();
    if (*key == "input") return WalkMap(wf.input(), segs, 2);
    if (*key == "output") return WalkMap(wf.output(), segs, 2);
    if (*key == "variables") return WalkMap(wf.variables(), segs, 2);
    return Walk(WorkflowField(wf, *key), segs, 2);
  }
  const Task* task = LatestTask(wf, *root);
  if (task == nullptr) return NullValue();
  if (segs.size() == 1) {
    Value whole;
    auto& f = *whole.mutable_struct_value()->mutable_fields();
    f["input"] = MapValue(task->input_data());
    f["output"] = MapValue(task->output_data());
    for (const char* k : kTaskKeys) f[k] = TaskField(*task, k);
    return whole;
  }
  const std::string* key = std::get_if<std::string>(&segs[1]);
  if (key == nullptr) return NullValue();
  if (*key == "input") return WalkMap(task->input_data(), segs, 2);
  if (*key == "output") return WalkMap(task->output_data(), segs, 2);
  return Walk(TaskField(*task, *key), segs, 2);
}

// ---------------------------------------------------------------------------------------------
// Strings.

// Finds "${" at or after `from` that is not escaped as "$${", and its matching "}".
bool FindExpression(const std::string& s, size_t from, size_t* start, size_t* end) {
  for (size_t i = s.find("${", from); i != std::string::npos; i = s.find("${", i + 1)) {
    if (i > 0 && s[i - 1] == '$') continue;
    int depth = 0;
    for (size_t j = i + 1; j < s.size(); ++j) {
      if (s[j] == '{') ++depth;
      if (s[j] == '}' && --depth == 0) {
        *start = i;
        *end = j + 1;
        return true;
      }
    }
    return false;
  }
  return false;
}

Value ResolveString(const std::string& s, const Workflow& wf, int depth) {
  // "${" nested in a path nests the recursion; real definitions use one or two levels.
  if (depth > 16) return NullValue();
  struct Replacement {
    size_t start, end;
    Value value;
  };
  std::vector<Replacement> found;
  size_t start, end, from = 0;
  while (FindExpression(s, from, &start, &end)) {
    std::string path = s.substr(start + 2, end - start - 3);
    path = JavaString(ResolveString(path, wf, depth + 1));
    Value value;
    if (absl::StripAsciiWhitespace(path).empty()) {
      value = StringValue("");
    } else {
      std::optional<std::vector<Segment>> segs = ParsePath(path);
      value = segs.has_value() ? ReadSegments(wf, *segs) : NullValue();
    }
    found.push_back({start, end, std::move(value)});
    from = end;
  }
  if (depth == 0 && found.size() == 1 && found[0].start == 0 && found[0].end == s.size()) {
    return found[0].value;
  }
  std::string out;
  size_t pos = 0;
  for (const Replacement& r : found) {
    absl::StrAppend(&out, absl::string_view(s).substr(pos, r.start - pos), JavaString(r.value));
    pos = r.end;
  }
  absl::StrAppend(&out, absl::string_view(s).substr(pos));
  return StringValue(absl::StrReplaceAll(out, {{"$${", "${"}}));
}

Value Resolve(const Value& v, const Workflow& wf) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      if (v.string_value().find("${") == std::string::npos) return v;
      return ResolveString(v.string_value(), wf, 0);
    case Value::kStructValue: {
      Value out;
      auto* fields = out.mutable_struct_value()->mutable_fields();
      for (const auto& [k, item] : v.struct_value().fields()) (*fields)[k] = Resolve(item, wf);
      return out;
    }
    case Value::kListValue: {
      Value out;
      auto* list = out.mutable_list_value();
      for (const Value& item : v.list_value().values()) *list->add_values() = Resolve(item, wf);
      return out;
    }
    default:
      return v;
  }
}

}  // namespace

std::string FormatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == std::trunc(d) && std::fabs(d) < 9.2e18) {
    return absl::StrCat(static_cast<int64_t>(d));
  }
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

Value NullValue() {
  Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}
Value StringValue(std::string s) {
  Value v;
  v.set_string_value(std::move(s));
  return v;
}
Value NumberValue(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value ResolveValue(const Value& template_value, const Workflow& workflow) {
  return Resolve(template_value, workflow);
}

Struct ResolveMap(const Map<std::string, Value>& template_map, const Workflow& workflow) {
  Struct out;
  auto* fields = out.mutable_fields();
  for (const auto& [k, v] : template_map) (*fields)[k] = Resolve(v, workflow);
  return out;
}

Value ReadPath(const Workflow& workflow, absl::string_view path) {
  std::optional<std::vector<Segment>> segs = ParsePath(path);
  if (!segs.has_value()) return NullValue();
  return ReadSegments(workflow, *segs);
}

Value ReadValuePath(const Value& root, absl::string_view path) {
  std::optional<std::vector<Segment>> segs = ParsePath(path);
  if (!segs.has_value()) return NullValue();
  return Walk(root, *segs, 0);
}

std::string JavaString(const Value& value) {
  switch (value.kind_case()) {
    case Value::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case Value::kNumberValue:
      return FormatNumber(value.number_value());
    case Value::kStringValue:
      return value.string_value();
    case Value::kStructValue: {
      std::vector<std::string> keys;
      for (const auto& [k, v] : value.struct_value().fields()) keys.push_back(k);
      std::sort(keys.begin(), keys.end());
      std::vector<std::string> parts;
      parts.reserve(keys.size());
      for (const std::string& k : keys) {
        parts.push_back(absl::StrCat(k, "=", JavaString(value.struct_value().fields().at(k))));
      }
      return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
    }
    case Value::kListValue: {
      std::vector<std::string> parts;
      for (const Value& item : value.list_value().values()) parts.push_back(JavaString(item));
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
    default:
      return "null";
  }
}

}  // namespace cmig::orchestrator
