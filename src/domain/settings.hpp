// What an operator can tune at run time (GET/PUT /api/v1/settings), with the
// ranges that make sense. No I/O: validation reports every problem by key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace safelynx {

struct Settings {
  struct Detection {
    float min_score = 0.5f;    // (0, 1)
    int min_face_size = 40;    // pixels, [16, 4096]: smaller faces do not embed reliably
  } detection;
  struct Recognition {
    float match_threshold = 0.6f;  // L2 on the dlib descriptor, (0, 2]
    int sighting_cooldown_s = 30;  // one sighting per person per camera per cooldown, [0, 86400]
  } recognition;
  struct Recording {
    int pre_buffer_s = 5;      // [0, 60]
    int post_buffer_s = 10;    // [0, 600]
    int max_segment_s = 300;   // [10, 3600]
  } recording;
  struct Storage {
    std::uint64_t quota_bytes = 100'000'000'000ull;  // 100 GB, >= 100 MiB
    bool auto_cleanup = true;  // at 95% of the quota, delete the oldest recordings, then snapshots
    int min_retention_days = 1;  // [0, 3650]: the cleanup never deletes anything younger
  } storage;
  struct Notifications {
    bool on_flagged = true;   // an Alert when a flagged profile is sighted
    bool on_unknown = false;  // an Alert for every new unknown face
  } notifications;
  // Personal data is deleted when no longer needed: a profile not sighted
  // for this many days is deleted with its photos, embeddings and sightings.
  // 0 keeps them forever. Flagged profiles are never deleted automatically.
  struct Retention {
    int unknown_profiles_days = 30;  // [0, 36500]
    int known_profiles_days = 0;     // known and trusted profiles, [0, 36500]
  } retention;
  struct Audit {
    int retention_days = 365;  // audit entries older than this are deleted; 0 keeps them, [0, 36500]
  } audit;
};

struct SettingsProblem {
  std::string key;      // e.g. "recognition.match_threshold"
  std::string message;  // e.g. "must be in (0, 2], got 3"
};

// Every out-of-range value, in declaration order; empty when all are valid.
std::vector<SettingsProblem> validate(const Settings& settings);

}  // namespace safelynx
