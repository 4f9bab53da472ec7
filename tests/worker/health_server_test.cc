#include "worker/health_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/worker/health_probe.h"

namespace cmig::worker {
namespace {

using ::testing::HasSubstr;

TEST(GrpcHealthServerTest, ServesUntilToldToDrain) {
  auto health = GrpcHealthServer::Start("127.0.0.1", 0);
  ASSERT_TRUE(health.ok()) << health.status();
  const int port = (*health)->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(testing::HealthStatus(port), 1);  // SERVING
  (*health)->SetServing(false);
  EXPECT_EQ(testing::HealthStatus(port), 2);  // NOT_SERVING
  (*health)->Shutdown(absl::Seconds(1));
  EXPECT_EQ(testing::HealthStatus(port), -1);
}

TEST(GrpcHealthServerTest, AnswersNothingButHealth) {
  auto health = GrpcHealthServer::Start("127.0.0.1", 0);
  ASSERT_TRUE(health.ok()) << health.status();
  std::string reply;
  const ::grpc::Status status =
      testing::CallRaw((*health)->port(), "/conductor.grpc.tasks.TaskService/GetTask", "", &reply);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
}

TEST(GrpcHealthServerTest, PortTakenIsUnavailableNamingThePort) {
  // A listener without SO_REUSEPORT, which gRPC's own would need to share it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  auto health = GrpcHealthServer::Start("127.0.0.1", port);
  ::close(fd);
  EXPECT_THAT(health.status(), testing::StatusIs(absl::StatusCode::kUnavailable,
                                                 HasSubstr(absl::StrCat("127.0.0.1:", port))));
}

TEST(SelectPerQueuePollingTest, ChoosesPollUnlessTheOperatorChoseFirst) {
  ::unsetenv("GRPC_POLL_STRATEGY");
  SelectPerQueuePolling();
  EXPECT_STREQ(::getenv("GRPC_POLL_STRATEGY"), "poll");
  ::setenv("GRPC_POLL_STRATEGY", "epoll1", 1);
  SelectPerQueuePolling();
  EXPECT_STREQ(::getenv("GRPC_POLL_STRATEGY"), "epoll1");
  ::unsetenv("GRPC_POLL_STRATEGY");
}

}  // namespace
}  // namespace cmig::worker
