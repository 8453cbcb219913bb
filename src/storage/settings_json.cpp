#include "storage/settings_json.hpp"

#include <cstdint>
#include <utility>
#include <variant>

#include "domain/settings_schema.hpp"

namespace safelynx::storage {
namespace {

using json = nlohmann::json;

template <typename T>
void read_tolerantly(const json& value, T& field) {
  if constexpr (std::is_same_v<T, bool>) {
    if (value.is_boolean()) field = value.get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (value.is_number()) field = static_cast<T>(value.get<double>());
  } else if constexpr (std::is_unsigned_v<T>) {
    if (value.is_number_unsigned()) field = static_cast<T>(value.get<std::uint64_t>());
  } else {
    if (value.is_number_integer() && std::in_range<T>(value.get<std::int64_t>())) field = static_cast<T>(value.get<std::int64_t>());
  }
}

// The value stored for `spec`, or nullptr.
const json* stored_value(const json& stored, const SettingSpec& spec) {
  if (!stored.is_object()) return nullptr;
  const auto section = stored.find(std::string(spec.section()));
  if (section == stored.end() || !section->is_object()) return nullptr;
  const auto value = section->find(std::string(spec.name()));
  return value == section->end() ? nullptr : &*value;
}

}  // namespace

json settings_to_json(const Settings& settings) {
  json out = json::object();
  for (const SettingSpec& spec : settings_schema())
    std::visit([&](const auto& field) { out[std::string(spec.section())][std::string(spec.name())] = setting_json(field.of(settings)); },
               spec.field);
  return out;
}

Settings settings_from_json(const json& stored) {
  Settings settings;
  for (const SettingSpec& spec : settings_schema())
    if (const json* value = stored_value(stored, spec))
      std::visit([&](const auto& field) { read_tolerantly(*value, field.in(settings)); }, spec.field);
  return settings;
}

}  // namespace safelynx::storage
