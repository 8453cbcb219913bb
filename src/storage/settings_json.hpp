// The one JSON shape of Settings: what the database stores and what
// GET /api/v1/settings returns, {"section": {"key": value}} as the keys of
// domain/settings_schema.hpp say.
#pragma once

#include <cmath>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "domain/settings.hpp"

namespace safelynx::storage {

// A setting's value in JSON; floats as the short decimals they stand for
// (0.6, not 0.6000000238418579).
template <typename T>
nlohmann::json setting_json(T value) {
  if constexpr (std::is_floating_point_v<T>) return std::round(static_cast<double>(value) * 1e6) / 1e6;
  else return value;
}

nlohmann::json settings_to_json(const Settings& settings);

// Reads what settings_to_json wrote, tolerantly: a missing, unknown or
// mistyped key, or a number the member cannot hold, keeps the default, so
// settings saved by an older or newer build still load. Ranges are not
// checked here.
Settings settings_from_json(const nlohmann::json& stored);

}  // namespace safelynx::storage
