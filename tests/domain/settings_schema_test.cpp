// The one table of run-time settings (domain/settings_schema.hpp) and what is
// driven by it: every member of Settings is in it once, the JSON of storage
// and the API goes both ways, the config file checks its ranges, the schema
// endpoint lists it, and the documents say what it says.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/config.hpp"
#include "app/openapi_document.hpp"
#include "domain/settings_schema.hpp"
#include "server/api/json_mapping.hpp"
#include "storage/settings_json.hpp"

namespace safelynx {
namespace {

using nlohmann::json;

template <typename T>
std::string text_of(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Every member differs from its default.
Settings non_default() {
  Settings s;
  s.detection = {0.73f, 64};
  s.recognition = {0.45f, 0.08f, 0.7f, 120};
  s.recording = {2, 20, 600};
  s.storage = {123ull << 30, false, 7};
  s.notifications = {false, true};
  s.retention = {10, 400};
  s.audit.retention_days = 90;
  return s;
}

// Copies every member the table names from a Settings whose bytes are all 1
// into one whose bytes are all 0: a member the table misses stays 0, and the
// two then differ.
TEST(SettingsSchema, EveryMemberOfSettingsIsInTheTableExactlyOnce) {
  static_assert(std::is_trivially_copyable_v<Settings>);
  Settings ones;
  Settings copied;
  std::memset(static_cast<void*>(&ones), 1, sizeof ones);  // true, 0x01010101, a tiny float: all comparable
  std::memset(static_cast<void*>(&copied), 0, sizeof copied);
  std::set<const void*> members;
  std::set<std::string_view> keys;
  for (const SettingSpec& spec : settings_schema()) {
    EXPECT_TRUE(keys.insert(spec.key).second) << spec.key << " is in the table twice";
    std::visit(
        [&](const auto& field) {
          EXPECT_TRUE(members.insert(&field.in(copied)).second) << spec.key << " names a member another key names";
          EXPECT_EQ(&field.of(copied), &field.in(copied)) << spec.key;
          field.in(copied) = field.of(ones);
        },
        spec.field);
  }
  EXPECT_TRUE(copied == ones) << "a member of Settings is not in settings_schema()";
}

TEST(SettingsSchema, KeysAreSectionDotNameAndFindable) {
  std::vector<std::string_view> sections;
  for (const SettingSpec& spec : settings_schema()) {
    EXPECT_EQ(std::string(spec.section()) + "." + std::string(spec.name()), spec.key);
    EXPECT_EQ(find_setting(spec.key), &spec);
    EXPECT_FALSE(spec.label.empty()) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
    if (sections.empty() || sections.back() != spec.section()) sections.push_back(spec.section());
  }
  EXPECT_EQ(sections, (std::vector<std::string_view>{"detection", "recognition", "recording", "storage", "notifications",
                                                     "retention", "audit"}));
  EXPECT_TRUE(std::equal(sections.begin(), sections.end(), settings_sections().begin(), settings_sections().end()));
  EXPECT_EQ(find_setting("detection.min_scor"), nullptr);
  EXPECT_EQ(find_setting("detection"), nullptr);
}

TEST(SettingsSchema, TheDefaultsAreInsideTheRanges) {
  const Settings defaults;
  for (const SettingSpec& spec : settings_schema())
    std::visit(
        [&](const auto& field) {
          if constexpr (requires { field.range; }) {
            EXPECT_TRUE(field.range.contains(field.of(defaults))) << spec.key;
          }
        },
        spec.field);
}

TEST(SettingsSchema, RangesSayWhichEndsBelong) {
  const SettingRange<float> open_both{0.0f, 1.0f, RangeEnds::OpenBoth};
  EXPECT_FALSE(open_both.contains(0.0f));
  EXPECT_FALSE(open_both.contains(1.0f));
  EXPECT_TRUE(open_both.contains(0.5f));
  EXPECT_FALSE(open_both.contains(std::nanf("")));
  EXPECT_EQ(open_both.text(), "(0, 1)");
  const SettingRange<float> open_low{0.0f, 2.0f, RangeEnds::OpenLow};
  EXPECT_TRUE(open_low.contains(2.0f));
  EXPECT_EQ(open_low.problem(0.0f), "must be in (0, 2], got 0");
  const SettingRange<int> closed{16, 4096};
  EXPECT_EQ(closed.problem(16), std::nullopt);
  EXPECT_EQ(closed.problem(8), "must be in [16, 4096], got 8");
  EXPECT_EQ(closed.refusal("1099511627776"), "must be in [16, 4096], got 1099511627776");
  EXPECT_TRUE(closed.has_high());
  EXPECT_FALSE((SettingRange<std::uint64_t>{1, std::numeric_limits<std::uint64_t>::max()}.has_high()));
}

TEST(SettingsJson, TheShapeIsTheOneTheApiDocuments) {
  EXPECT_EQ(storage::settings_to_json(Settings{}), json::parse(R"({
    "detection": {"min_score": 0.5, "min_face_size": 40},
    "recognition": {"match_threshold": 0.5, "min_margin": 0.05, "stranger_threshold": 0.65, "sighting_cooldown_s": 30},
    "recording": {"pre_buffer_s": 5, "post_buffer_s": 10, "max_segment_s": 300},
    "storage": {"quota_bytes": 100000000000, "auto_cleanup": true, "min_retention_days": 1},
    "notifications": {"on_flagged": true, "on_unknown": false},
    "retention": {"unknown_profiles_days": 30, "known_profiles_days": 0},
    "audit": {"retention_days": 365}
  })"));
  EXPECT_EQ(server::to_json(Settings{}), storage::settings_to_json(Settings{}));
}

TEST(SettingsJson, NonDefaultSettingsRoundTripThroughStorageAndTheApi) {
  const Settings changed = non_default();
  for (const SettingSpec& spec : settings_schema())
    std::visit([&](const auto& field) { EXPECT_NE(field.of(changed), field.of(Settings{})) << spec.key; }, spec.field);
  const json stored = storage::settings_to_json(changed);
  EXPECT_TRUE(storage::settings_from_json(stored) == changed) << stored.dump();
  EXPECT_TRUE(server::apply_settings_json(Settings{}, server::to_json(changed)) == changed);
}

TEST(SettingsJson, StoredSettingsAreReadTolerantly) {
  const Settings loaded = storage::settings_from_json(json::parse(R"({
    "detection": {"min_score": 0.8, "min_face_size": 3000000000, "future": 1},
    "recognition": {"match_threshold": "high", "sighting_cooldown_s": 45},
    "storage": {"quota_bytes": -5, "auto_cleanup": 0},
    "notifications": [], "extra": {}})"));
  Settings expected;
  expected.detection.min_score = 0.8f;
  expected.recognition.sighting_cooldown_s = 45;
  EXPECT_TRUE(loaded == expected);
  EXPECT_TRUE(storage::settings_from_json(json::array()) == Settings{});
}

std::string api_error(const json& body) {
  try {
    (void)server::apply_settings_json(Settings{}, body);
  } catch (const server::ApiError& e) {
    return e.code() + ": " + e.what();
  }
  return "";
}

TEST(SettingsJson, APutBodyIsReadStrictly) {
  EXPECT_EQ(api_error({{"detection", {{"min_scor", 0.4}}}}), "invalid_field: detection.min_scor: is not a setting");
  EXPECT_EQ(api_error({{"detecton", json::object()}}).find("invalid_field: detecton: is not a known field (expected detection, "), 0u);
  EXPECT_EQ(api_error({{"detection", 1}}), "invalid_field: detection: must be an object");
  EXPECT_EQ(api_error({{"storage", {{"auto_cleanup", "yes"}}}}), "invalid_field: storage.auto_cleanup: must be true or false");
  EXPECT_EQ(api_error({{"detection", {{"min_score", "x"}}}}), "invalid_field: detection.min_score: must be a number");
  EXPECT_EQ(api_error({{"recording", {{"pre_buffer_s", 1.5}}}}), "invalid_field: recording.pre_buffer_s: must be an integer");
  EXPECT_EQ(api_error({{"recording", {{"pre_buffer_s", 3000000000u}}}}), "invalid_field: recording.pre_buffer_s: is too large");
  EXPECT_EQ(api_error({{"storage", {{"quota_bytes", -1}}}}), "invalid_field: storage.quota_bytes: is out of range");
  EXPECT_EQ(api_error({{"detection", {{"min_score", 1.5}}}, {"recording", {{"max_segment_s", 1}}}}),
            "invalid_settings: detection.min_score must be in (0, 1), got 1.5; recording.max_segment_s must be in [10, 3600], got 1");
  EXPECT_EQ(api_error(json::array()).find("malformed_json"), 0u);
}

json schema_entry(const std::string& key) {
  const json schema = server::settings_schema_json();
  for (const json& item : schema["settings"])
    if (item["key"] == key) {
      json shape = item;
      shape.erase("label");
      shape.erase("help");
      return shape;
    }
  return nullptr;
}

TEST(SettingsSchemaJson, ListsEveryKeyWithItsRangeAndDefault) {
  const json schema = server::settings_schema_json();
  const json defaults = server::to_json(Settings{});
  ASSERT_EQ(schema["settings"].size(), settings_schema().size());
  for (std::size_t i = 0; i < settings_schema().size(); ++i) {
    const SettingSpec& spec = settings_schema()[i];
    const json& item = schema["settings"][i];
    EXPECT_EQ(item["key"], std::string(spec.key));
    EXPECT_EQ(item["label"], std::string(spec.label));
    EXPECT_EQ(item["help"], std::string(spec.help));
    EXPECT_EQ(item["default"], defaults[std::string(spec.section())][std::string(spec.name())]) << spec.key;
    EXPECT_EQ(item.contains("minimum"), item["type"] != "boolean") << spec.key;
  }
  EXPECT_EQ(schema_entry("detection.min_score"), json::parse(R"({"key": "detection.min_score", "type": "number", "unit": "",
    "minimum": 0, "exclusive_minimum": true, "maximum": 1, "exclusive_maximum": true, "default": 0.5})"));
  EXPECT_EQ(schema_entry("recognition.match_threshold"), json::parse(R"({"key": "recognition.match_threshold", "type": "number",
    "unit": "", "minimum": 0, "exclusive_minimum": true, "maximum": 2, "exclusive_maximum": false, "default": 0.5})"));
  EXPECT_EQ(schema_entry("detection.min_face_size"), json::parse(R"({"key": "detection.min_face_size", "type": "integer",
    "unit": "px", "minimum": 16, "exclusive_minimum": false, "maximum": 4096, "exclusive_maximum": false, "default": 40})"));
  EXPECT_EQ(schema_entry("storage.quota_bytes"), json::parse(R"({"key": "storage.quota_bytes", "type": "integer",
    "unit": "bytes", "minimum": 104857600, "exclusive_minimum": false, "default": 100000000000})"));
  EXPECT_EQ(schema_entry("storage.auto_cleanup"), json::parse(R"({"key": "storage.auto_cleanup", "type": "boolean",
    "unit": "", "default": true})"));
}

// --- The config file and environment -----------------------------------------

std::string config_error(const std::map<std::string, std::string>& environment) {
  try {
    (void)app::load_config(std::nullopt, environment);
  } catch (const app::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string variable_of(const SettingSpec& spec) {
  std::string name = "SAFELYNX_" + std::string(spec.section()) + "_" + std::string(spec.name());
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  return name;
}

// Just outside each end (an open end itself), and a value inside.
template <typename T>
struct Probes {
  std::vector<std::string> outside;
  T inside;
};

template <typename T>
Probes<T> probes(const SettingRange<T>& r) {
  using Wide = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
  Probes<T> p{{text_of(r.ends == RangeEnds::Closed ? Wide(r.low) - 1 : Wide(r.low))}, r.low};
  if (r.has_high()) p.outside.push_back(text_of(r.ends == RangeEnds::OpenBoth ? Wide(r.high) : Wide(r.high) + 1));
  if (r.ends == RangeEnds::OpenLow) p.inside = r.high;
  if (r.ends == RangeEnds::OpenBoth) p.inside = static_cast<T>((r.low + r.high) / 2);
  return p;
}

TEST(SettingsInTheConfig, EverySettingIsAKeyCheckedAgainstTheTablesRange) {
  for (const SettingSpec& spec : settings_schema()) {
    const std::string variable = variable_of(spec);
    std::visit(
        [&](const auto& field) {
          if constexpr (requires { field.range; }) {
            const auto p = probes(field.range);
            for (const std::string& value : p.outside) {
              const std::string message = config_error({{variable, value}});
              EXPECT_NE(message.find("environment variable " + variable + ": " + std::string(spec.key) + " must be in " +
                                     field.range.text() + ", got "),
                        std::string::npos)
                  << variable << "=" << value << " -> " << message;
            }
            const app::Config config = app::load_config(std::nullopt, {{variable, text_of(p.inside)}});
            EXPECT_EQ(field.of(config.settings), p.inside) << spec.key;
            EXPECT_EQ(config.settings_keys, std::set<std::string>{std::string(spec.key)});
          } else {
            const bool flipped = !field.of(Settings{});
            const app::Config config = app::load_config(std::nullopt, {{variable, flipped ? "true" : "false"}});
            EXPECT_EQ(field.of(config.settings), flipped) << spec.key;
            EXPECT_EQ(config.settings_keys, std::set<std::string>{std::string(spec.key)});
          }
        },
        spec.field);
  }
}

class SettingsConfigFile : public ::testing::Test {
 protected:
  std::string error_of(const std::string& text) {
    std::ofstream(path_) << text;
    try {
      (void)app::load_config(path_, {});
    } catch (const app::ConfigError& e) {
      return e.what();
    }
    return "";
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_ =
      std::filesystem::temp_directory_path() / ("safelynx_settings_test_" + std::to_string(::getpid()) + ".toml");
};

// The config once took min_face_size in [0, 2^20] and the other settings in
// [-1, 2^30]; the domain's ranges are the only ones now.
TEST_F(SettingsConfigFile, TheDomainsRangesAreTheConfigsRanges) {
  EXPECT_EQ(error_of("[detection]\nmin_face_size = 8\n"),
            path_.string() + ": detection.min_face_size must be in [16, 4096], got 8");
  EXPECT_NE(error_of("[recognition]\nsighting_cooldown_s = 10000000000\n")
                .find("recognition.sighting_cooldown_s must be in [0, 86400], got 10000000000"),
            std::string::npos);
  EXPECT_NE(error_of("[storage]\nquota_bytes = -1\n").find("storage.quota_bytes must be in [104857600, "), std::string::npos);
  EXPECT_NE(error_of("[notifications]\non_unknown = 1\n").find("notifications.on_unknown: must be true or false"),
            std::string::npos);
  EXPECT_EQ(error_of("[notifications]\non_unknown = true\n[detection]\nmin_face_size = 16\n"), "");
}

TEST(SettingsInTheConfig, FlagsForTheEngineAreCheckedLikeTheSettings) {
  app::EngineConfig engine;
  EXPECT_EQ(engine.min_score, Settings{}.detection.min_score);
  EXPECT_EQ(engine.match_threshold, Settings{}.recognition.match_threshold);
  engine.match_threshold = 3.0f;
  try {
    app::validate(engine);
    ADD_FAILURE() << "a threshold of 3 was taken";
  } catch (const app::ConfigError& e) {
    EXPECT_STREQ(e.what(), "recognition.match_threshold must be in (0, 2], got 3");
  }
  const app::Config config = app::load_config(std::nullopt, {{"SAFELYNX_DETECTION_MIN_SCORE", "0.7"}});
  EXPECT_FLOAT_EQ(config.engine.min_score, 0.7f);
}

// --- The documents -----------------------------------------------------------

std::string read_text(const std::string& relative) {
  std::ifstream in(std::string(SAFELYNX_SOURCE_DIR) + "/" + relative);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The cells of the Markdown table row of `key`, trimmed; empty when missing.
std::vector<std::string> row_of(const std::string& text, std::string_view key) {
  const std::size_t start = text.find("\n| `" + std::string(key) + "` |");
  if (start == std::string::npos) return {};
  std::stringstream line(text.substr(start + 3, text.find('\n', start + 1) - start - 3));
  std::vector<std::string> cells;
  for (std::string cell; std::getline(line, cell, '|');) {
    cell.erase(0, cell.find_first_not_of(' '));
    cell.erase(cell.find_last_not_of(' ') + 1);
    cells.push_back(cell);
  }
  return cells;
}

struct Documented {
  std::string type;     // "number", "integer", "boolean"
  std::string range;    // "(0, 1)", ">= 104857600", "" for booleans
  std::string default_; // "0.5", "true"
};

Documented documented(const SettingSpec& spec) {
  return std::visit(
      [&](const auto& field) -> Documented {
        const std::string default_text = storage::setting_json(field.of(Settings{})).dump();
        if constexpr (requires { field.range; }) {
          using T = std::remove_cvref_t<decltype(field.range.low)>;
          const std::string range = field.range.has_high() ? field.range.text() : ">= " + text_of(field.range.low);
          return {std::is_floating_point_v<T> ? "number" : "integer", range, default_text};
        } else {
          return {"boolean", "", default_text};
        }
      },
      spec.field);
}

TEST(SettingsDocuments, ApiAndConfigTablesGiveEachSettingsTypeRangeAndDefault) {
  const std::string api = read_text("docs/API.md");
  const std::string config = read_text("docs/CONFIG.md");
  ASSERT_FALSE(api.empty());
  ASSERT_FALSE(config.empty());
  for (const SettingSpec& spec : settings_schema()) {
    const Documented expected = documented(spec);
    const auto api_row = row_of(api, spec.key);  // | key | type | range | meaning |
    ASSERT_GE(api_row.size(), 4u) << spec.key << " is not in API.md";
    EXPECT_EQ(api_row[1], expected.type) << spec.key;
    EXPECT_EQ(api_row[2], expected.range) << spec.key;
    const auto config_row = row_of(config, spec.key);  // | key | type | default | range | meaning |
    ASSERT_GE(config_row.size(), 5u) << spec.key << " is not in CONFIG.md";
    EXPECT_EQ(config_row[1], expected.type) << spec.key;
    EXPECT_TRUE(config_row[2].starts_with(expected.default_)) << spec.key << ": " << config_row[2];
    EXPECT_TRUE(config_row[3].starts_with(expected.range)) << spec.key << ": " << config_row[3];
  }
}

TEST(SettingsDocuments, TheOpenApiSettingsSchemaIsTheTable) {
  const json document = json::parse(app::openapi_document());
  EXPECT_TRUE(document["paths"].contains("/api/v1/settings/schema"));
  const json& sections = document["components"]["schemas"]["Settings"]["properties"];
  std::size_t documented_keys = 0;
  for (const auto& [section, object] : sections.items()) documented_keys += object["properties"].size();
  EXPECT_EQ(documented_keys, settings_schema().size());
  for (const SettingSpec& spec : settings_schema()) {
    const json property = sections[std::string(spec.section())]["properties"][std::string(spec.name())];
    ASSERT_TRUE(property.is_object()) << spec.key;
    EXPECT_EQ(property["type"], documented(spec).type) << spec.key;
    std::visit(
        [&](const auto& field) {
          EXPECT_EQ(property["default"], storage::setting_json(field.of(Settings{}))) << spec.key;
          if constexpr (requires { field.range; }) {
            EXPECT_EQ(property["minimum"], storage::setting_json(field.range.low)) << spec.key;
            EXPECT_EQ(property.value("exclusiveMinimum", false), field.range.ends != RangeEnds::Closed) << spec.key;
            EXPECT_EQ(property.contains("maximum"), field.range.has_high()) << spec.key;
            if (field.range.has_high()) {
              EXPECT_EQ(property["maximum"], storage::setting_json(field.range.high)) << spec.key;
            }
            EXPECT_EQ(property.value("exclusiveMaximum", false), field.range.ends == RangeEnds::OpenBoth) << spec.key;
          }
        },
        spec.field);
  }
}

}  // namespace
}  // namespace safelynx
