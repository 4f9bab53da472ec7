// Clients of the embedded orchestrator's extension services (proto/cmig/v1/extensions.proto):
// environments, secrets, the content-addressed blob store, and workflow definition removal.
//
//   ASSIGN_OR_RETURN(auto ext, cmig::client::GrpcExtensionsClient::Create(options));
//   ASSIGN_OR_RETURN(cmig::v1::Environment env, ext->GetEnvironment("prod"));
//   RETURN_IF_ERROR(ext->PutBlob(digest, bytes));      // digest: hex SHA-256 of bytes
//   ASSIGN_OR_RETURN(std::string again, ext->GetBlob(digest));
//
// Against a server without the extension (a Conductor server) every call returns Unimplemented
// with a message saying which service is missing; callers fall back (migration/environments.h) or
// report it. Secret values and tokens never appear in a returned status.
//
// Thread-safety: implementations are safe to call from many threads at once.
#ifndef CMIG_CLIENT_EXTENSIONS_CLIENT_H_
#define CMIG_CLIENT_EXTENSIONS_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/grpc_client.h"
#include "cmig/v1/extensions.pb.h"
#include "cmig/v1/schedules.pb.h"

namespace grpc {
class ClientContext;
class Status;
}  // namespace grpc

namespace cmig::client {

class EnvironmentClient {
 public:
  virtual ~EnvironmentClient() = default;
  // Creates or replaces. InvalidArgument without id or address.
  virtual absl::Status PutEnvironment(const v1::Environment& environment) = 0;
  // NotFound when absent.
  virtual absl::StatusOr<v1::Environment> GetEnvironment(absl::string_view id) = 0;
  virtual absl::StatusOr<std::vector<v1::Environment>> ListEnvironments() = 0;
  virtual absl::Status DeleteEnvironment(absl::string_view id) = 0;
};

class SecretClient {
 public:
  virtual ~SecretClient() = default;
  virtual absl::Status PutSecret(absl::string_view name, absl::string_view value) = 0;
  // NotFound when absent. The value is a secret: never log it.
  virtual absl::StatusOr<std::string> GetSecret(absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListSecretNames() = 0;
  virtual absl::Status DeleteSecret(absl::string_view name) = 0;
  // Whether secret `name` exists, without reading its value. By default through
  // ListSecretNames (Unimplemented when the store has no listing).
  virtual absl::StatusOr<bool> SecretExists(absl::string_view name);
};

// Content-addressed storage: a blob's key is the lower-case hex SHA-256 of its bytes.
class BlobClient {
 public:
  virtual ~BlobClient() = default;
  // Stores `bytes` under `digest` (which the caller computed), in chunks; does nothing when the
  // blob exists. InvalidArgument when the bytes do not hash to `digest`.
  virtual absl::Status PutBlob(absl::string_view digest, absl::string_view bytes) = 0;
  // NotFound when absent.
  virtual absl::StatusOr<std::string> GetBlob(absl::string_view digest) = 0;
  // NotFound when absent; Unimplemented by a store that keeps blobs for good.
  virtual absl::Status DeleteBlob(absl::string_view digest);
};

// Definition removal Conductor's gRPC MetadataService lacks.
class DefinitionAdminClient {
 public:
  virtual ~DefinitionAdminClient() = default;
  // NotFound when absent.
  virtual absl::Status DeleteWorkflowDef(absl::string_view name, int version) = 0;
  // Through Conductor's own MetadataService.DeleteTask. NotFound when absent.
  virtual absl::Status DeleteTaskDef(absl::string_view name) = 0;
};

// Workflow schedules (Conductor's scheduler: cmig.v1.Schedules over gRPC, /api/scheduler over
// REST), as a migration reads and writes them.
class ScheduleClient {
 public:
  virtual ~ScheduleClient() = default;
  // Every schedule, ordered by name. Unimplemented when the server has no scheduler.
  virtual absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules() = 0;
  // Creates or replaces the schedule of that name; answers it as saved.
  virtual absl::StatusOr<v1::WorkflowSchedule> SaveSchedule(
      const v1::WorkflowSchedule& schedule) = 0;
  // Removes it (and its executions). An unknown name is no error, as in Conductor.
  virtual absl::Status DeleteSchedule(absl::string_view name) = 0;
};

class GrpcExtensionsClient final : public EnvironmentClient,
                                   public SecretClient,
                                   public BlobClient,
                                   public DefinitionAdminClient,
                                   public ScheduleClient {
 public:
  // Bytes per PutBlobChunk / GetBlob call.
  static constexpr int64_t kChunkBytes = 1 << 20;

  // Its own channel, same options as GrpcOrchestratorClient (address, token, TLS, timeout).
  static absl::StatusOr<std::unique_ptr<GrpcExtensionsClient>> Create(const ClientOptions& options);
  ~GrpcExtensionsClient() override;
  GrpcExtensionsClient(const GrpcExtensionsClient&) = delete;
  GrpcExtensionsClient& operator=(const GrpcExtensionsClient&) = delete;

  absl::Status PutEnvironment(const v1::Environment& environment) override;
  absl::StatusOr<v1::Environment> GetEnvironment(absl::string_view id) override;
  absl::StatusOr<std::vector<v1::Environment>> ListEnvironments() override;
  absl::Status DeleteEnvironment(absl::string_view id) override;

  absl::Status PutSecret(absl::string_view name, absl::string_view value) override;
  absl::StatusOr<std::string> GetSecret(absl::string_view name) override;
  absl::StatusOr<std::vector<std::string>> ListSecretNames() override;
  absl::Status DeleteSecret(absl::string_view name) override;

  absl::Status PutBlob(absl::string_view digest, absl::string_view bytes) override;
  absl::StatusOr<std::string> GetBlob(absl::string_view digest) override;
  absl::Status DeleteBlob(absl::string_view digest) override;

  // Access keys for POST /api/token (cmig.v1.AccessKeys). The key secret is in the creation's
  // answer only. Revoke: NotFound when absent.
  absl::StatusOr<v1::CreateAccessKeyResponse> CreateAccessKey();
  absl::StatusOr<std::vector<v1::AccessKeyInfo>> ListAccessKeys();
  absl::Status RevokeAccessKey(absl::string_view id);

  // Workflow schedules (cmig.v1.Schedules). Get, Pause, Resume: NotFound for an unknown name.
  absl::StatusOr<v1::WorkflowSchedule> SaveSchedule(const v1::WorkflowSchedule& schedule) override;
  absl::StatusOr<v1::WorkflowSchedule> GetSchedule(absl::string_view name);
  absl::StatusOr<std::vector<v1::WorkflowSchedule>> ListSchedules() override;
  absl::Status DeleteSchedule(absl::string_view name) override;
  absl::Status PauseSchedule(absl::string_view name, absl::string_view reason);
  absl::Status ResumeSchedule(absl::string_view name);
  absl::StatusOr<std::vector<int64_t>> NextRunTimes(const v1::NextRunTimesRequest& request);
  // Newest first.
  absl::StatusOr<std::vector<v1::ScheduleExecution>> ListScheduleExecutions(absl::string_view name,
                                                                            int limit);

  absl::Status DeleteWorkflowDef(absl::string_view name, int version) override;
  absl::Status DeleteTaskDef(absl::string_view name) override;

 private:
  struct Stubs;
  GrpcExtensionsClient(const ClientOptions& options, std::unique_ptr<Stubs> stubs);
  void Prepare(::grpc::ClientContext& context) const;
  // FromGrpc with "<call> at <address>"; Unimplemented says the service is missing.
  absl::Status Convert(const ::grpc::Status& s, absl::string_view service,
                       absl::string_view call) const;

  const std::string address_;
  const std::string token_;
  const absl::Duration call_timeout_;
  const std::unique_ptr<Stubs> stubs_;
};

}  // namespace cmig::client

#endif  // CMIG_CLIENT_EXTENSIONS_CLIENT_H_
