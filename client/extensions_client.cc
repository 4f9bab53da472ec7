#include "client/extensions_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/grpc_status.h"
#include "base/status_macros.h"
#include "cmig/v1/extensions.grpc.pb.h"
#include "cmig/v1/schedules.grpc.pb.h"
#include "conductor/grpc/metadata_service.grpc.pb.h"

namespace cmig::client {

absl::StatusOr<bool> SecretClient::SecretExists(absl::string_view name) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListSecretNames());
  return std::find(names.begin(), names.end(), name) != names.end();
}

struct GrpcExtensionsClient::Stubs {
  explicit Stubs(const std::shared_ptr<::grpc::Channel>& channel)
      : environments(v1::Environments::NewStub(channel)),
        secrets(v1::Secrets::NewStub(channel)),
        access_keys(v1::AccessKeys::NewStub(channel)),
        blobs(v1::BlobStore::NewStub(channel)),
        admin(v1::DefinitionAdmin::NewStub(channel)),
        schedules(v1::Schedules::NewStub(channel)),
        metadata(::conductor::grpc::metadata::MetadataService::NewStub(channel)) {}
  const std::unique_ptr<v1::Environments::Stub> environments;
  const std::unique_ptr<v1::Secrets::Stub> secrets;
  const std::unique_ptr<v1::AccessKeys::Stub> access_keys;
  const std::unique_ptr<v1::BlobStore::Stub> blobs;
  const std::unique_ptr<v1::DefinitionAdmin::Stub> admin;
  const std::unique_ptr<v1::Schedules::Stub> schedules;
  const std::unique_ptr<::conductor::grpc::metadata::MetadataService::Stub> metadata;
};

absl::StatusOr<std::unique_ptr<GrpcExtensionsClient>> GrpcExtensionsClient::Create(
    const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<::grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) {
    return absl::Status(channel.status().code(),
                        absl::StrCat("extensions client: ", channel.status().message()));
  }
  return std::unique_ptr<GrpcExtensionsClient>(
      new GrpcExtensionsClient(options, std::make_unique<Stubs>(*std::move(channel))));
}

GrpcExtensionsClient::GrpcExtensionsClient(const ClientOptions& options,
                                           std::unique_ptr<Stubs> stubs)
    : address_(options.address),
      token_(options.token),
      call_timeout_(options.call_timeout),
      stubs_(std::move(stubs)) {}

GrpcExtensionsClient::~GrpcExtensionsClient() = default;

void GrpcExtensionsClient::Prepare(::grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_));
  if (!token_.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
}

absl::Status GrpcExtensionsClient::Convert(const ::grpc::Status& s, absl::string_view service,
                                           absl::string_view call) const {
  if (s.error_code() == ::grpc::StatusCode::UNIMPLEMENTED) {
    return absl::UnimplementedError(absl::StrCat("the server at ", address_,
                                                 " does not offer the extension service cmig.v1.",
                                                 service, " (", call, ")"));
  }
  return FromGrpc(s, absl::StrCat(service, ".", call, " at ", address_));
}

// `stub` and `method` name members, which cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define CMIG_CALL(stub, service, method, req, resp, what) \
  ::grpc::ClientContext context;                          \
  Prepare(context);                                       \
  absl::Status status_ = Convert(stubs_->stub->method(&context, req, &resp), service, what)
// NOLINTEND(bugprone-macro-parentheses)

absl::Status GrpcExtensionsClient::PutEnvironment(const v1::Environment& environment) {
  v1::PutEnvironmentRequest req;
  *req.mutable_environment() = environment;
  v1::PutEnvironmentResponse resp;
  CMIG_CALL(environments, "Environments", PutEnvironment, req, resp,
            absl::StrCat("PutEnvironment ", environment.id()));
  return status_;
}

absl::StatusOr<v1::Environment> GrpcExtensionsClient::GetEnvironment(absl::string_view id) {
  v1::GetEnvironmentRequest req;
  req.set_id(std::string(id));
  v1::GetEnvironmentResponse resp;
  CMIG_CALL(environments, "Environments", GetEnvironment, req, resp,
            absl::StrCat("GetEnvironment ", id));
  if (!status_.ok()) return status_;
  return resp.environment();
}

absl::StatusOr<std::vector<v1::Environment>> GrpcExtensionsClient::ListEnvironments() {
  v1::ListEnvironmentsRequest req;
  v1::ListEnvironmentsResponse resp;
  CMIG_CALL(environments, "Environments", ListEnvironments, req, resp, "ListEnvironments");
  if (!status_.ok()) return status_;
  return std::vector<v1::Environment>(resp.environments().begin(), resp.environments().end());
}

absl::Status GrpcExtensionsClient::DeleteEnvironment(absl::string_view id) {
  v1::DeleteEnvironmentRequest req;
  req.set_id(std::string(id));
  v1::DeleteEnvironmentResponse resp;
  CMIG_CALL(environments, "Environments", DeleteEnvironment, req, resp,
            absl::StrCat("DeleteEnvironment ", id));
  return status_;
}

absl::Status GrpcExtensionsClient::PutSecret(absl::string_view name, absl::string_view value) {
  v1::PutSecretRequest req;
  req.set_name(std::string(name));
  req.set_value(std::string(value));
  v1::PutSecretResponse resp;
  CMIG_CALL(secrets, "Secrets", PutSecret, req, resp, absl::StrCat("PutSecret ", name));
  return status_;
}

absl::StatusOr<std::string> GrpcExtensionsClient::GetSecret(absl::string_view name) {
  v1::GetSecretRequest req;
  req.set_name(std::string(name));
  v1::GetSecretResponse resp;
  CMIG_CALL(secrets, "Secrets", GetSecret, req, resp, absl::StrCat("GetSecret ", name));
  if (!status_.ok()) return status_;
  return std::move(*resp.mutable_value());
}

absl::StatusOr<std::vector<std::string>> GrpcExtensionsClient::ListSecretNames() {
  v1::ListSecretsRequest req;
  v1::ListSecretsResponse resp;
  CMIG_CALL(secrets, "Secrets", ListSecrets, req, resp, "ListSecrets");
  if (!status_.ok()) return status_;
  return std::vector<std::string>(resp.names().begin(), resp.names().end());
}

absl::Status GrpcExtensionsClient::DeleteSecret(absl::string_view name) {
  v1::DeleteSecretRequest req;
  req.set_name(std::string(name));
  v1::DeleteSecretResponse resp;
  CMIG_CALL(secrets, "Secrets", DeleteSecret, req, resp, absl::StrCat("DeleteSecret ", name));
  return status_;
}

absl::StatusOr<v1::CreateAccessKeyResponse> GrpcExtensionsClient::CreateAccessKey() {
  v1::CreateAccessKeyRequest req;
  v1::CreateAccessKeyResponse resp;
  CMIG_CALL(access_keys, "AccessKeys", CreateAccessKey, req, resp, "CreateAccessKey");
  if (!status_.ok()) return status_;
  return resp;
}

absl::StatusOr<std::vector<v1::AccessKeyInfo>> GrpcExtensionsClient::ListAccessKeys() {
  v1::ListAccessKeysRequest req;
  v1::ListAccessKeysResponse resp;
  CMIG_CALL(access_keys, "AccessKeys", ListAccessKeys, req, resp, "ListAccessKeys");
  if (!status_.ok()) return status_;
  return std::vector<v1::AccessKeyInfo>(resp.keys().begin(), resp.keys().end());
}

absl::Status GrpcExtensionsClient::RevokeAccessKey(absl::string_view id) {
  v1::RevokeAccessKeyRequest req;
  req.set_key_id(std::string(id));
  v1::RevokeAccessKeyResponse resp;
  CMIG_CALL(access_keys, "AccessKeys", RevokeAccessKey, req, resp,
            absl::StrCat("RevokeAccessKey ", id));
  return status_;
}

absl::StatusOr<v1::WorkflowSchedule> GrpcExtensionsClient::SaveSchedule(
    const v1::WorkflowSchedule& schedule) {
  v1::SaveScheduleRequest req;
  *req.mutable_schedule() = schedule;
  v1::SaveScheduleResponse resp;
  CMIG_CALL(schedules, "Schedules", SaveSchedule, req, resp,
            absl::StrCat("SaveSchedule ", schedule.name()));
  if (!status_.ok()) return status_;
  return resp.schedule();
}

absl::StatusOr<v1::WorkflowSchedule> GrpcExtensionsClient::GetSchedule(absl::string_view name) {
  v1::GetScheduleRequest req;
  req.set_name(std::string(name));
  v1::GetScheduleResponse resp;
  CMIG_CALL(schedules, "Schedules", GetSchedule, req, resp, absl::StrCat("GetSchedule ", name));
  if (!status_.ok()) return status_;
  return resp.schedule();
}

absl::StatusOr<std::vector<v1::WorkflowSchedule>> GrpcExtensionsClient::ListSchedules() {
  v1::ListSchedulesRequest req;
  v1::ListSchedulesResponse resp;
  CMIG_CALL(schedules, "Schedules", ListSchedules, req, resp, "ListSchedules");
  if (!status_.ok()) return status_;
  return std::vector<v1::WorkflowSchedule>(resp.schedules().begin(), resp.schedules().end());
}

absl::Status GrpcExtensionsClient::DeleteSchedule(absl::string_view name) {
  v1::DeleteScheduleRequest req;
  req.set_name(std::string(name));
  v1::DeleteScheduleResponse resp;
  CMIG_CALL(schedules, "Schedules", DeleteSchedule, req, resp,
            absl::StrCat("DeleteSchedule ", name));
  return status_;
}

absl::Status GrpcExtensionsClient::PauseSchedule(absl::string_view name, absl::string_view reason) {
  v1::PauseScheduleRequest req;
  req.set_name(std::string(name));
  req.set_reason(std::string(reason));
  v1::PauseScheduleResponse resp;
  CMIG_CALL(schedules, "Schedules", PauseSchedule, req, resp, absl::StrCat("PauseSchedule ", name));
  return status_;
}

absl::Status GrpcExtensionsClient::ResumeSchedule(absl::string_view name) {
  v1::ResumeScheduleRequest req;
  req.set_name(std::string(name));
  v1::ResumeScheduleResponse resp;
  CMIG_CALL(schedules, "Schedules", ResumeSchedule, req, resp,
            absl::StrCat("ResumeSchedule ", name));
  return status_;
}

absl::StatusOr<std::vector<int64_t>> GrpcExtensionsClient::NextRunTimes(
    const v1::NextRunTimesRequest& req) {
  v1::NextRunTimesResponse resp;
  CMIG_CALL(schedules, "Schedules", NextRunTimes, req, resp, "NextRunTimes");
  if (!status_.ok()) return status_;
  return std::vector<int64_t>(resp.times().begin(), resp.times().end());
}

absl::StatusOr<std::vector<v1::ScheduleExecution>> GrpcExtensionsClient::ListScheduleExecutions(
    absl::string_view name, int limit) {
  v1::ListScheduleExecutionsRequest req;
  req.set_schedule_name(std::string(name));
  req.set_limit(limit);
  v1::ListScheduleExecutionsResponse resp;
  CMIG_CALL(schedules, "Schedules", ListScheduleExecutions, req, resp,
            absl::StrCat("ListScheduleExecutions ", name));
  if (!status_.ok()) return status_;
  return std::vector<v1::ScheduleExecution>(resp.executions().begin(), resp.executions().end());
}

absl::Status GrpcExtensionsClient::PutBlob(absl::string_view digest, absl::string_view bytes) {
  {
    v1::HasBlobRequest req;
    req.set_digest(std::string(digest));
    v1::HasBlobResponse resp;
    CMIG_CALL(blobs, "BlobStore", HasBlob, req, resp, absl::StrCat("HasBlob ", digest));
    if (!status_.ok()) return status_;
    if (resp.exists()) return absl::OkStatus();
  }
  for (size_t off = 0; off < bytes.size() || (off == 0 && bytes.empty()); off += kChunkBytes) {
    v1::PutBlobChunkRequest req;
    req.set_digest(std::string(digest));
    req.set_offset(static_cast<int64_t>(off));
    req.set_data(std::string(bytes.substr(off, kChunkBytes)));
    v1::PutBlobChunkResponse resp;
    CMIG_CALL(blobs, "BlobStore", PutBlobChunk, req, resp,
              absl::StrCat("PutBlobChunk ", digest, " at ", off));
    if (!status_.ok()) return status_;
    if (bytes.empty()) break;
  }
  v1::CommitBlobRequest req;
  req.set_digest(std::string(digest));
  req.set_size(static_cast<int64_t>(bytes.size()));
  v1::CommitBlobResponse resp;
  CMIG_CALL(blobs, "BlobStore", CommitBlob, req, resp, absl::StrCat("CommitBlob ", digest));
  return status_;
}

absl::Status BlobClient::DeleteBlob(absl::string_view) {
  return absl::UnimplementedError("this blob store keeps blobs for good");
}

absl::Status GrpcExtensionsClient::DeleteBlob(absl::string_view digest) {
  v1::DeleteBlobRequest req;
  req.set_digest(std::string(digest));
  v1::DeleteBlobResponse resp;
  CMIG_CALL(blobs, "BlobStore", DeleteBlob, req, resp, absl::StrCat("DeleteBlob ", digest));
  return status_;
}

absl::StatusOr<std::string> GrpcExtensionsClient::GetBlob(absl::string_view digest) {
  std::string out;
  int64_t total = -1;
  while (total < 0 || static_cast<int64_t>(out.size()) < total) {
    v1::GetBlobRequest req;
    req.set_digest(std::string(digest));
    req.set_offset(static_cast<int64_t>(out.size()));
    req.set_max_bytes(kChunkBytes);
    v1::GetBlobResponse resp;
    CMIG_CALL(blobs, "BlobStore", GetBlob, req, resp, absl::StrCat("GetBlob ", digest));
    if (!status_.ok()) return status_;
    total = resp.total_size();
    if (resp.data().empty() && static_cast<int64_t>(out.size()) < total) {
      return absl::DataLossError(absl::StrCat("blob ", digest, " ended early at ", out.size()));
    }
    out += resp.data();
  }
  return out;
}

absl::Status GrpcExtensionsClient::DeleteWorkflowDef(absl::string_view name, int version) {
  v1::DeleteWorkflowDefRequest req;
  req.set_name(std::string(name));
  req.set_version(version);
  v1::DeleteWorkflowDefResponse resp;
  CMIG_CALL(admin, "DefinitionAdmin", DeleteWorkflowDef, req, resp,
            absl::StrCat("DeleteWorkflowDef ", name, " version ", version));
  return status_;
}

absl::Status GrpcExtensionsClient::DeleteTaskDef(absl::string_view name) {
  ::conductor::grpc::metadata::DeleteTaskRequest req;
  req.set_task_type(std::string(name));
  ::conductor::grpc::metadata::DeleteTaskResponse resp;
  ::grpc::ClientContext context;
  Prepare(context);
  return FromGrpc(stubs_->metadata->DeleteTask(&context, req, &resp),
                  absl::StrCat("MetadataService.DeleteTask ", name, " at ", address_));
}

}  // namespace cmig::client
