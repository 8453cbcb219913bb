// What a Pipeline under test runs against: a fresh data folder with a real
// SQLite database, media store, index, gallery, event bus and metrics,
// removed afterwards.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "index/tiered_index.hpp"
#include "pipeline/pipeline.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::testing {

struct PipelineWorld {
  explicit PipelineWorld(const std::string& name)
      : dir(std::filesystem::temp_directory_path() / ("safelynx-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    database = storage::open_sqlite_database(dir / "safelynx.db", {});
    media = std::make_unique<storage::MediaStore>(dir);
    gallery = std::make_unique<gallery::Gallery>(*database, *media, index, events);
  }
  ~PipelineWorld() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  PipelineWorld(const PipelineWorld&) = delete;
  PipelineWorld& operator=(const PipelineWorld&) = delete;

  pipeline::PipelineServices services(std::function<Settings()> settings = [] { return Settings{}; }) {
    return {*database, *media, events, *gallery, metrics, std::move(settings), [] { return Uuid::random(); },
            [](const std::string&, const std::string&) {}};
  }
  // A browser camera, stored (the pipeline reports its status there).
  Camera add_browser_camera(const std::string& name) {
    Camera camera;
    camera.id = Uuid::random();
    camera.name = name;
    camera.kind = CameraKind::Browser;
    camera.created_at = camera.updated_at = now_ms();
    database->cameras().create(camera);
    return camera;
  }

  std::filesystem::path dir;
  std::unique_ptr<storage::Database> database;
  std::unique_ptr<storage::MediaStore> media;
  EventBus events;
  index::TieredIndex index;
  std::unique_ptr<gallery::Gallery> gallery;
  pipeline::PipelineMetrics metrics;
};

}  // namespace safelynx::testing
