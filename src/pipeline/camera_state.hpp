// Internal to the pipeline: what it keeps per running camera, and what the
// stages hand each other (frames with detections, frames with faces, the
// storage stage's jobs and its answers).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/entities.hpp"
#include "domain/face.hpp"
#include "gallery/match_decision.hpp"
#include "pipeline/camera_capture.hpp"
#include "pipeline/face_tracker.hpp"
#include "pipeline/frame_source.hpp"
#include "pipeline/live_view.hpp"
#include "recording/recorder.hpp"

namespace safelynx::pipeline {

// A camera's recorder is part of its state; the stages use its types unqualified.
using recording::CameraRecorder;
using recording::RecorderListener;
using recording::RecorderOptions;
using recording::RecorderTiming;
using recording::RecordingMoment;

struct DetectedFrame {
  Frame frame;
  std::vector<FaceDetection> detections;
  // False for a face that continues a matched track whose descriptor is
  // recent: it is tracked by its box only, which saves most of the
  // descriptor work when people stay in view.
  std::vector<bool> needs_descriptor;
};

struct AnalysedFrame {
  Frame frame;
  std::vector<Face> faces;
};

// What the matching stage knows about one track beyond the tracker's view.
struct TrackInfo {
  // The profile the track is attributed to: the one it was last named as,
  // or the unknown profile made from its own faces.
  std::optional<Profile> profile;
  // The latest decision on the track's aggregated faces, re-made whenever
  // a new descriptor arrives.
  gallery::MatchVerdict verdict = gallery::MatchVerdict::Stranger;
  bool decided = false;
  float distance = 0;
  float margin = 0;
  std::optional<Uuid> own_unknown;  // the unknown profile made from this track's faces
  std::vector<Uuid> sightings;      // written for this track: what a correction moves
  bool uncertain_announced = false;
  std::string uncertain_label;      // "? Kit / Rose": the candidates of the latest uncertain decision
  bool named_once = false;          // time to name observed
  // The best view of the face so far: for the thumbnail of a new profile.
  cv::Mat best_frame;
  Box best_box;
  float best_score = 0;
  float best_quality = -1;
  std::chrono::steady_clock::time_point last_confirm_attempt{};
  bool becoming_profile = false;  // handed to the storage stage, which answers
  std::chrono::steady_clock::time_point last_descriptor{};
  std::chrono::steady_clock::time_point first_described{};
};

// The storage stage's answer about one track, applied by the matching stage.
struct TrackNotice {
  std::uint64_t track = 0;
  std::optional<Profile> profile;  // the track's profile now (created or re-read)
  bool profile_gone = false;       // its profile was deleted: match again
  bool created = false;            // `profile` was made from this track's faces
  bool answers_candidate = false;  // the answer to an UnknownCandidateJob
};

struct CameraState {
  explicit CameraState(const Camera& c) : camera(c), id_text(c.id.to_string()) {}
  Camera camera;
  const std::string id_text;
  std::unique_ptr<CameraCapture> capture;
  std::shared_ptr<BrowserFrameFeed> feed;
  std::mutex recorder_mutex;  // the matching stage triggers while stop_camera finishes it
  std::unique_ptr<CameraRecorder> recorder;
  std::atomic<bool> stopped{false};

  // Detection stage: one worker at a time per camera (the inbox sees to it).
  cv::Mat motion_reference;
  std::chrono::steady_clock::time_point last_detection{};
  bool faces_at_last_detection = false;
  std::size_t detections_since_second_pass = 0;
  std::atomic<std::uint64_t> processed{0};
  std::atomic<std::uint64_t> detected{0};
  std::atomic<std::uint64_t> stale{0};  // dropped in the inbox for a newer frame

  // Frames lost before detection, however: a full lane or a newer frame.
  std::uint64_t dropped(const CaptureStatus& status) const { return status.dropped + stale; }

  // Matching stage only.
  FaceTracker tracker;
  std::map<std::uint64_t, TrackInfo> tracks;
  std::map<Uuid, std::chrono::steady_clock::time_point> last_sighting_of;  // per profile on this camera
  std::mutex notices_mutex;
  std::vector<TrackNotice> notices;  // from the storage stage
  std::uint64_t reported_frames = 0, reported_dropped = 0, reported_processed = 0;  // metrics deltas

  LiveView live;
};

// Work for the storage stage: what the matching stage decided, to be
// written (snapshots, database, index) and announced off its thread.
struct SightingJob {
  std::shared_ptr<CameraState> camera;
  std::uint64_t track = 0;
  Sighting sighting;
  cv::Mat frame;
};

struct UnknownCandidateJob {
  std::shared_ptr<CameraState> camera;
  std::uint64_t track = 0;
  std::vector<std::pair<float, FaceDescriptor>> embeddings;  // (quality, descriptor), best first
  FaceDescriptor mean{};
  cv::Mat best_frame;
  Box best_box;
  // A near miss that lasted (beyond the match threshold for its first
  // seconds): the storage stage's second decision may find it uncertain too.
  bool near_miss = false;
};

// A track turned out to be someone else: its sightings move to `to`; the
// unknown profile made from its first faces goes if nothing else uses it.
struct CorrectionJob {
  std::shared_ptr<CameraState> camera;
  std::uint64_t track = 0;
  std::vector<Uuid> sightings;
  Uuid from;
  Uuid to;
  bool from_is_own_unknown = false;
};

using StorageJob = std::variant<SightingJob, UnknownCandidateJob, CorrectionJob>;

}  // namespace safelynx::pipeline
