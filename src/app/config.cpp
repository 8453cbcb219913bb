#include "app/config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <toml++/toml.h>

#include "domain/settings_schema.hpp"
#include "vision/tiny_face_detector.hpp"

extern char** environ;

namespace safelynx::app {
namespace {

using Value = std::variant<std::int64_t, double, bool, std::string, std::vector<std::string>>;
enum class Type { Integer, Number, Boolean, Text, TextList };

struct Key {
  std::string_view name;  // "section.key"
  Type type;
  std::function<void(Config&, const Value&)> apply;
  bool is_setting = false;  // a run-time setting (Settings)
};

std::int64_t as_integer(const Value& v) { return std::get<std::int64_t>(v); }
double as_number(const Value& v) {
  return std::holds_alternative<double>(v) ? std::get<double>(v) : static_cast<double>(std::get<std::int64_t>(v));
}
bool as_bool(const Value& v) { return std::get<bool>(v); }
const std::string& as_text(const Value& v) { return std::get<std::string>(v); }
const std::vector<std::string>& as_list(const Value& v) { return std::get<std::vector<std::string>>(v); }

// "a, b ,c" -> {"a", "b", "c"}.
std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    start = comma + 1;
    if (!item.empty()) items.push_back(std::move(item));
  }
  return items;
}

// IPv4 or IPv6 addresses, written as the server sees its peers.
std::vector<std::string> address_list(const std::string& text) {
  std::vector<std::string> addresses = comma_list(text);
  for (const std::string& address : addresses)
    if (address.size() > 45 || address.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
      throw ConfigError("server.trusted_proxies: '" + address + "' is not an IP address");
  return addresses;
}

// "https://a.example, http://b:8080" -> each an http(s) origin, no path.
std::vector<std::string> origin_list(const std::string& text) {
  std::vector<std::string> origins;
  for (std::string& item : comma_list(text)) {
    const std::size_t scheme_end = item.find("://");
    const std::string scheme = scheme_end == std::string::npos ? "" : item.substr(0, scheme_end);
    if ((scheme != "http" && scheme != "https") || item.size() == scheme_end + 3 ||
        item.find('/', scheme_end + 3) != std::string::npos)
      throw ConfigError("server.allowed_origins: '" + item + "' is not an origin like https://nvr.example.org");
    origins.push_back(item);
  }
  return origins;
}

template <typename T>
T in_range(std::int64_t v, std::int64_t low, std::int64_t high, const char* key) {
  if (v < low || v > high)
    throw ConfigError(std::string(key) + ": must be in [" + std::to_string(low) + ", " + std::to_string(high) +
                      "], got " + std::to_string(v));
  return static_cast<T>(v);
}

double number_in_range(double v, double low, double high, const char* key) {
  if (!(v >= low && v <= high))
    throw ConfigError(std::string(key) + ": must be in [" + std::to_string(low) + ", " + std::to_string(high) + "], got " +
                      std::to_string(v));
  return v;
}

// A run-time setting's key: its type and range are the settings table's,
// so the file refuses what PUT /api/v1/settings would.
Key setting_key(const SettingSpec& spec) {
  const std::string key(spec.key);
  return std::visit(
      [&](const auto& field) -> Key {
        using Field = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<Field, FlagSetting>) {
          return {spec.key, Type::Boolean, [field](Config& c, const Value& v) { field.in(c.settings) = as_bool(v); }, true};
        } else if constexpr (std::is_same_v<Field, NumberSetting<float>>) {
          return {spec.key, Type::Number,
                  [field, key](Config& c, const Value& v) {
                    const auto value = static_cast<float>(as_number(v));
                    if (auto problem = field.range.problem(value)) throw ConfigError(key + " " + *problem);
                    field.in(c.settings) = value;
                  },
                  true};
        } else {
          return {spec.key, Type::Integer,
                  [field, key](Config& c, const Value& v) {
                    using T = std::remove_cvref_t<decltype(field.range.low)>;
                    const std::int64_t value = as_integer(v);
                    const auto problem = std::in_range<T>(value) ? field.range.problem(static_cast<T>(value))
                                                                 : field.range.refusal(std::to_string(value));
                    if (problem) throw ConfigError(key + " " + *problem);
                    field.in(c.settings) = static_cast<T>(value);
                  },
                  true};
        }
      },
      spec.field);
}

std::vector<Key> make_keys() {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  return {
      {"models.dir", Type::Text, [](Config& c, const Value& v) { c.engine.models_dir = as_text(v); }},
      {"detection.detector", Type::Text,
       [](Config& c, const Value& v) {
         try {
           c.engine.detector = vision::parse_detector_kind(as_text(v));
         } catch (const std::invalid_argument& e) {
           throw ConfigError(std::string("detection.detector: ") + e.what());
         }
       }},
      {"detection.tiny_input_size", Type::Integer,
       [](Config& c, const Value& v) { c.engine.tiny_input_size = in_range<int>(as_integer(v), 0, 4096, "detection.tiny_input_size"); }},
      {"detection.max_image_pixels", Type::Integer,
       [](Config& c, const Value& v) {
         c.engine.max_image_pixels = in_range<std::uint64_t>(as_integer(v), 0, kMax, "detection.max_image_pixels");
       }},
      {"recognition.descriptor_batch_size", Type::Integer,
       [](Config& c, const Value& v) {
         c.engine.descriptor_batch_size = in_range<std::size_t>(as_integer(v), 0, 1 << 20, "recognition.descriptor_batch_size");
       }},
      {"recognition.engines", Type::Integer,
       [](Config& c, const Value& v) { c.engines = in_range<std::size_t>(as_integer(v), 1, 64, "recognition.engines"); }},
      {"recognition.gallery_capacity", Type::Integer,
       [](Config& c, const Value& v) {
         c.gallery_capacity = in_range<std::size_t>(as_integer(v), 1, 1000, "recognition.gallery_capacity");
       }},
      {"storage.data_dir", Type::Text, [](Config& c, const Value& v) { c.data_dir = as_text(v); }},
      {"recording.enabled", Type::Boolean, [](Config& c, const Value& v) { c.pipeline.record = as_bool(v); }},
      {"pipeline.detection_workers", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.detection_workers = in_range<std::size_t>(as_integer(v), 1, 16, "pipeline.detection_workers"); }},
      {"pipeline.embedding_workers", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.embedding_workers = in_range<std::size_t>(as_integer(v), 1, 16, "pipeline.embedding_workers"); }},
      {"pipeline.embedding_batch", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.embedding_batch = in_range<std::size_t>(as_integer(v), 1, 64, "pipeline.embedding_batch"); }},
      {"pipeline.capture_queue", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.capture_queue = in_range<std::size_t>(as_integer(v), 1, 120, "pipeline.capture_queue"); }},
      {"pipeline.detection_queue", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.detection_queue = in_range<std::size_t>(as_integer(v), 1, 120, "pipeline.detection_queue"); }},
      {"pipeline.embedding_queue", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.embedding_queue = in_range<std::size_t>(as_integer(v), 1, 120, "pipeline.embedding_queue"); }},
      {"pipeline.tiny_input_size", Type::Integer,
       [](Config& c, const Value& v) {
         const int size = in_range<int>(as_integer(v), 128, 1024, "pipeline.tiny_input_size");
         if (size % 32 != 0) throw ConfigError("pipeline.tiny_input_size: must be a multiple of 32, got " + std::to_string(size));
         c.pipeline.tiny_input_size = size;
       }},
      {"pipeline.second_pass_every", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.second_pass_every = in_range<std::size_t>(as_integer(v), 0, 1000, "pipeline.second_pass_every"); }},
      {"pipeline.second_pass_input_size", Type::Integer,
       [](Config& c, const Value& v) {
         const int size = in_range<int>(as_integer(v), 0, 1024, "pipeline.second_pass_input_size");
         if (size % 32 != 0 || (size != 0 && size < 128))
           throw ConfigError("pipeline.second_pass_input_size: must be 0 or a multiple of 32 in [128, 1024], got " + std::to_string(size));
         c.pipeline.second_pass.small_face_input = size;
       }},
      {"pipeline.second_pass_turn_degrees", Type::Number,
       [](Config& c, const Value& v) {
         c.pipeline.second_pass.turn_degrees = number_in_range(as_number(v), 0, 60, "pipeline.second_pass_turn_degrees");
       }},
      {"pipeline.detection_fps", Type::Number,
       [](Config& c, const Value& v) { c.pipeline.detection_fps = number_in_range(as_number(v), 0, 120, "pipeline.detection_fps"); }},
      {"pipeline.motion_gating", Type::Boolean, [](Config& c, const Value& v) { c.pipeline.motion_gating = as_bool(v); }},
      {"pipeline.motion_min_changed", Type::Number,
       [](Config& c, const Value& v) { c.pipeline.motion_min_changed = number_in_range(as_number(v), 0, 1, "pipeline.motion_min_changed"); }},
      {"pipeline.idle_detection_interval_ms", Type::Integer,
       [](Config& c, const Value& v) {
         c.pipeline.idle_detection_interval = std::chrono::milliseconds(in_range<int>(as_integer(v), 0, 3'600'000, "pipeline.idle_detection_interval_ms"));
       }},
      {"pipeline.descriptor_refresh_ms", Type::Integer,
       [](Config& c, const Value& v) {
         c.pipeline.descriptor_refresh_interval = std::chrono::milliseconds(in_range<int>(as_integer(v), 0, 3'600'000, "pipeline.descriptor_refresh_ms"));
       }},
      {"pipeline.unknown_min_detections", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.unknown_min_detections = in_range<std::size_t>(as_integer(v), 1, 1000, "pipeline.unknown_min_detections"); }},
      {"pipeline.unknown_min_face_size", Type::Integer,
       [](Config& c, const Value& v) { c.pipeline.unknown_min_face_size = static_cast<float>(in_range<int>(as_integer(v), 16, 4096, "pipeline.unknown_min_face_size")); }},
      {"pipeline.unknown_min_score", Type::Number,
       [](Config& c, const Value& v) { c.pipeline.unknown_min_score = static_cast<float>(number_in_range(as_number(v), 0, 1, "pipeline.unknown_min_score")); }},
      {"pipeline.unknown_min_sharpness", Type::Number,
       [](Config& c, const Value& v) { c.pipeline.unknown_min_sharpness = number_in_range(as_number(v), 0, 1e6, "pipeline.unknown_min_sharpness"); }},
      {"server.host", Type::Text, [](Config& c, const Value& v) { c.server.host = as_text(v); }},
      {"server.port", Type::Integer,
       [](Config& c, const Value& v) { c.server.port = in_range<std::uint16_t>(as_integer(v), 0, 65535, "server.port"); }},
      {"server.threads", Type::Integer,
       [](Config& c, const Value& v) { c.server.threads = in_range<std::size_t>(as_integer(v), 1, 256, "server.threads"); }},
      {"server.max_body_bytes", Type::Integer,
       [](Config& c, const Value& v) {
         c.server.max_body_bytes = in_range<std::uint64_t>(as_integer(v), 1024, std::int64_t(1) << 32, "server.max_body_bytes");
       }},
      {"server.request_timeout_s", Type::Integer,
       [](Config& c, const Value& v) { c.server.request_timeout_s = in_range<int>(as_integer(v), 1, 3600, "server.request_timeout_s"); }},
      {"server.rate_limit_per_second", Type::Number,
       [](Config& c, const Value& v) { c.server.rate_limit_per_second = as_number(v); }},
      {"server.rate_limit_burst", Type::Number, [](Config& c, const Value& v) { c.server.rate_limit_burst = as_number(v); }},
      {"server.tls_certificate", Type::Text, [](Config& c, const Value& v) { c.server.tls_certificate = as_text(v); }},
      {"server.tls_private_key", Type::Text, [](Config& c, const Value& v) { c.server.tls_private_key = as_text(v); }},
      {"server.web_dir", Type::Text,
       [](Config& c, const Value& v) {
         if (as_text(v).empty()) throw ConfigError("server.web_dir: must not be empty");
         c.server.web_dir = as_text(v);
       }},
      {"server.allowed_origins", Type::Text,
       [](Config& c, const Value& v) { c.server.allowed_origins = origin_list(as_text(v)); }},
      {"server.trusted_proxies", Type::Text,
       [](Config& c, const Value& v) { c.server.trusted_proxies = address_list(as_text(v)); }},
      {"database.backend", Type::Text, [](Config& c, const Value& v) { c.database.backend = as_text(v); }},
      {"database.max_connections", Type::Integer,
       [](Config& c, const Value& v) { c.database.max_connections = in_range<int>(as_integer(v), 1, 1000, "database.max_connections"); }},
      {"database.min_connections", Type::Integer,
       [](Config& c, const Value& v) { c.database.min_connections = in_range<int>(as_integer(v), 0, 1000, "database.min_connections"); }},
      {"database.max_lifetime", Type::Integer,
       [](Config& c, const Value& v) { c.database.max_lifetime_s = in_range<int>(as_integer(v), 1, 1 << 30, "database.max_lifetime"); }},
      {"database.idle_timeout", Type::Integer,
       [](Config& c, const Value& v) { c.database.idle_timeout_s = in_range<int>(as_integer(v), 1, 1 << 30, "database.idle_timeout"); }},
      {"database.acquire_timeout", Type::Integer,
       [](Config& c, const Value& v) { c.database.acquire_timeout_s = in_range<int>(as_integer(v), 1, 3600, "database.acquire_timeout"); }},
      {"cameras.file_roots", Type::TextList,
       [](Config& c, const Value& v) {
         std::vector<std::filesystem::path> roots;
         for (const std::string& root : as_list(v)) {
           if (!std::filesystem::path(root).is_absolute())
             throw ConfigError("cameras.file_roots: '" + root + "' is not an absolute path");
           roots.emplace_back(root);
         }
         c.camera_file_roots = std::move(roots);
       }},
      {"auth.session_ttl_hours", Type::Integer,
       [](Config& c, const Value& v) { c.auth.session_ttl_hours = in_range<int>(as_integer(v), 1, 24 * 365, "auth.session_ttl_hours"); }},
      {"auth.max_concurrent_logins", Type::Integer,
       [](Config& c, const Value& v) { c.auth.max_concurrent_logins = in_range<int>(as_integer(v), 1, 64, "auth.max_concurrent_logins"); }},
  };
}

const std::vector<Key>& keys() {
  static const std::vector<Key> table = [] {
    std::vector<Key> all = make_keys();
    for (const SettingSpec& spec : settings_schema()) all.push_back(setting_key(spec));
    return all;
  }();
  return table;
}

std::vector<std::string> sections() {
  std::vector<std::string> out;
  for (const Key& key : keys()) {
    const std::string section(key.name.substr(0, key.name.find('.')));
    if (std::find(out.begin(), out.end(), section) == out.end()) out.push_back(section);
  }
  return out;
}

const char* type_name(Type type) {
  switch (type) {
    case Type::Integer: return "an integer";
    case Type::Number: return "a number";
    case Type::Boolean: return "true or false";
    case Type::Text: return "a string";
    case Type::TextList: return "a list of strings (in a variable: separated by ':')";
  }
  return "";
}

std::optional<Value> from_toml(const toml::node& node, Type type) {
  switch (type) {
    case Type::Integer:
      if (auto v = node.value_exact<std::int64_t>()) return Value(*v);
      return std::nullopt;
    case Type::Number:
      if (node.is_floating_point() || node.is_integer()) {
        const double d = *node.value<double>();
        if (std::isfinite(d)) return Value(d);
      }
      return std::nullopt;
    case Type::Boolean:
      if (auto v = node.value_exact<bool>()) return Value(*v);
      return std::nullopt;
    case Type::Text:
      if (auto v = node.value_exact<std::string>()) return Value(*v);
      return std::nullopt;
    case Type::TextList: {
      const auto* array = node.as_array();
      if (!array) return std::nullopt;
      std::vector<std::string> items;
      for (const toml::node& item : *array) {
        auto text = item.value_exact<std::string>();
        if (!text) return std::nullopt;
        items.push_back(*text);
      }
      return Value(std::move(items));
    }
  }
  return std::nullopt;
}

std::optional<Value> from_text(const std::string& text, Type type) {
  try {
    std::size_t used = 0;
    switch (type) {
      case Type::Integer: {
        const long long v = std::stoll(text, &used);
        if (used == text.size()) return Value(static_cast<std::int64_t>(v));
        return std::nullopt;
      }
      case Type::Number: {
        const double v = std::stod(text, &used);
        if (used == text.size() && std::isfinite(v)) return Value(v);
        return std::nullopt;
      }
      case Type::Boolean:
        if (text == "true" || text == "1") return Value(true);
        if (text == "false" || text == "0") return Value(false);
        return std::nullopt;
      case Type::Text: return Value(text);
      case Type::TextList: {
        // Like PATH: "/srv/videos:/mnt/clips"; empty items are skipped.
        std::vector<std::string> items;
        std::size_t start = 0;
        while (start <= text.size()) {
          const std::size_t end = std::min(text.find(':', start), text.size());
          if (end > start) items.push_back(text.substr(start, end - start));
          start = end + 1;
        }
        return Value(std::move(items));
      }
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

const Key* find_key(const std::string& name) {
  for (const Key& key : keys())
    if (name == key.name) return &key;
  return nullptr;
}

void apply(Config& config, const Key& key, const Value& value, const std::string& origin) {
  try {
    key.apply(config, value);
  } catch (const ConfigError& e) {
    throw ConfigError(origin + ": " + e.what());
  }
  if (key.is_setting) config.settings_keys.emplace(key.name);
}

void read_file(Config& config, const std::filesystem::path& file) {
  toml::table root;
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error))
    throw ConfigError(file.string() + ": cannot read the config file (" +
                      (std::filesystem::exists(file, error) ? "not a regular file" : "no such file") + ")");
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    std::string where;
    if (e.source().begin) where = " (line " + std::to_string(e.source().begin.line) + ")";
    throw ConfigError(file.string() + ": malformed TOML" + where + ": " + std::string(e.description()));
  }
  const auto known_sections = sections();
  for (const auto& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const auto* table = section_node.as_table();
    if (!table) throw ConfigError(file.string() + ": " + section + ": expected a [section]");
    if (std::find(known_sections.begin(), known_sections.end(), section) == known_sections.end()) {
      std::string list;
      for (const auto& s : known_sections) list += (list.empty() ? "[" : ", [") + s + "]";
      throw ConfigError(file.string() + ": " + section + ": unknown section (expected one of " + list + ")");
    }
    for (const auto& [key_name, node] : *table) {
      const std::string full = section + "." + std::string(key_name.str());
      const Key* key = find_key(full);
      if (!key) throw ConfigError(file.string() + ": " + full + ": unknown key");
      const auto value = from_toml(node, key->type);
      if (!value) throw ConfigError(file.string() + ": " + full + ": must be " + type_name(key->type));
      apply(config, *key, *value, file.string());
    }
  }
}

void read_environment(Config& config, const std::map<std::string, std::string>& environment) {
  for (const std::string& section : sections()) {
    std::string prefix = "SAFELYNX_" + section + "_";
    std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char ch) { return std::toupper(ch); });
    for (auto it = environment.lower_bound(prefix); it != environment.end() && it->first.starts_with(prefix); ++it) {
      std::string key_part = it->first.substr(prefix.size());
      std::transform(key_part.begin(), key_part.end(), key_part.begin(), [](unsigned char ch) { return std::tolower(ch); });
      const Key* key = find_key(section + "." + key_part);
      if (!key) throw ConfigError("environment variable " + it->first + ": no such key " + section + "." + key_part);
      const auto value = from_text(it->second, key->type);
      if (!value) throw ConfigError("environment variable " + it->first + ": must be " + type_name(key->type) + ", got '" + it->second + "'");
      apply(config, *key, *value, "environment variable " + it->first);
    }
  }
}

}  // namespace

std::filesystem::path default_web_dir() {
#ifdef SAFELYNX_DEFAULT_WEB_DIR
  return SAFELYNX_DEFAULT_WEB_DIR;  // set by src/CMakeLists.txt
#else
  return "web/dist";
#endif
}

namespace {

// A flag (--min-score, --threshold) may have changed one of these two after the file.
void refuse_out_of_range(std::string_view key, float value) {
  if (auto problem = std::get<NumberSetting<float>>(find_setting(key)->field).range.problem(value))
    throw ConfigError(std::string(key) + " " + *problem);
}

}  // namespace

void validate(const EngineConfig& c) {
  refuse_out_of_range("detection.min_score", c.min_score);
  try {
    vision::validate_tiny_input_size(c.tiny_input_size);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("detection.tiny_input_size: ") + e.what());
  }
  if (c.max_image_pixels < 1024) throw ConfigError("detection.max_image_pixels must be at least 1024");
  refuse_out_of_range("recognition.match_threshold", c.match_threshold);
  if (c.descriptor_batch_size < 1 || c.descriptor_batch_size > 256)
    throw ConfigError("recognition.descriptor_batch_size must be between 1 and 256");
}

void validate(const Config& c) {
  validate(c.engine);
  if (c.database.backend != "sqlite")
    throw ConfigError("database.backend: '" + c.database.backend + "' is not available in this build (expected sqlite)");
  if (c.database.min_connections > c.database.max_connections)
    throw ConfigError("database.min_connections must not exceed database.max_connections");
  if (c.server.tls_certificate.has_value() != c.server.tls_private_key.has_value())
    throw ConfigError("server.tls_certificate and server.tls_private_key must be set together");
  if (c.server.rate_limit_per_second < 0 || c.server.rate_limit_burst < 0)
    throw ConfigError("server.rate_limit_per_second and server.rate_limit_burst must not be negative");
  if (c.server.rate_limit_per_second > 0 && c.server.rate_limit_burst < 1)
    throw ConfigError("server.rate_limit_burst must be at least 1 when rate limiting is on");
}

Config load_config(const std::optional<std::filesystem::path>& file,
                   const std::map<std::string, std::string>& environment) {
  Config config;
  if (file) read_file(config, *file);
  read_environment(config, environment);
  // The engine of detect, embed and identify starts from these two settings.
  config.engine.min_score = config.settings.detection.min_score;
  config.engine.match_threshold = config.settings.recognition.match_threshold;
  try {
    validate(config);
  } catch (const ConfigError& e) {
    throw ConfigError((file ? file->string() + ": " : std::string()) + e.what());
  }
  return config;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq != std::string_view::npos) out.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return out;
}

}  // namespace safelynx::app
