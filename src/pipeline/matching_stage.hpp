// The matching stage's decisions on one analysed frame, on the matching
// thread: which track each face continues, who each track is (re-decided
// as better faces arrive, corrected when it turns out to be someone else,
// never a name the rule does not stand behind), what the live view shows,
// and the sightings and strangers handed to the storage stage.
#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "gallery/match_decision.hpp"
#include "pipeline/camera_state.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/storage_stage.hpp"

namespace safelynx::pipeline {

class MatchingStage {
 public:
  // All three must outlive the stage.
  MatchingStage(PipelineServices& services, const PipelineOptions& options, StorageStage& storage)
      : services_(services), options_(options), storage_(storage) {}

  // Decides the frame; returns the milliseconds from its capture to the
  // decision (the end-to-end latency).
  double match(const std::shared_ptr<CameraState>& camera, AnalysedFrame& item);

 private:
  void apply_notices(CameraState& state);
  void decide_track(const std::shared_ptr<CameraState>& camera, const Track& track, TrackInfo& info,
                    const gallery::MatchRule& rule, const Frame& frame, const Box& box);
  void propose_unknown(const std::shared_ptr<CameraState>& camera, std::uint64_t track_id, const Track& track,
                       TrackInfo& info, bool near_miss);
  std::pair<float, float> own_decision(const FaceDescriptor& descriptor, const TrackInfo& info, const Settings& settings);
  void maybe_record_sighting(const std::shared_ptr<CameraState>& camera, std::uint64_t track_id, const Face& face,
                             float quality, const Frame& frame, const std::optional<RecordingMoment>& moment, const Settings& settings);

  PipelineServices& services_;
  const PipelineOptions& options_;
  StorageStage& storage_;
};

}  // namespace safelynx::pipeline
