// The ranges Conductor enforces on the numbers in a definition, checked when one is registered
// (over gRPC, and so by `definitions load`), with Conductor's messages where it has one.
//
//   RETURN_IF_ERROR(cmig::CheckTaskDefRanges(def));
//   // InvalidArgument "task definition t: TaskDef retryCount: -1 must be >= 0"
//
// Conductor's rules (conductor-oss common/metadata: TaskDef, WorkflowTask and
// TaskTimeoutConstraint): retryCount, pollTimeoutSeconds, maxRetryDelaySeconds, backoffJitterMs,
// totalTimeoutSeconds and a task's startDelay are >= 0; responseTimeoutSeconds is at least 1 second
// and, when timeoutSeconds is set, no more than it; timeoutSeconds is no more than
// totalTimeoutSeconds when both are set. Beyond Conductor, which accepts them and then misbehaves:
// negative timeoutSeconds, retryDelaySeconds, workflow versions and sub-workflow versions are
// refused too.
//
// Zero in a proto3 field is also "not given": responseTimeoutSeconds 0 and backoffScaleFactor 0
// are accepted (no response timeout; a scale of 1), as the gRPC wire cannot tell them apart.
//
// Every violation is named, joined with "; ", in one InvalidArgument. Pure and thread-safe.
#ifndef CMIG_DEFINITIONS_DEFINITION_RANGES_H_
#define CMIG_DEFINITIONS_DEFINITION_RANGES_H_

#include "absl/status/status.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"

namespace cmig {

absl::Status CheckTaskDefRanges(const conductor::proto::TaskDef& def);

// The workflow's own numbers and those of every task in it, nested ones included: startDelay,
// the sub-workflow version and an inline task definition.
absl::Status CheckWorkflowDefRanges(const conductor::proto::WorkflowDef& def);

}  // namespace cmig

#endif  // CMIG_DEFINITIONS_DEFINITION_RANGES_H_
