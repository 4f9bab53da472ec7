// Workflow executions on an orchestrator: Conductor's WorkflowService calls the
// migration steps and the CLI need.
//
//   conductor::proto::StartWorkflowRequest start;
//   start.set_name("incoming_migration_request");
//   start.set_correlation_id(package_digest);
//   ASSIGN_OR_RETURN(std::string id, workflows.StartWorkflow(start));
//   ASSIGN_OR_RETURN(conductor::proto::Workflow wf, workflows.GetWorkflowStatus(id, false));
//
// Thread-safety: implementations are safe to call from many threads at once.
// Errors: the RPC's status with a message naming the call, the workflow and
// the server address. NotFound: no such workflow or definition.
#ifndef CMIG_CLIENT_WORKFLOW_CLIENT_H_
#define CMIG_CLIENT_WORKFLOW_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "conductor/model/startworkflowrequest.pb.h"
#include "conductor/model/workflow.pb.h"
#include "conductor/model/workflowsummary.pb.h"

namespace cmig::client {

struct WorkflowSearchQuery {
  int start = 0;
  int size = 100;
  // Conductor's sort syntax, e.g. "startTime:DESC".
  std::string sort;
  // Conductor's free text ("*" for everything) and query
  // ("workflowType = 'x' AND status = 'FAILED'").
  std::string free_text = "*";
  std::string query;
};

struct WorkflowSearchResult {
  int64_t total_hits = 0;
  std::vector<conductor::proto::WorkflowSummary> results;
};

class WorkflowClient {
 public:
  virtual ~WorkflowClient() = default;

  // Starts a workflow; returns its id. NotFound when the definition does not
  // exist.
  virtual absl::StatusOr<std::string> StartWorkflow(
      const conductor::proto::StartWorkflowRequest& request) = 0;

  virtual absl::StatusOr<conductor::proto::Workflow> GetWorkflowStatus(
      absl::string_view workflow_id, bool include_tasks) = 0;

  // The executions of workflow `name` started with `correlation_id`; running
  // ones only unless `include_closed`.
  virtual absl::StatusOr<std::vector<conductor::proto::Workflow>> GetWorkflowsByCorrelationId(
      absl::string_view name, absl::string_view correlation_id, bool include_closed,
      bool include_tasks) = 0;

  // Re-runs a failed workflow from its last failed task.
  virtual absl::Status RetryWorkflow(absl::string_view workflow_id,
                                     bool resume_subworkflow_tasks) = 0;

  // Restarts a terminal workflow from the beginning.
  virtual absl::Status RestartWorkflow(absl::string_view workflow_id,
                                       bool use_latest_definitions) = 0;

  virtual absl::Status TerminateWorkflow(absl::string_view workflow_id,
                                         absl::string_view reason) = 0;

  virtual absl::StatusOr<WorkflowSearchResult> SearchWorkflows(
      const WorkflowSearchQuery& query) = 0;

  // Waits up to `timeout` for the workflow to change since the answer that returned `seen` (0:
  // none, answered at once) and returns its change stamp: another value when it changed, `seen`
  // when the wait timed out, 0 when it is not running (cmig.v1.WorkflowWatch). Unimplemented
  // where the server offers no such wait (Conductor's): the caller reads on a timer instead.
  virtual absl::StatusOr<int64_t> WatchWorkflow(absl::string_view workflow_id, int64_t seen,
                                                absl::Duration timeout) {
    (void)workflow_id;
    (void)seen;
    (void)timeout;
    return absl::UnimplementedError("this server cannot be asked to wait for a workflow change");
  }
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_WORKFLOW_CLIENT_H_
