#include "app/index_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <malloc.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "app/process_stats.hpp"
#include "app/subprocess.hpp"
#include "index/distance_kernels.hpp"
#include "index/exact_index.hpp"
#include "index/hnsw_index.hpp"
#include "index/tiered_index.hpp"

namespace safelynx::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using index::EmbeddingBatch;
using index::EmbeddingIndex;
using index::ProfileId;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kDimension = 128;
constexpr std::size_t kClusterCentres = 4096;
constexpr std::size_t kEmbeddingsPerIdentity = 5;
// Per-dimension noise of identities around their centre and of photos around
// their identity: same-person distances ~0.4, other people in the same
// cluster ~0.9 (0.055 * sqrt(2 * 128)); the bench prints the measured values.
constexpr float kIdentitySigma = 0.055f;
constexpr float kPhotoSigma = 0.025f;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void normalise(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += double(x) * x;
  for (float& x : v) x = float(x / std::sqrt(norm));
}

struct Dataset {
  std::string name;
  EmbeddingBatch base;
  std::vector<float> queries;  // q x kDimension
  std::size_t query_count = 0;
  std::span<const float> query(std::size_t i) const {
    return std::span<const float>(queries).subspan(i * kDimension, kDimension);
  }
};

Dataset make_random(std::size_t n, std::size_t q, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  Dataset data{"random", {}, {}, q};
  data.base.reserve(n, kDimension);
  std::vector<float> v(kDimension);
  for (std::size_t i = 0; i < n; ++i) {
    for (float& x : v) x = normal(rng);
    normalise(v);
    data.base.push_back(i, i, v);
  }
  for (std::size_t i = 0; i < q; ++i) {
    for (float& x : v) x = normal(rng);
    normalise(v);
    data.queries.insert(data.queries.end(), v.begin(), v.end());
  }
  return data;
}

Dataset make_clustered(std::size_t n, std::size_t q, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> centres(kClusterCentres, std::vector<float>(kDimension));
  for (auto& c : centres) {
    for (float& x : c) x = normal(rng);
    normalise(c);
  }
  const std::size_t identities = (n + kEmbeddingsPerIdentity - 1) / kEmbeddingsPerIdentity;
  std::vector<std::vector<float>> means(identities, std::vector<float>(kDimension));
  std::uniform_int_distribution<std::size_t> pick_centre(0, kClusterCentres - 1);
  for (auto& m : means) {
    const auto& c = centres[pick_centre(rng)];
    for (std::size_t j = 0; j < kDimension; ++j) m[j] = c[j] + kIdentitySigma * normal(rng);
    normalise(m);
  }
  auto photo_of = [&](const std::vector<float>& mean) {
    std::vector<float> v(kDimension);
    for (std::size_t j = 0; j < kDimension; ++j) v[j] = mean[j] + kPhotoSigma * normal(rng);
    normalise(v);
    return v;
  };
  Dataset data{"clustered", {}, {}, q};
  data.base.reserve(n, kDimension);
  for (std::size_t i = 0; i < n; ++i) data.base.push_back(i / kEmbeddingsPerIdentity, i, photo_of(means[i / kEmbeddingsPerIdentity]));
  std::uniform_int_distribution<std::size_t> pick_identity(0, identities - 1);
  for (std::size_t i = 0; i < q; ++i) {
    const auto v = photo_of(means[pick_identity(rng)]);
    data.queries.insert(data.queries.end(), v.begin(), v.end());
  }
  return data;
}

float l2(std::span<const float> a, std::span<const float> b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += double(a[i] - b[i]) * (a[i] - b[i]);
  return float(std::sqrt(sum));
}

// Mean distance between photos of one identity, and between identities that
// share a cluster centre: so the reader can judge how realistic the data is.
void describe_clustered(const Dataset& data) {
  if (data.base.size() < 2 * kEmbeddingsPerIdentity) return;
  double same = 0;
  std::size_t pairs = 0;
  for (std::size_t i = 0; i + 1 < std::min<std::size_t>(data.base.size(), 5000); i += kEmbeddingsPerIdentity) {
    same += l2(data.base.row(i, kDimension), data.base.row(i + 1, kDimension));
    ++pairs;
  }
  double different = 0;
  std::size_t others = 0;
  for (std::size_t i = 0; i + kEmbeddingsPerIdentity < std::min<std::size_t>(data.base.size(), 5000);
       i += kEmbeddingsPerIdentity) {
    different += l2(data.base.row(i, kDimension), data.base.row(i + kEmbeddingsPerIdentity, kDimension));
    ++others;
  }
  std::cerr << std::fixed << std::setprecision(3) << "bench index: clustered data: same identity L2 "
            << same / double(pairs) << ", two random identities L2 " << different / double(others) << "\n";
}

using ProfileLists = std::vector<std::vector<ProfileId>>;

double recall_at(const ProfileLists& got, const ProfileLists& truth, std::size_t at) {
  double total = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    const std::size_t n = std::min(at, truth[q].size());
    if (n == 0) continue;
    std::set<ProfileId> expected(truth[q].begin(), truth[q].begin() + n);
    std::size_t hits = 0;
    for (std::size_t i = 0; i < std::min(at, got[q].size()); ++i) hits += expected.count(got[q][i]);
    total += double(hits) / double(n);
  }
  return total / double(truth.size());
}

struct Timed {
  double p50_us = 0, p99_us = 0;
  ProfileLists answers;
};

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, std::size_t(p / 100.0 * double(values.size())))];
}

Timed time_queries(const EmbeddingIndex& index, const Dataset& data, std::size_t k) {
  const float any = std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < std::min<std::size_t>(50, data.query_count); ++i) index.search(data.query(i), k, any);
  Timed timed;
  std::vector<double> micros;
  micros.reserve(data.query_count);
  for (std::size_t i = 0; i < data.query_count; ++i) {
    const auto start = Clock::now();
    const auto matches = index.search(data.query(i), k, any);
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    std::vector<ProfileId> profiles;
    for (const auto& m : matches) profiles.push_back(m.profile);
    timed.answers.push_back(std::move(profiles));
  }
  timed.p50_us = percentile(micros, 50);
  timed.p99_us = percentile(micros, 99);
  return timed;
}

double rounded(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

struct Row {
  std::string data, kind;
  std::size_t ef = 0;
  double build_s = 0, p50 = 0, p99 = 0, r1 = 0, r10 = 0, bytes = 0;
};

std::unique_ptr<EmbeddingIndex> make_index(const std::string& kind, std::size_t ef, std::size_t threads) {
  if (kind == "exact") return std::make_unique<index::ExactIndex>();
  if (kind == "int8") {
    index::ExactIndexOptions o;
    o.storage = index::ExactStorage::Int8;
    return std::make_unique<index::ExactIndex>(o);
  }
  index::HnswIndexOptions h;
  h.ef_search = ef;
  h.build_threads = threads;
  if (kind == "hnsw") return std::make_unique<index::HnswIndex>(h);
  index::TieredIndexOptions t;
  t.hnsw.build_threads = threads;
  return std::make_unique<index::TieredIndex>(t);
}

// Writes the vectors for bench/faiss_index.py, runs it, and returns its lines
// with recall filled in (empty, with a warning, when FAISS is unavailable).
std::vector<json> run_faiss(const IndexBenchOptions& options, const Dataset& data, const ProfileLists& truth,
                            std::size_t embeddings_per_profile) {
  // FAISS answers per embedding: ask for enough to cover k profiles.
  const std::size_t faiss_k = options.k * embeddings_per_profile;
  std::vector<std::size_t> beams;  // the same beams as ours, the automatic one resolved
  for (std::size_t ef : options.ef_search) beams.push_back(ef ? ef : index::automatic_ef_search(data.base.size()));
  const fs::path dir = fs::temp_directory_path() / ("safelynx-bench-index-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{dir};
  {
    std::ofstream base(dir / "base.f32", std::ios::binary);
    base.write(reinterpret_cast<const char*>(data.base.values.data()),
               std::streamsize(data.base.values.size() * sizeof(float)));
    std::ofstream queries(dir / "queries.f32", std::ios::binary);
    queries.write(reinterpret_cast<const char*>(data.queries.data()), std::streamsize(data.queries.size() * sizeof(float)));
    std::ofstream meta(dir / "meta.json");
    meta << json{{"n", data.base.size()}, {"d", kDimension}, {"q", data.query_count}, {"k", faiss_k},
                 {"ef", beams}, {"m", 16}, {"ef_construction", 64}}.dump();
  }
  if (!fs::exists(options.faiss_script)) {
    std::cerr << "warning: " << options.faiss_script
              << " not found (run from the repository root, or pass --faiss-script): FAISS comparison skipped\n";
    return {};
  }
  const std::string command =
      shell_quote(options.python) + " " + shell_quote(options.faiss_script) + " " + shell_quote(dir.string());
  std::cerr << "bench index: " << data.name << ": FAISS (" << command << ")\n";
  const auto run = run_and_capture(command);
  if (!run || run->exit_code != 0) {
    std::cerr << "warning: " << command << " failed" << (run ? " (exit " + std::to_string(run->exit_code) + ")" : "")
              << ": FAISS comparison skipped\n";
    return {};
  }
  std::vector<json> lines;
  std::istringstream stream(run->stdout_text);
  std::string line;
  while (std::getline(stream, line)) {
    if (line.empty()) continue;
    json result = json::parse(line);
    const std::string kind = result["kind"];
    const std::string suffix = result.contains("ef_search") ? "_ef" + std::to_string(result["ef_search"].get<int>()) : "";
    std::ifstream ids_file(dir / (kind + suffix + ".ids"), std::ios::binary);
    std::vector<std::int64_t> ids(data.query_count * faiss_k);
    ids_file.read(reinterpret_cast<char*>(ids.data()), std::streamsize(ids.size() * sizeof(std::int64_t)));
    ProfileLists answers(data.query_count);
    for (std::size_t q = 0; q < data.query_count; ++q) {
      for (std::size_t i = 0; i < faiss_k && answers[q].size() < options.k; ++i) {
        const std::int64_t id = ids[q * faiss_k + i];
        if (id < 0) continue;
        const ProfileId profile = data.base.profiles[std::size_t(id)];
        // FAISS answers per embedding: keep each profile's first (nearest) hit.
        if (std::find(answers[q].begin(), answers[q].end(), profile) == answers[q].end())
          answers[q].push_back(profile);
      }
    }
    json ordered = {{"kind", kind}, {"data", data.name}, {"size", data.base.size()}, {"faiss_k", faiss_k}};
    for (auto& [key, value] : result.items())
      if (key != "kind" && key != "size") ordered[key] = value;
    ordered["recall_at_1"] = rounded(recall_at(answers, truth, 1), 4);
    ordered["recall_at_10"] = rounded(recall_at(answers, truth, 10), 4);
    lines.push_back(ordered);
  }
  return lines;
}

void print_table(const std::vector<Row>& rows) {
  std::cerr << "\n" << std::left << std::setw(10) << "data" << std::setw(12) << "kind" << std::right << std::setw(6)
            << "ef" << std::setw(10) << "build s" << std::setw(10) << "p50 us" << std::setw(10) << "p99 us"
            << std::setw(8) << "R@1" << std::setw(8) << "R@10" << std::setw(10) << "B/emb" << "\n";
  for (const Row& r : rows) {
    std::cerr << std::left << std::setw(10) << r.data << std::setw(12) << r.kind << std::right << std::setw(6)
              << (r.ef ? std::to_string(r.ef) : "-") << std::fixed << std::setprecision(2) << std::setw(10) << r.build_s
              << std::setprecision(1) << std::setw(10) << r.p50 << std::setw(10) << r.p99 << std::setprecision(4)
              << std::setw(8) << r.r1 << std::setw(8) << r.r10 << std::setprecision(0) << std::setw(10) << r.bytes
              << "\n";
  }
}

}  // namespace

void add_index_bench_flags(CLI::App& command, IndexBenchOptions& options) {
  command.add_option("--size", options.size, "Embeddings in the gallery")->required()->check(CLI::PositiveNumber);
  command.add_option("--queries", options.queries, "Timed queries")->check(CLI::PositiveNumber);
  command.add_option("--kind", options.kinds, "exact, int8, hnsw, tiered (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"exact", "int8", "hnsw", "tiered"}));
  command.add_option("--data", options.data, "random, clustered (default: both)")
      ->delimiter(',')
      ->check(CLI::IsMember({"random", "clustered"}));
  command.add_option("--k", options.k, "Profiles per answer")->check(CLI::PositiveNumber);
  command.add_option("--ef", options.ef_search, "HNSW search beam width(s), e.g. 64,128,256; 0 = automatic (default)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  command.add_option("--seed", options.seed, "Random seed for the data");
  command.add_option("--threads", options.build_threads, "Threads for building HNSW (default: every core)");
  command.add_flag("--faiss,!--no-faiss", options.faiss, "Compare with FAISS on the same vectors (default: on)");
  command.add_option("--python", options.python, "Python with the python3-faiss package (default /usr/bin/python3)");
  command.add_option("--faiss-script", options.faiss_script, "The FAISS side (default bench/faiss_index.py)");
}

int run_index_bench(const IndexBenchOptions& options) {
  std::vector<Row> rows;
  for (const std::string& data_name : options.data) {
    const auto generation = Clock::now();
    std::cerr << "bench index: generating " << options.size << " " << data_name << " embeddings and "
              << options.queries << " queries\n";
    const Dataset data = data_name == "random" ? make_random(options.size, options.queries, options.seed)
                                               : make_clustered(options.size, options.queries, options.seed);
    std::cerr << "bench index: generated in " << std::fixed << std::setprecision(1) << seconds_since(generation)
              << " s\n";
    if (data_name == "clustered") describe_clustered(data);

    std::cerr << "bench index: " << data_name << ": ground truth by exact float32 search\n";
    ProfileLists truth;
    {
      index::ExactIndex exact;
      exact.add_batch(data.base);
      const float any = std::numeric_limits<float>::infinity();
      for (std::size_t q = 0; q < data.query_count; ++q) {
        std::vector<ProfileId> profiles;
        for (const auto& m : exact.search(data.query(q), options.k, any)) profiles.push_back(m.profile);
        truth.push_back(std::move(profiles));
      }
    }

    std::map<std::string, double> p50_of, p99_of;
    for (const std::string& kind : options.kinds) {
      // 0 = the automatic beam; tiered always runs as the system runs it.
      const bool graph = kind == "hnsw" || kind == "tiered";
      const std::vector<std::size_t> efs = kind == "hnsw" ? options.ef_search : std::vector<std::size_t>{0};
      malloc_trim(0);  // hand freed memory back, so the growth below is this index's
      const double rss_before_mb = current_rss_mb();
      std::cerr << "bench index: " << data_name << ": building " << kind << "\n";
      const auto start = Clock::now();
      std::unique_ptr<EmbeddingIndex> built = make_index(kind, efs.front(), options.build_threads);
      built->add_batch(data.base);
      if (auto* tiered = dynamic_cast<index::TieredIndex*>(built.get())) tiered->wait_for_background_work();
      const double build_s = seconds_since(start);
      malloc_trim(0);  // the build's temporary copies are not the index
      const double rss_growth = (current_rss_mb() - rss_before_mb) * 1024.0 * 1024.0;  // bytes
      for (std::size_t ef : efs) {
        if (auto* hnsw = dynamic_cast<index::HnswIndex*>(built.get())) hnsw->set_ef_search(ef);
        const std::size_t beam = ef ? ef : index::automatic_ef_search(options.size);
        std::cerr << "bench index: " << data_name << ": " << options.queries << " queries on " << kind
                  << (graph ? " ef " + std::to_string(beam) : "") << "\n";
        const Timed timed = time_queries(*built, data, options.k);
        json line = {{"kind", kind},
                     {"data", data_name},
                     {"size", options.size},
                     {"build_s", rounded(build_s, 3)},
                     {"p50_us", rounded(timed.p50_us, 1)},
                     {"p99_us", rounded(timed.p99_us, 1)},
                     {"recall_at_1", rounded(recall_at(timed.answers, truth, 1), 4)},
                     {"recall_at_10", rounded(recall_at(timed.answers, truth, 10), 4)},
                     {"bytes_per_embedding", rounded(double(built->memory_bytes()) / double(options.size), 1)},
                     {"rss_bytes_per_embedding", rounded(rss_growth / double(options.size), 1)},
                     {"k", options.k},
                     {"kernels", index::best_kernels().name},
                     {"queries", options.queries}};
        if (graph) {
          line["ef_search"] = beam;
          line["ef_automatic"] = ef == 0;
        }
        if (auto* tiered = dynamic_cast<index::TieredIndex*>(built.get())) line["serving"] = tiered->active_kind();
        std::cout << line.dump() << std::endl;
        rows.push_back({data_name, kind, graph ? beam : 0, build_s, timed.p50_us, timed.p99_us, line["recall_at_1"],
                        line["recall_at_10"], line["bytes_per_embedding"]});
        const std::string key = kind + (kind == "hnsw" ? "_ef" + std::to_string(beam) : "");
        p50_of[key] = timed.p50_us;
        p99_of[key] = timed.p99_us;
      }
    }

    if (options.faiss) {
      for (json& line : run_faiss(options, data, truth, data_name == "clustered" ? kEmbeddingsPerIdentity : 1)) {
        std::cout << line.dump() << std::endl;
        const std::size_t ef = line.contains("ef_search") ? line["ef_search"].get<std::size_t>() : 0;
        rows.push_back({data_name, line["kind"], ef, line["build_s"], line["p50_us"], line["p99_us"],
                        line["recall_at_1"], line["recall_at_10"], line["bytes_per_embedding"]});
        const std::string ours = ef ? "hnsw_ef" + std::to_string(ef) : "exact";
        if (!p50_of.count(ours)) continue;
        json ratio = {{"compare", ours.substr(0, ours.find('_')) + "/" + line["kind"].get<std::string>()},
                      {"data", data_name},
                      {"size", options.size},
                      {"p50_ratio", rounded(p50_of[ours] / line["p50_us"].get<double>(), 3)},
                      {"p99_ratio", rounded(p99_of[ours] / line["p99_us"].get<double>(), 3)}};
        if (ef) ratio["ef_search"] = ef;
        std::cout << ratio.dump() << std::endl;
      }
    }
  }
  print_table(rows);
  return 0;
}

}  // namespace safelynx::app
