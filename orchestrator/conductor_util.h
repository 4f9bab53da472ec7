// Conductor facts and conversions that several orchestrator files need, each kept here once:
// the three task-type lists the decider and engine act on, queue names, the Conductor JSON shape
// of an inline workflow definition, message <-> google.protobuf.Value, SHA-256 and ISO-8601 text.
//
// Private to the orchestrator. Every function is pure and thread-safe.
#ifndef CMIG_ORCHESTRATOR_CONDUCTOR_UTIL_H_
#define CMIG_ORCHESTRATOR_CONDUCTOR_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "conductor/model/workflowdef.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::orchestrator {

// Task types the decider executes itself (SWITCH, DECISION, FORK_JOIN and the FORK it becomes,
// JOIN, SUB_WORKFLOW, TERMINATE, DO_WHILE, INLINE, SET_VARIABLE, NOOP): never queued for a
// worker. Any other type that is not an unsupported system type is a worker task.
bool IsExecutedSystemType(absl::string_view type);

// Conductor system task types this orchestrator has no executor for (HTTP, WAIT,
// FORK_JOIN_DYNAMIC, ...). Treating one as a worker task would park it on a queue nobody
// polls, so scheduling one is a definition error.
bool IsUnsupportedSystemType(absl::string_view type);

// Every Conductor system type this orchestrator knows: executed or unsupported. Tasks of these
// types never go on a worker queue.
bool IsSystemTaskType(absl::string_view type);

// Conductor's TaskType.isBuiltIn: never retried, whatever the task definition says.
bool IsNeverRetriedType(absl::string_view type);

// The queue a worker task waits in: "domain:taskType", or "taskType" without a domain.
std::string QueueName(absl::string_view task_type, absl::string_view domain);

// Parses an inline workflow definition in either JSON shape: the proto's, or Conductor's (Jackson
// writes decisionCases as bare task lists and forkTasks as lists of lists, and leaves out
// retryCount for "no override", the proto's -1). Unknown keys are ignored. InvalidArgument when
// `value` is not a workflow definition.
absl::Status WorkflowDefFromValue(const google::protobuf::Value& value,
                                  conductor::proto::WorkflowDef* def);

// `message` as a JSON object value. Internal when the message cannot be written as JSON (a
// google.protobuf.Value holding NaN or an infinity).
absl::StatusOr<google::protobuf::Value> MessageToValue(const google::protobuf::Message& message);

// `message` as JSON text; Internal as MessageToValue.
absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message);

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(absl::string_view bytes);

// "2024-01-31T12:00:00.000Z" for milliseconds since the epoch; "" for 0 or less (unset).
std::string Iso8601(int64_t ms);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_CONDUCTOR_UTIL_H_
