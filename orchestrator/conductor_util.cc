// Conductor facts and conversions shared across the orchestrator (conductor_util.h).
#include "orchestrator/conductor_util.h"

#include <openssl/evp.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace cmig::orchestrator {
namespace {

using google::protobuf::Value;

constexpr absl::string_view kExecutedTypes[] = {"SWITCH", "DECISION",     "FORK",      "FORK_JOIN",
                                                "JOIN",   "SUB_WORKFLOW", "TERMINATE", "DO_WHILE",
                                                "INLINE", "SET_VARIABLE", "NOOP"};

constexpr absl::string_view kUnsupportedSystemTypes[] = {"FORK_JOIN_DYNAMIC",
                                                         "DYNAMIC",
                                                         "EXCLUSIVE_JOIN",
                                                         "HTTP",
                                                         "LAMBDA",
                                                         "WAIT",
                                                         "EVENT",
                                                         "JSON_JQ_TRANSFORM",
                                                         "KAFKA_PUBLISH",
                                                         "HUMAN",
                                                         "START_WORKFLOW",
                                                         "WAIT_FOR_WEBHOOK",
                                                         "BUSINESS_RULE",
                                                         "SQL_TASK",
                                                         "GET_SIGNED_JWT",
                                                         "UPDATE_SECRET",
                                                         "UPDATE_TASK",
                                                         "YIELD",
                                                         "LLM_TEXT_COMPLETE",
                                                         "LLM_CHAT_COMPLETE",
                                                         "JDBC"};

constexpr absl::string_view kNeverRetriedTypes[] = {"SWITCH", "DECISION", "FORK", "JOIN",
                                                    "DO_WHILE"};

template <size_t N>
bool Contains(const absl::string_view (&list)[N], absl::string_view type) {
  for (absl::string_view t : list) {
    if (t == type) return true;
  }
  return false;
}

void NormalizeTasks(Value& tasks);

void NormalizeTask(Value& task) {
  if (task.kind_case() != Value::kStructValue) return;
  auto& f = *task.mutable_struct_value()->mutable_fields();
  if (!f.contains("retryCount")) f["retryCount"].set_number_value(-1);
  auto wrap = [](Value& list) {
    if (list.kind_case() == Value::kListValue) {
      Value wrapped;
      (*wrapped.mutable_struct_value()->mutable_fields())["tasks"] = std::move(list);
      list = std::move(wrapped);
    }
    if (list.kind_case() == Value::kStructValue) {
      auto it = list.mutable_struct_value()->mutable_fields()->find("tasks");
      if (it != list.mutable_struct_value()->mutable_fields()->end()) NormalizeTasks(it->second);
    }
  };
  if (auto it = f.find("decisionCases");
      it != f.end() && it->second.kind_case() == Value::kStructValue) {
    for (auto& [name, branch] : *it->second.mutable_struct_value()->mutable_fields()) wrap(branch);
  }
  if (auto it = f.find("forkTasks"); it != f.end() && it->second.kind_case() == Value::kListValue) {
    for (Value& branch : *it->second.mutable_list_value()->mutable_values()) wrap(branch);
  }
  for (const char* key : {"defaultCase", "loopOver"}) {
    if (auto it = f.find(key); it != f.end()) NormalizeTasks(it->second);
  }
}

void NormalizeTasks(Value& tasks) {
  if (tasks.kind_case() != Value::kListValue) return;
  for (Value& t : *tasks.mutable_list_value()->mutable_values()) NormalizeTask(t);
}

}  // namespace

bool IsExecutedSystemType(absl::string_view type) { return Contains(kExecutedTypes, type); }

bool IsUnsupportedSystemType(absl::string_view type) {
  return Contains(kUnsupportedSystemTypes, type);
}

bool IsSystemTaskType(absl::string_view type) {
  return IsExecutedSystemType(type) || IsUnsupportedSystemType(type);
}

bool IsNeverRetriedType(absl::string_view type) { return Contains(kNeverRetriedTypes, type); }

std::string QueueName(absl::string_view task_type, absl::string_view domain) {
  return domain.empty() ? std::string(task_type) : absl::StrCat(domain, ":", task_type);
}

absl::Status WorkflowDefFromValue(const Value& value, conductor::proto::WorkflowDef* def) {
  Value normalized = value;
  auto& f = *normalized.mutable_struct_value()->mutable_fields();
  if (auto it = f.find("tasks"); it != f.end()) NormalizeTasks(it->second);
  std::string json;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto status = google::protobuf::util::MessageToJsonString(normalized, &json);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  status = google::protobuf::util::JsonStringToMessage(json, def, opts);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message) {
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot write ", message.GetTypeName(),
                                            " as JSON: ", status.message().ToString()));
  }
  return json;
}

absl::StatusOr<Value> MessageToValue(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = MessageToJson(message);
  if (!json.ok()) return json.status();
  Value out;
  auto status = google::protobuf::util::JsonStringToMessage(*json, out.mutable_struct_value());
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot read ", message.GetTypeName(),
                                            " JSON back: ", status.message().ToString()));
  }
  return out;
}

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(md), len));
}

std::string Iso8601(int64_t ms) {
  if (ms <= 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

}  // namespace cmig::orchestrator
