// The camera lifecycle and the stages' threads: detection and batched
// descriptors here; the matching stage's decisions in MatchingStage, the
// writes in StorageStage, the queues in FrameInbox and BoundedQueue.
#include "pipeline/pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <variant>

#include <opencv2/imgproc.hpp>

#include "pipeline/bounded_queue.hpp"
#include "pipeline/camera_state.hpp"
#include "pipeline/frame_inbox.hpp"
#include "recording/recorder.hpp"
#include "pipeline/matching_stage.hpp"
#include "pipeline/stage_clock.hpp"
#include "pipeline/storage_stage.hpp"
#include "vision/face_crops.hpp"
#include "vision/face_engine.hpp"
#include "vision/ssd_mobilenet_detector.hpp"

namespace safelynx::pipeline {

using namespace std::chrono_literals;

class Pipeline::Impl {
 public:
  Impl(PipelineServices services, PipelineOptions options, PipelineEngines engines)
      : services_(std::move(services)),
        options_(std::move(options)),
        inbox_(options_.capture_queue),
        detected_(options_.detection_queue, OverflowPolicy::Block),
        analysed_(options_.embedding_queue, OverflowPolicy::Block),
        storage_(services_, StorageStageOptions{options_.unknown_min_sharpness, options_.unknown_confirm_score},
                 engines.confirm_detector()),
        matching_(services_, options_, storage_) {
    if (options_.detection_workers == 0 || options_.embedding_workers == 0)
      throw std::invalid_argument("the pipeline needs at least one detection and one embedding worker");
    // Networks are loaded here, on the caller's thread, so a bad model fails start-up.
    for (std::size_t i = 0; i < options_.detection_workers; ++i) {
      detectors_.push_back(engines.detector());
      if (engines.second_pass_detector && options_.second_pass_every > 0)
        second_pass_detectors_.push_back(engines.second_pass_detector());
    }
    for (std::size_t i = 0; i < options_.embedding_workers; ++i) engines_.push_back(engines.engine());
    for (std::size_t i = 0; i < options_.detection_workers; ++i)
      threads_.emplace_back([this, i] {
        detection_loop(*detectors_[i], second_pass_detectors_.empty() ? nullptr : second_pass_detectors_[i].get());
      });
    for (std::size_t i = 0; i < options_.embedding_workers; ++i)
      embedding_threads_.emplace_back([this, i] { embedding_loop(*engines_[i]); });
    matching_thread_ = std::thread([this] { matching_loop(); });
  }

  ~Impl() { shutdown(); }

  void start_camera(const Camera& camera) {
    stop_camera(camera.id);
    auto state = std::make_shared<CameraState>(camera);
    if (camera.kind == CameraKind::Browser) state->feed = std::make_shared<BrowserFrameFeed>();
    const Settings settings = services_.settings();
    if (options_.record) {
      RecorderOptions recorder_options;
      recorder_options.recordings_dir = services_.media.recordings_dir();
      recorder_options.timing = timing_of(settings);
      // About a second of frames: under overload the recorder drops (and
      // fills the gap with the previous frame) rather than growing memory.
      recorder_options.queue_capacity = 30;
      RecorderListener listener;
      listener.started = [this](const Recording& r) {
        try {
          services_.database.recordings().create(r);
        } catch (const std::exception& e) {
          services_.log("error", "cannot store recording " + r.file + ": " + e.what());
        }
      };
      listener.finished = [this](const Recording& r) {
        try {
          services_.database.recordings().update(r);
          services_.log("info", "recording finished: " + r.file + " (" + std::to_string(r.size_bytes) + " bytes)");
        } catch (const std::exception& e) {
          services_.log("error", "cannot store recording " + r.file + ": " + e.what());
        }
      };
      listener.error = [this, id = state->id_text](const std::string& message) {
        services_.log("warn", "camera " + id + " recording: " + message);
      };
      state->recorder = std::make_unique<CameraRecorder>(camera.id, recorder_options, std::move(listener));
    }
    CameraState* raw = state.get();
    auto sink = [this, raw](Frame&& frame) {
      raw->live.offer(frame.bgr, frame.sequence);
      if (raw->recorder) raw->recorder->push(frame.bgr, frame.wall_time);
      return inbox_.push(std::move(frame));
    };
    auto on_status = [this, raw](CameraStatus status, const std::string& message) {
      if (shutting_down_ || raw->stopped) return;  // a restart resumes the stored status
      store_status(raw->camera.id, status, message);
    };
    state->capture = std::make_unique<CameraCapture>(camera.id, source_factory(camera, state->feed), std::move(sink),
                                                     options_.capture, std::move(on_status));
    {
      std::lock_guard lock(cameras_mutex_);
      cameras_[camera.id] = state;
    }
    state->capture->start();
    services_.log("info", "camera " + state->id_text + " started (" + std::string(to_string(camera.kind)) + ")");
  }

  void stop_camera(const Uuid& id) {
    std::shared_ptr<CameraState> state;
    {
      std::lock_guard lock(cameras_mutex_);
      auto it = cameras_.find(id);
      if (it == cameras_.end()) return;
      state = it->second;
      cameras_.erase(it);
    }
    finish_camera(*state, true);
  }

  bool running(const Uuid& id) const {
    std::lock_guard lock(cameras_mutex_);
    return cameras_.count(id) > 0;
  }

  std::shared_ptr<CameraState> find(const Uuid& id) const {
    std::lock_guard lock(cameras_mutex_);
    auto it = cameras_.find(id);
    return it == cameras_.end() ? nullptr : it->second;
  }

  std::optional<CameraRuntime> runtime(const Uuid& id) const {
    auto state = find(id);
    if (!state) return std::nullopt;
    CameraRuntime r;
    r.capture = state->capture->status();
    r.capture.dropped = state->dropped(r.capture);
    r.processed = state->processed;
    r.detected = state->detected;
    std::lock_guard lock(state->recorder_mutex);
    r.recording = state->recorder && state->recorder->recording();
    return r;
  }

  std::shared_ptr<BrowserFrameFeed> browser_feed(const Uuid& id) const {
    auto state = find(id);
    return state ? state->feed : nullptr;
  }

  std::optional<LiveFrame> live_frame(const Uuid& id, bool overlay, std::uint64_t newer_than) {
    auto state = find(id);
    if (!state) return std::nullopt;
    auto jpeg = state->live.jpeg(overlay, newer_than);
    if (!jpeg) return std::nullopt;
    return LiveFrame{jpeg->sequence, std::move(jpeg->jpeg)};
  }

  void shutdown() {
    std::lock_guard shutdown_lock(shutdown_mutex_);
    if (stopped_) return;
    shutting_down_ = true;
    std::vector<std::shared_ptr<CameraState>> cameras;
    {
      std::lock_guard lock(cameras_mutex_);
      for (auto& [id, state] : cameras_) cameras.push_back(state);
    }
    // Sources first, so nothing new arrives; then every stage drains in order.
    for (auto& state : cameras) {
      if (state->feed) state->feed->close();
      state->capture->stop();
    }
    inbox_.close();
    for (std::thread& t : threads_) t.join();
    detected_.close();
    for (std::thread& t : embedding_threads_) t.join();
    analysed_.close();
    matching_thread_.join();
    storage_.close();
    for (auto& state : cameras) finish_camera(*state, false);
    {
      std::lock_guard lock(cameras_mutex_);
      cameras_.clear();
    }
    // Opens abandoned by stopped cameras end within their open timeouts;
    // none should still run inside FFmpeg when the process exits.
    if (!CameraCapture::wait_for_abandoned_opens(std::chrono::seconds(30)))
      services_.log("warn", "a camera's open did not return within 30 s of shutdown");
    stopped_ = true;
  }

  bool wait_until_idle(std::chrono::milliseconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (Steady::now() < deadline) {
      if (inbox_.total() == 0 && in_flight_ == 0 && storage_.pending() == 0) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  PipelineStats stats() const {
    PipelineStats s;
    {
      std::lock_guard lock(stats_mutex_);
      s.end_to_end_ms.assign(latencies_.begin(), latencies_.end());
      s.frames_in = retired_in_;
      s.frames_dropped = retired_dropped_;
      s.frames_processed = retired_processed_;
    }
    s.sightings_per_camera = storage_.sightings_per_camera();
    std::lock_guard lock(cameras_mutex_);
    for (const auto& [id, state] : cameras_) {
      const CaptureStatus c = state->capture->status();
      s.frames_in += c.frames;
      s.frames_dropped += state->dropped(c);
      s.frames_processed += state->processed;
    }
    s.frames_in_flight = in_flight_ + inbox_.total();
    return s;
  }

 private:
  static RecorderTiming timing_of(const Settings& s) {
    return RecorderTiming{std::chrono::seconds(s.recording.pre_buffer_s), std::chrono::seconds(s.recording.post_buffer_s),
                          std::chrono::seconds(s.recording.max_segment_s)};
  }

  CameraCapture::SourceFactory source_factory(const Camera& camera, std::shared_ptr<BrowserFrameFeed> feed) {
    const PipelineOptions& o = options_;
    switch (camera.kind) {
      case CameraKind::File:
        return [source = camera.source, &o] {
          return std::make_unique<VideoFileSource>(source, VideoFileOptions{o.files_in_realtime, o.files_loop, o.file_roots});
        };
      case CameraKind::Rtsp:
      case CameraKind::Http:
        return [source = camera.source, &o] { return std::make_unique<NetworkStreamSource>(source, o.network); };
      case CameraKind::Usb:
        return [camera] { return std::make_unique<UsbCameraSource>(camera.source, camera.width, camera.height, camera.fps); };
      case CameraKind::Browser:
        return [feed, &o] { return std::make_unique<BrowserFrameSource>(feed, o.browser_idle_timeout); };
    }
    throw std::logic_error("unknown camera kind");
  }

  void store_status(const Uuid& id, CameraStatus status, const std::string& message) {
    try {
      services_.database.cameras().set_status(id, status, message, now_ms());
    } catch (const std::exception& e) {
      services_.log("error", "cannot store the status of camera " + id.to_string() + ": " + e.what());
    }
    if (status == CameraStatus::Error) services_.log("warn", "camera " + id.to_string() + ": " + message);
    services_.events.publish(CameraStatusChanged{id, status, message});
  }

  // Stops capture and recording of a camera no longer in cameras_.
  void finish_camera(CameraState& state, bool publish) {
    state.stopped = true;
    if (state.feed) state.feed->close();
    state.capture->stop();
    const CaptureStatus final_status = state.capture->status();
    state.stale += inbox_.discard(state.camera.id);
    {
      std::lock_guard lock(state.recorder_mutex);
      if (state.recorder) state.recorder->stop();
    }
    {
      std::lock_guard lock(stats_mutex_);
      retired_in_ += final_status.frames;
      retired_dropped_ += state.dropped(final_status);
      retired_processed_ += state.processed;
    }
    services_.metrics.remove_camera(state.id_text);
    if (publish) services_.log("info", "camera " + state.id_text + " stopped");
  }

  // ---- detection ----

  // Cadence, then motion: should the detector look at this frame?
  bool should_detect(CameraState& state, const Frame& frame) {
    const auto now = frame.captured;
    const bool first = state.last_detection == Steady::time_point{};
    if (!first && options_.detection_fps > 0 &&
        now - state.last_detection < std::chrono::duration<double>(1.0 / options_.detection_fps))
      return false;
    cv::Mat gray, small;
    if (options_.motion_gating) {
      cv::cvtColor(frame.bgr, gray, cv::COLOR_BGR2GRAY);
      const double scale = 160.0 / std::max(1, gray.cols);
      cv::resize(gray, small, cv::Size(), scale, scale, cv::INTER_AREA);
      cv::GaussianBlur(small, small, cv::Size(5, 5), 0);
    }
    bool detect = first || !options_.motion_gating || state.faces_at_last_detection ||
                  now - state.last_detection >= options_.idle_detection_interval;
    if (!detect && !state.motion_reference.empty() && state.motion_reference.size() == small.size()) {
      cv::Mat diff;
      cv::absdiff(small, state.motion_reference, diff);
      const double changed = static_cast<double>(cv::countNonZero(diff > 20)) / static_cast<double>(diff.total());
      detect = changed >= options_.motion_min_changed;
    } else if (!detect) {
      detect = true;
    }
    if (detect && options_.motion_gating) state.motion_reference = small;
    return detect;
  }

  // The camera's every second_pass_every-th detection looks harder.
  vision::FaceDetector& detector_for(CameraState& state, vision::FaceDetector& live, vision::FaceDetector* second_pass) {
    if (!second_pass || ++state.detections_since_second_pass < options_.second_pass_every) return live;
    state.detections_since_second_pass = 0;
    return *second_pass;
  }

  void detection_loop(vision::FaceDetector& live_detector, vision::FaceDetector* second_pass_detector) {
    while (true) {
      std::optional<FrameInbox::Taken> taken = inbox_.pop(200ms);
      if (!taken) {
        if (inbox_.closed_and_drained()) return;
        continue;
      }
      ++in_flight_;
      Frame* frame = &taken->frame;
      const Uuid camera_id = frame->camera_id;
      auto state = find(camera_id);
      if (state) state->stale += taken->stale;
      bool passed_on = false;
      try {
        if (state && !state->stopped && should_detect(*state, *frame)) {
          const Settings settings = services_.settings();
          const auto start = Steady::now();
          vision::FaceDetector& detector = detector_for(*state, live_detector, second_pass_detector);
          std::vector<FaceDetection> found = detector.detect(frame->bgr, settings.detection.min_score);
          services_.metrics.observe_detection_ms(ms_since(start));
          const float min_size = static_cast<float>(settings.detection.min_face_size);
          std::erase_if(found, [&](const FaceDetection& d) { return std::min(d.box.width, d.box.height) < min_size; });
          state->last_detection = frame->captured;
          state->faces_at_last_detection = !found.empty();
          ++state->detected;
          if (!found.empty()) {
            services_.metrics.add_faces_detected(static_cast<double>(found.size()));
            std::vector<bool> needs =
                state->live.needs_descriptor(found, frame->captured, options_.descriptor_refresh_interval);
            ++state->processed;
            passed_on = true;
            detected_.push(DetectedFrame{std::move(*frame), std::move(found), std::move(needs)});
          } else {
            state->live.clear_faces();
          }
        }
      } catch (const std::exception& e) {
        services_.log("error", "detection failed on camera " + camera_id.to_string() + ": " + e.what());
      }
      if (state && !passed_on) ++state->processed;
      if (!passed_on) --in_flight_;
      inbox_.done(camera_id);
    }
  }

  // ---- landmarks + descriptors, batched ----

  void embedding_loop(vision::FaceEngine& engine) {
    while (true) {
      std::optional<DetectedFrame> first = detected_.pop(200ms);
      if (!first) {
        if (detected_.closed() && detected_.size() == 0) return;
        continue;
      }
      std::vector<DetectedFrame> batch;
      std::size_t faces = first->detections.size();
      batch.push_back(std::move(*first));
      // Whatever else is waiting joins the batch, up to one descriptor batch of faces.
      while (faces < options_.embedding_batch) {
        std::optional<DetectedFrame> more = detected_.pop(0ms);
        if (!more) break;
        faces += more->detections.size();
        batch.push_back(std::move(*more));
      }
      std::vector<vision::ImageDetections> images;
      images.reserve(batch.size());
      std::size_t described_faces = 0;
      for (DetectedFrame& d : batch) {
        std::vector<FaceDetection> wanted;
        for (std::size_t i = 0; i < d.detections.size(); ++i)
          if (d.needs_descriptor[i]) wanted.push_back(d.detections[i]);
        described_faces += wanted.size();
        images.push_back(vision::ImageDetections{d.frame.bgr, std::move(wanted)});
      }
      std::vector<std::vector<Face>> described;
      try {
        const auto start = Steady::now();
        described = engine.describe(images, true);
        if (described_faces > 0)
          services_.metrics.observe_embedding_ms(ms_since(start) / static_cast<double>(described_faces));
      } catch (const std::exception& e) {
        services_.log("error", std::string("descriptor extraction failed: ") + e.what());
        in_flight_ -= batch.size();
        continue;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        // Every detection in its order; describe() answered the wanted ones in
        // theirs, and the ones tracked by box only have no descriptor.
        std::vector<Face> faces_of_frame;
        std::size_t next_described = 0;
        for (std::size_t d = 0; d < batch[i].detections.size(); ++d) {
          if (batch[i].needs_descriptor[d]) {
            faces_of_frame.push_back(std::move(described[i][next_described++]));
          } else {
            Face face;
            face.detection = batch[i].detections[d];
            faces_of_frame.push_back(face);
          }
        }
        analysed_.push(AnalysedFrame{std::move(batch[i].frame), std::move(faces_of_frame)});
      }
    }
  }

  // ---- matching, sightings, unknown profiles ----

  void matching_loop() {
    auto last_tick = Steady::now();
    while (true) {
      std::optional<AnalysedFrame> item = analysed_.pop(200ms);
      if (item) {
        auto state = find(item->frame.camera_id);
        if (state && !state->stopped) {
          try {
            const double e2e_ms = matching_.match(state, *item);
            std::lock_guard lock(stats_mutex_);
            if (latencies_.size() >= kMaxLatencySamples) latencies_.pop_front();
            latencies_.push_back(e2e_ms);
          } catch (const std::exception& e) {
            services_.log("error", "matching failed on camera " + state->id_text + ": " + e.what());
          }
        }
        --in_flight_;
      } else if (analysed_.closed() && analysed_.size() == 0) {
        report_metrics();
        return;
      }
      if (Steady::now() - last_tick >= 1s) {
        last_tick = Steady::now();
        report_metrics();
      }
    }
  }

  void report_metrics() {
    std::vector<std::shared_ptr<CameraState>> cameras;
    {
      std::lock_guard lock(cameras_mutex_);
      for (auto& [id, state] : cameras_) cameras.push_back(state);
    }
    const Settings settings = services_.settings();
    std::size_t active = 0;
    for (auto& state : cameras) {
      const CaptureStatus c = state->capture->status();
      if (c.status == CameraStatus::Active) ++active;
      const std::uint64_t processed = state->processed;
      const std::uint64_t dropped = state->dropped(c);
      services_.metrics.set_camera_fps(state->id_text, c.fps);
      services_.metrics.set_camera_queue_depth(state->id_text, static_cast<double>(inbox_.depth(state->camera.id)));
      services_.metrics.add_camera_frames(state->id_text, static_cast<double>(c.frames - state->reported_frames),
                                          static_cast<double>(dropped - state->reported_dropped),
                                          static_cast<double>(processed - state->reported_processed));
      state->reported_frames = c.frames;
      state->reported_dropped = dropped;
      state->reported_processed = processed;
      std::lock_guard lock(state->recorder_mutex);
      if (state->recorder) state->recorder->set_timing(timing_of(settings));
    }
    services_.metrics.set_active_camera_streams(static_cast<double>(active));
    services_.metrics.set_embedding_cache_size(static_cast<double>(services_.gallery.indexed_embeddings()));
    services_.metrics.set_stage_queue_depth("detection", static_cast<double>(inbox_.total()));
    services_.metrics.set_stage_queue_depth("embedding", static_cast<double>(detected_.size()));
    services_.metrics.set_stage_queue_depth("matching", static_cast<double>(analysed_.size()));
    services_.metrics.set_stage_queue_depth("storage", static_cast<double>(storage_.queued()));
  }

  static constexpr std::size_t kMaxLatencySamples = 200'000;

  PipelineServices services_;
  const PipelineOptions options_;
  FrameInbox inbox_;
  BoundedQueue<DetectedFrame> detected_;
  BoundedQueue<AnalysedFrame> analysed_;
  StorageStage storage_;
  MatchingStage matching_;
  std::vector<std::unique_ptr<vision::FaceDetector>> detectors_;
  std::vector<std::unique_ptr<vision::FaceDetector>> second_pass_detectors_;  // one per worker, or none
  std::vector<std::unique_ptr<vision::FaceEngine>> engines_;

  mutable std::mutex cameras_mutex_;
  std::map<Uuid, std::shared_ptr<CameraState>> cameras_;

  std::atomic<std::uint64_t> in_flight_{0};
  mutable std::mutex stats_mutex_;
  std::deque<double> latencies_;
  std::uint64_t retired_in_ = 0, retired_dropped_ = 0, retired_processed_ = 0;  // of stopped cameras

  std::mutex shutdown_mutex_;
  std::atomic<bool> shutting_down_{false};
  bool stopped_ = false;
  std::vector<std::thread> threads_;
  std::vector<std::thread> embedding_threads_;
  std::thread matching_thread_;
};

PipelineEngines model_engines(const PipelineOptions& options) {
  PipelineEngines engines;
  engines.detector = [dir = options.models_dir, size = options.tiny_input_size] {
    return vision::make_face_detector(dir, vision::DetectorKind::Tiny, size);
  };
  vision::FaceEngineOptions engine_options;
  engine_options.detector = vision::DetectorKind::Tiny;
  engine_options.tiny_input_size = options.tiny_input_size;
  engine_options.descriptor_batch_size = std::max<std::size_t>(1, options.embedding_batch);
  engines.engine = [dir = options.models_dir, engine_options] {
    return std::make_unique<vision::FaceEngine>(dir, engine_options);
  };
  engines.confirm_detector = [dir = options.models_dir]() -> std::unique_ptr<vision::FaceDetector> {
    return std::make_unique<vision::SsdMobilenetDetector>(dir);
  };
  if (options.second_pass_every > 0)
    engines.second_pass_detector = [dir = options.models_dir, size = options.tiny_input_size, second = options.second_pass] {
      return vision::make_second_pass_detector(dir, size, second);
    };
  return engines;
}

Pipeline::Pipeline(PipelineServices services, PipelineOptions options) : Pipeline(services, options, model_engines(options)) {}
namespace {
PipelineEngines complete(PipelineEngines engines) {
  if (!engines.detector || !engines.engine || !engines.confirm_detector)
    throw std::invalid_argument("the pipeline needs a detector, an engine and a confirming detector factory");
  return engines;
}
}  // namespace

Pipeline::Pipeline(PipelineServices services, PipelineOptions options, PipelineEngines engines)
    : impl_(std::make_unique<Impl>(std::move(services), std::move(options), complete(std::move(engines)))) {}
Pipeline::~Pipeline() = default;
void Pipeline::start_camera(const Camera& camera) { impl_->start_camera(camera); }
void Pipeline::stop_camera(const Uuid& id) { impl_->stop_camera(id); }
bool Pipeline::running(const Uuid& id) const { return impl_->running(id); }
std::optional<CameraRuntime> Pipeline::runtime(const Uuid& id) const { return impl_->runtime(id); }
std::shared_ptr<BrowserFrameFeed> Pipeline::browser_feed(const Uuid& id) const { return impl_->browser_feed(id); }
std::optional<Pipeline::LiveFrame> Pipeline::live_frame(const Uuid& id, bool overlay, std::uint64_t newer_than) {
  return impl_->live_frame(id, overlay, newer_than);
}
void Pipeline::shutdown() { impl_->shutdown(); }
bool Pipeline::wait_until_idle(std::chrono::milliseconds timeout) { return impl_->wait_until_idle(timeout); }
PipelineStats Pipeline::stats() const { return impl_->stats(); }

}  // namespace safelynx::pipeline
