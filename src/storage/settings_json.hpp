// The one JSON shape of Settings: what the database stores and what
// GET /api/v1/settings returns (sections as in domain/settings.hpp).
#pragma once

#include <nlohmann/json.hpp>

#include "domain/settings.hpp"

namespace safelynx::storage {

// Floats are written as the short decimals they stand for (0.6, not
// 0.6000000238418579).
nlohmann::json settings_to_json(const Settings& settings);

}  // namespace safelynx::storage
