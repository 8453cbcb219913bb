#include "domain/settings.hpp"

#include <limits>
#include <sstream>

namespace safelynx {
namespace {

template <typename T>
std::string shown(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

class Checker {
 public:
  enum Ends { Closed, OpenLow, OpenBoth };
  template <typename T>
  void in_range(const char* key, T value, T low, T high, Ends ends = Closed) {
    const bool above_low = ends == Closed ? value >= low : value > low;
    const bool below_high = ends == OpenBoth ? value < high : value <= high;
    if (!above_low || !below_high)
      problems.push_back({key, std::string("must be in ") + (ends == Closed ? "[" : "(") + shown(low) + ", " +
                                   shown(high) + (ends == OpenBoth ? ")" : "]") + ", got " + shown(value)});
  }
  std::vector<SettingsProblem> problems;
};

}  // namespace

std::vector<SettingsProblem> validate(const Settings& s) {
  Checker check;
  check.in_range("detection.min_score", s.detection.min_score, 0.0f, 1.0f, Checker::OpenBoth);
  check.in_range("detection.min_face_size", s.detection.min_face_size, 16, 4096);
  check.in_range("recognition.match_threshold", s.recognition.match_threshold, 0.0f, 2.0f, Checker::OpenLow);
  check.in_range("recognition.sighting_cooldown_s", s.recognition.sighting_cooldown_s, 0, 86'400);
  check.in_range("recording.pre_buffer_s", s.recording.pre_buffer_s, 0, 60);
  check.in_range("recording.post_buffer_s", s.recording.post_buffer_s, 0, 600);
  check.in_range("recording.max_segment_s", s.recording.max_segment_s, 10, 3600);
  check.in_range("storage.quota_bytes", s.storage.quota_bytes, std::uint64_t(100) << 20,
                 std::numeric_limits<std::uint64_t>::max());
  check.in_range("storage.min_retention_days", s.storage.min_retention_days, 0, 3650);
  check.in_range("retention.unknown_profiles_days", s.retention.unknown_profiles_days, 0, 36'500);
  check.in_range("retention.known_profiles_days", s.retention.known_profiles_days, 0, 36'500);
  check.in_range("audit.retention_days", s.audit.retention_days, 0, 36'500);
  return std::move(check.problems);
}

}  // namespace safelynx
