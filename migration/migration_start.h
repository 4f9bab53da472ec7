// How a migration is started: the outgoing workflow and its input, from what the operator
// chose. One place for the CLI's `migrate` and the orchestrator's POST /api/cmig/migrations.
//
//   ASSIGN_OR_RETURN(conductor::proto::StartWorkflowRequest start,
//                    OutgoingMigrationStart("local", "prod", selection, options));
#ifndef CMIG_MIGRATION_MIGRATION_START_H_
#define CMIG_MIGRATION_MIGRATION_START_H_

#include <string>

#include "absl/status/statusor.h"
#include "cmig/v1/package.pb.h"
#include "cmig/v1/report.pb.h"
#include "conductor/model/startworkflowrequest.pb.h"
#include "conductor/model/workflow.pb.h"

namespace cmig::migration {

inline constexpr char kOutgoingMigrationWorkflow[] = "outgoing_migration_request";

// InvalidArgument when there is no target or the selection selects nothing. `started_by` (who
// started it, as the caller knows: "alice@ops-host") goes into the input as "startedBy", which
// `list` shows, and into the request's createdBy, which a Conductor server records.
absl::StatusOr<conductor::proto::StartWorkflowRequest> OutgoingMigrationStart(
    const std::string& source_environment, const std::string& target_environment,
    const v1::Selection& selection, const v1::MigrationOptions& options,
    const std::string& started_by);

// OK when `dry_run` is an outgoing migration that completed as a dry run; FailedPrecondition
// naming what it is otherwise.
absl::Status CheckCompletedDryRun(const conductor::proto::Workflow& dry_run);

// The start of a run that applies dry run `dry_run` (an outgoing migration workflow, read with
// its tasks) as approved: the dry run's source, target, selection and options, not a dry run,
// with MigrationOptions.approved_plan from `report` (the dry run's full report) and the dry
// run's package reference. FailedPrecondition naming why when `dry_run` is no completed dry run
// of a migration with an unblocked, fingerprinted plan.
absl::StatusOr<conductor::proto::StartWorkflowRequest> ApprovedRunStart(
    const conductor::proto::Workflow& dry_run, const v1::MigrationReport& report,
    const std::string& started_by);

// Where a dry run's full report is stored when its output carries it trimmed
// ("incomingReportRef", "sha256:<hex>"); empty when the output carries it whole
// ("incomingReport").
std::string StoredReportRef(const conductor::proto::Workflow& dry_run);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_MIGRATION_START_H_
