// The live pipeline: cameras to sightings.
//
//   capture (a thread per camera) -> [capture_queue per camera, drop oldest]
//     -> detection (motion gating, cadence; the fast detector)   -> [detection_queue]
//     -> landmarks + descriptors, batched across faces and cameras -> [embedding_queue]
//     -> matching (tracking, index search; decides sightings, proposes unknown profiles)
//     -> [storage queue] -> storage (snapshots, sightings, SSD-confirmed unknown profiles, events)
//
// Every captured frame is also offered to the camera's recorder, which keeps
// a pre-trigger buffer and records while faces are seen. Queues are bounded:
// under overload a camera loses its oldest frames (counted), and detection
// takes a camera's newest frame (the stale ones are dropped, counted), so
// memory does not grow. Stages after detection block rather than drop:
// their frames hold faces.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "domain/entities.hpp"
#include "domain/events.hpp"
#include "domain/settings.hpp"
#include "gallery/gallery.hpp"
#include "pipeline/camera_capture.hpp"
#include "pipeline/frame_source.hpp"
#include "pipeline/pipeline_metrics.hpp"
#include "storage/media_store.hpp"
#include "storage/repositories.hpp"
#include "vision/multi_pass_detector.hpp"

namespace safelynx::vision {
class FaceDetector;
class FaceEngine;
}  // namespace safelynx::vision

namespace safelynx::pipeline {

struct PipelineOptions {
  std::filesystem::path models_dir;
  int tiny_input_size = 416;       // the live detector's input (multiple of 32)
  // A second look for small and tilted faces (docs/ACCURACY.md): every Nth
  // detection of a camera also runs these passes (0: never). At 5 it costs
  // about 1.9 times the live detector's time on average.
  std::size_t second_pass_every = 5;
  vision::SecondPassOptions second_pass;
  std::size_t detection_workers = 1;
  std::size_t embedding_workers = 1;
  std::size_t embedding_batch = 8;  // faces per descriptor forward, across frames and cameras
  std::size_t capture_queue = 4;    // frames per camera waiting for detection
  std::size_t detection_queue = 2;  // frames with faces waiting for descriptors
  std::size_t embedding_queue = 8;  // frames with descriptors waiting for matching

  // Cadence and motion gating: a camera's frame is detected at most
  // detection_fps times a second (0: every frame), and only when enough of
  // the picture changed since the last detected frame, or when faces were in
  // view at the last detection, or idle_detection_interval has passed.
  double detection_fps = 10;
  bool motion_gating = true;
  double motion_min_changed = 0.003;  // fraction of pixels that changed
  std::chrono::milliseconds idle_detection_interval{2000};
  // A face that continues a matched track gets a new descriptor only this
  // often; in between it is followed by its box.
  std::chrono::milliseconds descriptor_refresh_interval{1000};

  // A track that matches nobody becomes an `unknown` profile only if it
  // passes all of these, and the SSD detector confirms its face.
  std::size_t unknown_min_detections = 3;
  float unknown_min_face_size = 60;   // px, the smaller side of the best box
  float unknown_min_score = 0.6f;     // of the live detector, best detection
  double unknown_min_sharpness = 15;  // variance of the Laplacian, 112 px face
  float unknown_confirm_score = 0.5f; // SSD on the face's surroundings

  bool record = true;
  bool files_in_realtime = true;  // file cameras paced at their frame rate
  bool files_loop = false;
  // The folders file cameras may read from ([cameras] file_roots); none:
  // every file camera fails to open.
  std::vector<std::filesystem::path> file_roots;
  NetworkStreamOptions network;
  std::chrono::milliseconds browser_idle_timeout{10'000};
  CaptureOptions capture;
};

// What the pipeline works on, owned by the app.
struct PipelineServices {
  storage::Database& database;
  storage::MediaStore& media;
  EventBus& events;
  gallery::Gallery& gallery;  // matches, and strangers become profiles here
  PipelineMetrics& metrics;
  std::function<Settings()> settings;  // read often: keep it cheap
  std::function<Uuid()> new_id;
  // level: "info" | "warn" | "error"
  std::function<void(const std::string& level, const std::string& message)> log;
};

// Where the stages get their networks, each called on the constructor's
// thread: one detector per detection worker, one engine per embedding
// worker, and the detector that confirms a stranger's face before it becomes
// a profile. Tests give fakes.
struct PipelineEngines {
  std::function<std::unique_ptr<vision::FaceDetector>()> detector;
  std::function<std::unique_ptr<vision::FaceEngine>()> engine;
  std::function<std::unique_ptr<vision::FaceDetector>()> confirm_detector;
  // Optional: a slower, more thorough detector run instead of `detector` on
  // every options.second_pass_every-th detection of a camera.
  std::function<std::unique_ptr<vision::FaceDetector>()> second_pass_detector;
};

// The networks in options.models_dir: the tiny detector live, the SSD to confirm.
PipelineEngines model_engines(const PipelineOptions& options);

struct CameraRuntime {
  CaptureStatus capture;
  std::uint64_t processed = 0;  // frames through detection (or skipped by gating)
  std::uint64_t detected = 0;   // frames the detector ran on
  bool recording = false;
};

struct PipelineStats {
  std::uint64_t frames_in = 0;
  std::uint64_t frames_processed = 0;
  std::uint64_t frames_dropped = 0;
  std::uint64_t frames_in_flight = 0;
  std::vector<double> end_to_end_ms;  // per frame with faces: capture to match decision
  std::map<Uuid, std::uint64_t> sightings_per_camera;
};

class Pipeline {
 public:
  // Loads the networks (throws vision::WeightLoadError) and starts the stages.
  Pipeline(PipelineServices services, PipelineOptions options);
  Pipeline(PipelineServices services, PipelineOptions options, PipelineEngines engines);
  ~Pipeline();  // shutdown()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Starts reading from the camera (restarting it if it runs). Its status
  // changes are stored and published as CameraStatusChanged.
  void start_camera(const Camera& camera);
  // Stops the camera's capture and finishes its recording.
  void stop_camera(const Uuid& id);
  bool running(const Uuid& id) const;
  std::optional<CameraRuntime> runtime(const Uuid& id) const;

  // Where a running browser camera's frames are pushed; null otherwise.
  std::shared_ptr<BrowserFrameFeed> browser_feed(const Uuid& id) const;

  // The newest frame of a running camera as JPEG, with face boxes and names
  // drawn when `overlay`; nullopt when the camera has no frame newer than
  // `newer_than` (a sequence number returned earlier; 0 for any).
  struct LiveFrame {
    std::uint64_t sequence = 0;
    std::string jpeg;
  };
  std::optional<LiveFrame> live_frame(const Uuid& id, bool overlay, std::uint64_t newer_than = 0);

  // Stops every camera, lets the frames already captured go through every
  // stage, finishes the open recordings. Idempotent.
  void shutdown();

  // Blocks until no frame is queued or being processed (for the benchmark
  // and tests, after the file cameras have ended), or `timeout` passes.
  bool wait_until_idle(std::chrono::milliseconds timeout);

  PipelineStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safelynx::pipeline
