#include "pipeline/frame_source.hpp"

#include <thread>

#include <opencv2/videoio.hpp>

namespace safelynx::pipeline {

class VideoFileSource::Capture {
 public:
  cv::VideoCapture video;
};

VideoFileSource::VideoFileSource(std::filesystem::path file, VideoFileOptions options)
    : file_(std::move(file)), options_(options) {}

VideoFileSource::~VideoFileSource() = default;

void VideoFileSource::open() {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file_, error))
    throw FrameSourceError(describe() + ": no such video file");
  auto capture = std::make_unique<Capture>();
  if (!capture->video.open(file_.string(), cv::CAP_FFMPEG) || !capture->video.isOpened())
    throw FrameSourceError(describe() + ": cannot be opened as a video (not a video, or a codec FFmpeg lacks)");
  fps_ = capture->video.get(cv::CAP_PROP_FPS);
  if (!(fps_ > 0 && fps_ <= 240)) fps_ = 0;
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

std::string redact_credentials(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto authority = scheme + 3;
  const auto path = url.find('/', authority);
  const auto at = url.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + "***@" + url.substr(at + 1);
}

}  // namespace safelynx::pipeline
