#include "definitions/task_types.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace cmig {
namespace {

// name, control flow, run by the embedded orchestrator, never retried.
constexpr std::array<TaskTypeInfo, 32> kTable = {{
    // Operators.
    {"SWITCH", true, true, true},
    {"DECISION", true, true, true},
    {"FORK_JOIN", true, true, false},
    {"FORK", false, true, true},
    {"FORK_JOIN_DYNAMIC", true, false, false},
    {"JOIN", true, true, true},
    {"EXCLUSIVE_JOIN", true, false, true},
    {"DO_WHILE", true, true, true},
    {"DYNAMIC", true, false, false},
    {"TERMINATE", true, true, false},
    {"SET_VARIABLE", true, true, false},
    {"NOOP", true, true, false},
    // System tasks of conductor-oss.
    {"SUB_WORKFLOW", false, true, false},
    {"START_WORKFLOW", false, false, false},
    {"INLINE", false, true, false},
    {"LAMBDA", false, false, false},
    {"HTTP", false, false, false},
    {"EVENT", false, false, false},
    {"WAIT", false, false, false},
    {"HUMAN", false, false, false},
    {"JSON_JQ_TRANSFORM", false, false, false},
    {"KAFKA_PUBLISH", false, false, false},
    // System tasks of Orkes.
    {"WAIT_FOR_WEBHOOK", false, false, false},
    {"BUSINESS_RULE", false, false, false},
    {"SQL_TASK", false, false, false},
    {"JDBC", false, false, false},
    {"GET_SIGNED_JWT", false, false, false},
    {"UPDATE_SECRET", false, false, false},
    {"UPDATE_TASK", false, false, false},
    {"YIELD", false, false, false},
    {"LLM_TEXT_COMPLETE", false, false, false},
    {"LLM_CHAT_COMPLETE", false, false, false},
}};

}  // namespace

std::span<const TaskTypeInfo> KnownSystemTaskTypes() { return kTable; }

const TaskTypeInfo* FindSystemTaskType(absl::string_view type) {
  for (const TaskTypeInfo& info : kTable) {
    if (info.name == type) return &info;
  }
  return nullptr;
}

bool IsKnownSystemTaskType(absl::string_view type) { return FindSystemTaskType(type) != nullptr; }

bool IsControlFlowTaskType(absl::string_view type) {
  const TaskTypeInfo* info = FindSystemTaskType(type);
  return info != nullptr && info->control_flow;
}

bool IsExecutedByEmbeddedOrchestrator(absl::string_view type) {
  const TaskTypeInfo* info = FindSystemTaskType(type);
  return info != nullptr && info->embedded_executes;
}

bool IsNeverRetriedTaskType(absl::string_view type) {
  const TaskTypeInfo* info = FindSystemTaskType(type);
  return info != nullptr && info->never_retried;
}

std::string TaskQueueName(absl::string_view task_type, absl::string_view domain) {
  if (domain.empty()) return std::string(task_type);
  return absl::StrCat(domain, ":", task_type);
}

}  // namespace cmig
