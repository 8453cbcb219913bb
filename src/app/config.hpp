// Settings of the face engine and the command line, from defaults, an
// optional TOML file and command-line flags (in that order of precedence).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

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
  float min_score = 0.5f;                                     // [detection] min_score
  std::uint64_t max_image_pixels = 40'000'000;                // [detection] max_image_pixels
  float match_threshold = 0.6f;                               // [recognition] match_threshold (L2)
  std::size_t descriptor_batch_size = 8;                      // [recognition] descriptor_batch_size
};

// Reads a TOML file over the defaults. Unknown sections or keys and bad values
// throw ConfigError naming the file and the key.
EngineConfig load_engine_config(const std::filesystem::path& file);

// Throws ConfigError naming the first out-of-range setting.
void validate(const EngineConfig& config);

}  // namespace safelynx::app
