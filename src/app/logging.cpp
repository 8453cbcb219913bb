#include "app/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace safelynx::app {
namespace {

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto created = spdlog::stderr_logger_mt("safelynx-json");
    // UTC time and level from spdlog; the rest of the object is ours.
    created->set_pattern("{\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
    created->flush_on(spdlog::level::info);
    return created;
  }();
  return *instance;
}

void log(spdlog::level::level_enum level, const std::string& message, const nlohmann::json& fields) {
  nlohmann::json body = fields.is_object() ? fields : nlohmann::json::object();
  // Replace invalid UTF-8 (a file name, a client's text) rather than throw.
  auto dump = [](const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  std::string text = "\"msg\":" + dump(message);
  for (const auto& [key, value] : body.items()) text += "," + dump(key) + ":" + dump(value);
  logger().log(level, text);
}

}  // namespace

void log_info(const std::string& message, const nlohmann::json& fields) { log(spdlog::level::info, message, fields); }
void log_warning(const std::string& message, const nlohmann::json& fields) { log(spdlog::level::warn, message, fields); }
void log_error(const std::string& message, const nlohmann::json& fields) { log(spdlog::level::err, message, fields); }

}  // namespace safelynx::app
