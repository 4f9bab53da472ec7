// A client of grpc.health.v1 for tests, encoded by hand: there is no generated
// health stub in this build.
#ifndef CMIG_TESTS_WORKER_HEALTH_PROBE_H_
#define CMIG_TESTS_WORKER_HEALTH_PROBE_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cmig::testing {

// Calls `method` on 127.0.0.1:port with the serialized `request`; fills
// `response` with the reply's bytes.
inline ::grpc::Status CallRaw(int port, const std::string& method, const std::string& request,
                              std::string* response) {
  auto channel =
      ::grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), ::grpc::InsecureChannelCredentials());
  ::grpc::GenericStub stub(channel);
  ::grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  ::grpc::CompletionQueue cq;
  ::grpc::Slice request_slice(request);
  ::grpc::ByteBuffer request_buffer(&request_slice, 1);
  auto call = stub.PrepareUnaryCall(&ctx, method, request_buffer, &cq);
  call->StartCall();
  ::grpc::ByteBuffer reply;
  ::grpc::Status status;
  call->Finish(&reply, &status, &status);
  void* tag = nullptr;
  bool ok = false;
  const bool got = cq.Next(&tag, &ok);
  cq.Shutdown();
  for (void* t; cq.Next(&t, &ok);) {
  }
  if (!got) return ::grpc::Status(::grpc::StatusCode::UNKNOWN, "no completion");
  if (!status.ok()) return status;
  std::vector<::grpc::Slice> slices;
  if (!reply.Dump(&slices).ok()) return ::grpc::Status(::grpc::StatusCode::UNKNOWN, "bad reply");
  response->clear();
  for (const ::grpc::Slice& slice : slices) {
    response->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return status;
}

// grpc.health.v1.Health/Check for the whole server (service ""): the
// response's status (1 SERVING, 2 NOT_SERVING), or -1 if the call failed.
inline int HealthStatus(int port) {
  std::string bytes;
  // HealthCheckRequest{service: ""} has no bytes.
  if (!CallRaw(port, "/grpc.health.v1.Health/Check", "", &bytes).ok()) return -1;
  // HealthCheckResponse{status}: field 1, varint; UNKNOWN (0) is omitted.
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_WORKER_HEALTH_PROBE_H_
