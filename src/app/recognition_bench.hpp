#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/config.hpp"

namespace safelynx::app {

struct RecognitionBenchOptions {
  std::string dev_set = "../shared/testdata/celebrities-dev";  // DIR/<person>/<photos>
  std::uint64_t seed = 1;
  int enrolled = 6;
  int strangers = 4;
  int shots = 5;
  std::optional<std::string> keep_video;  // copy the rendered video here
  bool keep = false;                      // leave the temporary folder (video, data dir) in place
};

void add_recognition_bench_flags(CLI::App& command, RecognitionBenchOptions& options);

// Renders a video of enrolled people and strangers walking through from the
// dev set, plays it as a file camera through the real pipeline, and prints
// one JSON line scoring the names it gave (docs/ACCURACY.md, "Video").
int run_recognition_bench(const Config& config, const RecognitionBenchOptions& options);

}  // namespace safelynx::app
