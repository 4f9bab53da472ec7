// Reference discovery: the definitions a migration must carry, and what it cannot carry.
//
// Starting from the user's selection, Discover() fetches every selected definition and, unless
// told not to, follows references transitively (migration/references.h says which and how) until
// nothing new is found:
//
//   InMemoryDefinitionSource source = ...;   // or the fetch step's gRPC-backed source
//   v1::Selection selection;
//   selection.add_workflows()->set_name("order_flow");        // latest version
//   ASSIGN_OR_RETURN(Discovery d, Discover(selection, source, {}));
//   // d.workflows / d.task_defs: what to package; d.report: dependencies and unresolved refs.
//
// Rules:
//  - A reference to the latest version (version 0) resolves to the source's highest version,
//    fetched once per name. Each (name, version) is visited once, so cycles (A -> B -> A) end.
//  - A selected definition that does not exist is an error: NotFound naming every one missing.
//  - A referenced definition that does not exist is not an error: it is listed in
//    report.unresolved as UNRESOLVED_KIND_MISSING_DEFINITION, with who refers to it. An optional
//    task definition (of a system task) that does not exist is not listed. A worker task's
//    definition that does not exist is, as in Conductor, no error either: Conductor runs such a
//    task with a default task definition. It is listed as a dependency of kind
//    DEPENDENCY_KIND_DEFAULT_TASK_DEFINITION, or, with require_task_definitions, as a missing
//    definition.
//  - Event handlers: the selected ones by name, and, following references, every handler
//    listening on an event a discovered workflow publishes on Conductor's own queue (an EVENT task
//    with sink "conductor" or "conductor:NAME", migration/references.h). A handler's
//    START_WORKFLOW actions are followed like sub-workflows (discovered_from
//    "event_handler:NAME"). A source without an event handler API has no handlers to find; a
//    selection naming handlers there is FailedPrecondition.
//  - Schedules: the selected ones by name, and, following references, every schedule that starts
//    a discovered workflow (the schedule's version 0, "latest", matches any version). A
//    schedule's workflow is followed like a sub-workflow (discovered_from "schedule:NAME"). A
//    source without a scheduler (Unimplemented), or whose schedules the caller may not read
//    (PermissionDenied), has no schedules to find; a selection naming schedules there is
//    FailedPrecondition.
//  - Any other source error (Unavailable, ...) is returned as is, naming what was being fetched;
//    the step is retried.
//  - Output order is deterministic: workflows by (name, version), task definitions by name,
//    dependencies by (kind, name) with sorted referrers, unresolved by (referrer, kind, name).
#ifndef CMIG_MIGRATION_DISCOVERY_H_
#define CMIG_MIGRATION_DISCOVERY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cmig/v1/package.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "google/protobuf/struct.pb.h"
#include "migration/definition_source.h"

namespace cmig::migration {

struct DiscoveryOptions {
  // False fetches only the selection (MigrationOptions.skip_discovery); the report still lists
  // the selected definitions' dependencies and unresolved references.
  bool follow_references = true;
  // MigrationOptions.require_task_definitions.
  bool require_task_definitions = false;
};

struct DiscoveredWorkflow {
  conductor::proto::WorkflowDef def;
  // True when the selection named it (directly or as "latest").
  bool requested = false;
  // "workflow:name:version" of the first definition found referring to it; empty if requested.
  std::string discovered_from;
  // Keys its server holds beyond the proto (definitions/conductor_json.h, WorkflowDefExtraKeys);
  // unset when none. Discover leaves it unset; a caller that read them fills it in.
  google::protobuf::Value extra;
};

struct DiscoveredTaskDef {
  conductor::proto::TaskDef def;
  bool requested = false;
  std::string discovered_from;
  google::protobuf::Value extra;
};

struct DiscoveredEventHandler {
  conductor::proto::EventHandler def;
  bool requested = false;
  // "workflow:name:version" of the first workflow found publishing its event; empty if
  // requested.
  std::string discovered_from;
};

struct DiscoveredSchedule {
  v1::WorkflowSchedule def;
  bool requested = false;
  // "workflow:name:version" of the first workflow found that it starts; empty if requested.
  std::string discovered_from;
};

struct Discovery {
  std::vector<DiscoveredWorkflow> workflows;
  std::vector<DiscoveredTaskDef> task_defs;
  std::vector<DiscoveredEventHandler> event_handlers;  // by name
  std::vector<DiscoveredSchedule> schedules;           // by name
  v1::DependencyReport report;
};

// Blocks on `source`. Does not keep `source` or `selection`. Errors: NotFound for selected
// definitions that do not exist (all listed), InvalidArgument for an empty selection or an empty
// name in it, any non-NotFound error of `source`.
absl::StatusOr<Discovery> Discover(const v1::Selection& selection, DefinitionSource& source,
                                   const DiscoveryOptions& options);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_DISCOVERY_H_
