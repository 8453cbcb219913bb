// What an operator can tune at run time (GET/PUT /api/v1/settings). The
// members and their defaults are here; each one's key, range, unit and help
// are in the one table of domain/settings_schema.hpp. No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace safelynx {

struct Settings {
  struct Detection {
    float min_score = 0.5f;
    int min_face_size = 40;  // pixels
    bool operator==(const Detection&) const = default;
  } detection;
  struct Recognition {
    // L2 on the dlib descriptor; chosen on the development set (docs/ACCURACY.md).
    float match_threshold = 0.5f;     // named at or below, if also clear of the runner-up
    float min_margin = 0.05f;         // the runner-up profile must be this much farther
    float stranger_threshold = 0.65f; // nobody nearer than this: a stranger (in between: uncertain)
    int sighting_cooldown_s = 30;
    bool operator==(const Recognition&) const = default;
  } recognition;
  struct Recording {
    int pre_buffer_s = 5;
    int post_buffer_s = 10;
    int max_segment_s = 300;
    bool operator==(const Recording&) const = default;
  } recording;
  struct Storage {
    std::uint64_t quota_bytes = 100'000'000'000ull;  // 100 GB
    bool auto_cleanup = true;
    int min_retention_days = 1;
    bool operator==(const Storage&) const = default;
  } storage;
  struct Notifications {
    bool on_flagged = true;
    bool on_unknown = false;
    bool operator==(const Notifications&) const = default;
  } notifications;
  // Personal data is deleted when no longer needed; flagged profiles never
  // automatically.
  struct Retention {
    int unknown_profiles_days = 30;
    int known_profiles_days = 0;  // known and trusted profiles
    bool operator==(const Retention&) const = default;
  } retention;
  struct Audit {
    int retention_days = 365;
    bool operator==(const Audit&) const = default;
  } audit;
  bool operator==(const Settings&) const = default;
};

struct SettingsProblem {
  std::string key;      // e.g. "recognition.match_threshold"
  std::string message;  // e.g. "must be in (0, 2], got 3"
};

// Every value outside its range in settings_schema(), in declaration order;
// empty when all are valid.
std::vector<SettingsProblem> validate(const Settings& settings);

}  // namespace safelynx
