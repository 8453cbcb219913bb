#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/config.hpp"
#include "vision/multi_pass_detector.hpp"

namespace safelynx::app {

struct DetectionRecallOptions {
  std::string dev_set = "../shared/testdata/celebrities-dev";  // DIR/<person>/<photos>
  std::vector<int> sizes = {40, 60, 80, 120, 160, 200};        // face side in the frame, px
  std::vector<int> angles = {0, 10, 20, 30};                   // in-plane rotation, degrees
  int per_person = 3;  // photos of each person (every size and angle renders each once)
  vision::SecondPassOptions second_pass;  // measured alone and in parts beside the plain detectors
};

void add_detection_recall_flags(CLI::App& command, DetectionRecallOptions& options);

// Renders dev-set crops into 640x480 frames at each size and angle, runs the
// live detector (tiny at config.tiny_input_size), the SSD and the pipeline's
// second pass (its parts alone, then together) at config.min_score, and
// prints recall per (detector, size, angle) and ms per frame: a table on stderr, one JSON line on stdout (docs/ACCURACY.md).
int run_detection_recall_bench(const EngineConfig& config, const DetectionRecallOptions& options);

}  // namespace safelynx::app
