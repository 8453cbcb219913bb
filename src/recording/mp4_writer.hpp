// Writes BGR frames to an MP4 file as H.264, through libavformat/libavcodec
// directly rather than cv::VideoWriter: OpenCV 4.6 gives no control over the
// encoder, and its x264 defaults (preset medium, 40-frame lookahead, a thread
// pool per file) cost about 60 MB per camera and 7.4 ms of CPU per 640x360
// frame, 3.7 times this writer's (`safelynx bench recording`,
// docs/BENCHMARKS.md), which ten recording cameras on a small machine cannot
// afford. Here x264 runs with preset veryfast, tune zerolatency and one
// thread, and the file is fragmented MP4 (a fragment about every second,
// flushed as written) so that a crash loses at most the last second, and
// browsers start playing at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>

namespace safelynx::recording {

class Mp4WriterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Mp4WriterOptions {
  double fps = 30;
  int crf = 26;                       // x264 quality (lower is better, larger files)
  std::string preset = "veryfast";
  int threads = 1;
};

class Mp4Writer {
 public:
  // Opens `file` for frames of `size` (even dimensions are enforced by
  // cropping a last odd row/column). Throws Mp4WriterError naming the file.
  Mp4Writer(const std::filesystem::path& file, cv::Size size, Mp4WriterOptions options);
  ~Mp4Writer();  // finish() if not done; errors are swallowed there
  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;

  // Appends one 8-bit BGR frame (resized if its size differs).
  void write(const cv::Mat& bgr);
  // Flushes the encoder and writes the last fragment and the fragment index
  // (mfra). Until then the file plays up to its last complete fragment.
  void finish();

  std::uint64_t frames() const { return frames_; }
  // "h264 (libx264)" or whichever H.264 encoder was found.
  const std::string& encoder_name() const { return encoder_name_; }

 private:
  struct Av;
  void encode(bool flush);

  std::filesystem::path file_;
  cv::Size size_;
  std::unique_ptr<Av> av_;
  double fps_ = 30;
  std::uint64_t frames_ = 0;
  bool finished_ = false;
  std::string encoder_name_;
};

}  // namespace safelynx::recording
