#include "app/cli_commands.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core/utils/logger.hpp>

#include "app/config.hpp"
#include "app/detection_recall_bench.hpp"
#include "app/engine_bench.hpp"
#include "app/eval_command.hpp"
#include "app/pipeline_bench.hpp"
#include "app/recognition_bench.hpp"
#include "app/recording_bench.hpp"
#include "app/index_benchmark.hpp"
#include "app/serve_command.hpp"
#include "gallery/match_decision.hpp"
#include "index/exact_index.hpp"
#include "vision/face_engine.hpp"
#include "vision/image_io.hpp"
#include "vision/model_paths.hpp"
#include "vision/tfjs_weights.hpp"

namespace safelynx::app {
namespace {

// Ordered, so that "image" comes first and each face reads box, score, landmarks.
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

// Rounds to `decimals` places; dividing by a power of ten (rather than
// multiplying by 0.01) gives the double that prints as the short decimal.
double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

// One image per entry and one face per line: readable, and still one JSON document.
void print_results(const json& results) {
  std::cout << "[";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& entry = results[i];
    std::cout << (i ? ",\n" : "\n") << "  {\"image\": " << entry["image"].dump();
    if (entry.contains("error")) {
      std::cout << ", \"error\": " << entry["error"].dump() << "}";
      continue;
    }
    std::cout << ", \"faces\": [";
    const json& faces = entry["faces"];
    for (std::size_t f = 0; f < faces.size(); ++f) std::cout << (f ? ",\n    " : "\n    ") << faces[f].dump();
    std::cout << (faces.empty() ? "]}" : "\n  ]}");
  }
  std::cout << (results.empty() ? "]" : "\n]") << std::endl;
}

json face_json(const Face& face, bool with_descriptor) {
  const Box& b = face.detection.box;
  json landmarks = json::array();
  for (const Point& p : face.landmarks) landmarks.push_back({rounded(p.x, 2), rounded(p.y, 2)});
  json out = {{"box", {rounded(b.x, 2), rounded(b.y, 2), rounded(b.width, 2), rounded(b.height, 2)}},
              {"score", rounded(face.detection.score, 6)},
              {"landmarks", landmarks}};
  if (with_descriptor) {
    if (face.descriptor) {
      json d = json::array();
      for (float v : *face.descriptor) d.push_back(rounded(v, 7));
      out["descriptor"] = d;
    } else {
      out["descriptor"] = nullptr;  // the aligned face lies outside the image
    }
  }
  return out;
}

struct EngineFlags {
  std::optional<std::string> detector;
  std::optional<int> tiny_input_size;
  std::optional<float> min_score;
  std::optional<std::uint64_t> max_pixels;
  std::optional<std::string> alignment;

  void add_to(CLI::App& command) {
    command.add_option("--detector", detector, "Face detector: ssd (accurate, default) or tiny (fast)")
        ->check(CLI::IsMember({"ssd", "tiny"}));
    command.add_option("--tiny-input-size", tiny_input_size, "Input size of the tiny detector (multiple of 32)");
    command.add_option("--min-score", min_score, "Minimum detector score, in (0, 1); default 0.5");
    command.add_option("--max-pixels", max_pixels, "Refuse images with more pixels than this; default 40000000");
    command.add_option("--alignment", alignment,
                       "Face crop for descriptors: dlib-chip (default, recognises better) or face-api (face-api's own)")
        ->check(CLI::IsMember({"dlib-chip", "face-api"}));
  }
  void apply(EngineConfig& c) const {
    if (detector) c.detector = vision::parse_detector_kind(*detector);
    if (tiny_input_size) c.tiny_input_size = *tiny_input_size;
    if (min_score) c.min_score = *min_score;
    if (max_pixels) c.max_image_pixels = *max_pixels;
    if (alignment) c.alignment = vision::parse_face_alignment(*alignment);
  }
};

// Processes every image, writing one JSON entry each; a bad image gets an
// "error" entry and does not stop the others.
template <typename PerImage>
int for_each_image(const std::vector<std::string>& images, PerImage&& per_image) {
  json results = json::array();
  int status = kExitOk;
  for (const std::string& path : images) {
    json entry = {{"image", path}};
    try {
      entry["faces"] = per_image(path);
    } catch (const vision::ImageError& e) {
      entry["error"] = e.what();
      status = kExitImageFailed;
    } catch (const std::exception& e) {  // e.g. cv::Exception: this image fails, the others go on
      entry["error"] = path + ": processing failed: " + e.what();
      status = kExitImageFailed;
    }
    if (entry.contains("error")) std::cerr << "error: " << entry["error"].get<std::string>() << "\n";
    results.push_back(entry);
  }
  print_results(results);
  return status;
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (directories ? e.is_directory() : e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The people of a gallery directory: profile id = position in `names`.
struct Gallery {
  std::vector<std::string> names;
  index::ExactIndex index;
};

// Enrols DIR/<person>/<photo>: each photo must show exactly one face.
std::unique_ptr<Gallery> load_gallery(const fs::path& dir, vision::FaceEngine& engine, const EngineConfig& config) {
  if (!fs::is_directory(dir)) throw ConfigError("gallery " + dir.string() + " is not a directory");
  auto gallery = std::make_unique<Gallery>();
  std::size_t photos = 0, skipped = 0;
  for (const fs::path& person : sorted_entries(dir, true)) {
    const std::string name = person.filename().string();
    const index::ProfileId profile = gallery->names.size();
    std::size_t enrolled = 0;
    for (const fs::path& photo : sorted_entries(person, false)) {
      try {
        const cv::Mat image = vision::read_image(photo, {config.max_image_pixels});
        const auto faces = engine.analyse(image, config.min_score, true);
        if (faces.size() != 1 || !faces.front().descriptor) {
          std::cerr << "warning: gallery photo " << photo.string() << " shows " << faces.size()
                    << " faces; enrolment photos must show exactly one: skipped\n";
          ++skipped;
          continue;
        }
        gallery->index.add(profile, photos, *faces.front().descriptor);
        ++enrolled;
        ++photos;
      } catch (const vision::ImageError& e) {
        std::cerr << "warning: gallery photo skipped: " << e.what() << "\n";
        ++skipped;
      }
    }
    if (enrolled == 0) {
      std::cerr << "warning: no usable photo for '" << name << "' in " << person.string() << "\n";
      continue;
    }
    gallery->names.push_back(name);
    std::cerr << "gallery: enrolled '" << name << "' from " << enrolled << " photo" << (enrolled == 1 ? "" : "s") << "\n";
  }
  std::cerr << "gallery: " << gallery->names.size() << " people from " << photos << " photos (" << skipped
            << " skipped)\n";
  if (gallery->index.size() == 0) throw ConfigError("gallery " + dir.string() + " has no usable photo (expected DIR/<person>/<photos>)");
  return gallery;
}

vision::FaceEngine make_engine(const EngineConfig& config) {
  vision::FaceEngineOptions options;
  options.detector = config.detector;
  options.tiny_input_size = config.tiny_input_size;
  options.descriptor_batch_size = config.descriptor_batch_size;
  options.alignment = config.alignment;
  return vision::FaceEngine(vision::resolve_models_dir(config.models_dir), options);
}

}  // namespace

int run_cli(int argc, char** argv) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
  CLI::App app{"Safelynx: local-first face recognition"};
  app.require_subcommand(1);
  // `safelynx serve --config F` as well as `safelynx --config F serve`.
  app.fallthrough();
  app.set_version_flag("--version", std::string("safelynx ") + SAFELYNX_VERSION);
  std::optional<std::string> models_dir, config_file;
  app.add_option("--models", models_dir, "Models directory (default: $SAFELYNX_MODELS, else ./models)");
  app.add_option("--config", config_file, "TOML configuration file (docs/CONFIG.md)");

  std::vector<std::string> images;
  EngineFlags engine_flags;

  auto* detect = app.add_subcommand("detect", "Detect faces and their 68 landmarks; JSON on stdout");
  detect->add_option("images", images, "Image files")->required();
  engine_flags.add_to(*detect);

  auto* embed = app.add_subcommand("embed", "Like detect, with each face's 128-d descriptor");
  embed->add_option("images", images, "Image files")->required();
  engine_flags.add_to(*embed);

  std::string gallery_dir;
  std::optional<float> threshold;
  auto* identify = app.add_subcommand("identify", "Name each face by its nearest person in a gallery");
  identify->add_option("--gallery", gallery_dir, "Directory with one sub-directory of photos per person")->required();
  identify->add_option("--threshold", threshold, "Largest L2 distance that counts as a match (default: the recognition.match_threshold setting)");
  identify->add_option("images", images, "Image files")->required();
  engine_flags.add_to(*identify);

  EvalOptions eval_options;
  auto* eval = app.add_subcommand(
      "eval", "Recognition quality on DIR/<person>/<photos>: rank-1, TAR at FAR 1e-2/1e-3, a threshold (one JSON line)");
  add_eval_flags(*eval, eval_options);

  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  EngineBenchOptions bench_options;
  auto* bench_engine = bench->add_subcommand("engine", "Per-stage latency of the face engine, compared with the reference");
  add_engine_bench_flags(*bench_engine, bench_options);
  IndexBenchOptions index_bench_options;
  auto* bench_index =
      bench->add_subcommand("index", "Latency, recall and memory of the embedding indexes, compared with FAISS");
  add_index_bench_flags(*bench_index, index_bench_options);

  PipelineBenchOptions pipeline_bench_options;
  auto* bench_pipeline = bench->add_subcommand(
      "pipeline", "N file cameras through the live pipeline with storage: throughput, latency, memory (one JSON line)");
  add_pipeline_bench_flags(*bench_pipeline, pipeline_bench_options);
  RecognitionBenchOptions recognition_bench_options;
  auto* bench_recognition = bench->add_subcommand(
      "recognition", "Enrolled people and strangers walking through a rendered video: names right, wrong, and how soon (one JSON line)");
  add_recognition_bench_flags(*bench_recognition, recognition_bench_options);
  RecordingBenchOptions recording_bench_options;
  auto* bench_recording = bench->add_subcommand(
      "recording", "N MP4 files written at once from a clip, Mp4Writer or cv::VideoWriter: time, CPU, memory (one JSON line)");
  add_recording_bench_flags(*bench_recording, recording_bench_options);
  DetectionRecallOptions detection_recall_options;
  auto* bench_detection_recall = bench->add_subcommand(
      "detection-recall", "Detector recall on dev faces rendered small and tilted into 640x480 frames (one JSON line)");
  add_detection_recall_flags(*bench_detection_recall, detection_recall_options);

  ServeOptions serve_options;
  auto* serve = app.add_subcommand("serve", "Run the server: REST API, WebSocket events, web UI");
  add_serve_flags(*serve, serve_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (*serve) return run_serve(config_file, models_dir, serve_options);
    if (*bench_recording) return run_recording_bench(recording_bench_options);
    if (*bench_pipeline || *bench_recognition) {
      Config full = load_config(config_file ? std::optional<fs::path>(*config_file) : std::nullopt, process_environment());
      if (models_dir) full.engine.models_dir = fs::path(*models_dir);
      if (*bench_recognition) return run_recognition_bench(full, recognition_bench_options);
      return run_pipeline_bench(full, pipeline_bench_options);
    }
    EngineConfig config = load_config(config_file, process_environment()).engine;
    if (models_dir) config.models_dir = fs::path(*models_dir);
    engine_flags.apply(config);
    if (threshold) config.match_threshold = *threshold;
    validate(config);

    if (*bench_index) return run_index_bench(index_bench_options);
    if (*bench_engine) return run_engine_bench(config, bench_options);
    if (*bench_detection_recall) return run_detection_recall_bench(config, detection_recall_options);
    if (*eval) return run_eval(config, eval_options);

    vision::FaceEngine engine = make_engine(config);
    const vision::ImageReadOptions read_options{config.max_image_pixels};
    if (*detect || *embed) {
      const bool with_descriptors = static_cast<bool>(*embed);
      return for_each_image(images, [&](const std::string& path) {
        const cv::Mat image = vision::read_image(path, read_options);
        json faces = json::array();
        for (const Face& f : engine.analyse(image, config.min_score, with_descriptors))
          faces.push_back(face_json(f, with_descriptors));
        return faces;
      });
    }
    // identify
    const std::unique_ptr<Gallery> gallery = load_gallery(gallery_dir, engine, config);
    return for_each_image(images, [&](const std::string& path) {
      const cv::Mat image = vision::read_image(path, read_options);
      json faces = json::array();
      for (const Face& f : engine.analyse(image, config.min_score, true)) {
        json entry = face_json(f, false);
        // The nearest people whatever the distance: the output shows how far off a stranger is.
        const auto nearest = f.descriptor
                                 ? gallery->index.search(*f.descriptor, 2, std::numeric_limits<float>::infinity())
                                 : std::vector<index::Match>{};
        gallery::MatchRule rule;
        rule.match_threshold = config.match_threshold;
        const gallery::MatchDecision decision = gallery::decide(nearest, rule);
        const bool named = decision.verdict == gallery::MatchVerdict::Named;
        entry["name"] = named ? json(gallery->names[nearest[0].profile]) : json(nullptr);
        entry["verdict"] = f.descriptor ? json(gallery::to_string(decision.verdict)) : json(nullptr);
        entry["distance"] = nearest.empty() ? json(nullptr) : json(rounded(nearest[0].distance, 6));
        faces.push_back(entry);
      }
      return faces;
    });
  } catch (const ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const vision::WeightLoadError& e) {
    std::cerr << "error: cannot load the face models: " << e.what()
              << "\n(fetch them with scripts/fetch-models.sh, or point --models / SAFELYNX_MODELS at them)\n";
    return kExitModels;
  } catch (const std::exception& e) {  // e.g. an unreadable gallery directory
    std::cerr << "error: " << e.what() << "\n";
    return kExitImageFailed;
  }
}

}  // namespace safelynx::app
