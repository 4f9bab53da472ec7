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
#include "google/protobuf/struct.pb.h"

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

  // ---- keys a definition's proto cannot carry ----
  // A server reached over Conductor's REST API keeps every key of a definition (onStateChange,
  // Orkes' tags, ...); gRPC carries the proto only. "Extra keys" are the rest, as
  // WorkflowDefExtraKeys / TaskDefExtraKeys (definitions/conductor_json.h) make them: null when
  // there are none.

  // Whether this server keeps and returns extra keys.
  virtual bool KeepsExtraKeys() const { return false; }
  // Every version of every workflow (as ListWorkflowDefs("", true)) and its extra keys, in
  // `*extras` in the same order. Default: the listing with no extra keys.
  virtual absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> ListWorkflowDefsWithExtras(
      std::vector<google::protobuf::Value>* extras) {
    absl::StatusOr<std::vector<conductor::proto::WorkflowDef>> defs = ListWorkflowDefs("", true);
    if (defs.ok()) extras->assign(defs->size(), google::protobuf::Value());
    return defs;
  }
  // Every task definition and its extra keys. Default: the listing with none.
  virtual absl::StatusOr<std::vector<conductor::proto::TaskDef>> ListTaskDefsWithExtras(
      std::vector<google::protobuf::Value>* extras) {
    absl::StatusOr<std::vector<conductor::proto::TaskDef>> defs = ListTaskDefs();
    if (defs.ok()) extras->assign(defs->size(), google::protobuf::Value());
    return defs;
  }
  // As UpdateWorkflowDefs / CreateTaskDefs, each definition with `extras[i]` laid over it where
  // the server keeps extra keys (`extras` empty or of the same size). Default: they are dropped.
  virtual absl::Status UpdateWorkflowDefsWithExtras(
      const std::vector<conductor::proto::WorkflowDef>& defs,
      const std::vector<google::protobuf::Value>& /*extras*/) {
    return UpdateWorkflowDefs(defs);
  }
  virtual absl::Status CreateTaskDefsWithExtras(
      const std::vector<conductor::proto::TaskDef>& defs,
      const std::vector<google::protobuf::Value>& /*extras*/) {
    return CreateTaskDefs(defs);
  }
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_METADATA_CLIENT_H_
