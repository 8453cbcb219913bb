#include "recording/recorder.hpp"

#include "recording/mp4_writer.hpp"
#include "recording/recording_files.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace safelynx::recording {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using recording_files::kFinalSuffix;
using recording_files::kPartialSuffix;
using recording_files::sync_path;

// Used until the frames' spacing says otherwise (a segment opened on its
// very first frame).
constexpr double kDefaultFps = 15;
// How often the thread looks at an idle camera and a pending segment.
constexpr auto kIdlePoll = 100ms;
// A camera that sends nothing for max(post_buffer, this) has stopped.
constexpr auto kMinIdleClose = 2s;
// Gaps in the frames are filled with copies of the last frame so that video
// time stays wall time (sightings point into the video by offset), but not
// without bound.
constexpr double kMaxFillSeconds = 60;

// The domain shapes UUIDs from random bytes supplied from outside;
// std::random_device reads the kernel's generator on Linux.
Uuid new_recording_id() {
  std::random_device device;
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const std::uint32_t word = device();
    for (std::size_t j = 0; j < 4; ++j) bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
  }
  return Uuid::from_random_bytes(bytes);
}

double seconds_between(TimePoint from, TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

cv::Mat to_bgr(const cv::Mat& image) {
  if (image.type() == CV_8UC3) return image;
  cv::Mat bgr;
  if (image.depth() != CV_8U) throw std::invalid_argument("the recorder takes 8-bit images");
  if (image.channels() == 1) cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
  else if (image.channels() == 4) cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
  else throw std::invalid_argument("the recorder takes 1, 3 or 4 channel images");
  return bgr;
}

}  // namespace

class CameraRecorder::Impl {
 public:
  Impl(Uuid camera_id, RecorderOptions options, RecorderListener listener)
      : camera_id_(camera_id), options_(std::move(options)), listener_(std::move(listener)), timing_(options_.timing) {
    if (options_.queue_capacity == 0) options_.queue_capacity = 1;
    options_.jpeg_quality = std::clamp(options_.jpeg_quality, 1, 100);
    thread_ = std::thread([this] { run(); });
  }

  ~Impl() { stop(); }

  void push(const cv::Mat& bgr, TimePoint wall_time) {
    if (bgr.empty()) return;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      note_frame_time(wall_time);  // every frame, dropped or not: the camera's rate
      // The newest frame is the one refused: the queued ones may already be
      // the first frames of a segment whose start a trigger has announced.
      if (queue_.size() >= options_.queue_capacity) {
        ++dropped_;
        return;
      }
      queue_.push_back(Queued{bgr, wall_time});
    }
    wake_.notify_one();
  }

  RecordingMoment trigger(TimePoint when) {
    std::lock_guard lock(mutex_);
    if (stopping_) return RecordingMoment{};  // nil id: nothing will be written
    const auto post = std::chrono::duration_cast<std::chrono::milliseconds>(timing_.post_buffer);
    if (plan_) {
      plan_->deadline = std::max(plan_->deadline, when + post);
      // A moment past the segment's length lies in its continuation: its id
      // is handed out now and the split honours it.
      const TimePoint boundary = plan_->start + plan_->max_segment;
      if (when >= boundary) {
        if (!plan_->next_id) plan_->next_id = new_recording_id();
        return RecordingMoment{*plan_->next_id, std::max(0.0, seconds_between(boundary, when))};
      }
      return RecordingMoment{plan_->id, std::max(0.0, seconds_between(plan_->start, when))};
    }
    // The segment starts at the oldest frame not yet written anywhere (ring,
    // the frame being encoded, queue) within pre_buffer of the moment.
    const TimePoint lower = when - std::chrono::duration_cast<std::chrono::milliseconds>(timing_.pre_buffer);
    TimePoint start = when;
    auto consider = [&](TimePoint t) {
      if (t >= lower && t < start) start = t;
    };
    for (const auto& entry : ring_) consider(entry.time);
    if (in_flight_) consider(*in_flight_);
    for (const auto& queued : queue_) consider(queued.time);
    Plan plan;
    plan.id = new_recording_id();
    plan.start = start;
    plan.deadline = when + post;
    plan.max_segment = std::chrono::duration_cast<std::chrono::milliseconds>(timing_.max_segment);
    if (plan.max_segment <= std::chrono::milliseconds::zero()) plan.max_segment = 1s;
    plan_ = plan;
    wake_.notify_one();
    return RecordingMoment{plan.id, seconds_between(start, when)};
  }

  void set_timing(const RecorderTiming& timing) {
    std::lock_guard lock(mutex_);
    timing_ = timing;
  }

  void stop() {
    std::lock_guard stop_lock(stop_mutex_);
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    // A listener calling stop() from the recorder thread cannot join it; the
    // thread ends by itself since stopping_ is set.
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

  std::uint64_t frames_dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }
  bool recording() const {
    std::lock_guard lock(mutex_);
    return plan_.has_value();
  }
  std::string codec() const {
    std::lock_guard lock(mutex_);
    return codec_;
  }

 private:
  struct Queued {
    cv::Mat image;
    TimePoint time;
  };
  struct Buffered {
    TimePoint time;
    std::vector<std::uint8_t> jpeg;
  };
  // A segment as decided under the mutex: trigger() creates and extends it,
  // the thread opens, splits and closes it.
  struct Plan {
    Uuid id;
    TimePoint start;
    TimePoint deadline;
    std::chrono::milliseconds max_segment{};
    bool opened = false;
    std::optional<Uuid> next_id;  // handed out for a moment past max_segment
  };
  enum class Action { Buffer, Open, Write, Close, Split, Discard };

  // --- The recorder thread -------------------------------------------------

  void run() {
    for (;;) {
      std::optional<Queued> frame;
      {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, kIdlePoll, [&] { return stopping_ || !queue_.empty(); });
        if (!queue_.empty()) {
          frame = std::move(queue_.front());
          queue_.pop_front();
          in_flight_ = frame->time;
        } else if (stopping_) {
          break;
        }
      }
      try {
        if (frame) {
          last_frame_steady_ = std::chrono::steady_clock::now();
          handle_frame(*frame);
        } else {
          handle_idle();
        }
      } catch (const std::exception& e) {
        // One bad frame (an odd image type, an OpenCV error) must not end
        // recording for the camera.
        report_error("recorder for camera " + camera_id_.to_string() + ": " + e.what());
      }
      std::lock_guard lock(mutex_);
      in_flight_.reset();
    }
    shut_down();
  }

  void handle_frame(const Queued& frame) {
    Action action = Action::Buffer;
    Plan plan;
    std::chrono::milliseconds pre_buffer{};
    {
      std::lock_guard lock(mutex_);
      pre_buffer = std::chrono::duration_cast<std::chrono::milliseconds>(timing_.pre_buffer);
      if (stopping_ && !plan_) {
        action = Action::Discard;  // nothing will be recorded any more
      } else if (plan_ && !plan_->opened) {
        const bool ring_has_start =
            std::any_of(ring_.begin(), ring_.end(), [&](const Buffered& b) { return b.time >= plan_->start; });
        if (frame.time >= plan_->start || ring_has_start) {
          plan_->opened = true;
          action = Action::Open;
        }
      } else if (plan_) {
        const TimePoint boundary = plan_->start + plan_->max_segment;
        if (frame.time >= boundary && (plan_->next_id || plan_->deadline >= frame.time)) {
          // The segment is long enough but triggers continue: a new one
          // starts at the boundary (the offsets handed out count from it).
          plan_->id = plan_->next_id ? *plan_->next_id : new_recording_id();
          plan_->next_id.reset();
          plan_->start = boundary;
          action = Action::Split;
        } else if (frame.time > plan_->deadline || frame.time >= boundary) {
          plan_.reset();
          action = Action::Close;
        } else {
          action = Action::Write;
        }
      }
      if (plan_) plan = *plan_;
    }

    switch (action) {
      case Action::Discard:
        return;
      case Action::Buffer:
        buffer(frame, pre_buffer);
        return;
      case Action::Open:
        open_segment(plan, &frame);
        return;
      case Action::Write:
        write(frame.image, frame.time);
        return;
      case Action::Close:
        finish_segment();
        buffer(frame, pre_buffer);
        return;
      case Action::Split:
        finish_segment();
        open_segment(plan, &frame);
        return;
    }
  }

  void handle_idle() {
    Plan plan;
    bool open = false;
    bool close = false;
    {
      std::lock_guard lock(mutex_);
      if (!plan_) return;
      if (!plan_->opened) {
        // A trigger while frames wait in the ring: write them now rather than
        // on the next frame (the camera may have stopped).
        const bool ring_has_start =
            std::any_of(ring_.begin(), ring_.end(), [&](const Buffered& b) { return b.time >= plan_->start; });
        if (ring_has_start) {
          plan_->opened = true;
          plan = *plan_;
          open = true;
        }
      } else {
        const auto idle_limit = std::max<std::chrono::steady_clock::duration>(timing_.post_buffer, kMinIdleClose);
        if (std::chrono::steady_clock::now() - last_frame_steady_ >= idle_limit) {
          plan_.reset();
          close = true;
        }
      }
    }
    if (open) open_segment(plan, nullptr);
    if (close) finish_segment();
  }

  // The pre-buffer: JPEG in memory, pre_buffer seconds behind the newest frame.
  void buffer(const Queued& frame, std::chrono::milliseconds pre_buffer) {
    std::vector<std::uint8_t> jpeg;
    cv::imencode(".jpg", to_bgr(frame.image), jpeg, {cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality});
    std::lock_guard lock(mutex_);
    ring_.push_back(Buffered{frame.time, std::move(jpeg)});
    // Frames a pending segment starts with stay (its start was announced).
    while (!ring_.empty() && ring_.front().time < frame.time - pre_buffer &&
           !(plan_ && !plan_->opened && ring_.front().time >= plan_->start))
      ring_.pop_front();
  }

  // Under mutex_: push() sees the frames before the thread does (a trigger
  // can open a segment before the thread has measured anything).
  void note_frame_time(TimePoint t) {
    if (!recent_times_.empty() && t <= recent_times_.back()) return;  // out of order: no spacing to learn
    recent_times_.push_back(t);
    while (recent_times_.size() > 60) recent_times_.pop_front();
  }

  double segment_fps() const {
    std::lock_guard lock(mutex_);
    double fps = options_.fps;
    if (fps <= 0) {
      fps = kDefaultFps;
      if (recent_times_.size() >= 2) {
        const double span = seconds_between(recent_times_.front(), recent_times_.back());
        if (span > 0) fps = static_cast<double>(recent_times_.size() - 1) / span;
      }
    }
    return std::clamp(fps, 1.0, 60.0);
  }

  // Opens the writer and writes the pre-buffer from plan.start, then `frame`.
  // Failures are reported and the segment is dropped: its frames are
  // discarded until it would have closed.
  void open_segment(const Plan& plan, const Queued* frame) {
    std::deque<Buffered> ring;
    {
      std::lock_guard lock(mutex_);
      ring.swap(ring_);  // the pre-buffer goes into the segment (or away)
    }
    segment_ = Segment{};
    segment_.id = plan.id;
    segment_.start = plan.start;
    segment_.failed = true;

    // The pre-buffer is decoded one frame at a time while it is written: all
    // of it decoded at once is ~100 MB per camera (5 s of 640x360 at 30 fps).
    std::erase_if(ring, [&](const Buffered& entry) { return entry.time < plan.start; });
    const bool live_frame_first = ring.empty() && frame;
    cv::Mat first_image;
    while (!ring.empty() && first_image.empty()) {
      first_image = cv::imdecode(ring.front().jpeg, cv::IMREAD_COLOR);
      if (first_image.empty()) ring.pop_front();
    }
    if (first_image.empty() && frame) first_image = to_bgr(frame->image);
    if (first_image.empty()) return;

    const fs::path folder = options_.recordings_dir / camera_id_.to_string();
    segment_.file = camera_id_.to_string() + "/" + plan.id.to_string() + kFinalSuffix;
    segment_.final_path = folder / (plan.id.to_string() + kFinalSuffix);
    segment_.partial_path = folder / (plan.id.to_string() + kPartialSuffix);
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) {
      report_error("cannot create the recordings folder " + folder.string() + ": " + ec.message() +
                   "; recording " + plan.id.to_string() + " is lost");
      return;
    }
    segment_.size = first_image.size();
    segment_.fps = segment_fps();
    if (!open_writer()) return;
    segment_.failed = false;

    notify(listener_.started, Recording{segment_.id, camera_id_, segment_.start, std::nullopt, segment_.file, 0});
    for (const Buffered& entry : ring) {
      cv::Mat image = cv::imdecode(entry.jpeg, cv::IMREAD_COLOR);
      if (!image.empty()) write(image, entry.time);
    }
    if (frame && (live_frame_first || frame->time >= plan.start)) write(to_bgr(frame->image), frame->time);
  }

  bool open_writer() {
    try {
      segment_.writer = std::make_unique<Mp4Writer>(segment_.partial_path, segment_.size, Mp4WriterOptions{segment_.fps});
      set_codec("avc1");
      return true;
    } catch (const std::exception& e) {
      segment_.writer.reset();
      std::error_code ec;
      fs::remove(segment_.partial_path, ec);
      report_error(std::string(e.what()) + "; recording " + segment_.id.to_string() + " is lost");
      return false;
    }
  }

  // Keeps video time equal to wall time: gaps are filled with the previous
  // frame, and a frame more than one frame ahead of its slot is skipped.
  void write(const cv::Mat& input, TimePoint time) {
    if (segment_.failed || !segment_.writer) return;
    cv::Mat image = to_bgr(input);
    if (image.size() != segment_.size) {
      cv::Mat resized;
      cv::resize(image, resized, segment_.size, 0, 0, cv::INTER_AREA);
      image = resized;
    }
    try {
      if (segment_.written == 0) {
        segment_.first_time = time;
      } else {
        const double slot = std::round(seconds_between(segment_.first_time, time) * segment_.fps);
        if (slot + 1 < static_cast<double>(segment_.written)) return;
        const double limit = static_cast<double>(segment_.written) + kMaxFillSeconds * segment_.fps;
        while (static_cast<double>(segment_.written) < std::min(slot, limit)) {
          segment_.writer->write(segment_.last);
          ++segment_.written;
        }
      }
      segment_.writer->write(image);
    } catch (const std::exception& e) {
      // A disk that fills or fails: the segment ends here (it is repaired or removed at the next start).
      report_error(e.what());
      segment_.writer.reset();
      return;
    }
    ++segment_.written;
    segment_.last = image;
    segment_.last_time = time;
  }

  // Closes the writer and publishes the file: release (the MP4 index is
  // written), fsync, rename, fsync the folder; only then is it "finished".
  void finish_segment() {
    if (segment_.failed || !segment_.writer) {
      segment_ = Segment{};
      return;
    }
    try {
      segment_.writer->finish();
    } catch (const std::exception& e) {
      report_error(e.what());
    }
    segment_.writer.reset();
    const auto end = segment_.last_time +
                     std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(1000.0 / segment_.fps)));
    Recording recording{segment_.id, camera_id_, segment_.start, end, segment_.file, 0};
    const fs::path partial = segment_.partial_path;
    const fs::path final_path = segment_.final_path;
    segment_ = Segment{};

    std::error_code ec;
    sync_path(partial, false);
    fs::rename(partial, final_path, ec);
    if (ec) {
      report_error("cannot rename " + partial.string() + " to " + final_path.string() + ": " + ec.message());
      return;
    }
    sync_path(final_path.parent_path(), true);
    const auto size = fs::file_size(final_path, ec);
    recording.size_bytes = ec ? 0 : static_cast<std::uint64_t>(size);
    notify(listener_.finished, recording);
  }

  void shut_down() {
    // Frames still queued belong to the open segment (if any): handle_frame
    // writes them, or discards them when nothing is recording.
    for (;;) {
      std::optional<Queued> frame;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) break;
        frame = std::move(queue_.front());
        queue_.pop_front();
      }
      try {
        handle_frame(*frame);
      } catch (const std::exception& e) {
        report_error("recorder for camera " + camera_id_.to_string() + ": " + e.what());
      }
    }
    Plan plan;
    bool open = false;
    {
      std::lock_guard lock(mutex_);
      if (plan_ && !plan_->opened &&
          std::any_of(ring_.begin(), ring_.end(), [&](const Buffered& b) { return b.time >= plan_->start; })) {
        plan = *plan_;
        open = true;
      }
      plan_.reset();
    }
    try {
      if (open) open_segment(plan, nullptr);
      finish_segment();
    } catch (const std::exception& e) {
      report_error("recorder for camera " + camera_id_.to_string() + ": " + e.what());
    }
    std::lock_guard lock(mutex_);
    ring_.clear();
  }

  void set_codec(const char* codec) {
    std::lock_guard lock(mutex_);
    codec_ = codec;
  }

  // A throwing listener must not end the recorder thread.
  void notify(const std::function<void(const Recording&)>& callback, const Recording& recording) {
    if (!callback) return;
    try {
      callback(recording);
    } catch (const std::exception& e) {
      report_error("recording " + recording.id.to_string() + ": the listener failed: " + e.what());
    } catch (...) {
      report_error("recording " + recording.id.to_string() + ": the listener failed");
    }
  }

  void report_error(const std::string& message) {
    if (!listener_.error) return;
    try {
      listener_.error(message);
    } catch (...) {  // nowhere left to report it
    }
  }

  const Uuid camera_id_;
  RecorderOptions options_;
  const RecorderListener listener_;

  mutable std::mutex mutex_;  // everything up to the thread-only part
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  std::uint64_t dropped_ = 0;
  bool stopping_ = false;
  RecorderTiming timing_;
  std::optional<Plan> plan_;
  std::deque<Buffered> ring_;
  std::optional<TimePoint> in_flight_;  // popped, not yet in the ring
  std::deque<TimePoint> recent_times_;  // of pushed frames, for the measured fps
  std::string codec_;

  // Only the recorder thread touches these.
  struct Segment {
    Uuid id;
    TimePoint start;
    std::string file;
    fs::path partial_path;
    fs::path final_path;
    std::unique_ptr<Mp4Writer> writer;
    cv::Size size;
    double fps = kDefaultFps;
    bool failed = true;  // no writer: frames are discarded
    std::uint64_t written = 0;
    TimePoint first_time;
    TimePoint last_time;
    cv::Mat last;
  };
  Segment segment_;
  std::chrono::steady_clock::time_point last_frame_steady_ = std::chrono::steady_clock::now();

  std::mutex stop_mutex_;
  std::thread thread_;  // last: started when everything else exists
};

CameraRecorder::CameraRecorder(Uuid camera_id, RecorderOptions options, RecorderListener listener)
    : impl_(std::make_unique<Impl>(camera_id, std::move(options), std::move(listener))) {}

CameraRecorder::~CameraRecorder() { stop(); }

void CameraRecorder::push(const cv::Mat& bgr, TimePoint wall_time) { impl_->push(bgr, wall_time); }
RecordingMoment CameraRecorder::trigger(TimePoint when) { return impl_->trigger(when); }
void CameraRecorder::set_timing(const RecorderTiming& timing) { impl_->set_timing(timing); }
void CameraRecorder::stop() { impl_->stop(); }
std::uint64_t CameraRecorder::frames_dropped() const { return impl_->frames_dropped(); }
bool CameraRecorder::recording() const { return impl_->recording(); }
std::string CameraRecorder::codec() const { return impl_->codec(); }

}  // namespace safelynx::recording
