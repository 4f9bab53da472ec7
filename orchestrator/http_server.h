// An HTTP/1.1 server (plaintext or TLS) that hands each request to one handler and lets the
// handler answer later, from any thread: a long poll parks its request in the engine and ties
// no thread while it waits.
//
// Built on Boost.Beast over Boost.Asio (Debian's libboost-dev): its asynchronous model is what
// lets hundreds of parked polls share two threads, which a thread-per-connection server such
// as cpp-httplib cannot do; it speaks TLS through Asio's OpenSSL streams, the OpenSSL the rest
// of the project already links. Beast stays inside http_server.cc: this header and its users
// see plain structs, so only one file pays Beast's compile time.
//
//   HttpServerOptions options;
//   options.listen_address = "127.0.0.1:0";
//   ASSIGN_OR_RETURN(auto server, HttpServer::Start(options, [](HttpRequest req, HttpRespond
//   respond) {
//     respond(HttpResponse{200, "text/plain", "hello"});
//   }));
//   ... server->port() ...
//   server->Shutdown();
#ifndef CMIG_ORCHESTRATOR_HTTP_SERVER_H_
#define CMIG_ORCHESTRATOR_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "orchestrator/auth.h"

namespace cmig::orchestrator {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-encoded, without the query: "/api/workflow/abc"
  std::string query;   // percent-encoded, without '?': "includeTasks=false"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;

  // The first header named `name` (lower-case), nullopt when absent.
  std::optional<absl::string_view> Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // empty with an empty body
  std::string body;
  // Further headers, as (name, value).
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers a request; call exactly once, from any thread. Calls after the server shut down are
// dropped.
using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest, HttpRespond)>;

struct HttpServerOptions {
  std::string listen_address = "127.0.0.1:0";  // host:port; port 0 picks a free port
  std::optional<TlsKeyPair> tls;               // set = HTTPS only
  int threads = 2;
  // A request whose body is larger is answered 413 without reaching the handler.
  int64_t max_body_bytes = int64_t{64} << 20;
  // Open connections at most; one more is closed as soon as it is accepted, so that clients
  // that open connections without end cannot exhaust the process's file descriptors.
  int max_connections = 4096;
};

class HttpServer {
 public:
  // INVALID_ARGUMENT for an address that is not host:port or a TLS key pair OpenSSL refuses;
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // Stops accepting, closes every connection and joins the threads. Answers given after this
  // are dropped. Idempotent.
  void Shutdown();

  struct Impl;  // http_server.cc's, named here so its connections can reach it

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes %XX escapes (and '+' as space when `plus_is_space`, as in a query). Malformed escapes
// are kept as they are.
std::string PercentDecode(absl::string_view s, bool plus_is_space);

}  // namespace cmig::orchestrator

#endif  // CMIG_ORCHESTRATOR_HTTP_SERVER_H_
