// `safelynx eval DIR`: recognition quality on a folder of photos, one
// sub-folder per person: identification rank-1 with k enrolled photos,
// verification (true-accept rate at FAR 1e-2 and 1e-3, the thresholds), the
// closest different people and a recommended match threshold. A summary on
// stderr, one JSON line on stdout (docs/CLI.md, docs/ACCURACY.md).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/config.hpp"

namespace safelynx::app {

struct EvalOptions {
  std::string dir;
  std::vector<std::size_t> shots = {1, 5};
  std::optional<std::string> alignment;  // dlib-chip | face-api; unset: the engine's default
  int pad = 112;                         // grey border around each photo, for tight crops
  std::size_t splits = 10;
  bool compare_alignment = false;  // also describe with the other alignment and compare
};

void add_eval_flags(CLI::App& command, EvalOptions& options);

int run_eval(const EngineConfig& config, const EvalOptions& options);

}  // namespace safelynx::app
