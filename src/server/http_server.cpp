// Boost.Beast implementation of HttpServer. One io_context run by N threads;
// every connection lives on its own strand, so a session's state is only
// touched by one thread at a time. Handlers run on the io threads (they block
// that thread, not the others).
#include "server/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "server/multipart.hpp"  // media_type()

namespace safelynx::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// One write per line so concurrent threads do not interleave their output.
void log_line(const std::string& line) {
  std::cerr << ("[safelynx http] " + line + "\n") << std::flush;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes; false on a malformed escape or an encoded NUL (which could
// truncate paths handed to C APIs).
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = hex_value(in[i + 1]);
      const int low = hex_value(in[i + 2]);
      if (high < 0 || low < 0) return false;
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return false;
      out += decoded;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The client behind trusted proxies: walking X-Forwarded-For from the right
// (each proxy appends the address it saw), the first that is not a trusted
// proxy. `peer` when it is no trusted proxy itself or sent no header.
std::string forwarded_client(const std::string& peer, const std::string& forwarded_for,
                             const std::vector<std::string>& trusted) {
  const auto is_trusted = [&](std::string_view address) {
    return std::find(trusted.begin(), trusted.end(), address) != trusted.end();
  };
  if (!is_trusted(peer) || forwarded_for.empty()) return peer;
  std::string_view rest(forwarded_for);
  std::string client = peer;
  while (!rest.empty()) {
    const std::size_t comma = rest.rfind(',');
    const std::string_view entry = trimmed(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    if (entry.empty() || entry.size() > 64) break;
    client = std::string(entry);
    if (!is_trusted(entry)) break;
  }
  return client;
}

// Fills method, path, query, headers and client address from a Beast request
// (not the body). Throws ApiError(400) for a target it cannot decode.
HttpRequest to_http_request(const http::request<http::string_body>& req, const std::string& client_address,
                            const std::vector<std::string>& trusted_proxies) {
  HttpRequest request;
  request.method = std::string(req.method_string());
  request.client_address = client_address;
  const std::string_view target(req.target().data(), req.target().size());
  if (target.empty() || target.front() != '/') {
    throw ApiError(400, "bad_request", "the request target must be an absolute path");
  }
  const std::size_t question = target.find('?');
  if (!percent_decode(target.substr(0, question), false, request.path)) {
    throw ApiError(400, "bad_request", "the request path has an invalid percent escape");
  }
  if (question != std::string_view::npos) {
    std::string_view rest = target.substr(question + 1);
    const std::size_t hash = rest.find('#');
    if (hash != std::string_view::npos) rest = rest.substr(0, hash);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (pair.empty()) continue;
      const std::size_t equals = pair.find('=');
      std::string name;
      std::string value;
      if (!percent_decode(pair.substr(0, equals), true, name) ||
          (equals != std::string_view::npos && !percent_decode(pair.substr(equals + 1), true, value))) {
        throw ApiError(400, "bad_request", "the query string has an invalid percent escape");
      }
      request.query.emplace(std::move(name), std::move(value));
    }
  }
  for (const auto& field : req) {
    std::string name = lowercase(std::string_view(field.name_string().data(), field.name_string().size()));
    const std::string value(field.value());
    // Repeated headers are combined as RFC 9110 section 5.3 allows.
    auto [it, inserted] = request.headers.emplace(std::move(name), value);
    if (!inserted) it->second += ", " + value;
  }
  if (!trusted_proxies.empty())
    request.client_address = forwarded_client(client_address, request.header("x-forwarded-for"), trusted_proxies);
  return request;
}

// A body type that streams [offset, offset + length) of a file, for 206
// responses (http::file_body always sends the whole file).
struct FileRangeBody {
  struct value_type {
    beast::file file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;

    template <bool isRequest, class Fields>
    writer(http::header<isRequest, Fields>&, value_type& body) : body_(body), remain_(body.length) {}

    void init(beast::error_code& ec) { body_.file.seek(body_.offset, ec); }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (remain_ == 0) return boost::none;
      const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(remain_, sizeof buffer_));
      const std::size_t read = body_.file.read(buffer_, amount, ec);
      if (ec) return boost::none;
      if (read == 0) {  // the file shrank under us
        ec = net::error::eof;
        return boost::none;
      }
      remain_ -= read;
      return {{const_buffers_type(buffer_, read), remain_ > 0}};
    }

   private:
    value_type& body_;
    std::uint64_t remain_;
    char buffer_[16 * 1024];
  };
};

enum class RangeKind { kNone, kSatisfiable, kUnsatisfiable };

bool parse_u64(std::string_view text, std::uint64_t& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

// A single "bytes=a-b", "bytes=a-" or "bytes=-n" range. Several ranges or an
// invalid header are ignored (a full 200 answer), as RFC 9110 allows.
RangeKind parse_range(std::string_view header, std::uint64_t size, std::uint64_t& first, std::uint64_t& last) {
  constexpr std::string_view kPrefix = "bytes=";
  if (header.size() <= kPrefix.size() || lowercase(header.substr(0, kPrefix.size())) != kPrefix) {
    return RangeKind::kNone;
  }
  const std::string_view spec = header.substr(kPrefix.size());
  if (spec.find(',') != std::string_view::npos) return RangeKind::kNone;
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeKind::kNone;
  const std::string_view a = spec.substr(0, dash);
  const std::string_view b = spec.substr(dash + 1);
  if (a.empty()) {
    std::uint64_t suffix = 0;
    if (!parse_u64(b, suffix)) return RangeKind::kNone;
    if (suffix == 0 || size == 0) return RangeKind::kUnsatisfiable;
    first = size - std::min(suffix, size);
    last = size - 1;
    return RangeKind::kSatisfiable;
  }
  if (!parse_u64(a, first)) return RangeKind::kNone;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!parse_u64(b, last) || last < first) {
    return RangeKind::kNone;
  }
  if (first >= size) return RangeKind::kUnsatisfiable;
  last = std::min(last, size - 1);
  return RangeKind::kSatisfiable;
}

// A per-address token bucket. Memory is bounded: a bucket that has refilled
// completely is equivalent to no bucket, so such entries are dropped when the
// map grows large.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst)
      : rate_(rate), burst_(rate > 0 ? std::max(1.0, burst > 0 ? burst : rate) : 0) {}

  // 0 when the request may proceed, else the seconds to wait (>= 1).
  int acquire(const std::string& key) {
    if (rate_ <= 0) return 0;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= kMaxBuckets) evict(now);
      it = buckets_.emplace(key, Bucket{burst_, now}).first;
    }
    Bucket& bucket = it->second;
    bucket.tokens = refilled(bucket, now);
    bucket.last = now;
    if (bucket.tokens >= 1.0) {
      bucket.tokens -= 1.0;
      return 0;
    }
    return std::max(1, static_cast<int>(std::ceil((1.0 - bucket.tokens) / rate_)));
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  static constexpr std::size_t kMaxBuckets = 10000;

  double refilled(const Bucket& bucket, std::chrono::steady_clock::time_point now) const {
    const double elapsed = std::chrono::duration<double>(now - bucket.last).count();
    return std::min(burst_, bucket.tokens + elapsed * rate_);
  }

  void evict(std::chrono::steady_clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = refilled(it->second, now) >= burst_ ? buckets_.erase(it) : std::next(it);
    }
    // Still full: that many addresses are all active at once (a distributed
    // flood). Forgetting them is better than unbounded memory.
    if (buckets_.size() >= kMaxBuckets) buckets_.clear();
  }

  const double rate_;
  const double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// A WebSocket connection that can be closed from another thread (its grant
// was revoked): the close is posted to the connection's strand.
class WsClosable {
 public:
  virtual ~WsClosable() = default;
  virtual void close_for(std::string reason) = 0;
};

class WsBase : public WsClosable {
 public:
  virtual void deliver(std::shared_ptr<const std::string> message) = 0;
};

// Boost 1.74's beast::iequals takes boost::string_view, not std's.
bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// "http://Host:port" and "https://host" both name the host "host:port"/"host".
std::string_view origin_host(std::string_view origin) {
  for (std::string_view scheme : {"http://", "https://"})
    if (origin.size() > scheme.size() && same_ignoring_case(origin.substr(0, scheme.size()), scheme))
      return origin.substr(scheme.size());
  return {};
}

// The upgrade's Origin is the server's own (its host is the Host header; the
// scheme is not compared, so a TLS-terminating proxy that keeps Host works)
// or one configured; no Origin at all is not a browser.
bool origin_allowed(const HttpRequest& request, const std::vector<std::string>& allowed) {
  const std::string& origin = request.header("origin");
  if (origin.empty()) return true;
  for (const std::string& entry : allowed)
    if (same_ignoring_case(entry, origin)) return true;
  const std::string_view host = origin_host(origin);
  const std::string& own = request.header("host");
  return !host.empty() && !own.empty() && same_ignoring_case(host, own);
}

// Transfer-Encoding other than a single "chunked" (RFC 9112 section 6): an
// unknown coding is 501, a coding together with Content-Length or in an
// HTTP/1.0 request is faulty framing (a request smuggling attempt). Beast
// would read "gzip" as "no body" and the body as the next request.
std::optional<ApiError> framing_error(const http::request<http::string_body>& req) {
  const auto coding = req.find(http::field::transfer_encoding);
  if (coding == req.end()) return std::nullopt;
  if (req.find(http::field::content_length) != req.end())
    return ApiError(400, "bad_request", "a request must not have both Transfer-Encoding and Content-Length");
  if (req.version() < 11) return ApiError(400, "bad_request", "Transfer-Encoding is not allowed in HTTP/1.0");
  const std::string_view value = trimmed(std::string_view(coding->value().data(), coding->value().size()));
  if (!same_ignoring_case(value, "chunked") || req.count(http::field::transfer_encoding) > 1)
    return ApiError(501, "not_implemented",
                    "Transfer-Encoding '" + std::string(value.substr(0, 64)) + "' is not supported; send chunked or Content-Length");
  return std::nullopt;
}

// Closes the connection with 1008 and the reason when the grant's expiry
// passes. Holds the session weakly: a closed session is not kept alive.
template <class Session>
void arm_expiry(net::steady_timer& timer, const WebSocketGrant& grant, const std::shared_ptr<Session>& session) {
  if (!grant.expires_at) return;
  const auto left = *grant.expires_at - std::chrono::system_clock::now();
  timer.expires_after(std::max<std::chrono::steady_clock::duration>(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(left), std::chrono::milliseconds(0)));
  timer.async_wait([weak = std::weak_ptr<Session>(session)](beast::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->close_for("the token has expired; log in again");
  });
}

// A WebSocket path pattern whose messages go to a handler (enable_websocket_ingest).
struct IngestRoute {
  PathPattern pattern;
  WebSocketAuthorizer authorize;
  HttpServer::WebSocketMessageHandler on_message;
  HttpServer::WebSocketCloseHandler on_close;

  IngestRoute(const std::string& path_pattern, WebSocketAuthorizer authorize_request,
              HttpServer::WebSocketMessageHandler message_handler, HttpServer::WebSocketCloseHandler close_handler)
      : pattern(path_pattern),
        authorize(std::move(authorize_request)),
        on_message(std::move(message_handler)),
        on_close(std::move(close_handler)) {
    if (!on_message) throw std::invalid_argument("WebSocket ingest on " + path_pattern + " needs a message handler");
  }

  // True when `path` matches; the parameters go into `params`.
  bool match(const std::string& path, std::map<std::string, std::string>& params) const {
    const std::vector<std::string> segments = PathPattern::split(path);
    if (!pattern.matches(segments)) return false;
    params = pattern.parameters(segments);
    return true;
  }
};

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
  void broadcast(const std::string& text);
  std::size_t websocket_client_count() const;

  void register_ws(const std::shared_ptr<WsBase>& session) {
    std::lock_guard lock(hub_mutex_);
    hub_[session.get()] = session;
  }
  void unregister_ws(const WsBase* session) {
    std::lock_guard lock(hub_mutex_);
    hub_.erase(session);
  }
  // Every accepted WebSocket (broadcast or ingest), by its grant's owner.
  void register_grant(const std::string& owner, const std::shared_ptr<WsClosable>& session) {
    if (owner.empty()) return;
    std::lock_guard lock(hub_mutex_);
    std::erase_if(grants_, [](const auto& entry) { return entry.second.expired(); });
    grants_.emplace(owner, session);
  }
  void close_websockets(const std::string& owner, const std::string& reason) {
    std::vector<std::shared_ptr<WsClosable>> sessions;
    {
      std::lock_guard lock(hub_mutex_);
      auto [first, last] = grants_.equal_range(owner);
      for (auto it = first; it != last; ++it)
        if (auto session = it->second.lock()) sessions.push_back(std::move(session));
      grants_.erase(owner);
    }
    for (const auto& session : sessions) session->close_for(reason);
  }

  const HttpServerOptions options;
  const std::shared_ptr<const Router> router;
  std::string websocket_path;
  WebSocketAuthorizer websocket_authorize;
  std::vector<std::shared_ptr<const IngestRoute>> ingest_routes;
  BodyAdmission body_admission;
  RateLimiter limiter;
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
  // The hub holds weak references; sessions remove themselves when they end,
  // and broadcast() prunes any that expired without doing so.
  mutable std::mutex hub_mutex_;
  std::unordered_map<const WsBase*, std::weak_ptr<WsBase>> hub_;
  std::unordered_multimap<std::string, std::weak_ptr<WsClosable>> grants_;
  std::unique_ptr<Runtime> runtime_;
};

using Impl = ServerCore;

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

template <class Stream>
class WsSession : public WsBase, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Impl& server, Stream&& stream, std::string client_address, WebSocketGrant grant)
      : server_(server),
        ws_(std::move(stream)),
        client_address_(std::move(client_address)),
        grant_(std::move(grant)),
        expiry_(ws_.get_executor()) {}

  void run(http::request<http::string_body>&& request) {
    upgrade_request_ = std::move(request);  // must outlive async_accept
    // The websocket stream has its own timeouts (handshake, idle pings).
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "safelynx"); }));
    ws_.read_message_max(64 * 1024);  // clients have nothing large to say
    // Registered before the handshake, so a revocation that comes while it
    // is under way still closes this socket once it is open.
    server_.register_grant(grant_.owner, this->shared_from_this());
    ws_.async_accept(upgrade_request_, beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
  }

  void deliver(std::shared_ptr<const std::string> message) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), message = std::move(message)]() mutable {
      self->on_deliver(std::move(message));
    });
  }

  void close_for(std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), reason = std::move(reason)]() mutable {
      self->close_with_policy_error(std::move(reason));
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    accepted_ = true;
    if (pending_close_) {
      close_with_policy_error(std::move(*pending_close_));
      return;
    }
    server_.register_ws(this->shared_from_this());
    arm_expiry(expiry_, grant_, this->shared_from_this());
    do_read();
  }

  // A close asked for during the handshake waits for its end.
  void close_with_policy_error(std::string reason) {
    if (!accepted_) {
      pending_close_ = std::move(reason);
      return;
    }
    if (closed_) return;
    shut(false);
    if (reason.size() > 120) reason.resize(120);  // a close frame's reason holds at most 123 bytes
    ws_.async_close(websocket::close_reason(websocket::close_code::policy_error, reason),
                    [self = this->shared_from_this()](beast::error_code) {});
  }

  // Client messages are ignored, but reading keeps pings, pongs and the
  // close handshake working and notices disconnects.
  void do_read() {
    ws_.async_read(read_buffer_, beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      shut(false);
      return;
    }
    read_buffer_.consume(read_buffer_.size());
    do_read();
  }

  void on_deliver(std::shared_ptr<const std::string> message) {
    if (closed_) return;
    if (queue_.size() >= std::max<std::size_t>(1, server_.options.websocket_max_queued_messages)) {
      log_line("websocket client " + client_address_ + " is " + std::to_string(queue_.size()) +
               " messages behind; disconnecting it");
      shut(true);
      return;
    }
    queue_.push_back(std::move(message));
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    queue_.pop_front();
    if (ec) {
      shut(true);
      return;
    }
    if (!closed_ && !queue_.empty()) do_write();
  }

  // Leaves the hub; with `close_socket`, also drops the connection (pending
  // operations complete with errors and release the session).
  void shut(bool close_socket) {
    if (!closed_) server_.unregister_ws(this);
    closed_ = true;
    expiry_.cancel();
    // The message being written must stay alive until its write completes.
    while (queue_.size() > (writing_ ? 1U : 0U)) queue_.pop_back();
    if (close_socket) beast::get_lowest_layer(ws_).close();
  }

  Impl& server_;
  websocket::stream<Stream> ws_;
  std::string client_address_;
  http::request<http::string_body> upgrade_request_;
  WebSocketGrant grant_;
  net::steady_timer expiry_;
  beast::flat_buffer read_buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::optional<std::string> pending_close_;
  bool accepted_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

// An inbound WebSocket (enable_websocket_ingest): every message goes to the
// route's handler, in order, on this connection's strand. Not in the hub, so
// it receives no broadcasts. on_close runs once, when the session is
// destroyed after a successful handshake: the client closed or vanished, the
// connection failed, or the server stopped.
template <class Stream>
class IngestSession : public WsClosable, public std::enable_shared_from_this<IngestSession<Stream>> {
 public:
  IngestSession(Impl& server, Stream&& stream, HttpRequest request, std::shared_ptr<const IngestRoute> route,
                WebSocketGrant grant)
      : server_(server),
        ws_(std::move(stream)),
        request_(std::move(request)),
        route_(std::move(route)),
        grant_(std::move(grant)),
        expiry_(ws_.get_executor()) {}

  ~IngestSession() {
    if (!accepted_ || !route_->on_close) return;
    try {
      route_->on_close(request_);
    } catch (const std::exception& e) {
      log_line("WebSocket close handler for " + request_.path + " failed: " + e.what());
    } catch (...) {
      log_line("WebSocket close handler for " + request_.path + " failed");
    }
  }
  IngestSession(const IngestSession&) = delete;
  IngestSession& operator=(const IngestSession&) = delete;

  void run(http::request<http::string_body>&& upgrade) {
    upgrade_ = std::move(upgrade);  // must outlive async_accept
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "safelynx"); }));
    ws_.read_message_max(std::max<std::size_t>(1, server_.options.max_body_bytes));
    // Registered before the handshake, as WsSession does.
    server_.register_grant(grant_.owner, this->shared_from_this());
    ws_.async_accept(upgrade_, beast::bind_front_handler(&IngestSession::on_accept, this->shared_from_this()));
  }

  void close_for(std::string reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), reason = std::move(reason)]() mutable {
      self->close_with(websocket::close_code::policy_error, std::move(reason));
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    accepted_ = true;
    if (pending_close_) {
      close_with(websocket::close_code::policy_error, std::move(*pending_close_));
      return;
    }
    arm_expiry(expiry_, grant_, this->shared_from_this());
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&IngestSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      expiry_.cancel();
      return;  // closed, too big, timed out or reset: the session ends (on_close in the destructor)
    }
    if (closing_) return;  // a close is under way: what the client still sent is not taken
    const auto data = buffer_.cdata();
    const std::string_view message(static_cast<const char*>(data.data()), data.size());
    try {
      route_->on_message(request_, message, ws_.got_binary());
    } catch (const ApiError& e) {
      // The handler refuses the connection's data: close with its reason.
      close_with(websocket::close_code::policy_error, e.what());
      return;
    } catch (const std::exception& e) {
      log_line("WebSocket message handler for " + request_.path + " failed: " + e.what());
      close_with(websocket::close_code::internal_error, "internal server error");
      return;
    }
    buffer_.consume(buffer_.size());
    do_read();
  }

  // A close asked for during the handshake waits for its end.
  void close_with(websocket::close_code code, std::string reason) {
    if (!accepted_) {
      pending_close_ = std::move(reason);
      return;
    }
    if (closing_) return;
    closing_ = true;
    expiry_.cancel();
    if (reason.size() > 120) reason.resize(120);  // a close frame's reason holds at most 123 bytes
    ws_.async_close(websocket::close_reason(code, reason), [self = this->shared_from_this()](beast::error_code) {});
  }

  Impl& server_;
  websocket::stream<Stream> ws_;
  HttpRequest request_;
  std::shared_ptr<const IngestRoute> route_;
  WebSocketGrant grant_;
  net::steady_timer expiry_;
  http::request<http::string_body> upgrade_;
  beast::flat_buffer buffer_;
  std::optional<std::string> pending_close_;
  bool accepted_ = false;
  bool closing_ = false;
};

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
      std::make_shared<IngestSession<Stream>>(server_, std::move(stream_), std::move(request), std::move(ingest),
                                              std::move(grant))
          ->run(parser_->release());
      return;
    }
    std::make_shared<WsSession<Stream>>(server_, std::move(stream_), client_address_, std::move(grant))
        ->run(parser_->release());
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
  {
    // After this, broadcast() finds no session, so nothing posts to the
    // io_context that is destroyed next.
    std::lock_guard hub_lock(hub_mutex_);
    hub_.clear();
  }
  // Destroys the acceptor, then the io_context with every pending handler,
  // which releases (and closes) all sessions.
  runtime_.reset();
  tls_.reset();
}

void ServerCore::broadcast(const std::string& text) {
  auto message = std::make_shared<const std::string>(text);  // shared by every session's queue
  // Posting under the lock keeps stop() from destroying the io_context in
  // between; deliver() only posts, so this never blocks on a client.
  std::lock_guard lock(hub_mutex_);
  for (auto it = hub_.begin(); it != hub_.end();) {
    if (auto session = it->second.lock()) {
      session->deliver(message);
      ++it;
    } else {
      it = hub_.erase(it);
    }
  }
}

std::size_t ServerCore::websocket_client_count() const {
  std::lock_guard lock(hub_mutex_);
  return static_cast<std::size_t>(
      std::count_if(hub_.begin(), hub_.end(), [](const auto& entry) { return !entry.second.expired(); }));
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
  impl_->close_websockets(owner, reason);
}

void HttpServer::start() { impl_->start(); }
void HttpServer::stop() { impl_->stop(); }
std::uint16_t HttpServer::port() const { return impl_->bound_port; }
void HttpServer::broadcast(const std::string& text) { impl_->broadcast(text); }
std::size_t HttpServer::websocket_client_count() const { return impl_->websocket_client_count(); }

}  // namespace safelynx::server
