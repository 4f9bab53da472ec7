// The one place the migration logic turns definitions into bytes and back.
//
// Discovery, packaging and planning need canonical JSON, hashes, and parsing of package items and
// inline sub-workflow definitions. They go through these functions so that the Conductor JSON
// dialect (tasks/conductor_json.h) and canonical form (tasks/canonical.h) are used the same way
// everywhere. All functions are thread-safe and never block.
#ifndef CMIG_TASKS_DEFINITION_CODEC_H_
#define CMIG_TASKS_DEFINITION_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "google/protobuf/struct.pb.h"

namespace cmig::migration_codec {

// Canonical JSON: the same definition always gives the same bytes.
std::string CanonicalJson(const conductor::proto::WorkflowDef& def);
std::string CanonicalJson(const conductor::proto::TaskDef& def);

// Lower-case hex SHA-256 of `bytes`.
std::string Sha256Hex(absl::string_view bytes);

// Parses Conductor JSON of a definition. Unknown keys or values of the wrong type are
// InvalidArgument naming the key, so a workflow's JSON does not pass for a task definition.
absl::StatusOr<conductor::proto::WorkflowDef> ParseWorkflowDef(absl::string_view json);
absl::StatusOr<conductor::proto::TaskDef> ParseTaskDef(absl::string_view json);

// An inline sub-workflow definition (subWorkflowParam.workflowDefinition) is a JSON object in
// Conductor's dialect held as a Value. InvalidArgument when it is not a workflow definition
// (for example an expression string).
absl::StatusOr<conductor::proto::WorkflowDef> WorkflowDefFromValue(
    const google::protobuf::Value& value);
google::protobuf::Value WorkflowDefToValue(const conductor::proto::WorkflowDef& def);

}  // namespace cmig::migration_codec

#endif  // CMIG_TASKS_DEFINITION_CODEC_H_
