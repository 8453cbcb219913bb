// One camera's capture thread: opens its source, pushes frames into the
// pipeline's first queue (dropping the oldest when the pipeline is behind),
// and when the source fails, reports why and retries with capped
// exponential backoff. Status and counters are readable at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <opencv2/core.hpp>

#include "domain/entities.hpp"
#include "pipeline/bounded_queue.hpp"
#include "pipeline/frame_source.hpp"

namespace safelynx::pipeline {

struct Frame {
  Uuid camera_id;
  std::uint64_t sequence = 0;                        // per camera, from 1
  std::chrono::steady_clock::time_point captured;    // for end-to-end latency
  TimePoint wall_time;                               // for sightings and recordings
  cv::Mat bgr;
};

struct CaptureOptions {
  std::chrono::milliseconds first_retry{500};
  std::chrono::milliseconds max_retry{30'000};
};

struct CaptureStatus {
  CameraStatus status = CameraStatus::Stopped;
  std::string message;                 // why, when status is Error; the source's end_message() when it ended
  double fps = 0;                      // measured over the last few seconds
  std::optional<TimePoint> last_frame;
  std::uint64_t frames = 0;            // captured
  std::uint64_t dropped = 0;           // lost to a full queue
  std::uint64_t reconnects = 0;        // failed opens or reads that led to a retry
};

class CameraCapture {
 public:
  using SourceFactory = std::function<std::unique_ptr<FrameSource>()>;
  // Called from the capture thread on every status change: keep it quick.
  using StatusListener = std::function<void(CameraStatus, const std::string&)>;

  // Takes each frame; returns true when an older frame was dropped to make room.
  using FrameSink = std::function<bool(Frame&&)>;

  CameraCapture(Uuid camera_id, SourceFactory make_source, FrameSink sink, CaptureOptions options,
                StatusListener on_status = {});
  // Frames go into `frames` (its drops are counted as this camera's).
  CameraCapture(Uuid camera_id, SourceFactory make_source, BoundedQueue<Frame>& frames, CaptureOptions options,
                StatusListener on_status = {});
  ~CameraCapture();  // stops
  CameraCapture(const CameraCapture&) = delete;
  CameraCapture& operator=(const CameraCapture&) = delete;

  void start();
  // Stops the thread (interrupting a retry wait or an open in progress) and
  // joins it. Waits for a read in progress (bounded by the source's read
  // timeout) but never for an open: that may wait on other cameras' opens.
  void stop();
  CaptureStatus status() const;

  // Waits until the opens abandoned by stop() (of every camera) have
  // returned, or `timeout` passes; true when none is left. Called at
  // shutdown so no thread is left inside FFmpeg when the process exits.
  static bool wait_for_abandoned_opens(std::chrono::milliseconds timeout);

 private:
  struct OpenAttempt;
  // Opens a new source on a helper thread, marking the camera as failing
  // when it takes longer than the source's open timeout. Null when stopped
  // first (the helper then finishes and frees the source on its own);
  // throws what open() threw.
  std::unique_ptr<FrameSource> open_source();
  void run();
  void set_status(CameraStatus status, const std::string& message);
  // Sleeps `delay` unless stopped first; false when stopped.
  bool wait(std::chrono::milliseconds delay);

  const Uuid camera_id_;
  SourceFactory make_source_;
  FrameSink sink_;
  const CaptureOptions options_;
  StatusListener on_status_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::shared_ptr<OpenAttempt> opening_;  // the open in progress, for stop() to interrupt the wait
  CaptureStatus status_;
  std::thread thread_;
};

}  // namespace safelynx::pipeline
