#include "worker/health_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <stdlib.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cmig::worker {

void SelectPerQueuePolling() { setenv("GRPC_POLL_STRATEGY", "poll", /*overwrite=*/0); }

absl::StatusOr<std::unique_ptr<GrpcHealthServer>> GrpcHealthServer::Start(
    const std::string& address, int port) {
  std::unique_ptr<GrpcHealthServer> health(new GrpcHealthServer());
  ::grpc::EnableDefaultHealthCheckService(true);
  ::grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&health->unimplemented_);
  builder.AddListeningPort(absl::StrCat(address, ":", port), ::grpc::InsecureServerCredentials(),
                           &health->port_);
  health->server_ = builder.BuildAndStart();
  if (health->server_ == nullptr || health->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve grpc health on ", address, ":", port));
  }
  return health;
}

GrpcHealthServer::~GrpcHealthServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

void GrpcHealthServer::SetServing(bool serving) {
  server_->GetHealthCheckService()->SetServingStatus(serving);
}

void GrpcHealthServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
}

}  // namespace cmig::worker
