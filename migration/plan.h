// Planning an incoming migration against the target's current definitions.
//
//   ASSIGN_OR_RETURN(v1::MigrationPlan plan, PlanMigration(package, target_source));
//   if (plan.blocked()) ...                        // every problem is in plan.blocking_problems()
//   ASSIGN_OR_RETURN(auto steps, StepsToApply(package, plan));   // migration/apply_order.h
//
// Per item (options come from the package, which the digest covers):
//  - Task definitions are compared by name. Absent: CREATE. Identical (canonical hash): UNCHANGED.
//    Different: CONFLICT (strategy FAIL, the default), SKIP, or UPDATE.
//  - Workflows under VERSION_STRATEGY_PRESERVE (the default) are compared with the target's
//    definition of the same name and version, with the same outcomes as task definitions.
//  - Workflows under VERSION_STRATEGY_NEW_VERSION never conflict. Leaves first, each workflow's
//    pinned references to package workflows are rewritten to their target versions, then:
//    identical to the target's definition of the same version, its latest, or (when the
//    target can list versions) any other version, newest first: UNCHANGED and mapped to that
//    version; the name absent from the target: CREATE with the source version;
//    otherwise CREATE with the next free version (target latest + 1, counting up when several
//    package versions of one name need one). A cycle of workflows is mapped as a unit: when every
//    member is identical to the target under the same versions, or under the target's latest
//    versions, all are UNCHANGED; otherwise every member takes a new version as above.
//    References to the latest version (no version) are left alone: they follow the target.
//  - Preflight, for every workflow that would be written or conflicts: each task that needs a
//    task definition finds it in the package or the target (or embeds one, or the package lists
//    it as running with Conductor's default task definition in the source); each statically named
//    sub-workflow, START_WORKFLOW target and failure workflow finds its (name, version) among the
//    planned items or in the target. A missing one makes a CREATE/UPDATE item BLOCKED and is a
//    blocking problem naming the workflow, the task and the missing definition. Missing
//    dependencies of UNCHANGED or SKIP items are warnings: the target already runs without them.
//  - CONFLICT and BLOCKED block the whole apply; all problems are collected, none stops planning.
//    Under on-blocked skip (MigrationOptions.on_blocked) they do not: each becomes LEFT_OUT, and
//    so does every workflow that depends on a left-out item (at any depth) and every item that
//    only left-out workflows need (reached from no requested item that stays). Each says why in
//    its reasons, first; the rest is applied, and a warning counts what was left out.
//  - Event handlers are compared by name, with the same outcomes as task definitions; their
//    START_WORKFLOW actions' pinned versions are rewritten to the target versions of package
//    workflows, and a statically named workflow a handler starts must be planned or in the
//    target (else BLOCKED). A target without an event handler API blocks every handler to write.
//    Handlers come last in the plan: after the workflows they start. Under on-blocked skip a
//    workflow depends on the handlers of the events it publishes, and a handler on the workflows
//    it starts.
//  - Secret values the package carries are planned by PlanSecrets (migration/plan_secrets.h),
//    against the target's secret store, once this plan exists.
//  - Planning a package whose items all exist identically gives all UNCHANGED, so re-running a
//    migration writes nothing.
#ifndef CMIG_MIGRATION_PLAN_H_
#define CMIG_MIGRATION_PLAN_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"
#include "migration/definition_source.h"
#include "migration/package.h"

namespace cmig::migration {

// Validates `package` (migration/package.h) and plans it against `target`, which is only read.
// Blocks on `target`. Errors: InvalidArgument for an invalid package; any error of `target` other
// than NotFound, passed through naming what was being read.
absl::StatusOr<v1::MigrationPlan> PlanMigration(const v1::MigrationPackage& package,
                                                DefinitionSource& target);

// The same for a package already validated: `contents` is what ValidatePackage(package) returned.
// `missing_secrets`: secrets the package's definitions read that the target will not hold (neither
// carried nor in its store); a schedule whose workflow reads one is written paused.
absl::StatusOr<v1::MigrationPlan> PlanMigration(const v1::MigrationPackage& package,
                                                const PackageContents& contents,
                                                DefinitionSource& target,
                                                const std::set<std::string>& missing_secrets = {});

// The operator's report of a plan: per item status (the planned action), counts, version
// mapping, dependencies to configure by hand, unresolved references, problems and warnings.
// Durations and verification are the caller's to fill in.
v1::MigrationReport ReportFromPlan(const v1::MigrationPackage& package,
                                   const v1::MigrationPlan& plan,
                                   absl::string_view target_environment);

// Counts by (kind, action), sorted, zero counts omitted.
google::protobuf::RepeatedPtrField<v1::ItemCount> CountItems(const v1::MigrationPlan& plan);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_PLAN_H_
