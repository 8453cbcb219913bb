// The settings table: one row of JSON, read tolerantly so other builds' settings still load.
#include "storage/sqlite_settings_repository.hpp"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "storage/settings_json.hpp"

namespace safelynx::storage::sqlite {
namespace {

using json = nlohmann::json;

// Takes `key` from `object` when it is there with a usable type and range;
// otherwise the field keeps its default (settings saved by an older or newer
// build still load).
template <typename T>
void read_setting(const json& object, const char* key, T& field) {
  if (!object.is_object()) return;
  const auto it = object.find(key);
  if (it == object.end()) return;
  if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) field = it->template get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (it->is_number()) field = static_cast<T>(it->template get<double>());
  } else if constexpr (std::is_unsigned_v<T>) {
    if (it->is_number_unsigned()) field = static_cast<T>(it->template get<std::uint64_t>());
  } else {
    if (!it->is_number_integer()) return;
    const auto value = it->template get<std::int64_t>();
    if (value >= std::numeric_limits<T>::min() && value <= std::numeric_limits<T>::max()) {
      field = static_cast<T>(value);
    }
  }
}

Settings settings_from_json(const json& j) {
  Settings s;
  auto section = [&](const char* name) -> const json& {
    static const json kEmpty = json::object();
    const auto it = j.is_object() ? j.find(name) : j.end();
    return it != j.end() ? *it : kEmpty;
  };
  read_setting(section("detection"), "min_score", s.detection.min_score);
  read_setting(section("detection"), "min_face_size", s.detection.min_face_size);
  read_setting(section("recognition"), "match_threshold", s.recognition.match_threshold);
  read_setting(section("recognition"), "sighting_cooldown_s", s.recognition.sighting_cooldown_s);
  read_setting(section("recording"), "pre_buffer_s", s.recording.pre_buffer_s);
  read_setting(section("recording"), "post_buffer_s", s.recording.post_buffer_s);
  read_setting(section("recording"), "max_segment_s", s.recording.max_segment_s);
  read_setting(section("storage"), "quota_bytes", s.storage.quota_bytes);
  read_setting(section("storage"), "auto_cleanup", s.storage.auto_cleanup);
  read_setting(section("storage"), "min_retention_days", s.storage.min_retention_days);
  read_setting(section("notifications"), "on_flagged", s.notifications.on_flagged);
  read_setting(section("notifications"), "on_unknown", s.notifications.on_unknown);
  read_setting(section("retention"), "unknown_profiles_days", s.retention.unknown_profiles_days);
  read_setting(section("retention"), "known_profiles_days", s.retention.known_profiles_days);
  read_setting(section("audit"), "retention_days", s.audit.retention_days);
  return s;
}

}  // namespace

Settings SqliteSettingsRepository::load() {
  return pool_.read([](Connection& connection) {
    auto statement = connection.prepare("SELECT json FROM settings WHERE id = 1");
    if (!statement.step()) return Settings{};
    // A row that is not JSON at all is corruption, not an old format: say so
    // rather than silently reverting to the defaults.
    json parsed = json::parse(statement.column_text(0), nullptr, false);
    if (parsed.is_discarded()) throw StorageError(connection.name() + ": the stored settings are not valid JSON");
    return settings_from_json(parsed);
  });
}

void SqliteSettingsRepository::save(const Settings& settings) {
  pool_.write([&](Connection& connection) {
    auto statement = connection.prepare(
        "INSERT INTO settings (id, json, updated_at) VALUES (1, ?1, ?2) "
        "ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at");
    statement.bind_text(1, settings_to_json(settings).dump()).bind_time(2, now_ms()).run();
  });
}

}  // namespace safelynx::storage::sqlite
