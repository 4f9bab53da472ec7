// gRPC front of the engine (private to the orchestrator): Conductor's
// MetadataService, WorkflowService and TaskService plus the project's
// DefinitionCatalog, all on the callback API so that no thread waits on a
// parked long poll or a pending group commit.
//
// Every RPC first checks the bearer token (Authenticator); handlers convert
// absl::Status to grpc::Status once, through base/grpc_status.h.
#ifndef CMIG_ORCHESTRATOR_SERVICES_H_
#define CMIG_ORCHESTRATOR_SERVICES_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cmig/v1/definitions.grpc.pb.h"
#include "conductor/grpc/metadata_service.grpc.pb.h"
#include "conductor/grpc/task_service.grpc.pb.h"
#include "conductor/grpc/workflow_service.grpc.pb.h"
#include "orchestrator/engine.h"

namespace cmig::orchestrator {

// Checks `authorization: Bearer <token>` against a fixed set of tokens. With no
// tokens every call passes. Immutable after construction; thread-safe.
class Authenticator {
 public:
  // Reads one token per line; blank lines and lines starting with '#' are skipped.
  // INVALID_ARGUMENT when the file names no token (an empty file would silently
  // turn authentication off).
  static absl::StatusOr<Authenticator> FromFile(const std::string& path);
  Authenticator() = default;
  explicit Authenticator(std::vector<std::string> tokens);

  // UNAUTHENTICATED without a valid token. Never echoes the presented token.
  absl::Status Check(const ::grpc::CallbackServerContext& context) const;

 private:
  absl::flat_hash_set<std::string> tokens_;
};

// Conductor's MetadataService, WorkflowService and TaskService, plus cmig.v1.DefinitionCatalog
// unless `conductor_api_only` (a server that answers like conductor-oss: no listing). The
// services borrow `engine` and `auth`, which must outlive them.
std::vector<std::unique_ptr<::grpc::Service>> MakeServices(Engine& engine,
                                                           const Authenticator& auth,
                                                           bool conductor_api_only = false);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_SERVICES_H_
