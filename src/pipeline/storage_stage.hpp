// The pipeline's last stage, on its own thread: writes what the matching
// stage decided (snapshots, sightings, SSD-confirmed unknown profiles with
// their thumbnails and index entries), announces it on the event bus, and
// answers each track with a TrackNotice the matching stage applies.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "pipeline/bounded_queue.hpp"
#include "pipeline/camera_state.hpp"
#include "pipeline/pipeline.hpp"
#include "vision/face_detector.hpp"

namespace safelynx::pipeline {

struct StorageStageOptions {
  double unknown_min_sharpness = 15;   // variance of the Laplacian, 112 px face
  float unknown_confirm_score = 0.5f;  // of the confirming detector
};

class StorageStage {
 public:
  // Starts the stage's thread. `services` must outlive it.
  StorageStage(PipelineServices& services, StorageStageOptions options,
               std::unique_ptr<vision::FaceDetector> confirm_detector);
  ~StorageStage();  // close()
  StorageStage(const StorageStage&) = delete;
  StorageStage& operator=(const StorageStage&) = delete;

  // Blocks while the queue is full: a sighting is never dropped, and a slow
  // disk slows the pipeline (frames are dropped at the inbox, counted)
  // instead. Ignored once closed.
  void submit(StorageJob job);
  // Lets the queued jobs finish, then stops the thread. Idempotent.
  void close();

  std::size_t queued() const { return queue_.size(); }
  std::uint64_t pending() const { return pending_; }  // queued or running
  std::map<Uuid, std::uint64_t> sightings_per_camera() const;

 private:
  void loop();
  std::optional<TrackNotice> perform(UnknownCandidateJob& job, const Settings& settings);
  std::optional<TrackNotice> perform(SightingJob& job, const Settings& settings);
  std::optional<TrackNotice> perform(CorrectionJob& job, const Settings& settings);

  static constexpr std::size_t kQueueCapacity = 32;
  PipelineServices& services_;
  const StorageStageOptions options_;
  std::unique_ptr<vision::FaceDetector> confirm_detector_;  // this stage's thread only
  BoundedQueue<StorageJob> queue_{kQueueCapacity, OverflowPolicy::Block};
  std::atomic<std::uint64_t> pending_{0};
  mutable std::mutex sightings_mutex_;
  std::map<Uuid, std::uint64_t> sightings_per_camera_;
  std::mutex close_mutex_;
  std::thread thread_;
};

}  // namespace safelynx::pipeline
