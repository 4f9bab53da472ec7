#include "base/grpc_status.h"

#include "absl/strings/str_cat.h"

namespace cmig {

absl::Status FromGrpc(const ::grpc::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string message = s.error_message();
  if (s.error_code() == ::grpc::StatusCode::UNAVAILABLE && message.empty()) {
    message = "server unreachable";
  }
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      context.empty() ? message : absl::StrCat(context, ": ", message));
}

}  // namespace cmig
