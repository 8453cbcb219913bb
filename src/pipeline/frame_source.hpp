// Where frames come from: one interface for video files, network streams
// (RTSP/HTTP through OpenCV's FFmpeg backend) and local cameras (V4L2).
// A source is used by one capture thread at a time.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>

#include "domain/entities.hpp"

namespace safelynx::pipeline {

// The source cannot be opened or stopped delivering frames; the message
// names the source and says why.
class FrameSourceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Opens (or re-opens) the source; throws FrameSourceError.
  virtual void open() = 0;
  // The next frame (8-bit BGR); nullopt at the end of a finite source.
  // Throws FrameSourceError when a live source fails.
  virtual std::optional<cv::Mat> read() = 0;
  virtual void close() = 0;
  // Frames per second the source declares (0 when unknown).
  virtual double fps() const = 0;
  // "file /videos/door.mp4", "rtsp://cam.local/stream" (credentials removed).
  virtual std::string describe() const = 0;
};

struct VideoFileOptions {
  bool realtime = true;  // paced at the file's own frame rate, like a camera
  bool loop = false;     // start again at the end instead of ending
};

// A video file played as a camera.
class VideoFileSource final : public FrameSource {
 public:
  VideoFileSource(std::filesystem::path file, VideoFileOptions options);
  ~VideoFileSource() override;
  void open() override;
  std::optional<cv::Mat> read() override;
  void close() override;
  double fps() const override { return fps_; }
  std::string describe() const override { return "file " + file_.string(); }

 private:
  class Capture;
  std::filesystem::path file_;
  VideoFileOptions options_;
  std::unique_ptr<Capture> capture_;
  double fps_ = 0;
  std::chrono::steady_clock::time_point next_due_;
};

// A URL without its user:password part, for logs and status messages.
std::string redact_credentials(const std::string& url);

}  // namespace safelynx::pipeline
