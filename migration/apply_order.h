// The order in which a plan's definitions are written, and the writes themselves.
//
// Conductor resolves a sub-workflow when the parent runs, but a target that validates references
// at registration (and an operator watching a half-applied migration) needs every workflow to
// arrive after the workflows it references. So task definitions come first (by name), then
// workflows leaves first: every workflow after the sub-workflows, START_WORKFLOW targets and
// failure workflows it references within the same set.
//
// Cycles (A -> B -> A) cannot be ordered that way. Each strongly connected component is written as
// a unit after everything it references outside itself, its members ordered by (name, version).
// Ties between independent workflows are broken by (name, version) too, so the order depends only
// on the set of definitions.
#ifndef CMIG_MIGRATION_APPLY_ORDER_H_
#define CMIG_MIGRATION_APPLY_ORDER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"
#include "conductor/model/eventhandler.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "google/protobuf/struct.pb.h"
#include "migration/package.h"

namespace cmig::migration {

// The strongly connected components of the reference graph among `workflows`, leaves first.
// Edges follow pinned references to a (name, version) in the set and references to the latest
// version to the highest version of that name in the set; references outside the set are
// ignored.
struct WorkflowComponents {
  // Indexes into `workflows`; each component sorted by (name, version).
  std::vector<std::vector<int>> components;
  // Per component: true when it is a cycle (more than one member, or a self reference).
  std::vector<bool> cyclic;
};
WorkflowComponents ComponentsInApplyOrder(
    const std::vector<conductor::proto::WorkflowDef>& workflows);

// The flattened order: indexes into `workflows`.
std::vector<int> WorkflowApplyOrder(const std::vector<conductor::proto::WorkflowDef>& workflows);

// One definition to write to the target.
struct ApplyStep {
  v1::ItemKind kind = v1::ITEM_KIND_UNSPECIFIED;
  v1::ItemAction action = v1::ITEM_ACTION_UNSPECIFIED;  // CREATE or UPDATE
  conductor::proto::TaskDef task_def;                   // set when kind is TASK_DEF
  conductor::proto::WorkflowDef workflow_def;           // set when kind is WORKFLOW_DEF
  conductor::proto::EventHandler event_handler;         // set when kind is EVENT_HANDLER
  v1::WorkflowSchedule schedule;                        // set when kind is SCHEDULE
  // The item's extra keys (PackageItem.extra_json), for a target that keeps them; unset if none.
  google::protobuf::Value extra;
};

// The writes `plan` asks for, in plan (= apply) order, with rewritten references and versions
// applied. FailedPrecondition when the plan is blocked; InvalidArgument when the plan does not
// belong to `package` (digest or items differ) or a definition does not parse.
absl::StatusOr<std::vector<ApplyStep>> StepsToApply(const v1::MigrationPackage& package,
                                                    const v1::MigrationPlan& plan);

// The same, taking the definitions ValidatePackage(package) returned instead of parsing every item
// again (`contents` must come from `package`). Only rewritten items are parsed.
absl::StatusOr<std::vector<ApplyStep>> StepsToApply(const v1::MigrationPackage& package,
                                                    const PackageContents& contents,
                                                    const v1::MigrationPlan& plan);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_APPLY_ORDER_H_
