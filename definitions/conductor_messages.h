// Conductor's JSON for its runtime objects (Task, Workflow, TaskResult, StartWorkflowRequest,
// TaskExecLog, RerunWorkflowRequest, ...), as its REST API reads and writes them, from and to
// the conductor.proto messages.
//
// It differs from protobuf's JSON mapping where Conductor's Java model does: int64 fields are
// JSON numbers, numbers and booleans are always written (Java primitives), maps and lists are
// written even when empty, strings only when set, and the definitions a message carries
// (Workflow.workflowDefinition, Task.workflowTask, StartWorkflowRequest.workflowDef) are in
// Conductor's definition dialect through definitions/conductor_json.h. google.protobuf.Any
// fields exist only on the gRPC wire and are left out.
//
//   google::protobuf::Value v = cmig::MessageToConductorValue(task);
//   conductor::proto::TaskResult result;
//   RETURN_IF_ERROR(cmig::MessageFromConductorValue(body, &result));
//
// Pure and thread-safe.
#ifndef CMIG_DEFINITIONS_CONDUCTOR_MESSAGES_H_
#define CMIG_DEFINITIONS_CONDUCTOR_MESSAGES_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cmig/v1/schedules.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace cmig {

google::protobuf::Value MessageToConductorValue(const google::protobuf::Message& m);

// Reads `v` (an object) into `m`, cleared first. Unknown keys are ignored, as Conductor's server
// ignores them; a definition inside (e.g. StartWorkflowRequest.workflowDef) is read through the
// definition dialect. InvalidArgument naming the key for a value of the wrong type.
absl::Status MessageFromConductorValue(const google::protobuf::Value& v,
                                       google::protobuf::Message* m);

// An event handler as Conductor's REST API shows it: as above, but for the Java model's names
// that protobuf's differ from: an action's type is lower case ("start_workflow") and
// `expandInlineJSON` keeps its capitals.
google::protobuf::Value EventHandlerToValue(const conductor::proto::EventHandler& h);
// InvalidArgument naming what is wrong (an unknown action type, a value of the wrong type).
absl::StatusOr<conductor::proto::EventHandler> EventHandlerFromValue(
    const google::protobuf::Value& v);
// The same from JSON text; InvalidArgument saying what is wrong, including JSON that does not
// parse or is not an object.
absl::StatusOr<conductor::proto::EventHandler> ParseEventHandler(absl::string_view json);

// A workflow schedule as a definition to migrate: Conductor's REST JSON of it without what its
// server sets (createTime, createdBy, updatedTime, updatedBy, nextRunTime), without the values
// that mean "none" (scheduleStartTime and scheduleEndTime 0, skipWhileRunning false), and with
// an empty zone written as the "UTC" it means, so that the same schedule read from any server
// gives the same value.
google::protobuf::Value ScheduleDefinitionToValue(const v1::WorkflowSchedule& s);
// A schedule from that JSON (or from any of Conductor's JSON of one); InvalidArgument saying what
// is wrong, including JSON that does not parse or is not an object, and a schedule without a
// name.
absl::StatusOr<v1::WorkflowSchedule> ParseScheduleDefinition(absl::string_view json);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_CONDUCTOR_MESSAGES_H_
