// The one converter between Conductor's JSON dialect and the conductor.proto definition messages.
//
// Conductor's JSON (its REST API, its UI export, the files under workflows/) is not protobuf's
// JSON mapping: `decisionCases` is {"case": [task, ...]}, `forkTasks` is [[task, ...], ...],
// int64 fields are JSON numbers, and keys that are absent take the defaults of Conductor's Java
// model. This file owns that dialect both ways:
//
//   std::vector<cmig::JsonDiagnostic> dropped;
//   ASSIGN_OR_RETURN(conductor::proto::WorkflowDef def,
//                    cmig::WorkflowDefFromConductorJson(text, &dropped));
//   for (const auto& d : dropped) LOG(WARNING) << d.path << " (" << d.kind << ") not carried";
//   std::string back = cmig::WorkflowDefToConductorJson(def, /*pretty=*/true);
//
// Reading:
// - Absent (or null) keys take the Java model's defaults, so the proto carries the real value
//   (Conductor's gRPC server copies every proto scalar, so an unset proto3 field would become
//   0 / the first enum value there). TaskDef: retryCount 3, timeoutPolicy TIME_OUT_WF,
//   retryLogic FIXED, retryDelaySeconds 60, responseTimeoutSeconds 3600, backoffScaleFactor 1,
//   rateLimitFrequencyInSeconds 1, taskStatusListenerEnabled true. WorkflowDef: version 1,
//   schemaVersion 2, restartable true, timeoutPolicy ALERT_ONLY, enforceSchema true.
//   WorkflowTask: type SIMPLE, retryCount absent -> -1 (the gRPC mapper's "no override"
//   sentinel). SchemaDef: version 1. SubWorkflowParams.version absent -> 0 (latest).
// - Keys the proto cannot carry are appended to `dropped` (in key order, depth first), never
//   silently lost: the audit keys (createTime, updateTime, createdBy, updatedBy, ownerApp,
//   accessPolicy) as kind "audit"; known Java-model keys without a proto field (TaskDef
//   inputSchema/outputSchema/enforceSchema/runtimeMetadata, WorkflowTask onStateChange/
//   dynamicForkJoinTasksParam, SubWorkflowParams idempotencyKey/idempotencyStrategy/priority,
//   SchemaDef data/externalRef) and every unknown key (e.g. Orkes "tags") as "unsupported".
//   A known key whose value equals the Java default (null, false, empty list or object) is not
//   reported: nothing is lost, the receiving server applies the same default. Unknown keys are
//   reported whatever their value, except null.
// - A value of the wrong JSON type, a non-integral or out-of-range number for an integer field
//   or an unknown enum name is InvalidArgument naming the path ("$.tasks[2].retryCount: ...").
// - subWorkflowParam.workflowDefinition stays a google.protobuf.Value in Conductor's dialect
//   (as the wire carries it), but when it is an object it is read through WorkflowDefFromValue
//   (defaults filled, dropped keys reported under its path, errors returned) and stored in the
//   normalised form WorkflowDefToValue writes. A "${...}" expression string is kept as is.
//
// Writing gives Conductor's dialect back: lists for decisionCases/forkTasks, numbers for int64,
// enum names, WorkflowTask.retryCount omitted when -1. Empty strings, lists, maps and unset
// messages are omitted, as are nullable Java fields whose proto value is 0 (e.g.
// concurrentExecLimit, failureWorkflowVersion, SubWorkflowParams.version); scalars the Java model
// always has are always written. Object keys are sorted. Reading what was written gives an equal
// proto. Inline sub-workflow definitions are normalised on writing too, so protos that came from
// elsewhere (e.g. a Conductor gRPC server) write the same JSON as ones read here.
//
// All functions are pure and thread-safe. `dropped` may be null; it never changes the result.
#ifndef CMIG_DEFINITIONS_CONDUCTOR_JSON_H_
#define CMIG_DEFINITIONS_CONDUCTOR_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "definitions/json.h"  // ParseJson, WriteJson
#include "google/protobuf/struct.pb.h"

namespace cmig {

// A Conductor JSON key the proto cannot carry.
struct JsonDiagnostic {
  std::string path;  // JSONPath-like location, e.g. "$.tasks[2].decisionCases.big[0].createdBy"
  std::string key;   // the key itself, e.g. "createdBy"
  std::string kind;  // "audit" or "unsupported" (see above)

  bool operator==(const JsonDiagnostic&) const = default;
};

inline constexpr absl::string_view kDiagnosticAudit = "audit";
inline constexpr absl::string_view kDiagnosticUnsupported = "unsupported";

// Parse Conductor JSON text into a proto. InvalidArgument on malformed JSON or wrong shapes.
absl::StatusOr<conductor::proto::WorkflowDef> WorkflowDefFromConductorJson(
    absl::string_view json, std::vector<JsonDiagnostic>* dropped);
absl::StatusOr<conductor::proto::TaskDef> TaskDefFromConductorJson(
    absl::string_view json, std::vector<JsonDiagnostic>* dropped);

// Strict reading, for JSON this project wrote (package items, snapshots): a key the proto cannot
// carry is an error, so a workflow's JSON does not pass for a task definition. InvalidArgument
// says which kind was expected ("not a valid workflow definition: ...") and names the keys.
absl::StatusOr<conductor::proto::WorkflowDef> ParseWorkflowDef(absl::string_view json);
absl::StatusOr<conductor::proto::TaskDef> ParseTaskDef(absl::string_view json);

// Same, from an already parsed JSON value (must be an object). Paths start at "$".
absl::StatusOr<conductor::proto::WorkflowDef> WorkflowDefFromValue(
    const google::protobuf::Value& v, std::vector<JsonDiagnostic>* dropped);
absl::StatusOr<conductor::proto::TaskDef> TaskDefFromValue(const google::protobuf::Value& v,
                                                           std::vector<JsonDiagnostic>* dropped);
// A single workflow task (e.g. one element of "tasks").
absl::StatusOr<conductor::proto::WorkflowTask> WorkflowTaskFromValue(
    const google::protobuf::Value& v, std::vector<JsonDiagnostic>* dropped);

// Proto -> Conductor JSON value / text.
google::protobuf::Value WorkflowDefToValue(const conductor::proto::WorkflowDef& d);
google::protobuf::Value TaskDefToValue(const conductor::proto::TaskDef& d);
google::protobuf::Value WorkflowTaskToValue(const conductor::proto::WorkflowTask& t);
std::string WorkflowDefToConductorJson(const conductor::proto::WorkflowDef& d, bool pretty = false);
std::string TaskDefToConductorJson(const conductor::proto::TaskDef& d, bool pretty = false);

// The keys of a definition's JSON `original` that its proto `d` (read from it) does not carry
// (onStateChange, Orkes' tags, ...), in json_overlay.h's sparse shape, so AddMissingKeys puts them
// back over the proto's JSON. The top-level audit keys are left out: they describe the server
// that held the definition, and the receiving server sets its own. Null when nothing is missing.
google::protobuf::Value WorkflowDefExtraKeys(const google::protobuf::Value& original,
                                             const conductor::proto::WorkflowDef& d);
google::protobuf::Value TaskDefExtraKeys(const google::protobuf::Value& original,
                                         const conductor::proto::TaskDef& d);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_CONDUCTOR_JSON_H_
