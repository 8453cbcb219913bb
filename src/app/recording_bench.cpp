#include "app/recording_bench.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/videoio.hpp>

#include "app/cli_commands.hpp"
#include "recording/mp4_writer.hpp"

namespace safelynx::app {

namespace fs = std::filesystem;

void add_recording_bench_flags(CLI::App& command, RecordingBenchOptions& o) {
  command.add_option("--source", o.source, "Video file whose frames every writer records")->check(CLI::ExistingFile);
  command.add_option("--encoder", o.encoder, "mp4writer (the pipeline's Mp4Writer) or opencv (cv::VideoWriter)")
      ->check(CLI::IsMember({"mp4writer", "opencv"}))
      ->capture_default_str();
  command.add_option("--writers", o.writers, "MP4 files written at once, like cameras recording together")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command.add_option("--frames", o.frames, "Frames of the clip written to every file")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
}

namespace {

double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

int fail(int status, const std::string& message) {
  std::cerr << "error: bench recording: " << message << "\n";
  return status;
}

// Frames decoded by cv::VideoCapture from `file`; -1 if it does not open.
long decodable_frames(const fs::path& file) {
  cv::VideoCapture capture(file.string(), cv::CAP_FFMPEG);
  if (!capture.isOpened()) return -1;
  long frames = 0;
  cv::Mat image;
  while (capture.read(image) && !image.empty()) ++frames;
  return frames;
}

}  // namespace

int run_recording_bench(const RecordingBenchOptions& o) {
  if (!fs::is_regular_file(o.source))
    return fail(kExitUsage, "source " + o.source + " not found (run from the repository root, or pass --source FILE)");

  // The frames, decoded once: the writers are timed, not the decoder.
  std::vector<cv::Mat> frames;
  double fps = 0;
  {
    cv::VideoCapture capture(o.source, cv::CAP_FFMPEG);
    if (!capture.isOpened()) return fail(kExitImageFailed, "cannot open " + o.source + " as a video");
    fps = capture.get(cv::CAP_PROP_FPS);
    if (!(fps > 0 && fps <= 240)) fps = 30;
    frames.reserve(static_cast<std::size_t>(o.frames));
    cv::Mat image;
    while (static_cast<int>(frames.size()) < o.frames && capture.read(image) && !image.empty())
      frames.push_back(image.clone());
  }
  if (static_cast<int>(frames.size()) < o.frames)
    return fail(kExitUsage, o.source + " has only " + std::to_string(frames.size()) + " frames; --frames asks for " +
                                std::to_string(o.frames));
  const cv::Size size = frames.front().size();
  const double rss_before = current_rss_mb();

  std::mt19937_64 random(std::random_device{}());
  const fs::path dir = fs::temp_directory_path() / ("safelynx-recording-bench-" + std::to_string(random()));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};
  std::vector<fs::path> files;
  for (int w = 0; w < o.writers; ++w) files.push_back(dir / ("camera-" + std::to_string(w + 1) + ".mp4"));

  std::string codec;
  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  if (o.encoder == "mp4writer") {
    // As the recorder opens a segment: the clip's rate, the other options at their defaults.
    std::vector<std::unique_ptr<recording::Mp4Writer>> writers;
    for (const fs::path& file : files)
      writers.push_back(std::make_unique<recording::Mp4Writer>(file, size, recording::Mp4WriterOptions{fps}));
    codec = "avc1 (" + writers.front()->encoder_name() + ")";
    for (const cv::Mat& frame : frames)
      for (auto& writer : writers) writer->write(frame);
    for (auto& writer : writers) writer->finish();
  } else {
    // OpenCV's FFmpeg backend with its own encoder settings; H.264 if this build can.
    std::vector<cv::VideoWriter> writers(files.size());
    for (const char* fourcc : {"avc1", "mp4v"}) {
      if (writers.front().open(files.front().string(), cv::CAP_FFMPEG,
                               cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]), fps, size, true)) {
        codec = fourcc;
        break;
      }
      std::cerr << "bench recording: cv::VideoWriter cannot open fourcc " << fourcc << "\n";
    }
    if (codec.empty()) return fail(kExitImageFailed, "cv::VideoWriter opens neither avc1 nor mp4v for " + files.front().string());
    for (std::size_t w = 1; w < files.size(); ++w)
      if (!writers[w].open(files[w].string(), cv::CAP_FFMPEG,
                           cv::VideoWriter::fourcc(codec[0], codec[1], codec[2], codec[3]), fps, size, true))
        return fail(kExitImageFailed, "cv::VideoWriter (" + codec + ") cannot open " + files[w].string());
    for (const cv::Mat& frame : frames)
      for (auto& writer : writers) writer.write(frame);
    for (auto& writer : writers) writer.release();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu_start;
  const double rss_peak = peak_rss_mb();

  std::uintmax_t bytes = 0;
  for (const fs::path& file : files) {
    const long decoded = decodable_frames(file);
    if (decoded < 0) return fail(kExitImageFailed, "cv::VideoCapture cannot open the written " + file.string());
    if (decoded != o.frames)
      return fail(kExitImageFailed, "the written " + file.string() + " decodes to " + std::to_string(decoded) +
                                        " frames, not " + std::to_string(o.frames));
    bytes += fs::file_size(file);
  }

  const double writes = static_cast<double>(o.writers) * o.frames;
  const nlohmann::ordered_json line = {
      {"encoder", o.encoder},
      {"codec", codec},
      {"writers", o.writers},
      {"frames", o.frames},
      {"ms_per_frame", rounded(1000.0 * seconds / writes, 3)},
      {"cpu_ms_per_frame", rounded(1000.0 * cpu / writes, 3)},
      {"rss_mb", rounded(rss_peak, 1)},
      {"rss_before_mb", rounded(rss_before, 1)},
      {"bytes_per_file", bytes / static_cast<std::uintmax_t>(o.writers)},
  };
  std::cout << line.dump() << std::endl;
  return kExitOk;
}

}  // namespace safelynx::app
