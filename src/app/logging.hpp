// Structured logs: one JSON object per line on stderr (spdlog), so that log
// shippers can read them without parsing prose.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace safelynx::app {

void log_info(const std::string& message, const nlohmann::json& fields);
void log_warning(const std::string& message, const nlohmann::json& fields);
void log_error(const std::string& message, const nlohmann::json& fields);

}  // namespace safelynx::app
