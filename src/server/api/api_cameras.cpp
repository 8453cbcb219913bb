// /api/v1/cameras: the cameras the pipeline reads from.
#include <filesystem>

#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

Camera find_camera(ApiContext& context, const Uuid& id) {
  auto camera = context.database.cameras().find(id);
  if (!camera) not_found("camera", id.to_string());
  return *camera;
}

// Applies the fields present in `body`; `creating` makes name, kind and
// (except for browser cameras) source required.
void apply_camera_fields(Camera& camera, const json& body, bool creating) {
  reject_unknown_keys(body, {"name", "kind", "source", "resolution", "fps", "location", "enabled"});
  if (auto name = optional_string(body, "name")) {
    if (name->empty() || name->size() > 200) invalid_field("name", "must have 1 to 200 characters");
    camera.name = *name;
  } else if (creating) {
    invalid_field("name", "is required");
  }
  if (auto kind = optional_string(body, "kind")) {
    try {
      camera.kind = parse_camera_kind(*kind);
    } catch (const std::invalid_argument& error) {
      invalid_field("kind", error.what());
    }
  } else if (creating) {
    invalid_field("kind", "is required (usb, rtsp, http, file or browser)");
  }
  if (auto source = optional_string(body, "source")) {
    if (source->size() > 2048) invalid_field("source", "is longer than 2048 characters");
    camera.source = *source;
  }
  if (body.contains("resolution")) {
    const json& r = body["resolution"];
    if (r.is_null()) {
      camera.width = camera.height = 0;
    } else {
      if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer())
        invalid_field("resolution", "must be [width, height] in pixels, or null for the source's own");
      const auto w = r[0].get<std::int64_t>(), h = r[1].get<std::int64_t>();
      if (w < 16 || h < 16 || w > 8192 || h > 8192) invalid_field("resolution", "width and height must be in [16, 8192]");
      camera.width = static_cast<int>(w);
      camera.height = static_cast<int>(h);
    }
  }
  if (auto fps = optional_number(body, "fps")) {
    if (*fps < 0 || *fps > 120) invalid_field("fps", "must be in [0, 120] (0: the source's own)");
    camera.fps = *fps;
  }
  if (auto location = optional_string(body, "location")) {
    if (location->size() > 200) invalid_field("location", "is longer than 200 characters");
    camera.location = *location;
  }
  if (auto enabled = optional_bool(body, "enabled")) camera.enabled = *enabled;

  switch (camera.kind) {
    case CameraKind::Browser: break;  // frames arrive over the WebSocket
    case CameraKind::Rtsp:
      if (!camera.source.starts_with("rtsp://") && !camera.source.starts_with("rtsps://"))
        invalid_field("source", "an rtsp camera needs an rtsp:// URL");
      break;
    case CameraKind::Http:
      if (!camera.source.starts_with("http://") && !camera.source.starts_with("https://"))
        invalid_field("source", "an http camera needs an http:// or https:// URL");
      break;
    case CameraKind::File: {
      std::error_code error;
      if (camera.source.empty()) invalid_field("source", "a file camera needs the path of a video file");
      if (!std::filesystem::is_regular_file(camera.source, error))
        invalid_field("source", "no video file at " + camera.source);
      break;
    }
    case CameraKind::Usb:
      if (camera.source.empty()) invalid_field("source", "a usb camera needs a device index (0) or path (/dev/video0)");
      break;
  }
}

HttpResponse set_streaming(ApiContext& context, HttpRequest& request, bool start) {
  Camera camera = find_camera(context, path_uuid(request, "camera"));
  // The pipeline reports `active` or `error` once it has the stream.
  camera.status = start ? CameraStatus::Connecting : CameraStatus::Stopped;
  camera.status_message.clear();
  camera.enabled = start;
  camera.updated_at = now_ms();
  context.database.cameras().update(camera);
  context.events.publish(CameraStatusChanged{camera.id, camera.status, ""});
  return ok(to_json(camera));
}

}  // namespace

void add_camera_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/v1/cameras", authed(context, [&context](HttpRequest& request, const Principal&) {
               const storage::Page page = query_page(request, context.options);
               auto result = context.database.cameras().list(page);
               json items = json::array();
               for (const Camera& c : result.items) items.push_back(to_json(c));
               return ok(page_json(std::move(items), result.total, page));
             }));
  router.add("POST", "/api/v1/cameras", authed(context, [&context](HttpRequest& request, const Principal&) {
               Camera camera;
               apply_camera_fields(camera, json_object_body(request), true);
               camera.id = random_uuid();
               camera.created_at = camera.updated_at = now_ms();
               context.database.cameras().create(camera);
               HttpResponse response = ok(to_json(camera), 201);
               response.headers.emplace_back("Location", "/api/v1/cameras/" + camera.id.to_string());
               return response;
             }));
  router.add("GET", "/api/v1/cameras/{id}", authed(context, [&context](HttpRequest& request, const Principal&) {
               return ok(to_json(find_camera(context, path_uuid(request, "camera"))));
             }));
  router.add("PUT", "/api/v1/cameras/{id}", authed(context, [&context](HttpRequest& request, const Principal&) {
               Camera camera = find_camera(context, path_uuid(request, "camera"));
               apply_camera_fields(camera, json_object_body(request), false);
               camera.updated_at = now_ms();
               if (!context.database.cameras().update(camera)) not_found("camera", camera.id.to_string());
               return ok(to_json(camera));
             }));
  router.add("DELETE", "/api/v1/cameras/{id}", authed(context, [&context](HttpRequest& request, const Principal&) {
               const Uuid id = path_uuid(request, "camera");
               if (!context.database.cameras().remove(id)) not_found("camera", id.to_string());
               return no_content();
             }));
  router.add("POST", "/api/v1/cameras/{id}/stream/start", authed(context, [&context](HttpRequest& request, const Principal&) {
               return set_streaming(context, request, true);
             }));
  router.add("POST", "/api/v1/cameras/{id}/stream/stop", authed(context, [&context](HttpRequest& request, const Principal&) {
               return set_streaming(context, request, false);
             }));
}

}  // namespace safelynx::server::detail
