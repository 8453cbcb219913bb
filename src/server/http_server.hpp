// The HTTP/1.1 + WebSocket server (Boost.Beast on Asio, TLS via OpenSSL when a
// certificate is configured). It knows nothing about the API: it parses
// requests, enforces the size and rate limits, routes to handlers, turns
// ApiError into JSON errors, serves files with Range support, and keeps the
// WebSocket clients.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.hpp"

namespace safelynx::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7889;            // 0: any free port (see HttpServer::port())
  std::size_t threads = 4;              // I/O + handler threads
  std::size_t max_body_bytes = 32u << 20;  // larger bodies: 413
  std::chrono::seconds request_timeout{30};
  // Per client address: a token bucket; 0 disables. Over the limit: 429.
  double rate_limit_per_second = 0;
  double rate_limit_burst = 0;
  std::optional<std::filesystem::path> tls_certificate;  // PEM; both set: HTTPS and WSS only
  std::optional<std::filesystem::path> tls_private_key;
  std::size_t websocket_max_queued_messages = 1024;  // a client further behind is disconnected
  // Browsers send the page's Origin with a WebSocket upgrade: one other than
  // the server's own ("http(s)://" + the Host header) or one listed here
  // ("https://nvr.example.org") is refused with 403, so another site open in
  // the user's browser cannot ride on their token. An upgrade without Origin
  // (not a browser) is not checked.
  std::vector<std::string> websocket_allowed_origins;
  // Reverse proxies (their addresses, e.g. "127.0.0.1") whose
  // X-Forwarded-For is believed: a request from one of them has as its
  // client address the last X-Forwarded-For entry that is not a trusted
  // proxy, so rate limits and login throttling count real clients. From any
  // other peer the header is ignored (anyone can send it).
  std::vector<std::string> trusted_proxies;
};

using Handler = std::function<HttpResponse(HttpRequest&)>;

// Called once a request's headers are read, before any byte of its body:
// returns how many body bytes this request may send (at most
// max_body_bytes), or throws ApiError to answer with it and close the
// connection unread (a request without credentials must not make the server
// read 32 MB first).
using BodyAdmission = std::function<std::size_t(const HttpRequest& headers)>;

// A path pattern such as "/api/v1/cameras/{id}/browser": "{name}" matches
// one non-empty segment. Empty segments are kept, so "/a//b" and "/a/b/" do
// not silently match "/a/b". Used by the Router and the WebSocket routes.
class PathPattern {
 public:
  // Throws std::invalid_argument when `pattern` does not start with '/'.
  explicit PathPattern(const std::string& pattern);
  // "/a/b" -> {"a", "b"}; "/" -> {""}.
  static std::vector<std::string> split(const std::string& path);
  bool matches(const std::vector<std::string>& segments) const;
  // The parameters of segments that matches().
  std::map<std::string, std::string> parameters(const std::vector<std::string>& segments) const;
  // Both matching the same path: the first segment where they differ is a
  // literal here ("/profiles/export" before "/profiles/{id}").
  bool more_specific_than(const PathPattern& other) const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool is_param = false;
  };
  std::vector<Segment> segments_;
};

// Routes by method and path pattern; "{name}" matches one path segment and is
// put into HttpRequest::path_params. Literal segments win over parameters
// ("/profiles/export" before "/profiles/{id}"). An unknown path is 404 (or
// goes to the fallback); a known path with another method is 405 with an
// Allow header.
class Router {
 public:
  // HEAD falls back to the GET route (the server sends no body).
  void add(const std::string& method, const std::string& pattern, Handler handler);
  // Answers a GET or HEAD whose path no route matches at all (the web UI's
  // files, see WebUi) instead of the 404. A path some route matches keeps
  // its 405; other methods on unknown paths keep the 404.
  void set_fallback(Handler handler);
  // An ApiError thrown by the handler becomes its JSON error response here;
  // any other exception propagates (the server answers 500 internal_error).
  HttpResponse dispatch(HttpRequest& request) const;

 private:
  struct Route;
  std::vector<std::shared_ptr<Route>> routes_;
  Handler fallback_;
};

// What an accepted WebSocket upgrade is tied to: the connection is closed
// (1008 with a reason) when `expires_at` passes, or when close_websockets()
// names its `owner` (e.g. the id of the token it authenticated with, when
// that token is revoked).
struct WebSocketGrant {
  std::string owner;
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

// Decides whether a WebSocket upgrade request may connect: returns the grant
// to accept, throws ApiError (e.g. 401) to refuse with that error.
using WebSocketAuthorizer = std::function<WebSocketGrant(const HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, std::shared_ptr<const Router> router);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Accept WebSocket upgrades on `path` (e.g. "/ws") after `authorize` has
  // accepted the upgrade request (it throws ApiError to refuse). Call before
  // start(). Upgrade requests to other paths get 404.
  void enable_websocket(const std::string& path, WebSocketAuthorizer authorize);

  // Accept WebSocket upgrades on a path pattern with "{name}" segments (e.g.
  // "/api/v1/cameras/{id}/browser") whose messages go to `on_message`, in
  // order per connection, on an I/O thread (keep it quick). The request
  // given to both callbacks is the upgrade request with path_params filled.
  // `on_close` is called once when the connection ends. Call before start().
  // Details: the pattern is checked after the exact enable_websocket() path;
  // messages may be text or binary, each at most max_body_bytes (a larger
  // one closes the connection with 1009 "too big"); `on_message` throwing
  // ApiError closes the connection with 1008 and the error's message as the
  // reason, anything else with 1011. `on_close` runs for every connection
  // whose handshake completed, also when the server stops (then on the
  // thread calling stop()). Ingest clients get no broadcast() messages and
  // are not counted by websocket_client_count().
  using WebSocketMessageHandler =
      std::function<void(const HttpRequest& upgrade, std::string_view message, bool binary)>;
  using WebSocketCloseHandler = std::function<void(const HttpRequest& upgrade)>;
  void enable_websocket_ingest(const std::string& pattern, WebSocketAuthorizer authorize,
                               WebSocketMessageHandler on_message, WebSocketCloseHandler on_close = {});

  // Binds and starts the threads; throws std::runtime_error naming the
  // address when it cannot bind, or naming the file when the TLS certificate
  // or key cannot be loaded (or only one of them is configured).
  void start();
  // Closes the listener and every connection, joins the threads. Idempotent;
  // start() may be called again. Must not be called from a handler (throws
  // std::logic_error: it would join its own thread).
  void stop();
  std::uint16_t port() const;  // the bound port (after start)

  // See BodyAdmission. Without one, every request may send max_body_bytes.
  // Call before start().
  void set_body_admission(BodyAdmission admission);

  // Sends a text message to every connected WebSocket client. Thread-safe,
  // never blocks on a slow client.
  void broadcast(const std::string& text);
  std::size_t websocket_client_count() const;
  // Closes every WebSocket connection (broadcast and ingest) whose grant
  // named `owner`, with 1008 and `reason`. Thread-safe, does not wait.
  void close_websockets(const std::string& owner, const std::string& reason);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safelynx::server
