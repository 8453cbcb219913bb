// Follows faces from frame to frame on one camera, so that one track is one
// person: box overlap (IoU) proposes which track a detection continues, the
// embedding decides. A described face far from every embedding the track
// kept starts a new track even at the same place (someone stepped in where
// the last person left); a face without a descriptor continues a track by
// its box only while the track was seen moments ago; a face that jumped
// continues a track only by its embedding. A track keeps its best
// embeddings, whose mean is what gets matched, and remembers when it last
// produced a sighting (one per cooldown).
// Not thread-safe: one tracker per camera, used by one stage.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "domain/face.hpp"

namespace safelynx::pipeline {

using SteadyTime = std::chrono::steady_clock::time_point;

struct TrackerOptions {
  float min_iou = 0.3f;               // box overlap that proposes continuing a track
  // L2 to the track's nearest kept embedding: at most this to continue. On
  // the development set 99.9% of different people's photos are farther
  // apart than 0.585, and half of one person's photos farther than 0.5
  // (docs/ACCURACY.md): frames of one visit are nearer still.
  float same_person_distance = 0.6f;
  float bridge_distance = 0.5f;       // the same, for a face whose box does not overlap (stricter)
  std::chrono::milliseconds box_only_gap{300};  // unseen longer: only the embedding continues the track
  std::chrono::milliseconds max_gap{1500};      // unseen this long: the track ends
  std::size_t embeddings_kept = 5;    // best ones per track, by quality
};

struct TrackedFace {
  Box box;
  float score = 0;
  float quality = 0;
  std::optional<FaceDescriptor> descriptor;  // absent on frames between detections
};

struct Track {
  std::uint64_t id = 0;
  Box box;
  SteadyTime first_seen;
  SteadyTime last_seen;
  std::uint64_t hits = 0;  // detections joined
  float best_quality = 0;
  std::vector<std::pair<float, FaceDescriptor>> embeddings;  // (quality, descriptor), best first
  std::optional<SteadyTime> last_sighting;

  // The mean of the kept embeddings (nullopt before the first one).
  std::optional<FaceDescriptor> mean_embedding() const;
  // L2 from `descriptor` to the nearest kept embedding (nullopt without any).
  std::optional<float> nearest_distance(const FaceDescriptor& descriptor) const;
};

class FaceTracker {
 public:
  explicit FaceTracker(TrackerOptions options = {});

  // Assigns each face of one frame to a track (creating tracks as needed) and
  // ends tracks unseen for max_gap. Returns the track id of each face, in order.
  std::vector<std::uint64_t> update(const std::vector<TrackedFace>& faces, SteadyTime now);

  const Track* find(std::uint64_t id) const;
  Track* find(std::uint64_t id);
  const std::vector<Track>& tracks() const { return tracks_; }

  // True (and the time noted) when the track may produce a sighting now:
  // its first, or the first after `cooldown`.
  bool claim_sighting(std::uint64_t id, SteadyTime now, std::chrono::seconds cooldown);

 private:
  TrackerOptions options_;
  std::vector<Track> tracks_;
  std::uint64_t next_id_ = 1;
};

}  // namespace safelynx::pipeline
