// Verification: does the target hold what a migration says it applied?
//
// Both the incoming workflow (after apply) and the outgoing one (from the incoming report) call
// VerifyTarget with the report's items: every CREATE, UPDATE and UNCHANGED item must be in the
// target under its target version with exactly the planned canonical hash; a SKIP item must exist
// (the target's own content); and every reference of those workflows must resolve in the target:
// required task definitions (except those the report lists as running with Conductor's default
// task definition), pinned sub-workflow / START_WORKFLOW / failure workflow versions, and for
// unpinned references some version of the name. Event handlers are checked the same way: the
// planned hash, and the workflows their START_WORKFLOW actions start.
#ifndef CMIG_MIGRATION_VERIFY_H_
#define CMIG_MIGRATION_VERIFY_H_

#include "absl/status/statusor.h"
#include "cmig/v1/report.pb.h"
#include "migration/definition_source.h"

namespace cmig::migration {

// Blocks on `target`. Mismatches are problems in the returned Verification (ok = false), one
// sentence each naming the item or reference; errors of `target` other than NotFound are returned
// as the status. A blocked report verifies nothing and is ok = false with that as its problem.
absl::StatusOr<v1::Verification> VerifyTarget(const v1::MigrationReport& report,
                                              DefinitionSource& target);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_VERIFY_H_
