#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "app/config.hpp"
#include "app/process_stats.hpp"
#include "domain/entities.hpp"
#include "storage/repositories.hpp"

namespace safelynx::app {

struct PipelineBenchOptions {
  std::string source = kBenchClip;
  std::string gallery = "../shared/testdata/faces";  // DIR/<person>/<photos>, enrolled first
  int cameras = 1;
  bool realtime = false;  // play the file at its frame rate, like a camera
  bool record = true;
};

// Stores a camera that plays `file`, as the bench commands do.
Camera create_file_camera(storage::Database& database, const std::string& name, const std::filesystem::path& file);

void add_pipeline_bench_flags(CLI::App& command, PipelineBenchOptions& options);

// Runs N file cameras on one clip through the real pipeline, with storage in
// a temporary data dir, and prints one JSON line (docs/BENCHMARKS.md).
int run_pipeline_bench(const Config& config, const PipelineBenchOptions& options);

}  // namespace safelynx::app
