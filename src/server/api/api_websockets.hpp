// The API's WebSockets on the HTTP server: /ws (every domain event, for
// readers) and a browser camera's frame ingest (operators). A socket lives
// as long as the token it was opened with: expiry, revocation and a lowered
// role close it.
#pragma once

#include "domain/events.hpp"
#include "server/api/api.hpp"
#include "server/http_server.hpp"

namespace safelynx::server {

class ApiWebSockets {
 public:
  // Call before server.start(); `server` and `context` outlive this.
  ApiWebSockets(HttpServer& server, ApiContext& context);

 private:
  EventBus::Subscription to_websockets_;
};

}  // namespace safelynx::server
