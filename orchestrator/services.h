// gRPC front of the engine (private to the orchestrator): Conductor's
// MetadataService, WorkflowService and TaskService plus the project's
// DefinitionCatalog, all on the callback API so that no thread waits on a
// parked long poll or a pending group commit.
//
// Calls reach these services only with a valid bearer token (auth.h checks every call before
// dispatch); handlers convert absl::Status to grpc::Status once, through base/grpc_status.h.
#ifndef CMIG_ORCHESTRATOR_SERVICES_H_
#define CMIG_ORCHESTRATOR_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cmig/v1/definitions.grpc.pb.h"
#include "cmig/v1/task_queues.grpc.pb.h"
#include "cmig/v1/workflow_watch.grpc.pb.h"
#include "conductor/grpc/event_service.grpc.pb.h"
#include "conductor/grpc/metadata_service.grpc.pb.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "conductor/grpc/workflow_service.grpc.pb.h"
#include "conductor/model/workflowsummary.pb.h"
#include "orchestrator/engine.h"

namespace cmig::orchestrator {

// A service to register, under its full name ("conductor.grpc.tasks.TaskService"): the name
// puts it under the bearer-token check (auth.h).
struct NamedService {
  std::string name;
  std::unique_ptr<::grpc::Service> service;
};

// Conductor's MetadataService, WorkflowService, TaskService and EventService, plus
// cmig.v1.DefinitionCatalog unless `conductor_api_only` (a server that answers like conductor-oss:
// no listing). The services borrow `engine`, which must outlive them.
std::vector<NamedService> MakeServices(Engine& engine, bool conductor_api_only = false);

// Conductor's WorkflowSummary of a stored workflow (search results over gRPC and REST): times as
// ISO-8601 text, input and output as JSON text, failed reference names comma-separated.
conductor::proto::WorkflowSummary WorkflowSummaryOf(const WorkflowRow& row);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SERVICES_H_
