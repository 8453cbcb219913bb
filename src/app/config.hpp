// Configuration of the command line and of `safelynx serve`: defaults, then
// an optional TOML file, then SAFELYNX_<SECTION>_<KEY> environment variables,
// then command-line flags. An unknown key or a bad value stops start-up with
// the file (or variable) and the key named. docs/CONFIG.md lists every key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/settings.hpp"
#include "vision/face_alignment.hpp"
#include "pipeline/pipeline.hpp"
#include "vision/face_engine.hpp"

namespace safelynx::app {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EngineConfig {
  std::optional<std::filesystem::path> models_dir;  // [models] dir; unset: SAFELYNX_MODELS, then models/
  vision::DetectorKind detector = vision::DetectorKind::Ssd;  // [detection] detector
  int tiny_input_size = 416;                                  // [detection] tiny_input_size
  float min_score = Settings{}.detection.min_score;           // [detection] min_score
  std::uint64_t max_image_pixels = 40'000'000;                // [detection] max_image_pixels
  float match_threshold = Settings{}.recognition.match_threshold;  // [recognition] match_threshold (L2)
  std::size_t descriptor_batch_size = 8;                      // [recognition] descriptor_batch_size
  // The face crop for descriptors: the CLI's --alignment (face-api's box
  // crop reproduces face-api's own descriptors, for comparing with it).
  vision::FaceAlignment alignment = vision::FaceAlignment::DlibChip;
};

// The default of [server] web_dir: the source checkout's web/dist (where
// `npm --prefix web run build` writes the UI), fixed at build time.
std::filesystem::path default_web_dir();

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7889;
  std::size_t threads = 8;
  std::uint64_t max_body_bytes = 32u << 20;
  int request_timeout_s = 30;
  double rate_limit_per_second = 100;  // per client address; 0 disables (a UI page loads many thumbnails at once)
  double rate_limit_burst = 200;
  std::optional<std::filesystem::path> tls_certificate;  // PEM; with tls_private_key: HTTPS only
  std::optional<std::filesystem::path> tls_private_key;
  std::filesystem::path web_dir = default_web_dir();  // the built web UI served at "/"
  // Origins besides the server's own whose pages may open WebSockets
  // ("https://nvr.example.org"); a comma-separated list in the file and env.
  std::vector<std::string> allowed_origins;
  // Reverse proxies whose X-Forwarded-For is believed (their IP addresses);
  // a comma-separated list in the file and env.
  std::vector<std::string> trusted_proxies;
};

// [database]: the pool settings are used by the PostgreSQL backend; SQLite
// keeps one writer and `max_connections` readers.
struct DatabaseConfig {
  std::string backend = "sqlite";
  int max_connections = 8;
  int min_connections = 1;
  int max_lifetime_s = 1800;
  int idle_timeout_s = 600;
  int acquire_timeout_s = 30;
};

struct AuthConfig {
  int session_ttl_hours = 12;
  int max_concurrent_logins = 1;  // argon2id hashes at once; more logins at that moment: 429
};

struct Config {
  EngineConfig engine;
  ServerConfig server;
  DatabaseConfig database;
  AuthConfig auth;
  std::optional<std::filesystem::path> data_dir;  // [storage] data_dir; unset: ~/.local/share/safelynx
  std::size_t engines = 2;                        // [recognition] engines: face engines for API requests
  std::size_t gallery_capacity = 20;              // [recognition] gallery_capacity
  pipeline::PipelineOptions pipeline;             // [pipeline] and [recording] enabled
  // [cameras] file_roots: the folders file cameras may read; unset: the data
  // dir's `videos` folder (serve puts it in pipeline.file_roots).
  std::optional<std::vector<std::filesystem::path>> camera_file_roots;
  // The run-time settings (GET/PUT /api/v1/settings) the config sets; the
  // keys set explicitly (in `settings_keys`, e.g. "recognition.match_threshold")
  // override the stored value at start.
  Settings settings;
  std::set<std::string> settings_keys;
};

// `environment`: name -> value; only SAFELYNX_<SECTION>_<KEY> names of the
// known sections are read (SAFELYNX_SERVER_PORT=8080).
Config load_config(const std::optional<std::filesystem::path>& file,
                   const std::map<std::string, std::string>& environment);

// The process's environment, for load_config.
std::map<std::string, std::string> process_environment();

// Throws ConfigError naming the first out-of-range value. The run-time
// settings' keys are checked as they are read, against settings_schema().
void validate(const EngineConfig& config);
void validate(const Config& config);

}  // namespace safelynx::app
