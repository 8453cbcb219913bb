#include "app/serve_command.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <variant>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "app/cli_commands.hpp"
#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/openapi_document.hpp"
#include "app/pipeline_camera_control.hpp"
#include "domain/settings_schema.hpp"
#include "index/tiered_index.hpp"
#include "pipeline/pipeline.hpp"
#include "recording/recorder.hpp"
#include "recording/storage_manager.hpp"
#include "server/api/api.hpp"
#include "server/api/api_websockets.hpp"
#include "server/api/retention.hpp"
#include "server/web_ui.hpp"
#include "storage/sqlite_database.hpp"
#include "vision/model_paths.hpp"
#include "vision/tfjs_weights.hpp"

namespace safelynx::app {

namespace fs = std::filesystem;
using nlohmann::json;

void add_serve_flags(CLI::App& command, ServeOptions& options) {
  command.add_option("--data-dir", options.data_dir,
                     "Where the database, thumbnails, snapshots and recordings live (default ~/.local/share/safelynx)");
  command.add_option("--host", options.host, "Address to listen on (default 127.0.0.1)");
  command.add_option("--port", options.port, "Port to listen on (default 7889; 0: any free port)")->check(CLI::Range(0, 65535));
}

namespace {

fs::path default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "safelynx";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local/share/safelynx";
  return fs::path(".safelynx");
}

// Blocks SIGINT/SIGTERM in every thread (set before any thread starts) so
// the main thread can wait for them with sigwait.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Config keys given explicitly win over the stored settings at start.
Settings merge_settings(Settings stored, const Config& config) {
  for (const std::string& key : config.settings_keys)
    if (const SettingSpec* spec = find_setting(key))
      std::visit([&](const auto& field) { field.in(stored) = field.of(config.settings); }, spec->field);
  return stored;
}

recording::StoragePolicy storage_policy(const Settings& s) {
  recording::StoragePolicy policy;
  policy.quota_bytes = s.storage.quota_bytes;
  policy.auto_cleanup = s.storage.auto_cleanup;
  policy.min_retention_days = s.storage.min_retention_days;
  return policy;
}

// Faces, names and recordings are personal data: everything the server
// creates is its user's alone (umask 077: directories 0700, files 0600). An
// existing data dir that others can read is not changed behind the user's
// back, but said loudly at every start.
void secure_data_dir(const fs::path& dir) {
  ::umask(0077);
  if (!fs::exists(dir)) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    return;
  }
  const fs::perms open_to_others = fs::status(dir).permissions() & (fs::perms::group_all | fs::perms::others_all);
  if (open_to_others != fs::perms::none) {
    const auto mode = static_cast<unsigned>(fs::status(dir).permissions() & fs::perms::mask);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode);
    log_warning("the data dir can be read by other local users; restrict it",
                {{"data_dir", dir.string()}, {"mode", octal}, {"fix", "chmod -R go-rwx '" + dir.string() + "'"}});
  }
}

int serve(const Config& config, const fs::path& data_dir, const std::optional<std::string>& admin_password) {
  const sigset_t signals = shutdown_signals();
  log_info("starting", {{"version", SAFELYNX_VERSION}, {"data_dir", data_dir.string()}});

  // The models first: a missing model must not leave a half-created data dir.
  vision::FaceEngineOptions engine_options;
  engine_options.detector = config.engine.detector;
  engine_options.tiny_input_size = config.engine.tiny_input_size;
  engine_options.descriptor_batch_size = config.engine.descriptor_batch_size;
  server::EnginePool engines(vision::resolve_models_dir(config.engine.models_dir), engine_options, config.engines);

  secure_data_dir(data_dir);
  auto database = storage::open_sqlite_database(
      data_dir / "safelynx.db", storage::SqliteOptions{.reader_connections = config.database.max_connections});
  storage::MediaStore media(data_dir);

  const Settings stored = database->settings().load();
  const Settings settings = merge_settings(stored, config);
  if (!config.settings_keys.empty()) database->settings().save(settings);

  server::AuthService auth(database->users(), database->tokens(),
                           server::AuthOptions{std::chrono::hours(config.auth.session_ttl_hours)});
  // The variable is for the first start only; say so rather than ignore it silently.
  if (admin_password && database->users().count() > 0)
    log_info("SAFELYNX_ADMIN_PASSWORD ignored: the data dir already has users (change passwords in the API)", {});
  if (auto generated = auth.ensure_admin(admin_password)) {
    // Shown once: only its hash is stored.
    std::cout << "safelynx: created user 'admin' with password: " << *generated
              << "\nsafelynx: (shown only now; set SAFELYNX_ADMIN_PASSWORD before the first start to choose it)"
              << std::endl;
  }

  index::TieredIndex index;
  EventBus events([](const std::string& error) { log_error("event handler failed", {{"error", error}}); });
  gallery::Gallery gallery(*database, media, index, events, {config.gallery_capacity});
  const auto index_start = std::chrono::steady_clock::now();
  std::uint64_t last_reported = 0;
  gallery.rebuild_index([&](std::uint64_t done, std::uint64_t total) {
    // A line every 10% on large galleries, so a slow start is visibly progressing.
    if (total >= 50'000 && (done == total || done - last_reported >= total / 10)) {
      last_reported = done;
      log_info("loading embeddings", {{"done", done}, {"total", total}});
    }
  });
  log_info("embedding index ready",
           {{"embeddings", index.size()},
            {"profiles", index.profile_count()},
            {"kind", index.active_kind()},
            {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - index_start).count()}});

  // File cameras read only under these folders; the default one is made
  // private like the rest of the data dir.
  const std::vector<fs::path> file_roots = config.camera_file_roots.value_or(std::vector<fs::path>{data_dir / "videos"});
  if (!config.camera_file_roots) {
    std::error_code error;
    if (fs::create_directory(file_roots.front(), error)) fs::permissions(file_roots.front(), fs::perms::owner_all, error);
  }

  server::ApiOptions api_options;
  api_options.openapi_json = std::string(openapi_document());
  api_options.version = SAFELYNX_VERSION;
  api_options.max_image_pixels = config.engine.max_image_pixels;
  api_options.login_throttle.max_concurrent_hashes = static_cast<std::size_t>(config.auth.max_concurrent_logins);
  server::ApiContext context(*database, media, auth, events, gallery, engines, api_options);
  context.log_warning = [](const std::string& message, const json& fields) { log_warning(message, fields); };
  context.set_settings(settings);

  // Recordings a crash left open are repaired before any camera records.
  for (const std::string& line : recording::repair_recordings(media.recordings_dir(), database->recordings()))
    log_warning("recording repaired", {{"what", line}});

  recording::StorageManager storage_manager(*database, media, events, storage_policy(settings),
                                            [](const std::string& message) { log_info("storage", {{"what", message}}); });
  context.on_settings_changed([&storage_manager](const Settings& s) { storage_manager.set_policy(storage_policy(s)); });

  pipeline::PipelineMetrics metrics;
  pipeline::PipelineOptions pipeline_options = config.pipeline;
  pipeline_options.models_dir = vision::resolve_models_dir(config.engine.models_dir);
  pipeline_options.file_roots = file_roots;
  pipeline::Pipeline live(
      pipeline::PipelineServices{*database, media, events, gallery, metrics, [&context] { return context.settings(); },
                                 [] { return Uuid::random(); },
                                 [](const std::string& level, const std::string& message) {
                                   if (level == "error") log_error(message, {});
                                   else if (level == "warn") log_warning(message, {});
                                   else log_info(message, {});
                                 }},
      pipeline_options);
  PipelineCameraControl camera_control(live, file_roots);
  context.cameras = &camera_control;
  context.metrics_text = [&metrics] { return metrics.serialize(); };
  context.count_feedback = [&metrics](FeedbackVerdict verdict) { metrics.add_feedback(std::string(to_string(verdict))); };

  auto router = server::make_api_router(context);

  // The web UI at "/": every GET or HEAD no API route takes.
  auto web_ui = std::make_shared<const server::WebUi>(server::WebUiOptions{.root = config.server.web_dir});
  router->set_fallback([web_ui](server::HttpRequest& request) { return web_ui->serve(request); });
  if (web_ui->has_index()) {
    log_info("web UI", {{"web_dir", config.server.web_dir.string()}});
  } else {
    log_warning("web UI not built: / answers 503 until it is (the API works)",
                {{"web_dir", config.server.web_dir.string()}, {"build", std::string(server::kWebUiBuildCommand)}});
  }

  server::HttpServerOptions http;
  http.host = config.server.host;
  http.port = config.server.port;
  http.threads = config.server.threads;
  http.max_body_bytes = config.server.max_body_bytes;
  http.request_timeout = std::chrono::seconds(config.server.request_timeout_s);
  http.rate_limit_per_second = config.server.rate_limit_per_second;
  http.rate_limit_burst = config.server.rate_limit_burst;
  http.tls_certificate = config.server.tls_certificate;
  http.tls_private_key = config.server.tls_private_key;
  http.websocket_allowed_origins = config.server.allowed_origins;
  http.trusted_proxies = config.server.trusted_proxies;
  server::HttpServer server(http, router);
  server.set_body_admission(server::make_body_admission(context));
  const server::ApiWebSockets websockets(server, context);

  server.start();
  storage_manager.start();
  server::RetentionService retention(*database, gallery, context.audit, [&context] { return context.settings(); },
                                     [](const std::string& message) { log_info("retention", {{"what", message}}); });
  retention.start();
  // Cameras that were streaming when the server last stopped stream again.
  for (std::uint64_t page = 1;; ++page) {
    auto cameras = database->cameras().list(storage::Page{page, 200});
    for (const Camera& camera : cameras.items)
      if (camera.enabled && camera.status != CameraStatus::Stopped && camera.kind != CameraKind::Browser) live.start_camera(camera);
    if (page * 200 >= cameras.total) break;
  }
  const std::string scheme = config.server.tls_certificate ? "https" : "http";
  const std::string url = scheme + "://" + config.server.host + ":" + std::to_string(server.port());
  log_info("listening", {{"url", url}});
  std::cout << "safelynx: listening on " << url << std::endl;

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  log_info("stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.stop();
  // Frames already captured go through; open recordings are finished so they play.
  live.shutdown();
  storage_manager.stop();
  retention.stop();
  index.wait_for_background_work();
  log_info("stopped", {});
  return kExitOk;
}

}  // namespace

int run_serve(const std::optional<std::string>& config_file, const std::optional<std::string>& models_dir,
              const ServeOptions& options) {
  Config config;
  try {
    config = load_config(config_file ? std::optional<fs::path>(*config_file) : std::nullopt, process_environment());
    if (models_dir) config.engine.models_dir = fs::path(*models_dir);
    if (options.data_dir) config.data_dir = fs::path(*options.data_dir);
    if (options.host) config.server.host = *options.host;
    if (options.port) config.server.port = static_cast<std::uint16_t>(*options.port);
    validate(config);
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }
  std::optional<std::string> admin_password;
  if (const char* env = std::getenv("SAFELYNX_ADMIN_PASSWORD"); env && *env) admin_password = env;
  const fs::path data_dir = config.data_dir.value_or(default_data_dir());
  try {
    return serve(config, data_dir, admin_password);
  } catch (const server::PasswordPolicyError& e) {
    // Checked only when the first admin is created (on an existing data dir
    // the variable is ignored).
    log_error("cannot create the first admin", {{"error", e.what()}});
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const vision::WeightLoadError& e) {
    log_error("cannot load the face models", {{"error", e.what()}});
    std::cerr << "error: cannot load the face models: " << e.what()
              << "\n(fetch them with scripts/fetch-models.sh, or point --models / SAFELYNX_MODELS at them)\n";
    return kExitModels;
  } catch (const std::exception& e) {
    log_error("cannot start", {{"error", e.what()}});
    std::cerr << "error: " << e.what() << "\n";
    return kExitStartFailed;
  }
}

}  // namespace safelynx::app
