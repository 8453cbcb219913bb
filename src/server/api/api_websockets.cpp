#include "server/api/api_websockets.hpp"

#include "server/api/json_mapping.hpp"

namespace safelynx::server {
namespace {

WebSocketGrant grant_for(ApiContext& context, const HttpRequest& request, Permission permission) {
  const Principal who = authorize(context.auth, request, permission, TokenPlace::HeaderOrQuery);
  return WebSocketGrant{who.token.id.to_string(), who.token.expires_at};
}

Uuid camera_id(const HttpRequest& request) {
  try {
    return Uuid::parse(request.path_param("id"));
  } catch (const std::exception&) {
    throw ApiError(404, "not_found", "no camera " + request.path_param("id"));
  }
}

}  // namespace

ApiWebSockets::ApiWebSockets(HttpServer& server, ApiContext& context) {
  context.auth.on_connections_to_close([&server](const Uuid& token_id, const std::string& reason) {
    server.close_websockets(token_id.to_string(), reason);
  });
  server.enable_websocket("/ws", [&context](const HttpRequest& request) {
    return grant_for(context, request, Permission::Read);
  });
  // Bus handlers must be quick: broadcast() only queues.
  to_websockets_ = context.events.subscribe([&server](const DomainEvent& event) {
    server.broadcast(to_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });

  // A browser camera's page sends its frames as binary JPEG messages: a
  // camera operation.
  server.enable_websocket_ingest(
      "/api/v1/cameras/{id}/browser",
      [&context](const HttpRequest& request) {
        WebSocketGrant grant = grant_for(context, request, Permission::ManageCameras);
        const Uuid id = camera_id(request);
        if (!context.cameras || !context.cameras->takes_browser_frames(id))
          throw ApiError(409, "camera_not_streaming", "camera " + id.to_string() + " is not a started browser camera");
        return grant;
      },
      // A refusal (ApiError) closes the socket with its message as the
      // reason, which the page shows: the camera was stopped or deleted
      // since it connected, or it sent text or a frame that is not a JPEG of
      // at most max_frame_pixels.
      [&context](const HttpRequest& request, std::string_view message, bool binary) {
        if (!binary) throw ApiError(400, "bad_request", "send frames as binary JPEG messages");
        const Uuid id = camera_id(request);
        if (!context.cameras) throw ApiError(409, "camera_not_streaming", "camera " + id.to_string() + " was stopped");
        // Checked from the header, never decoded here: a 400 KB PNG or JPEG
        // can claim 20000x20000 (1.2 GB decoded).
        if (auto refusal = context.cameras->browser_frame_refusal(message))
          throw ApiError(422, "invalid_frame", "frame refused: " + *refusal);
        if (!context.cameras->push_browser_frame(id, std::string(message)))
          throw ApiError(409, "camera_not_streaming", "camera " + id.to_string() + " was stopped");
      });
}

}  // namespace safelynx::server
