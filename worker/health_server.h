// The worker's grpc.health.v1 service, on a port of its own, and the choice of
// gRPC polling engine that keeps it cheap.
//
// Thread-safety: Start/Shutdown from one thread; SetServing from any.
#ifndef CMIG_WORKER_HEALTH_SERVER_H_
#define CMIG_WORKER_HEALTH_SERVER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cmig::worker {

// Makes gRPC poll each completion queue's own sockets with poll(2) instead of
// one epoll set shared by the whole process, unless GRPC_POLL_STRATEGY is
// already set. Call it first thing in main, before anything touches gRPC.
//
// Why: with the shared set, whichever thread waits on any queue reads the
// sockets of all of them and hands each completion to its owner's thread. The
// health server's callback threads then do much of the worker's socket work
// and hand it back: worker_bench measured a tenth to a fifth more CPU per task
// with the health server than without. Polling per queue leaves each thread
// its own sockets; the health server then measured at 0 to 9%.
void SelectPerQueuePolling();

class GrpcHealthServer {
 public:
  // Serves grpc.health.v1 (status SERVING for every service name) on
  // `address`:`port`, port 0 meaning any free one. Unavailable naming the
  // port when it cannot bind.
  static absl::StatusOr<std::unique_ptr<GrpcHealthServer>> Start(const std::string& address,
                                                                 int port);
  ~GrpcHealthServer();  // Shuts down at once.
  GrpcHealthServer(const GrpcHealthServer&) = delete;
  GrpcHealthServer& operator=(const GrpcHealthServer&) = delete;

  int port() const { return port_; }
  // NOT_SERVING once false: a draining worker takes no new work.
  void SetServing(bool serving);
  // Ends open Watch streams and calls, waiting at most `grace`.
  void Shutdown(absl::Duration grace);

 private:
  GrpcHealthServer() = default;

  // gRPC adds the default health service in Server::Start, after ServerBuilder
  // has refused a server with nothing else to serve. The generic callback
  // service passes that check and answers every other method UNIMPLEMENTED.
  // Declared before server_, which must not outlive it.
  ::grpc::CallbackGenericService unimplemented_;
  std::unique_ptr<::grpc::Server> server_;
  int port_ = 0;
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_HEALTH_SERVER_H_
