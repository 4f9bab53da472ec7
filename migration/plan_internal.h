// Parts of planning (migration/plan.h) shared between the definition planner and the event
// handler planner. Internal to cmig_migration.
#ifndef CMIG_MIGRATION_PLAN_INTERNAL_H_
#define CMIG_MIGRATION_PLAN_INTERNAL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"
#include "migration/definition_source.h"
#include "migration/package.h"
#include "migration/references.h"

namespace cmig::migration {

using WorkflowKey = std::pair<std::string, int32_t>;

// Sets the outcome of an item whose target holds different content under its key: SKIP, UPDATE
// or CONFLICT as `strategy` says (FAIL when unspecified), with the reason. `what` names the item.
// Given both sides' definition JSON, the fields that differ are attached to the item
// (migration/definition_diff.h).
void ResolveDifference(v1::ConflictStrategy strategy, v1::PlannedItem* item, absl::string_view what,
                       absl::string_view target_json = {}, absl::string_view package_json = {});

// The action of an item keyed by name alone (event handler, schedule) whose planned_sha256 is set:
// CREATE when the target holds none (`target_json` nullopt), UNCHANGED when the target's canonical
// JSON hashes the same, otherwise as ResolveDifference says.
void CompareWithTarget(v1::ConflictStrategy strategy, v1::PlannedItem* item, absl::string_view what,
                       const std::optional<std::string>& target_json,
                       absl::string_view package_json);

// One sentence per statically named workflow in `refs` that is neither planned (`planned_keys`
// for a pinned version, `package_workflow_names` for the latest) nor in `target`:
// "<referrer> <verb> <workflow>, which is neither in the package nor in the target", each once.
// Errors: target reads other than NotFound.
absl::StatusOr<std::vector<std::string>> MissingWorkflows(
    const std::vector<WorkflowReference>& refs, absl::string_view verb,
    const std::set<WorkflowKey>& planned_keys, const std::set<std::string>& package_workflow_names,
    CachedDefinitionReader& target);

// What the event handler and schedule planners need from the workflows planned before them.
struct HandlerPlanInput {
  const v1::MigrationPackage* package = nullptr;
  const PackageContents* contents = nullptr;
  CachedDefinitionReader* target = nullptr;
  v1::ConflictStrategy conflict = v1::CONFLICT_STRATEGY_FAIL;
  // (name, package version) -> target version of every package workflow.
  std::map<WorkflowKey, int32_t> workflow_versions;
  // (name, target version) of every package workflow, and the package's workflow names.
  std::set<WorkflowKey> planned_keys;
  std::set<std::string> package_workflow_names;
  // Secrets the package's definitions read that the target will not hold; null = none.
  const std::set<std::string>* missing_secrets = nullptr;
};

// One planned item per package event handler, in contents order (by name). Compared by name
// with the target's handler; its START_WORKFLOW actions' pinned versions are rewritten to the
// target versions of package workflows; a statically named workflow it starts that is neither
// planned nor in the target blocks a handler that would be written. A target without an event
// handler API blocks every handler that would be written. Errors: target reads other than
// NotFound and Unimplemented.
absl::StatusOr<std::vector<v1::PlannedItem>> PlanEventHandlers(const HandlerPlanInput& in);

// One planned item per package schedule, in contents order (by name). Compared by name with the
// target's schedule (without what a server sets); the pinned version of the workflow it starts is
// rewritten to that workflow's target version; a schedule whose workflow is neither planned nor
// in the target is written paused, its pausedReason and the item's reasons saying why (it would
// only fail each run), and so is one whose workflow (or a package workflow that one starts, at
// any depth) reads a secret in `missing_secrets`. A target without a scheduler, or whose schedules
// the key may not read, blocks every schedule that would be written. Errors: target reads other
// than NotFound, Unimplemented and PermissionDenied.
absl::StatusOr<std::vector<v1::PlannedItem>> PlanSchedules(const HandlerPlanInput& in);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_PLAN_INTERNAL_H_
