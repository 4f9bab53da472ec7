// A minimal HTTP/1.0 listener for scraping: GET /metrics returns the
// Prometheus text of a WorkerMetrics, GET /healthz returns "ok" while the
// worker runs and 503 once it drains. Anything else is 404.
//
// One thread serves connections one at a time; a scrape is a few KB, and a
// client that stalls is cut off after a short read timeout.
//
// Thread-safety: Start/Stop from one thread; SetServing from any.
#ifndef CMIG_WORKER_METRICS_SERVER_H_
#define CMIG_WORKER_METRICS_SERVER_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace cmig::worker {

class MetricsHttpServer {
 public:
  // `render` produces the /metrics body; called on the server thread.
  explicit MetricsHttpServer(std::function<std::string()> render);
  ~MetricsHttpServer();  // Stops.
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Binds `address` ("0.0.0.0", "127.0.0.1") and `port` (0: any free port)
  // and starts serving. Unavailable naming the port when it cannot bind.
  absl::Status Start(const std::string& address, int port);
  // The bound port, after Start.
  int port() const { return port_; }
  void SetServing(bool serving) { serving_ = serving; }
  void Stop();

 private:
  void Serve();

  const std::function<std::string()> render_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> serving_{true};
  std::thread thread_;
};

}  // namespace cmig::worker

#endif  // CMIG_WORKER_METRICS_SERVER_H_
