// The HTTP server on its own, driven by libcurl: answers given later from another thread,
// the connection limit, oversized bodies.
#include "orchestrator/http_server.h"

#include <curl/curl.h>

#include <mutex>
#include <vector>

#include "base/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/rest_testing.h"
#include "tests/testing/wait_for.h"

namespace cmig::orchestrator::test {
namespace {

// A handler that answers /now at once and keeps the answers of /park until Release().
class ParkingHandler {
 public:
  HttpHandler handler() {
    return [this](HttpRequest req, HttpRespond respond) {
      if (req.path == "/park") {
        std::lock_guard<std::mutex> lock(mu_);
        parked_.push_back(std::move(respond));
        return;
      }
      respond(HttpResponse{200, "text/plain", req.method + " " + req.path + " " + req.body});
    };
  }
  size_t parked() {
    std::lock_guard<std::mutex> lock(mu_);
    return parked_.size();
  }
  void Release() {
    std::vector<HttpRespond> answers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      answers.swap(parked_);
    }
    for (auto& respond : answers) respond(HttpResponse{200, "text/plain", "released"});
  }

 private:
  std::mutex mu_;
  std::vector<HttpRespond> parked_;
};

TEST(HttpServerTest, ConnectionsPastTheLimitAreClosedAndRoomComesBack) {
  ParkingHandler parking;
  HttpServerOptions options;
  options.max_connections = 2;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpServer> server,
                       HttpServer::Start(options, parking.handler()));
  const std::string base = absl::StrCat("http://127.0.0.1:", server->port());

  // Two connections each wait for a parked answer.
  CURLM* multi = curl_multi_init();
  RestClient client(base);
  HttpResult results[2];
  curl_slist* headers[2];
  CURL* handles[2];
  for (int i = 0; i < 2; ++i) {
    handles[i] = client.Prepare("GET", "/park", nullptr, &results[i], &headers[i]);
    curl_multi_add_handle(multi, handles[i]);
  }
  int running = 2;
  ASSERT_TRUE(cmig::testing::WaitFor([&] {
    curl_multi_perform(multi, &running);
    return parking.parked() == 2;
  }));

  // A third connection is closed without an answer.
  EXPECT_EQ(client.Get("/now").status, 0);

  // Once the parked answers are given, their connections end and new ones are served.
  parking.Release();
  while (running > 0) {
    curl_multi_perform(multi, &running);
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  for (int i = 0; i < 2; ++i) {
    RestClient::Collect(handles[i], CURLE_OK, &results[i]);
    EXPECT_EQ(results[i].body, "released");
    curl_multi_remove_handle(multi, handles[i]);
    curl_easy_cleanup(handles[i]);
    curl_slist_free_all(headers[i]);
  }
  curl_multi_cleanup(multi);
  HttpResult now;
  ASSERT_TRUE(cmig::testing::WaitFor([&] {
    now = client.Post("/now", "hello");
    return now.status == 200;
  }));
  EXPECT_EQ(now.body, "POST /now hello");
  server->Shutdown();
}

TEST(HttpServerTest, BodiesPastTheLimitAre413AndAnswersAfterShutdownAreDropped) {
  ParkingHandler parking;
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpServer> server,
                       HttpServer::Start(options, parking.handler()));
  RestClient client(absl::StrCat("http://127.0.0.1:", server->port()));
  EXPECT_EQ(client.Post("/now", std::string(1024, 'x')).status, 200);
  HttpResult big = client.Post("/now", std::string(1025, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("1024"), std::string::npos) << big.body;

  // An answer given after shutdown goes nowhere, and nothing breaks.
  CURLM* multi = curl_multi_init();
  HttpResult parked_result;
  curl_slist* headers = nullptr;
  CURL* parked = client.Prepare("GET", "/park", nullptr, &parked_result, &headers);
  curl_multi_add_handle(multi, parked);
  int running = 1;
  ASSERT_TRUE(cmig::testing::WaitFor([&] {
    curl_multi_perform(multi, &running);
    return parking.parked() == 1;
  }));
  server->Shutdown();
  parking.Release();
  curl_multi_remove_handle(multi, parked);
  curl_easy_cleanup(parked);
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
}

TEST(HttpServerTest, AnAddressThatIsNotHostPortIsRefused) {
  HttpServerOptions options;
  options.listen_address = "no-port";
  EXPECT_FALSE(HttpServer::Start(options, [](HttpRequest, HttpRespond) {}).ok());
  options.listen_address = "not-an-ip:80";
  EXPECT_FALSE(HttpServer::Start(options, [](HttpRequest, HttpRespond) {}).ok());
}

}  // namespace
}  // namespace cmig::orchestrator::test
