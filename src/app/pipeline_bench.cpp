#include "app/pipeline_bench.hpp"

#include <algorithm>
#include <iostream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "app/cli_commands.hpp"
#include "app/process_stats.hpp"
#include "index/tiered_index.hpp"
#include "pipeline/pipeline.hpp"
#include "server/api/auth.hpp"
#include "storage/sqlite_database.hpp"
#include "vision/image_io.hpp"
#include "vision/model_paths.hpp"

namespace safelynx::app {

namespace fs = std::filesystem;
using nlohmann::json;

Camera create_file_camera(storage::Database& database, const std::string& name, const fs::path& file) {
  Camera camera;
  camera.id = Uuid::random();
  camera.name = name;
  camera.kind = CameraKind::File;
  camera.source = file.string();
  camera.created_at = camera.updated_at = now_ms();
  database.cameras().create(camera);
  return camera;
}

void add_pipeline_bench_flags(CLI::App& command, PipelineBenchOptions& o) {
  command.add_option("--source", o.source, "Video file every camera plays")->check(CLI::ExistingFile);
  command.add_option("--gallery", o.gallery, "People to enrol first: DIR/<person>/<photos>");
  command.add_option("--cameras", o.cameras, "Number of file cameras")->check(CLI::Range(1, 64));
  command.add_flag("--realtime", o.realtime, "Play the file at its own frame rate, like a live camera");
  command.add_flag("--record,!--no-record", o.record, "Record around detections (default on)");
}

namespace {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t i = std::min(values.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size())));
  return values[i];
}

// Enrols DIR/<person>/<photos> as known profiles; returns id -> name.
std::map<Uuid, std::string> enrol_gallery(const fs::path& dir, const fs::path& models, gallery::Gallery& gallery) {
  std::map<Uuid, std::string> names;
  if (!fs::is_directory(dir)) throw ConfigError("gallery " + dir.string() + " is not a directory");
  vision::FaceEngine engine(models, vision::FaceEngineOptions{});
  std::vector<fs::path> people;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) people.push_back(entry.path());
  std::sort(people.begin(), people.end());
  for (const fs::path& person : people) {
    Profile profile;
    profile.name = person.filename().string();
    profile.classification = Classification::Known;
    std::vector<gallery::FaceSample> faces;
    for (const auto& photo : fs::directory_iterator(person)) {
      try {
        const auto found = engine.analyse(vision::read_image(photo.path().string(), {}), 0.5f, true);
        if (found.size() != 1 || !found.front().descriptor) continue;
        faces.push_back({*found.front().descriptor, face_quality(found.front().detection), {}});
      } catch (const vision::ImageError&) {
      }
    }
    if (faces.empty()) continue;
    profile = gallery.create(profile, faces, "");
    names[profile.id] = *profile.name;
  }
  return names;
}

}  // namespace

int run_pipeline_bench(const Config& config, const PipelineBenchOptions& o) {
  const fs::path models = vision::resolve_models_dir(config.engine.models_dir);
  std::mt19937_64 random(std::random_device{}());
  const fs::path data_dir = fs::temp_directory_path() / ("safelynx-bench-" + std::to_string(random()));
  fs::create_directories(data_dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{data_dir};

  auto database = storage::open_sqlite_database(data_dir / "safelynx.db", {});
  storage::MediaStore media(data_dir);
  index::TieredIndex index;
  EventBus events;
  gallery::Gallery gallery(*database, media, index, events, {config.gallery_capacity});
  const std::map<Uuid, std::string> names = enrol_gallery(o.gallery, models, gallery);
  std::cerr << "bench pipeline: enrolled " << names.size() << " people from " << o.gallery << "\n";

  std::mutex seen_mutex;
  std::map<std::string, std::set<Uuid>> identified;  // name -> cameras
  std::uint64_t unknown_created = 0;
  const auto subscription = events.subscribe([&](const DomainEvent& event) {
    std::lock_guard lock(seen_mutex);
    if (const auto* s = std::get_if<NewSighting>(&event.payload)) {
      auto it = names.find(s->sighting.profile_id);
      identified[it == names.end() ? "unknown" : it->second].insert(s->sighting.camera_id);
    } else if (std::holds_alternative<ProfileCreated>(event.payload)) {
      ++unknown_created;
    }
  });

  pipeline::PipelineMetrics metrics;
  const Settings settings;
  pipeline::PipelineOptions options = config.pipeline;
  options.models_dir = models;
  options.files_in_realtime = o.realtime;
  options.files_loop = false;
  options.record = o.record;
  // The clip named on the command line is the operator's own choice: its
  // folder is the one file root.
  const fs::path clip = fs::canonical(o.source);  // its folder, not a symlink's
  options.file_roots = {clip.parent_path()};
  pipeline::Pipeline live(pipeline::PipelineServices{*database, media, events, gallery, metrics, [&] { return settings; },
                                                     [] { return Uuid::random(); },
                                                     [](const std::string& level, const std::string& message) {
                                                       if (level != "info") std::cerr << level << ": " << message << "\n";
                                                     }},
                          options);

  std::vector<Camera> cameras;
  for (int i = 0; i < o.cameras; ++i) cameras.push_back(create_file_camera(*database, "bench " + std::to_string(i + 1), clip));
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (const Camera& camera : cameras) live.start_camera(camera);
  // Until every file has played to its end, then until the stages are empty.
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    bool all_ended = true;
    for (const Camera& camera : cameras) {
      auto runtime = live.runtime(camera.id);
      if (runtime && runtime->capture.status != CameraStatus::Stopped) all_ended = false;
      if (runtime && runtime->capture.status == CameraStatus::Error) {
        std::cerr << "bench pipeline: camera error: " << runtime->capture.message << "\n";
        return kExitStartFailed;
      }
    }
    if (all_ended) break;
  }
  live.wait_until_idle(std::chrono::minutes(5));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;
  const pipeline::PipelineStats stats = live.stats();
  live.shutdown();

  json identified_json = json::object();
  {
    std::lock_guard lock(seen_mutex);
    for (const auto& [name, on] : identified) identified_json[name] = on.size();
  }
  json line = {
      {"cameras", o.cameras},
      {"realtime", o.realtime},
      {"frames_in", stats.frames_in},
      {"frames_processed", stats.frames_processed},
      {"frames_dropped", stats.frames_dropped},
      {"fps_per_camera", static_cast<double>(stats.frames_processed) / o.cameras / seconds},
      {"e2e_p50_ms", percentile(stats.end_to_end_ms, 50)},
      {"e2e_p95_ms", percentile(stats.end_to_end_ms, 95)},
      {"frames_with_faces", stats.end_to_end_ms.size()},
      {"rss_mb", peak_rss_mb()},
      {"cpu_pct", 100.0 * cpu / seconds},
      {"seconds", seconds},
      {"identified_on_cameras", identified_json},
      {"unknown_profiles_created", unknown_created},
  };
  std::cout << line.dump() << std::endl;
  return kExitOk;
}

}  // namespace safelynx::app
