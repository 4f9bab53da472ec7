// How the migration workflows hang together once they run: an incoming workflow that failed or
// was terminated after changing its target is undone by an incoming_migration_rollback.
// Conductor starts that rollback by itself when the incoming workflow fails (it is the failure
// workflow), but not when it is terminated (Conductor's terminate never starts a failure
// workflow); these helpers find the rollback of an ending and start one where Conductor did not,
// for the worker's await step and `migrationctl terminate` alike.
//
//   ASSIGN_OR_RETURN(std::optional<Workflow> rollback, RollbackOf(runner, incoming));
//   if (!rollback) ASSIGN_OR_RETURN(std::string id, StartRollback(runner, incoming, reason));
#ifndef CMIG_WORKFLOWS_LIFECYCLE_H_
#define CMIG_WORKFLOWS_LIFECYCLE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/workflow_client.h"

namespace cmig::workflows {

inline constexpr absl::string_view kRollbackWorkflowName = "incoming_migration_rollback";

// Whether `name` is one of this tool's own definitions (its migration workflows and their cmig_*
// step task definitions), which "every workflow" or "every task definition" of a source leaves
// out: each environment registers its own.
bool IsOwnDefinition(absl::string_view name);

// The rollback started for the current ending of incoming workflow `incoming` (read with its
// input): one with the same correlation id, input workflowId equal to its id, started no earlier
// than its last step was scheduled. nullopt when there is none (it has not ended, or nothing
// started one). The rollback is read with its tasks when `include_tasks`.
absl::StatusOr<std::optional<conductor::proto::Workflow>> RollbackOf(
    client::WorkflowClient& runner, const conductor::proto::Workflow& incoming,
    bool include_tasks = false);

// Starts incoming_migration_rollback for `incoming` on `runner` with the input Conductor gives a
// failure workflow: the incoming workflow's input plus workflowId, reason and failureStatus.
// Returns its id.
absl::StatusOr<std::string> StartRollback(client::WorkflowClient& runner,
                                          const conductor::proto::Workflow& incoming,
                                          absl::string_view reason);

// The rollback of incoming workflow `incoming_id` (read from `runner`) for its current ending:
// the one already started for it, else a new one (StartRollback). Returns its id.
absl::StatusOr<std::string> RollBackOnce(client::WorkflowClient& runner,
                                         absl::string_view incoming_id, absl::string_view reason);

// One sentence on how `rollback` ended, for a migration's reason: "rolled back by workflow R:
// restored 1, removed 2 definitions", or that it failed and why.
std::string DescribeRollback(const conductor::proto::Workflow& rollback);

}  // namespace cmig::workflows

#endif  // CMIG_WORKFLOWS_LIFECYCLE_H_
