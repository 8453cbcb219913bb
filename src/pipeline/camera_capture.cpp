#include "pipeline/camera_capture.hpp"

#include <random>

#include "pipeline/backoff.hpp"

namespace safelynx::pipeline {

CameraCapture::CameraCapture(Uuid camera_id, SourceFactory make_source, FrameSink sink, CaptureOptions options,
                             StatusListener on_status)
    : camera_id_(camera_id),
      make_source_(std::move(make_source)),
      sink_(std::move(sink)),
      options_(options),
      on_status_(std::move(on_status)) {}

CameraCapture::CameraCapture(Uuid camera_id, SourceFactory make_source, BoundedQueue<Frame>& frames,
                             CaptureOptions options, StatusListener on_status)
    : CameraCapture(camera_id, std::move(make_source), [&frames](Frame&& frame) { return frames.push(std::move(frame)).has_value(); },
                    options, std::move(on_status)) {}

CameraCapture::~CameraCapture() { stop(); }

void CameraCapture::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void CameraCapture::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CaptureStatus CameraCapture::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void CameraCapture::set_status(CameraStatus status, const std::string& message) {
  {
    std::lock_guard lock(mutex_);
    if (status_.status == status && status_.message == message) return;
    status_.status = status;
    status_.message = message;
    if (status != CameraStatus::Active) status_.fps = 0;
  }
  if (on_status_) on_status_(status, message);
}

bool CameraCapture::wait(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [&] { return stopping_; });
}

void CameraCapture::run() {
  Backoff backoff(options_.first_retry, options_.max_retry);
  std::minstd_rand jitter(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uint64_t sequence = 0;
  auto stopping = [&] {
    std::lock_guard lock(mutex_);
    return stopping_;
  };
  auto retry_after = [&](const std::string& why) {
    {
      std::lock_guard lock(mutex_);
      ++status_.reconnects;
    }
    set_status(CameraStatus::Error, why);
    return wait(backoff.next_delay(unit(jitter)));
  };

  while (!stopping()) {
    set_status(CameraStatus::Connecting, "");
    std::unique_ptr<FrameSource> source;
    try {
      source = make_source_();
      source->open();
    } catch (const std::exception& error) {
      if (!retry_after(error.what())) break;
      continue;
    }
    // Frames per second, measured over windows of about two seconds.
    auto window_start = std::chrono::steady_clock::now();
    std::uint64_t window_frames = 0;
    try {
      while (!stopping()) {
        std::optional<cv::Mat> image = source->read();
        if (!image) {
          set_status(CameraStatus::Stopped, source->end_message());
          return;
        }
        backoff.reset();
        Frame frame{camera_id_, ++sequence, std::chrono::steady_clock::now(), now_ms(), std::move(*image)};
        const TimePoint wall_time = frame.wall_time;
        const bool dropped = sink_(std::move(frame));
        const auto now = std::chrono::steady_clock::now();
        ++window_frames;
        const double window_s = std::chrono::duration<double>(now - window_start).count();
        {
          std::lock_guard lock(mutex_);
          ++status_.frames;
          if (dropped) ++status_.dropped;
          status_.last_frame = wall_time;
          if (window_s >= 2.0) {
            status_.fps = static_cast<double>(window_frames) / window_s;
            window_start = now;
            window_frames = 0;
          }
        }
        set_status(CameraStatus::Active, "");
      }
    } catch (const std::exception& error) {
      source.reset();
      if (!retry_after(error.what())) break;
      continue;
    }
  }
  set_status(CameraStatus::Stopped, "");
}

}  // namespace safelynx::pipeline
