#include "app/config.hpp"

#include <set>

#include <toml++/toml.h>

#include "vision/tiny_face_detector.hpp"

namespace safelynx::app {
namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& key, const std::string& what) {
  throw ConfigError(file.string() + ": " + key + ": " + what);
}

template <typename T>
T read_number(const toml::node& node, const std::filesystem::path& file, const std::string& key) {
  if constexpr (std::is_floating_point_v<T>) {
    if (auto v = node.value<double>()) return static_cast<T>(*v);
    fail(file, key, "must be a number");
  } else {
    if (auto v = node.value<std::int64_t>()) {
      if (*v < 0) fail(file, key, "must not be negative");
      return static_cast<T>(*v);
    }
    fail(file, key, "must be an integer");
  }
}

}  // namespace

void validate(const EngineConfig& c) {
  if (!(c.min_score > 0.0f && c.min_score < 1.0f)) throw ConfigError("detection.min_score must be between 0 and 1 (exclusive)");
  try {
    vision::validate_tiny_input_size(c.tiny_input_size);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("detection.tiny_input_size: ") + e.what());
  }
  if (c.max_image_pixels < 1024) throw ConfigError("detection.max_image_pixels must be at least 1024");
  if (!(c.match_threshold > 0.0f && c.match_threshold <= 2.0f))
    throw ConfigError("recognition.match_threshold must be in (0, 2] (L2 distance of unit-scale descriptors)");
  if (c.descriptor_batch_size < 1 || c.descriptor_batch_size > 256)
    throw ConfigError("recognition.descriptor_batch_size must be between 1 and 256");
}

EngineConfig load_engine_config(const std::filesystem::path& file) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    std::string where;
    if (e.source().begin) where = " (line " + std::to_string(e.source().begin.line) + ")";
    throw ConfigError(file.string() + ": malformed TOML" + where + ": " + std::string(e.description()));
  }
  EngineConfig config;
  const std::set<std::string> detection_keys = {"detector", "tiny_input_size", "min_score", "max_image_pixels"};
  const std::set<std::string> recognition_keys = {"match_threshold", "descriptor_batch_size"};
  const std::set<std::string> models_keys = {"dir"};
  for (const auto& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const auto* table = section_node.as_table();
    if (!table) fail(file, section, "expected a [section]");
    if (section != "detection" && section != "recognition" && section != "models")
      fail(file, section, "unknown section (expected [detection], [recognition] or [models])");
    const auto& allowed = section == "detection" ? detection_keys : section == "recognition" ? recognition_keys : models_keys;
    for (const auto& [key_name, node] : *table) {
      const std::string key(key_name.str());
      const std::string full = section + "." + key;
      if (!allowed.count(key)) fail(file, full, "unknown key");
      if (full == "detection.detector") {
        auto text = node.value<std::string>();
        if (!text) fail(file, full, "must be a string");
        try {
          config.detector = vision::parse_detector_kind(*text);
        } catch (const std::invalid_argument& e) {
          fail(file, full, e.what());
        }
      } else if (full == "detection.tiny_input_size") {
        config.tiny_input_size = read_number<int>(node, file, full);
      } else if (full == "detection.min_score") {
        config.min_score = read_number<float>(node, file, full);
      } else if (full == "detection.max_image_pixels") {
        config.max_image_pixels = read_number<std::uint64_t>(node, file, full);
      } else if (full == "recognition.match_threshold") {
        config.match_threshold = read_number<float>(node, file, full);
      } else if (full == "recognition.descriptor_batch_size") {
        config.descriptor_batch_size = read_number<std::size_t>(node, file, full);
      } else if (full == "models.dir") {
        auto text = node.value<std::string>();
        if (!text) fail(file, full, "must be a string");
        config.models_dir = *text;
      }
    }
  }
  try {
    validate(config);
  } catch (const ConfigError& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
  return config;
}

}  // namespace safelynx::app
