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
#include "conductor/model/startworkflowrequest.pb.h"

namespace cmig::migration {

inline constexpr char kOutgoingMigrationWorkflow[] = "outgoing_migration_request";

// InvalidArgument when there is no target or the selection selects nothing. `started_by` (who
// started it, as the caller knows: "alice@ops-host") goes into the input as "startedBy", which
// `list` shows, and into the request's createdBy, which a Conductor server records.
absl::StatusOr<conductor::proto::StartWorkflowRequest> OutgoingMigrationStart(
    const std::string& source_environment, const std::string& target_environment,
    const v1::Selection& selection, const v1::MigrationOptions& options,
    const std::string& started_by);

}  // namespace cmig::migration

#endif  // CMIG_MIGRATION_MIGRATION_START_H_
