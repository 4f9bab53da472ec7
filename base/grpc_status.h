// The one place where grpc::Status and absl::Status meet.
//
// Server code returns ToGrpc(status) from a handler; client code turns a
// failed call into FromGrpc(status, "what was being done"). Codes map one to
// one (both follow google.rpc.Code), so retry decisions made on absl codes mean
// the same thing on either side of the wire.
#ifndef CMIG_BASE_GRPC_STATUS_H_
#define CMIG_BASE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cmig {

inline ::grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return ::grpc::Status::OK;
  return ::grpc::Status(static_cast<::grpc::StatusCode>(s.code()), std::string(s.message()));
}

// `context` names the call ("GetWorkflow order_flow v2 at 127.0.0.1:8090") and
// prefixes the message so an operator can see what failed where.
absl::Status FromGrpc(const ::grpc::Status& s, absl::string_view context);

}  // namespace cmig

#endif  // CMIG_BASE_GRPC_STATUS_H_
