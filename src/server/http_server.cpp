// Boost.Beast implementation of HttpServer: its state (the pimpl), the accept
// loop, and the sessions for plain HTTP over TCP or TLS. One io_context run
// by N threads; every connection lives on its own strand, so a session's
// state is only touched by one thread at a time. Handlers run on the io
// threads (they block that thread, not the others). Beside it, internal to
// the server core: request_parsing.* (Beast request -> HttpRequest, framing
// and Origin checks), rate_limiter.*, file_body.* (Range) and
// websocket_sessions.* (what an accepted upgrade becomes).
//
// Over 600 lines: HttpSession is one class template of some 430 lines (read,
// admit, answer, files, streamed bodies, close) that is kept whole here with
// the accept loop that instantiates it for TCP and TLS.
#include "server/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>  // websocket::is_upgrade

#include "server/file_body.hpp"
#include "server/http_log.hpp"
#include "server/multipart.hpp"  // media_type()
#include "server/rate_limiter.hpp"
#include "server/request_parsing.hpp"
#include "server/websocket_sessions.hpp"

namespace safelynx::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

using namespace detail;

// The server's state. Not HttpServer::Impl itself because the session
// classes below (in this anonymous namespace) could not name a private nested
// class; Impl just derives from it.
class ServerCore {
 public:
  ServerCore(HttpServerOptions opts, std::shared_ptr<const Router> r)
      : options(std::move(opts)),
        router(std::move(r)),
        limiter(options.rate_limit_per_second, options.rate_limit_burst) {}

  void start();
  void stop();

  const HttpServerOptions options;
  const std::shared_ptr<const Router> router;
  std::string websocket_path;
  WebSocketAuthorizer websocket_authorize;
  std::vector<std::shared_ptr<const IngestRoute>> ingest_routes;
  BodyAdmission body_admission;
  RateLimiter limiter;
  WebSocketHub websockets;
  std::atomic<std::uint16_t> bound_port{0};

 private:
  void do_accept();

  // Everything tied to one start()..stop(); destroyed in stop() (the acceptor
  // before the io_context, which destroys the sessions' pending handlers).
  struct Runtime {
    explicit Runtime(int concurrency) : ioc(concurrency) {}
    net::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::vector<std::thread> threads;
  };

  std::mutex lifecycle_mutex_;
  std::unique_ptr<ssl::context> tls_;
  std::unique_ptr<Runtime> runtime_;
};

using Impl = ServerCore;

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  template <class... StreamArgs>
  HttpSession(Impl& server, std::string client_address, StreamArgs&&... args)
      : server_(server), stream_(std::forward<StreamArgs>(args)...), client_address_(std::move(client_address)) {}

  void run() {
    // The socket was accepted onto this session's strand; start there.
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->on_run(); });
  }

 private:
  using Request = http::request<http::string_body>;

  void on_run() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->do_read();
      });
    } else {
      do_read();
    }
  }

  void do_read() {
    parser_.emplace();
    body_limit_ = server_.options.max_body_bytes;
    parser_->body_limit(body_limit_);
    parser_->header_limit(16 * 1024);
    // Bounds the whole request (headers and body): slow clients are dropped.
    beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&HttpSession::on_header, this->shared_from_this()));
  }

  // curl sends "Expect: 100-continue" before bodies over 1 KiB and waits a
  // second for the interim answer; give it at once. (A body over the limit
  // already failed in the header read, so that client gets 413 instead.)
  void on_header(beast::error_code ec, std::size_t bytes) {
    if (ec) {
      on_read(ec, bytes);
      return;
    }
    if (!admit_body()) return;
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                         parser_->get().version());
      http::async_write(stream_, *interim,
                        [self = this->shared_from_this(), interim](beast::error_code write_ec, std::size_t) {
                          if (!write_ec) self->read_body();
                        });
      return;
    }
    read_body();
  }

  // The framing checks and the server's BodyAdmission, before any body byte
  // is read; false when the request was answered (and the connection closes).
  bool admit_body() {
    const Request& req = parser_->get();
    if (auto error = framing_error(req)) {
      send_error(error->status(), error->code(), error->what());
      return false;
    }
    const auto length = parser_->content_length();
    const bool has_body = parser_->chunked() || (length && *length > 0);
    if (!has_body || !server_.body_admission) return true;
    std::size_t allowed = server_.options.max_body_bytes;
    try {
      const HttpRequest headers = to_http_request(req, client_address_, server_.options.trusted_proxies);
      allowed = std::min(allowed, server_.body_admission(headers));
    } catch (const ApiError& e) {
      send_error(e.status(), e.code(), e.what());
      return false;
    } catch (const std::exception& e) {
      log_line(std::string("body admission failed: ") + e.what());
      send_error(500, "internal_error", "internal server error");
      return false;
    }
    if (length && *length > allowed) {
      send_error(413, "payload_too_large",
                 "the request body exceeds the limit of " + std::to_string(allowed) + " bytes for this request");
      return false;
    }
    body_limit_ = allowed;
    parser_->body_limit(allowed);  // a chunked body is counted as it arrives
    return true;
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) {
      do_close(false);
      return;
    }
    if (ec == http::error::body_limit) {
      send_error(413, "payload_too_large",
                 "the request body exceeds the limit of " + std::to_string(body_limit_) + " bytes");
      return;
    }
    if (ec == http::error::header_limit) {
      send_error(431, "headers_too_large", "the request headers exceed 16384 bytes");
      return;
    }
    if (ec && ec.category() == make_error_code(http::error::bad_target).category()) {
      send_error(400, "bad_request", "malformed HTTP request: " + ec.message());
      return;
    }
    if (ec) return;  // timeout, reset, TLS truncation: drop the connection
    try {
      handle_request();
    } catch (const std::exception& e) {
      // Building the response failed (not the handler: that is caught below).
      log_line(std::string("error while answering a request: ") + e.what());
    }
  }

  void handle_request() {
    Request& req = parser_->get();
    HttpRequest request;
    try {
      request = to_http_request(req, client_address_, server_.options.trusted_proxies);
    } catch (const ApiError& e) {
      send_error(e.status(), e.code(), e.what());
      return;
    }
    if (const int wait = server_.limiter.acquire(request.client_address); wait > 0) {
      auto response = error_response(429, "rate_limited", "too many requests; retry in " + std::to_string(wait) + " s");
      response.headers.emplace_back("Retry-After", std::to_string(wait));
      send_response(std::move(response), req, false);
      return;
    }
    if (websocket::is_upgrade(req)) {
      handle_upgrade(request);
      return;
    }
    request.body = std::move(req.body());
    HttpResponse response;
    try {
      response = server_.router->dispatch(request);
    } catch (const ApiError& e) {
      response = error_response(e.status(), e.code(), e.what());
    } catch (const std::exception& e) {
      log_line("handler for " + request.method + " " + request.path + " failed: " + e.what());
      response = error_response(500, "internal_error", "internal server error");
    } catch (...) {
      log_line("handler for " + request.method + " " + request.path + " failed with a non-standard exception");
      response = error_response(500, "internal_error", "internal server error");
    }
    send_response(std::move(response), req, false);
  }

  void handle_upgrade(HttpRequest& request) {
    const bool broadcast_path = !server_.websocket_path.empty() && request.path == server_.websocket_path;
    std::shared_ptr<const IngestRoute> ingest;
    if (!broadcast_path) {
      for (const auto& route : server_.ingest_routes) {
        if (route->match(request.path, request.path_params)) {
          ingest = route;
          break;
        }
      }
    }
    if (!broadcast_path && !ingest) {
      send_error(404, "not_found", "no WebSocket endpoint at " + request.path);
      return;
    }
    if (!origin_allowed(request, server_.options.websocket_allowed_origins)) {
      send_error(403, "forbidden_origin",
                 "WebSocket connections from " + request.header("origin").substr(0, 100) +
                     " are not allowed (see server.allowed_origins)");
      return;
    }
    const WebSocketAuthorizer& authorize = ingest ? ingest->authorize : server_.websocket_authorize;
    WebSocketGrant grant;
    try {
      if (authorize) grant = authorize(request);
    } catch (const ApiError& e) {
      send_error(e.status(), e.code(), e.what());
      return;
    } catch (const std::exception& e) {
      log_line(std::string("WebSocket authorizer failed: ") + e.what());
      send_error(500, "internal_error", "internal server error");
      return;
    }
    // The connection now belongs to the WebSocket session; this one ends.
    if (ingest) {
      start_ingest_session(server_.websockets, std::move(stream_), std::move(request), std::move(ingest),
                           std::move(grant), parser_->release(), server_.options.max_body_bytes);
      return;
    }
    start_event_session(server_.websockets, std::move(stream_), client_address_, std::move(grant), parser_->release(),
                        server_.options.websocket_max_queued_messages);
  }

  // Errors the server itself detects: answered, then the connection closes
  // (the rest of the request may be unread or unparseable).
  void send_error(int status, const std::string& code, const std::string& message) {
    Request dummy;
    dummy.version(parser_ && parser_->is_header_done() ? parser_->get().version() : 11);
    send_response(error_response(status, code, message), dummy, true);
  }

  template <class Message>
  void apply_headers(Message& message, const HttpResponse& response) {
    for (const auto& [name, value] : response.headers) {
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding")) continue;
      message.insert(name, value);
    }
    message.set(http::field::server, "safelynx");
    if (!response.content_type.empty() && message.find(http::field::content_type) == message.end()) {
      message.set(http::field::content_type, response.content_type);
    }
    // API answers are per-user, per-moment data: never cache them.
    if (media_type(response.content_type) == "application/json" &&
        message.find(http::field::cache_control) == message.end()) {
      message.set(http::field::cache_control, "no-store");
    }
  }

  void send_response(HttpResponse&& response, const Request& req, bool force_close) {
    const bool close = force_close || !req.keep_alive();
    const bool head = req.method() == http::verb::head;
    if (response.status < 100 || response.status > 599) response = error_response(500, "internal_error", "bad status");
    if (response.stream) {
      send_stream(std::move(response), req, head);
      return;
    }
    if (response.file) {
      send_file(std::move(response), req, close, head);
      return;
    }
    // 1xx, 204 and 304 have no content and (RFC 9110 section 8.6) no
    // Content-Length: a 304's would describe the 200 it stands for.
    const bool no_content = response.status < 200 || response.status == 204 || response.status == 304;
    if (no_content) response.body.clear();
    if (head) {
      http::response<http::empty_body> message{static_cast<http::status>(response.status), req.version()};
      apply_headers(message, response);
      if (!no_content) message.content_length(response.body.size());
      message.keep_alive(!close);
      write(std::move(message), close, false);
      return;
    }
    http::response<http::string_body> message{static_cast<http::status>(response.status), req.version()};
    apply_headers(message, response);
    message.body() = std::move(response.body);
    if (!no_content) message.prepare_payload();
    message.keep_alive(!close);
    write(std::move(message), close, force_close);
  }

  void send_file(HttpResponse&& response, const Request& req, bool close, bool head) {
    const std::filesystem::path path = *response.file;
    std::error_code fs_error;
    beast::error_code ec;
    http::file_body::value_type file;
    if (std::filesystem::is_regular_file(path, fs_error)) file.open(path.c_str(), beast::file_mode::scan, ec);
    if (!file.is_open()) {
      send_response(error_response(404, "not_found", "file not found"), req, close);
      return;
    }
    const std::uint64_t size = file.size();
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    const auto range = req.find(http::field::range);
    const RangeKind kind = (range == req.end() || response.status != 200)
                               ? RangeKind::kNone
                               : parse_range(std::string_view(range->value().data(), range->value().size()), size,
                                             first, last);
    if (kind == RangeKind::kUnsatisfiable) {
      auto error = error_response(416, "range_not_satisfiable",
                                  "the requested range is outside the file of " + std::to_string(size) + " bytes");
      error.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      send_response(std::move(error), req, close);
      return;
    }
    response.headers.emplace_back("Accept-Ranges", "bytes");
    if (kind == RangeKind::kSatisfiable) {
      response.status = 206;
      response.headers.emplace_back(
          "Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
    }
    const std::uint64_t length = kind == RangeKind::kSatisfiable ? last - first + 1 : size;
    if (head) {
      http::response<http::empty_body> message{static_cast<http::status>(response.status), req.version()};
      apply_headers(message, response);
      message.content_length(length);
      message.keep_alive(!close);
      write(std::move(message), close, false);
    } else if (kind == RangeKind::kSatisfiable) {
      http::response<FileRangeBody> message{static_cast<http::status>(response.status), req.version()};
      apply_headers(message, response);
      message.body().file = std::move(file.file());
      message.body().offset = first;
      message.body().length = length;
      message.content_length(length);
      message.keep_alive(!close);
      write(std::move(message), close, false, file_timeout(length));
    } else {
      http::response<http::file_body> message{static_cast<http::status>(response.status), req.version()};
      apply_headers(message, response);
      message.body() = std::move(file);
      message.prepare_payload();
      message.keep_alive(!close);
      const std::uint64_t bytes = message.body().size();
      write(std::move(message), close, false, file_timeout(bytes));
    }
  }

  // A streamed response (HttpResponse::stream, e.g. live MJPEG): the head
  // without Content-Length and with "Connection: close", then the parts as
  // the producer makes them; the end of the body is the end of the
  // connection. The producer is polled on a timer on this session's strand,
  // never waited on, and only while no write is in flight. A read stays
  // pending meanwhile so that a client that goes away (EOF or reset) is
  // noticed even when the producer has nothing to send; the producer is then
  // released at once. Each write must finish within request_timeout (a
  // client that stops reading is dropped); the stream itself has no time
  // limit. HEAD: the head only.
  void send_stream(HttpResponse&& response, const Request& req, bool head) {
    std::shared_ptr<ResponseStream> producer = std::move(response.stream);
    http::response<http::empty_body> message{static_cast<http::status>(response.status), req.version()};
    apply_headers(message, response);
    message.set(http::field::cache_control, "no-cache, no-store");
    message.keep_alive(false);
    if (head) {
      producer.reset();
      write(std::move(message), true, false);
      return;
    }
    producer_ = std::move(producer);
    poll_timer_.emplace(stream_.get_executor());
    auto owned = std::make_shared<http::response<http::empty_body>>(std::move(message));
    beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
    http::async_write(stream_, *owned, [self = this->shared_from_this(), owned](beast::error_code ec, std::size_t) {
      if (ec) {
        self->abort_stream();
        return;
      }
      self->stream_state_ = StreamState::kStreaming;
      beast::get_lowest_layer(self->stream_).expires_never();  // the watch read has no deadline
      self->watch_client();
      self->poll_stream();
    });
  }

  void watch_client() {
    watching_ = true;
    stream_.async_read_some(net::buffer(watch_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->watching_ = false;
                              if (self->stream_state_ == StreamState::kStreaming) {
                                if (ec) {
                                  self->abort_stream();  // the client went away
                                } else {
                                  self->watch_client();  // bytes after the request: ignored
                                }
                              } else if (self->stream_state_ == StreamState::kEnding) {
                                self->stream_state_ = StreamState::kDone;
                                self->do_close(false);
                              }
                            });
  }

  void poll_stream() {
    if (stream_state_ != StreamState::kStreaming || !producer_) return;
    std::optional<std::string> part;
    try {
      part = producer_->next_part();
    } catch (const std::exception& e) {
      log_line("response stream failed: " + std::string(e.what()));
      part.reset();
    } catch (...) {
      log_line("response stream failed with a non-standard exception");
      part.reset();
    }
    if (!part) {
      end_stream();
      return;
    }
    if (part->empty()) {
      const auto interval = std::max(producer_->poll_interval(), std::chrono::milliseconds(1));
      poll_timer_->expires_after(interval);
      poll_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->poll_stream();
      });
      return;
    }
    auto owned = std::make_shared<std::string>(std::move(*part));
    beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
    net::async_write(stream_, net::buffer(*owned),
                     [self = this->shared_from_this(), owned](beast::error_code ec, std::size_t) {
                       if (ec) {
                         self->abort_stream();
                         return;
                       }
                       self->poll_stream();
                     });
  }

  // The producer ended the body: close the connection cleanly (after the
  // watch read, which is cancelled, has completed).
  void end_stream() {
    stream_state_ = StreamState::kEnding;
    producer_.reset();
    if (watching_) {
      beast::get_lowest_layer(stream_).cancel();
    } else {
      stream_state_ = StreamState::kDone;
      do_close(false);
    }
  }

  // The client went away or a write failed: release the producer now and
  // drop the connection (pending operations complete with errors).
  void abort_stream() {
    if (stream_state_ == StreamState::kDone) return;
    stream_state_ = StreamState::kDone;
    producer_.reset();
    if (poll_timer_) poll_timer_->cancel();
    beast::get_lowest_layer(stream_).close();
  }

  // A file may take longer than request_timeout to send (a recording to a
  // phone): allow for a client that reads at least 64 KiB/s.
  std::chrono::seconds file_timeout(std::uint64_t bytes) const {
    return server_.options.request_timeout + std::chrono::seconds(bytes / (64 * 1024));
  }

  template <class Body>
  void write(http::response<Body>&& message, bool close, bool linger,
             std::optional<std::chrono::seconds> timeout = std::nullopt) {
    // The message must outlive the write; the completion handler owns it.
    auto owned = std::make_shared<http::response<Body>>(std::move(message));
    beast::get_lowest_layer(stream_).expires_after(timeout.value_or(server_.options.request_timeout));
    http::async_write(stream_, *owned,
                      [self = this->shared_from_this(), owned, close, linger](beast::error_code ec, std::size_t) {
                        if (ec) return;  // the client went away
                        if (close) {
                          self->do_close(linger);
                        } else {
                          self->do_read();
                        }
                      });
  }

  // Ends the connection. With `linger`, unread request bytes are drained for
  // a moment first: closing a socket with unread data sends a TCP reset,
  // which can destroy the error response before the client reads it.
  void do_close(bool linger) {
    auto& lowest = beast::get_lowest_layer(stream_);
    if constexpr (kIsTls<Stream>) {
      (void)linger;
      lowest.expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (linger) {
        lowest.expires_after(std::chrono::seconds(2));
        drain();
      }
    }
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_buffer_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->drain();
    });
  }

  Impl& server_;
  Stream stream_;
  std::string client_address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::size_t body_limit_ = 0;  // of the request being read
  char drain_buffer_[4096];
  // A streamed response in progress (send_stream).
  enum class StreamState { kNone, kStreaming, kEnding, kDone };
  StreamState stream_state_ = StreamState::kNone;
  std::shared_ptr<ResponseStream> producer_;
  std::optional<net::steady_timer> poll_timer_;
  bool watching_ = false;
  char watch_buffer_[512];
};

void ServerCore::start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (runtime_) return;
  if (options.tls_certificate.has_value() != options.tls_private_key.has_value()) {
    throw std::runtime_error("TLS needs both a certificate and a private key; only one is configured");
  }
  if (options.tls_certificate) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    context->use_certificate_chain_file(options.tls_certificate->string(), ec);
    if (ec) {
      throw std::runtime_error("cannot load TLS certificate " + options.tls_certificate->string() + ": " + ec.message());
    }
    context->use_private_key_file(options.tls_private_key->string(), ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("cannot load TLS private key " + options.tls_private_key->string() + ": " + ec.message());
    }
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
      throw std::runtime_error("TLS private key " + options.tls_private_key->string() +
                               " does not match certificate " + options.tls_certificate->string());
    }
    tls_ = std::move(context);
  }

  const std::size_t thread_count = std::max<std::size_t>(1, options.threads);
  auto runtime = std::make_unique<Runtime>(static_cast<int>(thread_count));
  const std::string where = options.host + ":" + std::to_string(options.port);
  beast::error_code ec;
  tcp::endpoint endpoint;
  const auto address = net::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(runtime->ioc);
    const auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec || results.empty()) throw std::runtime_error("cannot resolve " + where + ": " + ec.message());
    endpoint = results.begin()->endpoint();
  }
  auto& acceptor = runtime->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  bound_port = acceptor.local_endpoint().port();

  runtime_ = std::move(runtime);
  do_accept();
  for (std::size_t i = 0; i < thread_count; ++i) {
    runtime_->threads.emplace_back([ioc = &runtime_->ioc] {
      // A handler that throws must not take the thread (and the server) down.
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          log_line(std::string("uncaught exception on an I/O thread: ") + e.what());
        }
      }
    });
  }
}

void ServerCore::do_accept() {
  // Each connection gets its own strand: its handlers never run concurrently.
  runtime_->acceptor.async_accept(net::make_strand(runtime_->ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !runtime_->acceptor.is_open()) return;
    if (ec) {
      log_line("accept failed: " + ec.message());
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // small responses on kept-alive connections
      auto remote = socket.remote_endpoint(ignored).address();
      if (remote.is_v6() && remote.to_v6().is_v4_mapped()) {
        remote = net::ip::make_address_v4(net::ip::v4_mapped, remote.to_v6());
      }
      if (tls_) {
        std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(*this, remote.to_string(),
                                                                             std::move(socket), *tls_)
            ->run();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(*this, remote.to_string(), std::move(socket))->run();
      }
    }
    do_accept();
  });
}

void ServerCore::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  if (!runtime_) return;
  for (const auto& thread : runtime_->threads) {
    // It would join itself and destroy the io_context it is running.
    if (thread.get_id() == std::this_thread::get_id()) {
      throw std::logic_error("HttpServer::stop() must not be called from a handler");
    }
  }
  runtime_->ioc.stop();
  for (auto& thread : runtime_->threads) thread.join();
  // After this, broadcast() finds no session, so nothing posts to the
  // io_context that is destroyed next.
  websockets.clear();
  // Destroys the acceptor, then the io_context with every pending handler,
  // which releases (and closes) all sessions.
  runtime_.reset();
  tls_.reset();
}

}  // namespace

class HttpServer::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {
  if (!impl_->router) throw std::invalid_argument("HttpServer needs a router");
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::enable_websocket(const std::string& path, WebSocketAuthorizer authorize) {
  impl_->websocket_path = path;
  impl_->websocket_authorize = std::move(authorize);
}

void HttpServer::enable_websocket_ingest(const std::string& pattern, WebSocketAuthorizer authorize,
                                         WebSocketMessageHandler on_message, WebSocketCloseHandler on_close) {
  impl_->ingest_routes.push_back(
      std::make_shared<const IngestRoute>(pattern, std::move(authorize), std::move(on_message), std::move(on_close)));
}

void HttpServer::set_body_admission(BodyAdmission admission) { impl_->body_admission = std::move(admission); }

void HttpServer::close_websockets(const std::string& owner, const std::string& reason) {
  impl_->websockets.close_websockets(owner, reason);
}

void HttpServer::start() { impl_->start(); }
void HttpServer::stop() { impl_->stop(); }
std::uint16_t HttpServer::port() const { return impl_->bound_port; }
void HttpServer::broadcast(const std::string& text) { impl_->websockets.broadcast(text); }
std::size_t HttpServer::websocket_client_count() const { return impl_->websockets.client_count(); }

}  // namespace safelynx::server
