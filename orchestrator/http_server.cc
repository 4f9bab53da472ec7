#include "orchestrator/http_server.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace cmig::orchestrator {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

// How long a connection may sit idle between requests, or take to send one or to read an
// answer, before it is closed.
constexpr std::chrono::seconds kIdleTimeout{60};
// Request line plus headers; Conductor's search queries travel in the URL.
constexpr uint32_t kMaxHeaderBytes = 64 << 10;

}  // namespace

std::optional<absl::string_view> HttpRequest::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return absl::string_view(v);
  }
  return std::nullopt;
}

std::string PercentDecode(absl::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

class SessionBase;

struct HttpServer::Impl {
  net::io_context ioc;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor{ioc};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  HttpHandler handler;
  int64_t max_body_bytes = 0;
  size_t max_connections = 0;
  int port = 0;
  std::vector<std::thread> threads;

  // Every open connection, so that Shutdown can close them while the io_context still exists;
  // answers hold only weak references.
  std::mutex mu;
  bool stopped = false;
  std::unordered_map<SessionBase*, std::shared_ptr<SessionBase>> sessions;

  void Accept();
  bool Stopped() {
    std::lock_guard<std::mutex> lock(mu);
    return stopped;
  }
  void Forget(SessionBase* s) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.erase(s);
  }
};

// One connection: reads a request, hands it to the handler, writes its answer, and reads the
// next while the client keeps the connection alive. Every step runs on the connection's strand.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  explicit SessionBase(HttpServer::Impl& server) : server_(server) {}
  virtual ~SessionBase() = default;
  virtual void Start() = 0;
  virtual void Close() = 0;

 protected:
  HttpServer::Impl& server_;
};

template <typename Stream>
class Session final : public SessionBase {
 public:
  Session(HttpServer::Impl& server, Stream stream)
      : SessionBase(server), stream_(std::move(stream)) {}

  void Start() override {
    net::dispatch(stream_.get_executor(), [self = Self()] { self->Begin(); });
  }

  void Close() override {
    net::post(stream_.get_executor(), [self = Self()] {
      beast::error_code ec;
      beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }

  void Begin() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      Read();
    } else {
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) return self->End();
        self->Read();
      });
    }
  }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(static_cast<uint64_t>(server_.max_body_bytes));
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return Write(
          HttpResponse{413, "application/json",
                       absl::StrCat(R"({"status":413,"message":"request body larger than )",
                                    server_.max_body_bytes, R"( bytes","retryable":false})")});
    }
    if (ec == http::error::header_limit) {
      keep_alive_ = false;
      return Write(HttpResponse{
          431, "application/json",
          R"({"status":431,"message":"request headers too large","retryable":false})"});
    }
    if (ec) return End();
    beast::get_lowest_layer(stream_).expires_never();
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    HttpRequest out;
    out.method = std::string(req.method_string());
    absl::string_view target(req.target().data(), req.target().size());
    size_t q = target.find('?');
    out.path = std::string(target.substr(0, q));
    if (q != absl::string_view::npos) out.query = std::string(target.substr(q + 1));
    for (const auto& field : req) {
      out.headers.emplace_back(absl::AsciiStrToLower(absl::string_view(field.name_string().data(),
                                                                       field.name_string().size())),
                               std::string(field.value()));
    }
    out.body = std::move(req.body());
    std::weak_ptr<Session> weak = Self();
    HttpServer::Impl* server = &server_;
    server_.handler(std::move(out), [weak, server](HttpResponse resp) {
      std::lock_guard<std::mutex> lock(server->mu);
      if (server->stopped) return;
      std::shared_ptr<Session> self = weak.lock();
      if (self == nullptr) return;
      net::post(self->stream_.get_executor(),
                [self, resp = std::move(resp)]() mutable { self->Write(std::move(resp)); });
    });
  }

  void Write(HttpResponse resp) {
    auto msg = std::make_shared<http::response<http::string_body>>();
    msg->version(11);
    msg->result(static_cast<http::status>(resp.status));
    msg->set(http::field::server, "cmig-orchestrator");
    if (!resp.content_type.empty()) msg->set(http::field::content_type, resp.content_type);
    for (const auto& [name, value] : resp.headers) msg->set(name, value);
    msg->body() = std::move(resp.body);
    msg->keep_alive(keep_alive_);
    msg->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_write(stream_, *msg, [self = Self(), msg](beast::error_code ec, size_t) {
      if (ec || !self->keep_alive_) return self->End();
      self->Read();
    });
  }

  void End() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
    server_.Forget(this);
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
};

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      // Shutdown closes the acceptor from another io thread: an accept that completes after that
      // (aborted, or EBADF when it was re-armed in between) must not be re-armed again.
      if (ec == net::error::operation_aborted || ec == net::error::bad_descriptor || Stopped()) {
        return;
      }
      spdlog::warn("http: accept failed: {}", ec.message());
      return Accept();
    }
    // Answers are single writes that a client waits for: Nagle's delay would only add latency.
    beast::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    std::shared_ptr<SessionBase> session;
    if (tls.has_value()) {
      session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          *this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls));
    } else {
      session =
          std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)));
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopped) return;
      if (sessions.size() >= max_connections) {
        spdlog::warn("http: {} connections open; closing a new one", sessions.size());
        session->Close();
        return Accept();
      }
      sessions.emplace(session.get(), session);
    }
    session->Start();
    Accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  // Joining threads can throw std::system_error only on a programming error; a destructor must
  // not let it out.
  try {
    Shutdown();
  } catch (const std::exception& e) {
    spdlog::error("http: shutdown failed: {}", e.what());
  }
}

int HttpServer::port() const { return impl_->port; }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpHandler handler) {
  const std::string& address = options.listen_address;
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listen address '", address, "' is not host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  beast::error_code ec;
  net::ip::address ip = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listen address '", address, "': '", host, "' is not an IP address"));
  }

  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  impl->max_body_bytes = options.max_body_bytes;
  impl->max_connections = static_cast<size_t>(std::max(1, options.max_connections));
  if (options.tls.has_value()) {
    impl->tls.emplace(ssl::context::tls_server);
    impl->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
    impl->tls->use_certificate_chain(
        net::buffer(options.tls->cert_pem.data(), options.tls->cert_pem.size()), ec);
    if (!ec) {
      impl->tls->use_private_key(
          net::buffer(options.tls->key_pem.data(), options.tls->key_pem.size()), ssl::context::pem,
          ec);
    }
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("the TLS certificate or key cannot be used for HTTPS: ", ec.message()));
    }
  }
  tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", address, ": ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->work.emplace(net::make_work_guard(impl->ioc));
  impl->Accept();
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Shutdown() {
  Impl& s = *impl_;
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.stopped) return;
    s.stopped = true;
    for (auto& [ptr, session] : s.sessions) open.push_back(session);
  }
  net::post(s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
  });
  for (auto& session : open) session->Close();
  open.clear();
  s.work.reset();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
  // Connections whose answer was still pending end here, while the io_context exists.
  std::unordered_map<SessionBase*, std::shared_ptr<SessionBase>> sessions;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    sessions.swap(s.sessions);
  }
  sessions.clear();
}

}  // namespace cmig::orchestrator
