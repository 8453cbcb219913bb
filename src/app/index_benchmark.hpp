// `safelynx bench index`: latency, recall and memory of the embedding
// indexes on synthetic galleries, next to FAISS on the same vectors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace safelynx::app {

struct IndexBenchOptions {
  std::size_t size = 0;
  std::size_t queries = 1000;
  std::vector<std::string> kinds{"exact", "int8", "hnsw", "tiered"};
  std::vector<std::string> data{"random", "clustered"};
  std::size_t k = 10;
  std::vector<std::size_t> ef_search{0};  // HNSW beams; 0 = automatic_ef_search
  std::uint64_t seed = 42;
  std::size_t build_threads = 0;  // 0 = every core
  bool faiss = true;
  std::string python = "/usr/bin/python3";  // Debian's, where python3-faiss lives
  std::string faiss_script = "bench/faiss_index.py";
};

void add_index_bench_flags(CLI::App& command, IndexBenchOptions& options);

// One JSON object per measurement on stdout, progress and a table on stderr.
int run_index_bench(const IndexBenchOptions& options);

}  // namespace safelynx::app
