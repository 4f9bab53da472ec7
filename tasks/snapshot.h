// Snapshot of what an apply will change in the target, and how to restore it.
//
//   ASSIGN_OR_RETURN(v1::TargetSnapshot snap, TakeSnapshot(plan, target));   // before apply
//   ...apply fails...
//   ASSIGN_OR_RETURN(auto steps, StepsToRestore(snap));
//   for (const RestoreStep& s : steps) ...  // kPut: register the definition; kRemove: unregister
//
// The snapshot covers exactly the keys the plan writes (CREATE and UPDATE items at their target
// versions). Restoring walks them in reverse apply order, so parents are put back or removed
// before the sub-workflows they reference. Restoring twice is harmless: the same puts and removes.
#ifndef CMIG_TASKS_SNAPSHOT_H_
#define CMIG_TASKS_SNAPSHOT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cmig/v1/report.pb.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"
#include "tasks/definition_source.h"

namespace cmig {

// Reads the target's current definition under every key `plan` writes. Blocks on `target`.
// FailedPrecondition for a blocked plan; other errors of `target` than NotFound pass through.
absl::StatusOr<v1::TargetSnapshot> TakeSnapshot(const v1::MigrationPlan& plan,
                                                DefinitionSource& target);

struct RestoreStep {
  enum class Action { kPut, kRemove };
  Action action = Action::kPut;
  v1::ItemKind kind = v1::ITEM_KIND_UNSPECIFIED;
  std::string name;
  int32_t version = 0;                         // workflows only
  conductor::proto::TaskDef task_def;          // kPut of a task definition
  conductor::proto::WorkflowDef workflow_def;  // kPut of a workflow
};

// The writes that return the target to `snapshot`, in reverse apply order. InvalidArgument when
// an entry's JSON does not match its hash or does not parse.
absl::StatusOr<std::vector<RestoreStep>> StepsToRestore(const v1::TargetSnapshot& snapshot);

}  // namespace cmig

#endif  // CMIG_TASKS_SNAPSHOT_H_
