#include "pipeline/frame_source.hpp"

#include "pipeline/video_file_policy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "vision/image_header.hpp"

namespace safelynx::pipeline {

std::string frame_resolution_refusal(const std::string& source, double width, double height) {
  if (!(width * height > static_cast<double>(max_frame_pixels))) return "";
  return source + ": the resolution " + std::to_string(static_cast<long long>(width)) + "x" +
         std::to_string(static_cast<long long>(height)) + " is more than the limit of " +
         std::to_string(max_frame_pixels) + " pixels a frame";
}

void check_frame_resolution(const std::string& source, double width, double height) {
  if (std::string refusal = frame_resolution_refusal(source, width, height); !refusal.empty())
    throw FrameSourceError(refusal);
}

namespace {

void check_frame_size(const std::string& source, cv::VideoCapture& video) {
  check_frame_resolution(source, video.get(cv::CAP_PROP_FRAME_WIDTH), video.get(cv::CAP_PROP_FRAME_HEIGHT));
}

}  // namespace

class VideoFileSource::Capture {
 public:
  Capture(const std::string& path, const std::vector<std::filesystem::path>& roots) : file(path, roots) {}
  ConfinedVideoFile file;  // open while FFmpeg reads it
  cv::VideoCapture video;
};

VideoFileSource::VideoFileSource(std::filesystem::path file, VideoFileOptions options)
    : file_(std::move(file)), options_(options) {}

VideoFileSource::~VideoFileSource() = default;

void VideoFileSource::open() {
  capture_.reset();
  std::unique_ptr<Capture> capture;
  try {
    capture = std::make_unique<Capture>(file_.string(), options_.roots);
  } catch (const VideoFileRefused& refused) {
    throw FrameSourceError(std::string("file ") + refused.what());
  }
  if (!capture->video.open(capture->file.ffmpeg_path(), cv::CAP_FFMPEG) || !capture->video.isOpened())
    throw FrameSourceError(describe() + ": cannot be opened as a video (not a video, or a codec FFmpeg lacks)");
  fps_ = capture->video.get(cv::CAP_PROP_FPS);
  if (!(fps_ > 0 && fps_ <= 240)) fps_ = 0;
  check_frame_size(describe(), capture->video);
  capture_ = std::move(capture);
  next_due_ = std::chrono::steady_clock::now();
}

std::optional<cv::Mat> VideoFileSource::read() {
  if (!capture_) throw FrameSourceError(describe() + ": read before open");
  cv::Mat frame;
  if (!capture_->video.read(frame) || frame.empty()) {
    if (!options_.loop) return std::nullopt;
    // Rewind by re-opening: seeking is unreliable for some containers.
    open();
    if (!capture_->video.read(frame) || frame.empty())
      throw FrameSourceError(describe() + ": no frame after rewinding");
  }
  check_frame_resolution(describe(), frame.cols, frame.rows);
  if (options_.realtime && fps_ > 0) {
    // Pace to the file's clock; a reader that fell behind does not sleep.
    std::this_thread::sleep_until(next_due_);
    next_due_ = std::max(next_due_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                         std::chrono::duration<double>(1.0 / fps_)),
                         std::chrono::steady_clock::now() - std::chrono::milliseconds(100));
  }
  return frame;
}

void VideoFileSource::close() { capture_.reset(); }

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  if (duration.count() % 1000 == 0) {
    std::snprintf(text, sizeof text, "%lld s", static_cast<long long>(duration.count() / 1000));
  } else {
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
  }
  return text;
}

namespace {

std::string lowercase_scheme(const std::string& url) {
  const auto end = url.find("://");
  if (end == std::string::npos) return {};
  std::string scheme = url.substr(0, end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return scheme;
}

// A frame rate a stream declares, or 0 when it is absent or implausible
// (MJPEG over HTTP declares none; FFmpeg may then guess a time base).
double plausible_fps(double fps) { return fps > 0 && fps <= 240 ? fps : 0; }

int clamp_to_int(std::chrono::milliseconds duration) {
  return static_cast<int>(std::clamp<long long>(duration.count(), 1, 24LL * 3600 * 1000));
}

}  // namespace

// ---------------------------------------------------------------------------
// NetworkStreamSource
//
// Timeouts: OpenCV's FFmpeg backend installs an interrupt callback that
// aborts any blocking FFmpeg call (connect, reading the header, reading a
// packet) once CAP_PROP_OPEN_TIMEOUT_MSEC (during open) or
// CAP_PROP_READ_TIMEOUT_MSEC (during each read) has passed. Both are open
// parameters, so they are per capture, not process-wide.
//
// RTSP transport: OpenCV 4.x asks FFmpeg for "rtsp_transport=tcp" whenever
// the environment variable OPENCV_FFMPEG_CAPTURE_OPTIONS is NOT set (see
// CvCapture_FFMPEG::open), which is what we want: interleaved TCP survives NAT
// and lossy Wi-Fi, where UDP gives grey smeared frames. This source therefore
// leaves the environment alone: setting the variable would be process-wide
// (every capture, file sources included, and racy with other threads' opens),
// and an operator who sets it on purpose (e.g. "rtsp_transport;udp") keeps
// control.

class NetworkStreamSource::Capture {
 public:
  cv::VideoCapture video;
  // The last read waited out the read timeout and still returned a frame.
  // FFmpeg's RTSP demuxer reports the interrupted read as the end of the
  // stream, so OpenCV drains the decoder and returns a frame it still held;
  // the capture is then finished and the next read fails at once. That
  // failure is the timeout, not the end of the stream.
  bool waited_out_read_timeout = false;
};

NetworkStreamSource::NetworkStreamSource(std::string url, NetworkStreamOptions options)
    : url_(std::move(url)), options_(options) {}

NetworkStreamSource::~NetworkStreamSource() = default;

std::string NetworkStreamSource::describe() const { return redact_credentials(url_); }

void NetworkStreamSource::open() {
  capture_.reset();
  const std::string scheme = lowercase_scheme(url_);
  // Only network protocols: FFmpeg would also read "file:", "concat:",
  // "pipe:"... which a camera URL must not reach.
  if (scheme != "rtsp" && scheme != "rtsps" && scheme != "http" && scheme != "https") {
    throw FrameSourceError(describe() + ": unsupported URL (use rtsp://, rtsps://, http:// or https://)");
  }
  auto capture = std::make_unique<Capture>();
  const std::vector<int> params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, clamp_to_int(options_.open_timeout),
                                   cv::CAP_PROP_READ_TIMEOUT_MSEC, clamp_to_int(options_.read_timeout)};
  const auto started = std::chrono::steady_clock::now();
  bool opened = false;
  try {
    opened = capture->video.open(url_, cv::CAP_FFMPEG, params) && capture->video.isOpened();
  } catch (const cv::Exception&) {
    opened = false;  // OpenCV does not throw here by default; treat it as a failed open
  }
  if (!opened) {
    const auto elapsed = std::chrono::steady_clock::now() - started;
    if (elapsed >= options_.open_timeout - std::chrono::milliseconds(50)) {
      throw FrameSourceError(describe() + ": cannot open the stream: no answer within " +
                             seconds_text(options_.open_timeout));
    }
    throw FrameSourceError(describe() +
                           ": cannot open the stream (unreachable, refused, wrong path or credentials, "
                           "or not a video stream)");
  }
  fps_ = plausible_fps(capture->video.get(cv::CAP_PROP_FPS));
  check_frame_size(describe(), capture->video);
  capture_ = std::move(capture);
}

std::optional<cv::Mat> NetworkStreamSource::read() {
  if (!capture_) throw FrameSourceError(describe() + ": read before open");
  cv::Mat frame;
  const auto started = std::chrono::steady_clock::now();
  bool got = false;
  try {
    got = capture_->video.read(frame) && !frame.empty();
  } catch (const cv::Exception&) {
    got = false;
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  if (!got) {
    // A live stream has no end: whichever way it stopped, it is a failure
    // that the capture thread retries.
    const bool timed_out = capture_->waited_out_read_timeout ||
                           elapsed >= options_.read_timeout - std::chrono::milliseconds(50);
    capture_.reset();
    if (timed_out) throw FrameSourceError(describe() + ": no frame within " + seconds_text(options_.read_timeout));
    throw FrameSourceError(describe() + ": the stream ended");
  }
  capture_->waited_out_read_timeout = elapsed >= options_.read_timeout;
  check_frame_resolution(describe(), frame.cols, frame.rows);
  return frame;
}

void NetworkStreamSource::close() { capture_.reset(); }

// ---------------------------------------------------------------------------
// UsbCameraSource

class UsbCameraSource::Capture {
 public:
  cv::VideoCapture video;
};

UsbCameraSource::UsbCameraSource(std::string device, int width, int height, double fps)
    : device_(std::move(device)), width_(width), height_(height), requested_fps_(fps) {}

UsbCameraSource::~UsbCameraSource() = default;

void UsbCameraSource::open() {
  capture_.reset();
  const bool is_index = !device_.empty() && device_.size() <= 3 &&
                        std::all_of(device_.begin(), device_.end(), [](unsigned char c) { return std::isdigit(c); });
  const std::string path = is_index ? "/dev/video" + device_ : device_;
  struct stat info {};
  if (path.empty() || ::stat(path.c_str(), &info) != 0) throw FrameSourceError(describe() + ": no camera at " + path);
  if (!S_ISCHR(info.st_mode)) throw FrameSourceError(describe() + ": " + path + " is not a camera device");
  if (::access(path.c_str(), R_OK | W_OK) != 0) {
    throw FrameSourceError(describe() + ": no permission to open " + path +
                           " (the service's user must be in the 'video' group)");
  }
  auto capture = std::make_unique<Capture>();
  bool opened = false;
  try {
    opened = is_index ? capture->video.open(std::stoi(device_), cv::CAP_V4L2)
                      : capture->video.open(path, cv::CAP_V4L2);
    opened = opened && capture->video.isOpened();
  } catch (const cv::Exception&) {
    opened = false;
  }
  if (!opened) {
    throw FrameSourceError(describe() + ": cannot open the camera at " + path +
                           " (in use by another program, or not a video capture device)");
  }
  // Requests only: the driver picks the nearest mode it supports.
  if (width_ > 0) capture->video.set(cv::CAP_PROP_FRAME_WIDTH, width_);
  if (height_ > 0) capture->video.set(cv::CAP_PROP_FRAME_HEIGHT, height_);
  if (requested_fps_ > 0) capture->video.set(cv::CAP_PROP_FPS, requested_fps_);
  fps_ = plausible_fps(capture->video.get(cv::CAP_PROP_FPS));
  check_frame_size(describe(), capture->video);
  capture_ = std::move(capture);
}

std::optional<cv::Mat> UsbCameraSource::read() {
  if (!capture_) throw FrameSourceError(describe() + ": read before open");
  cv::Mat frame;
  bool got = false;
  try {
    got = capture_->video.read(frame) && !frame.empty();
  } catch (const cv::Exception&) {
    got = false;
  }
  if (!got) {
    capture_.reset();
    throw FrameSourceError(describe() + ": the camera stopped delivering frames (unplugged?)");
  }
  check_frame_resolution(describe(), frame.cols, frame.rows);
  return frame;
}

void UsbCameraSource::close() { capture_.reset(); }

// ---------------------------------------------------------------------------
// BrowserFrameFeed

void BrowserFrameFeed::push_jpeg(std::string bytes) {
  {
    std::lock_guard lock(mutex_);
    if (frame_) ++replaced_;
    frame_ = std::move(bytes);
  }
  arrived_.notify_all();
}

std::optional<std::string> BrowserFrameFeed::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  arrived_.wait_for(lock, timeout, [&] { return closed_ || frame_.has_value(); });
  if (closed_ || !frame_) return std::nullopt;
  std::optional<std::string> taken = std::move(frame_);
  frame_.reset();
  return taken;
}

void BrowserFrameFeed::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  arrived_.notify_all();
}

void BrowserFrameFeed::reopen() {
  std::lock_guard lock(mutex_);
  closed_ = false;
}

std::uint64_t BrowserFrameFeed::replaced() const {
  std::lock_guard lock(mutex_);
  return replaced_;
}

bool BrowserFrameFeed::is_closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

// ---------------------------------------------------------------------------
// BrowserFrameSource

std::optional<std::string> browser_frame_refusal(std::string_view bytes) {
  if (bytes.empty()) return "empty frame";
  const vision::ImageHeader header =
      vision::read_image_header({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  if (header.format != vision::ImageFormat::jpeg)
    return std::string("not a JPEG (") + vision::image_format_name(header.format) + "): send frames as JPEG";
  // A cut after the frame header is left to the decoder: its size is known.
  if (header.width == 0 || header.height == 0) return "corrupt JPEG: no frame header (SOF) with a size";
  if (header.width * header.height > max_frame_pixels)  // 16-bit sides: no overflow
    return "frame too large: " + std::to_string(header.width) + "x" + std::to_string(header.height) +
           " is more than " + std::to_string(max_frame_pixels) + " pixels";
  return std::nullopt;
}

BrowserFrameSource::BrowserFrameSource(std::shared_ptr<BrowserFrameFeed> feed, std::chrono::milliseconds idle_timeout)
    : feed_(std::move(feed)), idle_timeout_(idle_timeout) {
  if (!feed_) throw std::invalid_argument("BrowserFrameSource needs a feed");
}

void BrowserFrameSource::open() {}

std::optional<cv::Mat> BrowserFrameSource::read() {
  const auto deadline = std::chrono::steady_clock::now() + idle_timeout_;
  std::uint64_t corrupt = 0;
  std::uint64_t refused = 0;
  std::string last_refusal;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    std::optional<std::string> jpeg = feed_->take(std::max(left, std::chrono::milliseconds(0)));
    if (!jpeg) {
      if (feed_->is_closed()) return std::nullopt;  // the camera is being stopped
      if (corrupt > 0 || refused > 0) {
        std::string counts;
        if (corrupt > 0) counts = std::to_string(corrupt) + " corrupt JPEG" + (corrupt == 1 ? "" : "s");
        if (refused > 0)
          counts += (counts.empty() ? "" : ", ") + std::to_string(refused) + " refused, the last: " + last_refusal;
        throw FrameSourceError(describe() + ": no decodable frame within " + seconds_text(idle_timeout_) + " (" +
                               counts + ")");
      }
      throw FrameSourceError(describe() + ": the browser stopped sending frames (none within " +
                             seconds_text(idle_timeout_) + ")");
    }
    // Checked before decoding: a small PNG or JPEG can claim 20000x20000.
    if (std::optional<std::string> refusal = browser_frame_refusal(*jpeg)) {
      ++refused;
      last_refusal = std::move(*refusal);
      continue;
    }
    cv::Mat image;
    try {
      const cv::Mat bytes(1, static_cast<int>(jpeg->size()), CV_8UC1, jpeg->data());
      image = cv::imdecode(bytes, cv::IMREAD_COLOR);
    } catch (const cv::Exception&) {
      image.release();
    }
    if (!image.empty() && image.type() == CV_8UC3) return image;
    ++corrupt;  // skipped: the next frame is only a fraction of a second away
  }
}

void BrowserFrameSource::close() {}

}  // namespace safelynx::pipeline
