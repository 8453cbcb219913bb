// Where frames come from: one interface for video files, network streams
// (RTSP/HTTP through OpenCV's FFmpeg backend) and local cameras (V4L2).
// A source is used by one capture thread at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/camera_url.hpp"
#include "domain/entities.hpp"

namespace safelynx::pipeline {

// The source cannot be opened or stopped delivering frames; the message
// names the source and says why.
class FrameSourceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Camera frames with more pixels than this are refused, not processed: 40 MP
// holds 8K video (33 MP), while one 20000x20000 frame would take 1.2 GB.
inline constexpr std::uint64_t max_frame_pixels = 40'000'000;

// Throws FrameSourceError naming `source` when width x height is above
// max_frame_pixels: the camera shows an error instead of decoding, copying
// and queueing such frames. Unknown sizes (0) pass. Every source checks after
// opening (the stream's declared size) and on every frame.
void check_frame_resolution(const std::string& source, double width, double height);
// The same check's message, or "" when the size passes.
std::string frame_resolution_refusal(const std::string& source, double width, double height);

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
  // The camera's status message once read() has returned nullopt.
  virtual std::string end_message() const { return "end of video"; }
  // How long open() may take before the camera is shown as failing ("no
  // answer within ..."); open() itself may overrun it (OpenCV serialises
  // FFmpeg opens process-wide), so CameraCapture watches from outside.
  virtual std::chrono::milliseconds open_timeout() const { return std::chrono::milliseconds(10'000); }
};

struct VideoFileOptions {
  bool realtime = true;  // paced at the file's own frame rate, like a camera
  bool loop = false;     // start again at the end instead of ending
  // The folders the file must lie in ([cameras] file_roots); none: every
  // file is refused. See video_file_policy.hpp.
  std::vector<std::filesystem::path> roots;
};

// A video file played as a camera: only a video container under one of
// `roots`, checked at every open (video_file_policy.hpp).
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

struct NetworkStreamOptions {
  std::chrono::milliseconds open_timeout{10'000};  // connecting and reading the stream's header
  std::chrono::milliseconds read_timeout{10'000};  // waiting for a frame: then the source fails (and is retried)
};

// An RTSP or HTTP(S) stream (MJPEG, MPEG-TS, MP4...) read through OpenCV's
// FFmpeg backend. Never hangs longer than its timeouts, so stopping a camera
// whose network went away is prompt. Only rtsp://, rtsps://, http:// and
// https:// URLs are opened (FFmpeg's file:, pipe:, concat: are refused).
// RTSP goes over TCP: OpenCV asks FFmpeg for that whenever the environment
// variable OPENCV_FFMPEG_CAPTURE_OPTIONS is unset; this class never sets it
// (it is process-wide), so an operator may still set it to override.
// A live stream never ends: read() throws FrameSourceError ("the stream
// ended", "no frame within 10 s") and the capture thread reconnects. Every
// message names the URL without its credentials, as describe() does.
class NetworkStreamSource final : public FrameSource {
 public:
  NetworkStreamSource(std::string url, NetworkStreamOptions options);
  ~NetworkStreamSource() override;
  void open() override;
  std::optional<cv::Mat> read() override;
  void close() override;
  double fps() const override { return fps_; }
  std::string describe() const override;
  std::chrono::milliseconds open_timeout() const override { return options_.open_timeout; }

 private:
  class Capture;
  std::string url_;
  NetworkStreamOptions options_;
  std::unique_ptr<Capture> capture_;
  double fps_ = 0;
};

// A local camera through V4L2: a device index ("0") or path ("/dev/video0").
// width/height/fps 0: the device's own (otherwise requests: the driver picks
// the nearest mode). open() fails with "no camera at /dev/video3" when the
// device does not exist; read() fails when the camera stops delivering.
class UsbCameraSource final : public FrameSource {
 public:
  UsbCameraSource(std::string device, int width, int height, double fps);
  ~UsbCameraSource() override;
  void open() override;
  std::optional<cv::Mat> read() override;
  void close() override;
  double fps() const override { return fps_; }
  std::string describe() const override { return "usb " + device_; }

 private:
  class Capture;
  std::string device_;
  int width_, height_;
  double requested_fps_;
  std::unique_ptr<Capture> capture_;
  double fps_ = 0;
};

// Where a browser camera's JPEG frames arrive (from the WebSocket) for its
// BrowserFrameSource to read. Keeps only the newest frame: a browser that
// sends faster than the pipeline reads loses the older ones (counted).
//
// One feed lives as long as its camera and outlives the sources that read
// it (the capture thread makes a new source on every retry; a source's
// close() leaves the feed alone). The owner calls close() when it stops the
// camera: a read() blocked in take() wakes at once and returns nullopt (the
// capture ends instead of waiting out its idle timeout), and so does every
// later read() until reopen(), which the owner calls before starting the
// camera again. Frames pushed while closed are kept (the newest one), so the
// first read after reopen() may return a frame from before it.
class BrowserFrameFeed {
 public:
  // Stores the frame (not decoded here: this runs on a server I/O thread).
  void push_jpeg(std::string bytes);
  // Waits up to `timeout` for a frame newer than the last one taken.
  std::optional<std::string> take(std::chrono::milliseconds timeout);
  // Wakes a waiting take(); later takes return nullopt at once until reopen().
  void close();
  void reopen();
  std::uint64_t replaced() const;  // frames overwritten before they were taken

 private:
  friend class BrowserFrameSource;
  bool is_closed() const;  // tells a closed feed from a silent browser

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::optional<std::string> frame_;
  bool closed_ = false;
  std::uint64_t replaced_ = 0;
};

// Why a browser camera's frame must not be decoded, or nullopt when it may be:
// only JPEG (what the page sends) with a frame header (SOF) of at most
// max_frame_pixels, read from the header without decoding.
std::optional<std::string> browser_frame_refusal(std::string_view bytes);

// A browser's camera: decodes the JPEGs its feed receives. When no frame
// arrives for `idle_timeout`, read() fails ("the browser stopped sending
// frames") so the camera shows an error until the page sends again.
// A frame that browser_frame_refusal refuses or that does not decode is
// skipped (the next one is tried within the same idle timeout; when only
// such frames came, the error counts them and quotes the last refusal).
// read() returns nullopt (the end) once the feed is closed; open() and
// close() do nothing to the shared feed.
class BrowserFrameSource final : public FrameSource {
 public:
  BrowserFrameSource(std::shared_ptr<BrowserFrameFeed> feed, std::chrono::milliseconds idle_timeout);
  void open() override;
  std::optional<cv::Mat> read() override;
  void close() override;
  double fps() const override { return 0; }
  std::string describe() const override { return "browser camera"; }
  std::string end_message() const override { return "the browser camera was closed"; }

 private:
  std::shared_ptr<BrowserFrameFeed> feed_;
  std::chrono::milliseconds idle_timeout_;
};

// "10 s", "1.5 s" for messages.
std::string seconds_text(std::chrono::milliseconds duration);

}  // namespace safelynx::pipeline
