#include "worker/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "worker/metrics_server.h"

namespace cmig::worker {
namespace {

using ::testing::HasSubstr;

TEST(WorkerMetricsTest, RendersConductorSdkNamesPerTaskType) {
  WorkerMetrics m;
  m.RecordPoll("fetch", absl::Milliseconds(250), true);
  m.RecordPoll("fetch", absl::Milliseconds(750), false);
  m.RecordExecution("fetch", absl::Seconds(2), "");
  m.RecordExecution("fetch", absl::Seconds(1), "INVALID_ARGUMENT");
  m.RecordUpdateError("fetch");
  m.RecordQueueFull("apply");
  m.AddInFlight("apply", 2);
  m.RecordLeaseExtension("apply");
  const std::string text = m.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("# TYPE task_poll_counter counter\n"));
  EXPECT_THAT(text, HasSubstr("task_poll_counter{taskType=\"fetch\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("task_poll_error{taskType=\"fetch\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("task_poll_time_seconds_sum{taskType=\"fetch\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("task_poll_time_seconds_count{taskType=\"fetch\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("task_execute_time_seconds_sum{taskType=\"fetch\"} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("task_execute_error{taskType=\"fetch\",status=\"INVALID_ARGUMENT\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("task_update_error{taskType=\"fetch\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("task_execution_queue_full{taskType=\"apply\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE task_in_flight gauge\n"));
  EXPECT_THAT(text, HasSubstr("task_in_flight{taskType=\"apply\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("task_lease_extend{taskType=\"apply\"} 1\n"));
}

TEST(WorkerMetricsTest, EscapesLabelValues) {
  WorkerMetrics m;
  m.RecordUpdateError("we\"ird\\type");
  EXPECT_THAT(m.RenderPrometheus(), HasSubstr("taskType=\"we\\\"ird\\\\type\""));
}

std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\n\r\n";
  ::send(fd, req.data(), req.size(), 0);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(MetricsHttpServerTest, ServesMetricsAndHealth) {
  WorkerMetrics m;
  m.RecordPoll("fetch", absl::Milliseconds(1), true);
  MetricsHttpServer server([&m] { return m.RenderPrometheus(); });
  ASSERT_OK(server.Start("127.0.0.1", 0));
  ASSERT_GT(server.port(), 0);
  const std::string metrics = HttpGet(server.port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("HTTP/1.0 200 OK"));
  EXPECT_THAT(metrics, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(metrics, HasSubstr("task_poll_counter{taskType=\"fetch\"} 1"));
  EXPECT_THAT(HttpGet(server.port(), "/healthz"), HasSubstr("200 OK"));
  server.SetServing(false);
  EXPECT_THAT(HttpGet(server.port(), "/healthz"), HasSubstr("503"));
  EXPECT_THAT(HttpGet(server.port(), "/nope"), HasSubstr("404"));
  server.Stop();
}

}  // namespace
}  // namespace cmig::worker
