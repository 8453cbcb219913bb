// The HTTP server's WebSocket side, once an upgrade has been accepted by
// HttpSession (http_server.cpp): the event-stream sessions that broadcast()
// reaches, the browser ingest sessions (enable_websocket_ingest), and the
// hub that keeps both with their grants for close_websockets(). Internal to
// the server core. The session templates are instantiated only in
// websocket_sessions.cpp, which the start_*_session functions wrap.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "server/http_server.hpp"

namespace safelynx::server::detail {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

// A WebSocket session as the hub sees it (defined in websocket_sessions.cpp).
class WsClosable;  // any accepted WebSocket: can be closed from another thread
class WsBase;      // an event-stream session: also receives broadcasts

// A WebSocket path pattern whose messages go to a handler (enable_websocket_ingest).
struct IngestRoute {
  PathPattern pattern;
  WebSocketAuthorizer authorize;
  HttpServer::WebSocketMessageHandler on_message;
  HttpServer::WebSocketCloseHandler on_close;

  // Throws std::invalid_argument without a message handler.
  IngestRoute(const std::string& path_pattern, WebSocketAuthorizer authorize_request,
              HttpServer::WebSocketMessageHandler message_handler, HttpServer::WebSocketCloseHandler close_handler);

  // True when `path` matches; the parameters go into `params`.
  bool match(const std::string& path, std::map<std::string, std::string>& params) const;
};

// The server's WebSocket connections. The hub holds weak references;
// sessions remove themselves when they end, and broadcast() prunes any that
// expired without doing so. Thread-safe.
class WebSocketHub {
 public:
  // Sends `text` to every event-stream session; only posts, never blocks on
  // a client.
  void broadcast(const std::string& text);
  std::size_t client_count() const;
  // Closes (1008, `reason`) every accepted WebSocket whose grant named
  // `owner`; does not wait.
  void close_websockets(const std::string& owner, const std::string& reason);
  // Forgets the event-stream sessions (not the grants): HttpServer::stop()
  // calls it after joining the I/O threads, so that broadcast() posts
  // nothing to the io_context it destroys next.
  void clear();

  // For the sessions.
  void register_ws(const std::shared_ptr<WsBase>& session);
  void unregister_ws(const WsBase* session);
  // Every accepted WebSocket (broadcast or ingest), by its grant's owner.
  void register_grant(const std::string& owner, const std::shared_ptr<WsClosable>& session);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const WsBase*, std::weak_ptr<WsBase>> sessions_;
  std::unordered_multimap<std::string, std::weak_ptr<WsClosable>> grants_;
};

// Takes over the connection of an accepted upgrade to the event stream
// (enable_websocket): a client more than `max_queued_messages` broadcasts
// behind is disconnected. `upgrade` is the upgrade request as Beast read it.
void start_event_session(WebSocketHub& hub, PlainStream&& stream, std::string client_address, WebSocketGrant grant,
                         UpgradeRequest&& upgrade, std::size_t max_queued_messages);
void start_event_session(WebSocketHub& hub, TlsStream&& stream, std::string client_address, WebSocketGrant grant,
                         UpgradeRequest&& upgrade, std::size_t max_queued_messages);

// Takes over the connection of an accepted upgrade to an ingest route;
// `request` is the upgrade request with path_params filled (given to the
// route's handlers), messages may be up to `max_message_bytes`.
void start_ingest_session(WebSocketHub& hub, PlainStream&& stream, HttpRequest request,
                          std::shared_ptr<const IngestRoute> route, WebSocketGrant grant, UpgradeRequest&& upgrade,
                          std::size_t max_message_bytes);
void start_ingest_session(WebSocketHub& hub, TlsStream&& stream, HttpRequest request,
                          std::shared_ptr<const IngestRoute> route, WebSocketGrant grant, UpgradeRequest&& upgrade,
                          std::size_t max_message_bytes);

}  // namespace safelynx::server::detail
