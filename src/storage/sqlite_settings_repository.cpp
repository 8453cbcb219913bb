// The settings table: one row of JSON, read tolerantly so other builds' settings still load.
#include "storage/sqlite_settings_repository.hpp"

#include <nlohmann/json.hpp>

#include "storage/settings_json.hpp"

namespace safelynx::storage::sqlite {

using json = nlohmann::json;

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
