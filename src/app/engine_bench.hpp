#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/config.hpp"

namespace safelynx::app {

struct EngineBenchOptions {
  std::vector<std::string> images;  // default: the shared test images
  std::string testdata_dir = "../shared/testdata";
  int repeat = 20;
  int warmup = 3;
  bool reference = true;  // also time the JavaScript reference (bench/reference.js)
  std::string node = "node";
  std::string reference_script = "bench/reference.js";
};

void add_engine_bench_flags(CLI::App& command, EngineBenchOptions& options);

// Prints one JSON object per measurement on stdout and a table on stderr.
int run_engine_bench(const EngineConfig& config, const EngineBenchOptions& options);

}  // namespace safelynx::app
