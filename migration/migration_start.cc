#include "migration/migration_start.h"

#include "definitions/message_value.h"

namespace cmig::migration {

absl::StatusOr<conductor::proto::StartWorkflowRequest> OutgoingMigrationStart(
    const std::string& source_environment, const std::string& target_environment,
    const v1::Selection& selection, const v1::MigrationOptions& options,
    const std::string& started_by) {
  if (target_environment.empty()) {
    return absl::InvalidArgumentError("a migration needs a target environment");
  }
  if (selection.workflows().empty() && selection.task_defs().empty() &&
      selection.event_handlers().empty()) {
    return absl::InvalidArgumentError(
        "the migration selects nothing: name workflows (or \"*\" for all), task definitions or "
        "event handlers");
  }
  for (const v1::WorkflowSelector& w : selection.workflows()) {
    if (w.name().empty()) return absl::InvalidArgumentError("a selected workflow has no name");
  }
  for (const std::string& h : selection.event_handlers()) {
    if (h.empty()) return absl::InvalidArgumentError("a selected event handler has no name");
  }
  conductor::proto::StartWorkflowRequest start;
  start.set_name(kOutgoingMigrationWorkflow);
  auto& in = *start.mutable_input();
  in["sourceEnvironment"].set_string_value(source_environment);
  in["targetEnvironment"].set_string_value(target_environment);
  absl::StatusOr<google::protobuf::Value> sel = MessageToValue(selection);
  if (!sel.ok()) return sel.status();
  absl::StatusOr<google::protobuf::Value> opts = MessageToValue(options);
  if (!opts.ok()) return opts.status();
  in["selection"] = *std::move(sel);
  in["options"] = *std::move(opts);
  if (!started_by.empty()) {
    in["startedBy"].set_string_value(started_by);
    start.set_created_by(started_by);
  }
  // The workflow's dry-run switch reads options.dryRun; protobuf's JSON would omit a false.
  (*in["options"].mutable_struct_value()->mutable_fields())["dryRun"].set_bool_value(
      options.dry_run());
  return start;
}

}  // namespace cmig::migration
