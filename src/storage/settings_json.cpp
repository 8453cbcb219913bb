#include "storage/settings_json.hpp"

#include <cmath>

namespace safelynx::storage {
namespace {

double short_decimal(float value) { return std::round(static_cast<double>(value) * 1e6) / 1e6; }

}  // namespace

nlohmann::json settings_to_json(const Settings& s) {
  return {
      {"detection", {{"min_score", short_decimal(s.detection.min_score)}, {"min_face_size", s.detection.min_face_size}}},
      {"recognition",
       {{"match_threshold", short_decimal(s.recognition.match_threshold)},
        {"sighting_cooldown_s", s.recognition.sighting_cooldown_s}}},
      {"recording",
       {{"pre_buffer_s", s.recording.pre_buffer_s},
        {"post_buffer_s", s.recording.post_buffer_s},
        {"max_segment_s", s.recording.max_segment_s}}},
      {"storage",
       {{"quota_bytes", s.storage.quota_bytes},
        {"auto_cleanup", s.storage.auto_cleanup},
        {"min_retention_days", s.storage.min_retention_days}}},
      {"notifications", {{"on_flagged", s.notifications.on_flagged}, {"on_unknown", s.notifications.on_unknown}}},
      {"retention",
       {{"unknown_profiles_days", s.retention.unknown_profiles_days},
        {"known_profiles_days", s.retention.known_profiles_days}}},
      {"audit", {{"retention_days", s.audit.retention_days}}},
  };
}

}  // namespace safelynx::storage
