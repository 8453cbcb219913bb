#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "app/process_stats.hpp"

namespace safelynx::app {

struct RecordingBenchOptions {
  std::string source = kBenchClip;
  std::string encoder = "mp4writer";  // or "opencv" (cv::VideoWriter)
  int writers = 10;
  int frames = 150;
};

void add_recording_bench_flags(CLI::App& command, RecordingBenchOptions& options);

// Decodes `frames` frames of the clip into memory, writes them to `writers`
// MP4 files at once (frame i to every file before frame i+1, like cameras
// recording together) in a temporary directory with one encoder, checks that
// every file decodes, and prints one JSON line (docs/BENCHMARKS.md). One
// encoder per process, so the peak RSS is that encoder's.
int run_recording_bench(const RecordingBenchOptions& options);

}  // namespace safelynx::app
