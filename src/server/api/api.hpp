// The REST API v1 (docs/API.md): every route, on top of storage, the face
// engines and the embedding index. Handlers are plain functions of an
// HttpRequest, registered on a Router; the HttpServer carries them.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "domain/events.hpp"
#include "domain/roles.hpp"
#include "domain/settings.hpp"
#include "gallery/feedback.hpp"
#include "gallery/gallery.hpp"
#include "server/api/audit.hpp"
#include "server/api/auth.hpp"
#include "server/api/camera_control.hpp"
#include "server/api/engine_pool.hpp"
#include "server/api/login_throttle.hpp"
#include "server/http_server.hpp"
#include "storage/media_store.hpp"
#include "storage/repositories.hpp"

namespace safelynx::server {

struct ApiOptions {
  std::string version;
  std::uint64_t max_image_pixels = 40'000'000;  // larger photos: 413
  std::size_t max_photos_per_request = 20;
  std::size_t max_per_page = 200;
  LoginThrottleOptions login_throttle;
  // The only unauthenticated body is a login's: a few hundred bytes of JSON.
  std::size_t max_login_body_bytes = 4096;
  std::string openapi_json;  // served at /api/v1/openapi.json
};

// Where the API's own log lines go (serve: the JSON log on stderr).
using ApiLogger = std::function<void(const std::string& message, const nlohmann::json& fields)>;

// What the handlers share. Owned by the app; outlives the server.
class ApiContext {
 public:
  ApiContext(storage::Database& database_, storage::MediaStore& media_, AuthService& auth_, EventBus& events_,
             gallery::Gallery& gallery_, EnginePool& engines_, ApiOptions options_)
      : database(database_), media(media_), auth(auth_), events(events_), gallery(gallery_), engines(engines_),
        options(std::move(options_)), audit(database_.audit()), feedback(database_, media_, gallery_, events_) {}

  storage::Database& database;
  storage::MediaStore& media;
  AuthService& auth;
  EventBus& events;
  gallery::Gallery& gallery;  // every change to a profile goes through it
  EnginePool& engines;
  const ApiOptions options;
  AuditLog audit;  // every change is recorded here
  gallery::FeedbackService feedback;  // feedback on sightings and its undo
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  LoginThrottle login_throttle{options.login_throttle};
  ApiLogger log_warning = [](const std::string& message, const nlohmann::json& fields) {
    std::cerr << message << " " << fields.dump() << "\n";
  };

  // The cameras' live processing; null when the server runs without it
  // (then stream/start answers 503).
  CameraControl* cameras = nullptr;
  // The Prometheus text for /metrics; null: /metrics answers 503.
  std::function<std::string()> metrics_text;
  // Counts each piece of feedback given (serve: the feedback_total series); may be empty.
  std::function<void(FeedbackVerdict)> count_feedback;

  // The settings are read on every detection: cached here, written through.
  Settings settings() const;
  // Saves, then tells every listener (on the caller's thread).
  void set_settings(const Settings& settings);
  void on_settings_changed(std::function<void(const Settings&)> listener);

 private:
  mutable std::mutex settings_mutex_;
  mutable std::optional<Settings> settings_;
  std::vector<std::function<void(const Settings&)>> settings_listeners_;
};

// All routes of /api/v1 (and the WebSocket authoriser's helper below).
std::shared_ptr<Router> make_api_router(ApiContext& context);

// Where a request may carry its token. A token in a URL ends up in logs and
// browser histories, so only what a browser cannot send a header for takes
// ?token=T: <img> and <video> sources, and WebSocket upgrades.
enum class TokenPlace { Header, HeaderOrQuery };

// The token of a request: "Authorization: Bearer T", or ?token=T where
// `place` allows it (elsewhere a ?token= is refused with 401 saying so).
std::string request_token(const HttpRequest& request, TokenPlace place = TokenPlace::Header);

// The HttpServer's BodyAdmission for the API: a login may send a small body
// without a token, every other request with a body needs a valid token
// before its body is read (401 otherwise).
BodyAdmission make_body_admission(ApiContext& context);

// Authenticates the request's token and checks that its role holds
// `permission`: ApiError 401 without a valid token, 403 "forbidden" naming
// the role needed otherwise. For routes outside the Router's API handlers
// (/metrics, the WebSockets); API routes use it through their wrapper.
Principal authorize(AuthService& auth, const HttpRequest& request, Permission permission,
                    TokenPlace place = TokenPlace::Header);

}  // namespace safelynx::server
