// Schedules a plan writes paused because the workflow they start reads a secret the target does
// not hold: each run would fail at the first task that reads it.
//
//   ASSIGN_OR_RETURN(v1::MigrationPlan plan, PlanMigration(package, contents, target));
//   std::set<std::string> missing = ...;  // referenced secrets neither carried nor in the target
//   RETURN_IF_ERROR(PauseSchedulesMissingSecrets(package, contents, missing, plan));
//
// (A schedule whose workflow is missing is paused by PlanMigration itself.)
#ifndef CMIG_MIGRATION_PLAN_SCHEDULES_H_
#define CMIG_MIGRATION_PLAN_SCHEDULES_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"
#include "migration/package.h"

namespace cmig::migration {

// For each schedule item `plan` writes (CREATE or UPDATE): when the package workflows a run of
// it may start (its workflow, their sub-workflows and so on, by the package's dependency report)
// read a secret in `missing_secrets`, the item is written paused, its pausedReason and reasons
// naming the secrets; counts are brought up to date. `contents` must come from `package`.
// Errors: a schedule item whose JSON does not parse.
absl::Status PauseSchedulesMissingSecrets(const v1::MigrationPackage& package,
                                          const PackageContents& contents,
                                          const std::set<std::string>& missing_secrets,
                                          v1::MigrationPlan& plan);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_PLAN_SCHEDULES_H_
