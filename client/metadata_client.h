// Workflow and task definitions on an orchestrator: Conductor's
// MetadataService, plus listing through the project's cmig.v1.DefinitionCatalog
// extension (Conductor's gRPC API cannot enumerate definitions).
//
//   MetadataClient& meta = *client;
//   absl::StatusOr<conductor::proto::WorkflowDef> def = meta.GetWorkflowDef("order_flow", 2);
//   if (absl::IsNotFound(def.status())) { ... }
//
// Thread-safety: implementations are safe to call from many threads at once.
// Errors: the RPC's status with a message naming the call, the definition and
// the server address. NotFound: no such definition. Listing against a server
// without the extension returns Unimplemented saying so.
#ifndef CMIG_CLIENT_METADATA_CLIENT_H_
#define CMIG_CLIENT_METADATA_CLIENT_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "conductor/model/taskdef.pb.h"
#include "conductor/model/workflowdef.pb.h"

namespace cmig::client {

class MetadataClient {
 public:
  virtual ~MetadataClient() = default;

  // `version` 0 (proto3's unset) asks for the latest version, as in Conductor.
  virtual absl::StatusOr<conductor::proto::WorkflowDef> GetWorkflowDef(absl::string_view name,
                                                                       int version) = 0;

  // Registers a new workflow definition. Conductor rejects one whose name and
  // version already exist (the server's error code; INTERNAL on Conductor,
  // AlreadyExists on the embedded orchestrator).
  virtual absl::Status CreateWorkflowDef(const conductor::proto::WorkflowDef& def) = 0;

  // Creates or replaces each definition (by name and version).
  virtual absl::Status UpdateWorkflowDefs(
      const std::vector<conductor::proto::WorkflowDef>& defs) = 0;

  virtual absl::StatusOr<conductor::proto::TaskDef> GetTaskDef(absl::string_view name) = 0;

  // Registers task definitions; Conductor overwrites ones that exist.
  virtual absl::Status CreateTaskDefs(const std::vector<conductor::proto::TaskDef>& defs) = 0;

  // Replaces an existing task definition. NotFound when it does not exist.
  virtual absl::Status UpdateTaskDef(const conductor::proto::TaskDef& def) = 0;

  // Every workflow definition, ordered by name then version; only `name` when
  // it is not empty; every version when `all_versions`, else the latest per
  // name. Unimplemented when the server does not offer listing.
  virtual absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowDefs(
      absl::string_view name, bool all_versions) = 0;

  // Every task definition, ordered by name. Unimplemented when the
  // server does not offer listing.
  virtual absl::StatusOr<std::vector<conductor::proto::TaskDef>> ListTaskDefs() = 0;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_METADATA_CLIENT_H_
