// The WebSocket sessions behind HttpServer: event-stream sessions (the /ws
// clients that broadcast() reaches), browser ingest sessions
// (enable_websocket_ingest), both closed when their grant expires or is
// revoked, and the WebSocketHub that keeps them. Every session lives on its
// connection's strand. Beast's websocket::stream templates are instantiated
// here only, for plain TCP and for TLS.
#include "server/websocket_sessions.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "server/http_log.hpp"

namespace safelynx::server::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

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

namespace {

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

// Before the handshake: the websocket stream has its own timeouts
// (handshake, idle pings) instead of the HTTP request's; messages up to
// `max_message_bytes`.
template <class Stream>
void set_server_options(websocket::stream<Stream>& ws, std::size_t max_message_bytes) {
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "safelynx"); }));
  ws.read_message_max(max_message_bytes);
}

// An event-stream (enable_websocket) client: broadcasts go out in order,
// what the client sends is read and dropped.
template <class Stream>
class WsSession : public WsBase, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(WebSocketHub& hub, Stream&& stream, std::string client_address, WebSocketGrant grant,
            std::size_t max_queued_messages)
      : hub_(hub),
        ws_(std::move(stream)),
        client_address_(std::move(client_address)),
        grant_(std::move(grant)),
        max_queued_(std::max<std::size_t>(1, max_queued_messages)),
        expiry_(ws_.get_executor()) {}

  void run(UpgradeRequest&& request) {
    upgrade_request_ = std::move(request);  // must outlive async_accept
    set_server_options(ws_, 64 * 1024);     // clients have nothing large to say
    // Registered before the handshake, so a revocation that comes while it
    // is under way still closes this socket once it is open.
    hub_.register_grant(grant_.owner, this->shared_from_this());
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
    hub_.register_ws(this->shared_from_this());
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
    if (queue_.size() >= max_queued_) {
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
    if (!closed_) hub_.unregister_ws(this);
    closed_ = true;
    expiry_.cancel();
    // The message being written must stay alive until its write completes.
    while (queue_.size() > (writing_ ? 1U : 0U)) queue_.pop_back();
    if (close_socket) beast::get_lowest_layer(ws_).close();
  }

  WebSocketHub& hub_;
  websocket::stream<Stream> ws_;
  std::string client_address_;
  UpgradeRequest upgrade_request_;
  WebSocketGrant grant_;
  const std::size_t max_queued_;
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
  IngestSession(WebSocketHub& hub, Stream&& stream, HttpRequest request, std::shared_ptr<const IngestRoute> route,
                WebSocketGrant grant, std::size_t max_message_bytes)
      : hub_(hub),
        ws_(std::move(stream)),
        request_(std::move(request)),
        route_(std::move(route)),
        grant_(std::move(grant)),
        max_message_bytes_(std::max<std::size_t>(1, max_message_bytes)),
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

  void run(UpgradeRequest&& upgrade) {
    upgrade_ = std::move(upgrade);  // must outlive async_accept
    set_server_options(ws_, max_message_bytes_);
    // Registered before the handshake, as WsSession does.
    hub_.register_grant(grant_.owner, this->shared_from_this());
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

  WebSocketHub& hub_;
  websocket::stream<Stream> ws_;
  HttpRequest request_;
  std::shared_ptr<const IngestRoute> route_;
  WebSocketGrant grant_;
  const std::size_t max_message_bytes_;
  net::steady_timer expiry_;
  UpgradeRequest upgrade_;
  beast::flat_buffer buffer_;
  std::optional<std::string> pending_close_;
  bool accepted_ = false;
  bool closing_ = false;
};

// Makes the session and hands it the upgrade to answer.
template <class Session, class... Args>
void start(UpgradeRequest&& upgrade, Args&&... args) {
  std::make_shared<Session>(std::forward<Args>(args)...)->run(std::move(upgrade));
}

}  // namespace

IngestRoute::IngestRoute(const std::string& path_pattern, WebSocketAuthorizer authorize_request,
                         HttpServer::WebSocketMessageHandler message_handler,
                         HttpServer::WebSocketCloseHandler close_handler)
    : pattern(path_pattern),
      authorize(std::move(authorize_request)),
      on_message(std::move(message_handler)),
      on_close(std::move(close_handler)) {
  if (!on_message) throw std::invalid_argument("WebSocket ingest on " + path_pattern + " needs a message handler");
}

bool IngestRoute::match(const std::string& path, std::map<std::string, std::string>& params) const {
  const std::vector<std::string> segments = PathPattern::split(path);
  if (!pattern.matches(segments)) return false;
  params = pattern.parameters(segments);
  return true;
}

void WebSocketHub::register_ws(const std::shared_ptr<WsBase>& session) {
  std::lock_guard lock(mutex_);
  sessions_[session.get()] = session;
}

void WebSocketHub::unregister_ws(const WsBase* session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
}

void WebSocketHub::register_grant(const std::string& owner, const std::shared_ptr<WsClosable>& session) {
  if (owner.empty()) return;
  std::lock_guard lock(mutex_);
  std::erase_if(grants_, [](const auto& entry) { return entry.second.expired(); });
  grants_.emplace(owner, session);
}

void WebSocketHub::close_websockets(const std::string& owner, const std::string& reason) {
  std::vector<std::shared_ptr<WsClosable>> sessions;
  {
    std::lock_guard lock(mutex_);
    auto [first, last] = grants_.equal_range(owner);
    for (auto it = first; it != last; ++it)
      if (auto session = it->second.lock()) sessions.push_back(std::move(session));
    grants_.erase(owner);
  }
  for (const auto& session : sessions) session->close_for(reason);
}

void WebSocketHub::clear() {
  std::lock_guard lock(mutex_);
  sessions_.clear();
}

void WebSocketHub::broadcast(const std::string& text) {
  auto message = std::make_shared<const std::string>(text);  // shared by every session's queue
  // Posting under the lock keeps stop() from destroying the io_context in
  // between; deliver() only posts, so this never blocks on a client.
  std::lock_guard lock(mutex_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (auto session = it->second.lock()) {
      session->deliver(message);
      ++it;
    } else {
      it = sessions_.erase(it);
    }
  }
}

std::size_t WebSocketHub::client_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(sessions_.begin(), sessions_.end(), [](const auto& entry) { return !entry.second.expired(); }));
}

void start_event_session(WebSocketHub& hub, PlainStream&& stream, std::string client_address, WebSocketGrant grant,
                         UpgradeRequest&& upgrade, std::size_t max_queued_messages) {
  start<WsSession<PlainStream>>(std::move(upgrade), hub, std::move(stream), std::move(client_address),
                                std::move(grant), max_queued_messages);
}

void start_event_session(WebSocketHub& hub, TlsStream&& stream, std::string client_address, WebSocketGrant grant,
                         UpgradeRequest&& upgrade, std::size_t max_queued_messages) {
  start<WsSession<TlsStream>>(std::move(upgrade), hub, std::move(stream), std::move(client_address), std::move(grant),
                              max_queued_messages);
}

void start_ingest_session(WebSocketHub& hub, PlainStream&& stream, HttpRequest request,
                          std::shared_ptr<const IngestRoute> route, WebSocketGrant grant, UpgradeRequest&& upgrade,
                          std::size_t max_message_bytes) {
  start<IngestSession<PlainStream>>(std::move(upgrade), hub, std::move(stream), std::move(request), std::move(route),
                                    std::move(grant), max_message_bytes);
}

void start_ingest_session(WebSocketHub& hub, TlsStream&& stream, HttpRequest request,
                          std::shared_ptr<const IngestRoute> route, WebSocketGrant grant, UpgradeRequest&& upgrade,
                          std::size_t max_message_bytes) {
  start<IngestSession<TlsStream>>(std::move(upgrade), hub, std::move(stream), std::move(request), std::move(route),
                                  std::move(grant), max_message_bytes);
}

}  // namespace safelynx::server::detail
