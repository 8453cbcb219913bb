// /api/v1/cameras: the cameras the pipeline reads from.
#include <algorithm>
#include <cctype>

#include "domain/camera_url.hpp"
#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

Camera find_camera(ApiContext& context, const Uuid& id) {
  auto camera = context.database.cameras().find(id);
  if (!camera) not_found("camera", id.to_string());
  return *camera;
}

// A source sent back as the API showed it (password masked) keeps the
// stored password, so an edit form round-trips; only for the same user,
// host and port, so the password cannot be redirected to another server.
std::string keep_masked_password(const std::string& source, const std::string& stored) {
  const auto sent = split_password(source);
  if (!sent || sent->password != kMaskedPassword) return source;
  const auto old = split_password(stored);
  const auto authority = [](const UrlPassword& url) {
    return url.before + url.after.substr(0, std::min(url.after.find_first_of("/?#"), url.after.size()));
  };
  if (!old || authority(*old) != authority(*sent))
    invalid_field("source", "the password is masked (" + std::string(kMaskedPassword) +
                                "); it is kept only for the same user, host and port: enter the password");
  return sent->before + old->password + sent->after;
}

// Applies the fields present in `body`; `creating` makes name, kind and
// (except for browser cameras) source required.
void apply_camera_fields(ApiContext& context, Camera& camera, const json& body, bool creating) {
  reject_unknown_keys(body, {"name", "kind", "source", "resolution", "fps", "location", "enabled"});
  if (auto name = optional_string(body, "name")) {
    camera.name = display_text("name", *name, 200);
    if (camera.name.empty()) invalid_field("name", "must have 1 to 200 characters");
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
    camera.source = keep_masked_password(*source, camera.source);
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
  if (auto location = optional_string(body, "location")) camera.location = display_text("location", *location, 200);
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
    case CameraKind::File:
      if (camera.source.empty()) invalid_field("source", "a file camera needs the path of a video file");
      // Checked again at every open: the file may change after this.
      if (context.cameras)
        if (auto refusal = context.cameras->source_refusal(camera)) invalid_field("source", *refusal);
      break;
    case CameraKind::Usb:
      if (camera.source.empty()) invalid_field("source", "a usb camera needs a device index (0) or path (/dev/video0)");
      break;
  }
}

// The stored camera plus what the pipeline measures while it runs.
json camera_json(ApiContext& context, const Camera& camera) {
  json body = to_json(camera);
  std::optional<CameraLiveFigures> live;
  if (context.cameras) live = context.cameras->figures(camera.id);
  if (live) {
    body["live"] = {{"fps", live->fps},
                    {"last_frame_at", live->last_frame ? json(to_iso8601(*live->last_frame)) : json(nullptr)},
                    {"frames", live->frames},
                    {"dropped", live->dropped},
                    {"processed", live->processed},
                    {"reconnects", live->reconnects},
                    {"recording", live->recording}};
  } else {
    body["live"] = nullptr;
  }
  return body;
}

HttpResponse set_streaming(ApiContext& context, HttpRequest& request, bool start) {
  Camera camera = find_camera(context, path_uuid(request, "camera"));
  if (start && !context.cameras)
    throw ApiError(503, "pipeline_unavailable", "this server runs without the camera pipeline");
  camera.status = start ? CameraStatus::Connecting : CameraStatus::Stopped;
  camera.status_message.clear();
  camera.enabled = start;
  camera.updated_at = now_ms();
  context.database.cameras().update(camera);
  // Stopped capture before `stopped` is stored, and `connecting` stored
  // before capture starts: the capture thread's own status (`active`,
  // `error`) is never overwritten by this older one.
  if (context.cameras && !start) context.cameras->stop(camera.id);
  context.database.cameras().set_status(camera.id, camera.status, "", camera.updated_at);
  context.events.publish(CameraStatusChanged{camera.id, camera.status, ""});
  if (context.cameras && start) context.cameras->start(camera);
  return ok(camera_json(context, camera));
}

// multipart/x-mixed-replace: one JPEG part per new frame, as browsers and
// video tools expect from an MJPEG camera.
class MjpegStream final : public ResponseStream {
 public:
  MjpegStream(CameraControl& cameras, Uuid camera, bool overlay, int max_fps)
      : cameras_(cameras), camera_(camera), overlay_(overlay),
        min_gap_(std::chrono::milliseconds(1000 / std::max(1, max_fps))) {}

  std::optional<std::string> next_part() override {
    if (!cameras_.running(camera_)) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sent_ < min_gap_) return std::string();
    auto frame = cameras_.live_frame(camera_, overlay_, sequence_);
    if (!frame) return std::string();
    sequence_ = frame->sequence;
    last_sent_ = now;
    std::string part = "--" + std::string(kBoundary) + "\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                       std::to_string(frame->jpeg.size()) + "\r\n\r\n";
    part += frame->jpeg;
    part += "\r\n";
    return part;
  }
  std::chrono::milliseconds poll_interval() const override { return std::chrono::milliseconds(15); }

  static constexpr std::string_view kBoundary = "safelynxframe";

 private:
  CameraControl& cameras_;
  const Uuid camera_;
  const bool overlay_;
  const std::chrono::steady_clock::duration min_gap_;
  std::uint64_t sequence_ = 0;
  std::chrono::steady_clock::time_point last_sent_{};
};

bool overlay_param(const HttpRequest& request) { return query_bool(request, "overlay").value_or(true); }

CameraControl& running_camera(ApiContext& context, const Camera& camera) {
  if (!context.cameras || !context.cameras->running(camera.id))
    throw ApiError(409, "camera_not_streaming", "camera " + camera.id.to_string() + " is not streaming (POST .../stream/start)");
  return *context.cameras;
}

}  // namespace

void add_camera_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/v1/cameras", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const storage::Page page = query_page(request, context.options);
               auto result = context.database.cameras().list(page);
               json items = json::array();
               for (const Camera& c : result.items) items.push_back(camera_json(context, c));
               return ok(page_json(std::move(items), result.total, page));
             }));
  router.add("POST", "/api/v1/cameras", authed(context, Permission::ManageCameras, [&context](HttpRequest& request, const Principal& who) {
               Camera camera;
               apply_camera_fields(context, camera, json_object_body(request), true);
               camera.id = Uuid::random();
               camera.created_at = camera.updated_at = now_ms();
               context.database.cameras().create(camera);
               context.audit.record(AuditActor::of(who, request), "camera.create", {"camera", camera.id.to_string()}, nullptr, audit_fields(camera));
               HttpResponse response = ok(camera_json(context, camera), 201);
               response.headers.emplace_back("Location", "/api/v1/cameras/" + camera.id.to_string());
               return response;
             }));
  router.add("GET", "/api/v1/cameras/{id}", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               return ok(camera_json(context, find_camera(context, path_uuid(request, "camera"))));
             }));
  router.add("PUT", "/api/v1/cameras/{id}", authed(context, Permission::ManageCameras, [&context](HttpRequest& request, const Principal& who) {
               Camera camera = find_camera(context, path_uuid(request, "camera"));
               const Camera before = camera;
               apply_camera_fields(context, camera, json_object_body(request), false);
               camera.updated_at = now_ms();
               if (!context.database.cameras().update(camera)) not_found("camera", camera.id.to_string());
               // A running camera picks up its new source and settings.
               if (context.cameras && context.cameras->running(camera.id)) context.cameras->start(camera);
               context.audit.record(AuditActor::of(who, request), "camera.update", {"camera", camera.id.to_string()}, audit_fields(before), audit_fields(camera));
               return ok(camera_json(context, camera));
             }));
  router.add("DELETE", "/api/v1/cameras/{id}", authed(context, Permission::ManageCameras, [&context](HttpRequest& request, const Principal& who) {
               const Uuid id = path_uuid(request, "camera");
               const Camera before = find_camera(context, id);
               if (context.cameras) context.cameras->stop(id);
               if (!context.database.cameras().remove(id)) not_found("camera", id.to_string());
               context.audit.record(AuditActor::of(who, request), "camera.delete", {"camera", id.to_string()}, audit_fields(before));
               return no_content();
             }));
  router.add("POST", "/api/v1/cameras/{id}/stream/start", authed(context, Permission::ManageCameras, [&context](HttpRequest& request, const Principal& who) {
               HttpResponse response = set_streaming(context, request, true);
               context.audit.record(AuditActor::of(who, request), "camera.start", {"camera", request.path_param("id")});
               return response;
             }));
  router.add("GET", "/api/v1/cameras/{id}/snapshot.jpg", authed_media(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const Camera camera = find_camera(context, path_uuid(request, "camera"));
               auto frame = running_camera(context, camera).live_frame(camera.id, overlay_param(request), 0);
               if (!frame) throw ApiError(503, "no_frame_yet", "camera " + camera.id.to_string() + " has not delivered a frame yet");
               HttpResponse response;
               response.content_type = "image/jpeg";
               response.body = std::move(frame->jpeg);
               response.headers.emplace_back("Cache-Control", "no-store");
               return response;
             }));
  router.add("GET", "/api/v1/cameras/{id}/live.mjpeg", authed_media(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const Camera camera = find_camera(context, path_uuid(request, "camera"));
               int max_fps = 15;
               if (auto fps = request.query_param("fps")) {
                 // Digits only: stoi alone reads "1e9" as 1 and "5x" as 5.
                 if (fps->empty() || fps->size() > 2 ||
                     !std::all_of(fps->begin(), fps->end(), [](unsigned char c) { return std::isdigit(c); }))
                   bad_query("fps", "must be an integer in [1, 30]");
                 max_fps = std::stoi(*fps);
                 if (max_fps < 1 || max_fps > 30) bad_query("fps", "must be an integer in [1, 30]");
               }
               HttpResponse response;
               response.content_type = "multipart/x-mixed-replace; boundary=" + std::string(MjpegStream::kBoundary);
               response.stream = std::make_shared<MjpegStream>(running_camera(context, camera), camera.id,
                                                               overlay_param(request), max_fps);
               return response;
             }));
  router.add("POST", "/api/v1/cameras/{id}/stream/stop", authed(context, Permission::ManageCameras, [&context](HttpRequest& request, const Principal& who) {
               HttpResponse response = set_streaming(context, request, false);
               context.audit.record(AuditActor::of(who, request), "camera.stop", {"camera", request.path_param("id")});
               return response;
             }));
}

}  // namespace safelynx::server::detail
