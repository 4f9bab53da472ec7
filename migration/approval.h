// Applying a dry run exactly as approved.
//
// A dry run ends with a plan; the operator approves it; `migrate --apply-plan ID` starts a run
// with the same selection and options plus the approval (MigrationOptions.approved_plan). The
// run refuses, changing nothing, when what it would do is not what the dry run showed:
//  - at the source, the build step compares the package digest with the approved one
//    (CheckApprovedPackage): a definition changed, appeared or disappeared in the source;
//  - in the target, the plan step compares its plan's fingerprint with the approved one
//    (ApplyApproval): the target changed, so some item's action, version or hashes differ. The
//    plan is then blocked, so the run ends like any blocked migration, with the new plan.
// All functions are pure and thread-safe.
#ifndef CMIG_MIGRATION_APPROVAL_H_
#define CMIG_MIGRATION_APPROVAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"

namespace cmig::migration {

// Lower-case hex SHA-256 of this text (<s> as in the package digest, "<byte length>:<bytes>"):
//   cmig-plan-fingerprint
//   blocked <0|1>
//   item <kind> <s name> <source_version> <target_version> <action> <target_sha256>
//   <planned_sha256>
// one item line per plan item, in plan order. A secret's hashes are keyed for one plan only, so
// its line carries its action and no hashes.
std::string PlanFingerprint(const v1::MigrationPlan& plan);

// Sets plan.fingerprint. When the package's options carry an approved plan and this plan (or the
// package) is not the approved one, blocks the plan with a problem naming the dry run.
void ApplyApproval(const v1::MigrationPackage& package, v1::MigrationPlan& plan);

// OK when `package` has no approval or is the approved package. Otherwise FailedPrecondition
// naming the dry run, both digests and, when `approved_package` (the dry run's own package) is
// given, each item that changed, appeared or disappeared in the source.
absl::Status CheckApprovedPackage(const v1::MigrationPackage& package,
                                  const v1::MigrationPackage* approved_package);

// One sentence per item whose planned outcome differs between the dry run's report and a later
// one: added, gone, another action or target version, or other hashes. For an operator told the
// target changed since the dry run.
std::vector<std::string> ChangedSinceApproval(const v1::MigrationReport& approved,
                                              const v1::MigrationReport& now);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_APPROVAL_H_
