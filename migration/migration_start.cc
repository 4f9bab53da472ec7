#include "migration/migration_start.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
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
      selection.event_handlers().empty() && selection.schedules().empty()) {
    return absl::InvalidArgumentError(
        "the migration selects nothing: name workflows (or \"*\" for all), task definitions, "
        "event handlers or schedules");
  }
  for (const v1::WorkflowSelector& w : selection.workflows()) {
    if (w.name().empty()) return absl::InvalidArgumentError("a selected workflow has no name");
  }
  for (const std::string& h : selection.event_handlers()) {
    if (h.empty()) return absl::InvalidArgumentError("a selected event handler has no name");
  }
  for (const std::string& s : selection.schedules()) {
    if (s.empty()) return absl::InvalidArgumentError("a selected schedule has no name");
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

namespace {

template <typename M>
absl::StatusOr<M> InputMessage(const conductor::proto::Workflow& wf, const std::string& key) {
  M m;
  auto it = wf.input().find(key);
  if (it == wf.input().end()) return m;
  if (absl::Status s = MessageFromValue(it->second, &m, /*ignore_unknown_fields=*/true); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the dry run's input '", key, "' does not read: ", s.message()));
  }
  return m;
}

std::string InputString(const conductor::proto::Workflow& wf, const std::string& key) {
  auto it = wf.input().find(key);
  return it == wf.input().end() ? "" : it->second.string_value();
}

// The packageRef of the dry run's build step (its latest attempt that has one).
std::string PackageRef(const conductor::proto::Workflow& wf) {
  std::string ref;
  int32_t seq = -1;
  for (const conductor::proto::Task& t : wf.tasks()) {
    if (t.reference_task_name() != "build_package" || t.seq() < seq) continue;
    auto it = t.output_data().find("packageRef");
    if (it == t.output_data().end()) continue;
    ref = it->second.string_value();
    seq = t.seq();
  }
  return ref;
}

}  // namespace

namespace {

absl::Status NotApplicable(const conductor::proto::Workflow& dry_run, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat(dry_run.workflow_id(), ": ", why,
                   "; only a dry run that completed with a plan can be applied as approved"));
}

}  // namespace

absl::Status CheckCompletedDryRun(const conductor::proto::Workflow& dry_run) {
  if (dry_run.workflow_definition().name() != kOutgoingMigrationWorkflow) {
    return NotApplicable(dry_run, absl::StrCat("it is a ", dry_run.workflow_definition().name(),
                                               " workflow, not a migration"));
  }
  ASSIGN_OR_RETURN(v1::MigrationOptions options,
                   InputMessage<v1::MigrationOptions>(dry_run, "options"));
  if (!options.dry_run()) return NotApplicable(dry_run, "it is no dry run");
  if (dry_run.status() != conductor::proto::Workflow::COMPLETED) {
    return NotApplicable(
        dry_run, absl::StrCat("it ended ",
                              conductor::proto::Workflow::WorkflowStatus_Name(dry_run.status())));
  }
  return absl::OkStatus();
}

absl::StatusOr<conductor::proto::StartWorkflowRequest> ApprovedRunStart(
    const conductor::proto::Workflow& dry_run, const v1::MigrationReport& report,
    const std::string& started_by) {
  RETURN_IF_ERROR(CheckCompletedDryRun(dry_run));
  const std::string& id = dry_run.workflow_id();
  auto not_applicable = [&](absl::string_view why) { return NotApplicable(dry_run, why); };
  ASSIGN_OR_RETURN(v1::MigrationOptions options,
                   InputMessage<v1::MigrationOptions>(dry_run, "options"));
  if (report.blocked()) {
    return not_applicable("its plan is blocked (see its report); fix the target and dry-run again");
  }
  if (report.plan_fingerprint().empty()) {
    return not_applicable("its plan has no fingerprint (planned by an older worker)");
  }
  ASSIGN_OR_RETURN(v1::Selection selection, InputMessage<v1::Selection>(dry_run, "selection"));
  options.set_dry_run(false);
  v1::ApprovedPlan& approval = *options.mutable_approved_plan();
  approval.set_dry_run_workflow_id(id);
  approval.set_package_digest(report.package_digest());
  approval.set_plan_fingerprint(report.plan_fingerprint());
  approval.set_package_ref(PackageRef(dry_run));
  return OutgoingMigrationStart(InputString(dry_run, "sourceEnvironment"),
                                InputString(dry_run, "targetEnvironment"), selection, options,
                                started_by);
}

std::string StoredReportRef(const conductor::proto::Workflow& dry_run) {
  auto it = dry_run.output().find("incomingReportRef");
  if (it == dry_run.output().end()) return "";
  const std::string& ref = it->second.string_value();
  return ref.rfind("sha256:", 0) == 0 ? ref : "";
}

}  // namespace cmig::migration
