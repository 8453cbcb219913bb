#include "pipeline/camera_capture.hpp"

#include <exception>
#include <random>

#include "pipeline/backoff.hpp"

namespace safelynx::pipeline {

// One open() running on its helper thread. Shared by the helper and the
// capture thread, so either may leave first: after stop(), the helper alone
// owns the source and destroys it when open() returns.
struct CameraCapture::OpenAttempt {
  std::mutex mutex;
  std::condition_variable changed;
  std::unique_ptr<FrameSource> source;
  bool done = false;
  bool abandoned = false;
  std::exception_ptr error;
};

namespace {

// Helpers still inside an abandoned open(), across all cameras.
std::mutex lingering_mutex;
std::condition_variable lingering_changed;
int lingering_opens = 0;

}  // namespace

bool CameraCapture::wait_for_abandoned_opens(std::chrono::milliseconds timeout) {
  std::unique_lock lock(lingering_mutex);
  return lingering_changed.wait_for(lock, timeout, [] { return lingering_opens == 0; });
}

std::unique_ptr<FrameSource> CameraCapture::open_source() {
  auto attempt = std::make_shared<OpenAttempt>();
  attempt->source = make_source_();
  const std::chrono::milliseconds timeout = attempt->source->open_timeout();
  const std::string name = attempt->source->describe();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return nullptr;
    opening_ = attempt;
  }
  {
    std::lock_guard lock(lingering_mutex);
    ++lingering_opens;
  }
  std::thread([attempt]() mutable {
    std::exception_ptr error;
    try {
      attempt->source->open();
    } catch (...) {
      error = std::current_exception();
    }
    std::unique_ptr<FrameSource> orphan;
    {
      std::lock_guard lock(attempt->mutex);
      attempt->done = true;
      attempt->error = error;
      // Abandoned: nobody will take the source; it is closed here, off the
      // thread that stopped the camera.
      if (attempt->abandoned) orphan = std::move(attempt->source);
      attempt->changed.notify_all();
    }
    orphan.reset();
    attempt.reset();
    std::lock_guard lock(lingering_mutex);
    --lingering_opens;
    lingering_changed.notify_all();
  }).detach();

  std::unique_lock lock(attempt->mutex);
  // A second over the source's own timeout, so its own message wins when it
  // keeps to it.
  const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1);
  if (!attempt->changed.wait_until(lock, deadline, [&] { return attempt->done || attempt->abandoned; })) {
    lock.unlock();
    set_status(CameraStatus::Error, name + ": no answer within " + seconds_text(timeout));
    lock.lock();
    attempt->changed.wait(lock, [&] { return attempt->done || attempt->abandoned; });
  }
  {
    std::lock_guard capture_lock(mutex_);
    opening_.reset();
  }
  if (!attempt->done) return nullptr;  // stopped while opening
  if (attempt->error) std::rethrow_exception(attempt->error);
  return std::move(attempt->source);
}

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
  std::shared_ptr<OpenAttempt> opening;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    opening = opening_;
  }
  wake_.notify_all();
  if (opening) {
    std::lock_guard lock(opening->mutex);
    opening->abandoned = true;
    opening->changed.notify_all();
  }
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
    // A camera that failed stays `error` (with the reason) while it retries,
    // rather than flipping back to `connecting` for each attempt.
    if (status().status != CameraStatus::Error) set_status(CameraStatus::Connecting, "");
    std::unique_ptr<FrameSource> source;
    try {
      source = open_source();
      if (!source) break;  // stopped while opening
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
