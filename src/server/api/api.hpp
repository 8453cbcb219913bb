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

#include "domain/events.hpp"
#include "domain/settings.hpp"
#include "index/embedding_index.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/pipeline_metrics.hpp"
#include "server/api/audit.hpp"
#include "server/api/auth.hpp"
#include "server/api/engine_pool.hpp"
#include "server/http_server.hpp"
#include "storage/media_store.hpp"
#include "storage/repositories.hpp"

namespace safelynx::server {

struct ApiOptions {
  std::string version;
  std::uint64_t max_image_pixels = 40'000'000;  // larger photos: 413
  std::size_t max_photos_per_request = 20;
  std::size_t gallery_capacity = 20;            // embeddings kept per profile (the best)
  std::size_t max_per_page = 200;
};

// What the handlers share. Owned by the app; outlives the server.
class ApiContext {
 public:
  ApiContext(storage::Database& database_, storage::MediaStore& media_, AuthService& auth_, EventBus& events_,
             index::EmbeddingIndex& index_, EnginePool& engines_, ApiOptions options_)
      : database(database_), media(media_), auth(auth_), events(events_), index(index_), engines(engines_),
        options(std::move(options_)), audit(database_.audit()) {}

  storage::Database& database;
  storage::MediaStore& media;
  AuthService& auth;
  EventBus& events;
  index::EmbeddingIndex& index;
  EnginePool& engines;
  const ApiOptions options;
  AuditLog audit;  // every change is recorded here
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // The live pipeline and its metrics; null when the server runs without
  // cameras (then stream/start answers 503).
  pipeline::Pipeline* pipeline = nullptr;
  pipeline::PipelineMetrics* metrics = nullptr;

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

// The token of a request: "Authorization: Bearer T", or ?token=T (for
// WebSocket clients and <img>/<video> elements, which cannot set headers).
std::string request_token(const HttpRequest& request);

// Loads every stored embedding into the index; `progress` is called with
// (done, total) now and then.
void rebuild_index(storage::ProfileRepository& profiles, index::EmbeddingIndex& index,
                   const std::function<void(std::uint64_t, std::uint64_t)>& progress);

}  // namespace safelynx::server
