#include "app/engine_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include "app/cli_commands.hpp"
#include "vision/blas.hpp"
#include "vision/face_alignment.hpp"
#include "vision/face_engine.hpp"
#include "vision/face_landmark_net.hpp"
#include "vision/face_recognition_net.hpp"
#include "vision/image_io.hpp"
#include "vision/model_paths.hpp"
#include "app/subprocess.hpp"

namespace safelynx::app {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Summary {
  double median_ms;
  double p95_ms;
};

Summary summarise(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size()))) - 1;
    return samples[std::min(i, samples.size() - 1)];
  };
  const std::size_t n = samples.size();
  const double median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  return {median, at(0.95)};
}

Summary time_it(int warmup, int repeat, const std::function<void()>& work) {
  for (int i = 0; i < warmup; ++i) work();
  std::vector<double> samples;
  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    work();
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return summarise(samples);
}

double round2(double v) { return std::round(v * 100) / 100; }

void report(const std::string& stage, const Summary& s, json extra = json::object()) {
  json line = {{"stage", stage}, {"median_ms", round2(s.median_ms)}, {"p95_ms", round2(s.p95_ms)}};
  line.update(extra);
  std::cout << line.dump() << std::endl;
  std::fprintf(stderr, "%-44s median %8.2f ms   p95 %8.2f ms\n", stage.c_str(), s.median_ms, s.p95_ms);
}

std::vector<std::string> default_images(const std::string& testdata) {
  std::vector<std::string> images;
  for (const char* sub : {"faces", "scenes"}) {
    const fs::path dir = fs::path(testdata) / sub;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) images.push_back(e.path().string());
  }
  std::sort(images.begin(), images.end());
  return images;
}

// Runs bench/reference.js and returns its JSON result, or null (with a reason on stderr).
json run_reference(const EngineBenchOptions& o, const fs::path& models, const std::string& detector, int input_size,
                   const std::vector<std::string>& images) {
  if (!fs::exists(o.reference_script)) {
    std::cerr << "reference: " << o.reference_script << " not found (run from the repository root, or pass --reference-script)\n";
    return nullptr;
  }
  std::string cmd = shell_quote(o.node) + " " + shell_quote(o.reference_script) + " --models " + shell_quote(models.string()) +
                    " --detector " + detector + " --input-size " + std::to_string(input_size) + " --repeat " +
                    std::to_string(std::max(3, o.repeat / 4)) + " --warmup " + std::to_string(std::min(o.warmup, 2));
  for (const auto& image : images) cmd += " " + shell_quote(image);
  std::cerr << "reference: timing face-api 1.7.15 (tfjs wasm) with the " << detector << " detector...\n";
  const auto run = run_and_capture(cmd);
  if (!run) return nullptr;
  if (run->exit_code != 0) {
    std::cerr << "reference: " << o.reference_script << " failed (exit " << run->exit_code
              << "); is bench/node_modules installed (npm ci --prefix bench)?\n";
    return nullptr;
  }
  try {
    return json::parse(run->stdout_text);
  } catch (const json::exception& e) {
    std::cerr << "reference: unreadable output: " << e.what() << "\n";
    return nullptr;
  }
}

std::string convolution_backend() {
  const char* forced = std::getenv("SAFELYNX_GEMM_CONV");
  if (forced && std::string(forced) == "0") return "OpenCV DNN (SAFELYNX_GEMM_CONV=0)";
  if (!vision::blas::available()) return "OpenCV DNN (" + vision::blas::description() + ")";
  return "im2col + " + vision::blas::description();
}

}  // namespace

void add_engine_bench_flags(CLI::App& command, EngineBenchOptions& o) {
  command.add_option("--images", o.images, "Images for the whole-image timings (default: the shared test images)");
  command.add_option("--testdata", o.testdata_dir, "Shared test data directory")->capture_default_str();
  command.add_option("--repeat", o.repeat, "Timed runs per measurement")->capture_default_str()->check(CLI::Range(1, 100000));
  command.add_option("--warmup", o.warmup, "Untimed runs first")->capture_default_str()->check(CLI::Range(0, 1000));
  command.add_flag("!--no-reference", o.reference, "Skip the JavaScript reference comparison");
  command.add_option("--node", o.node, "Node.js executable")->capture_default_str();
  command.add_option("--reference-script", o.reference_script, "Reference timing script")->capture_default_str();
}

int run_engine_bench(const EngineConfig& config, const EngineBenchOptions& o) {
  const fs::path models = vision::resolve_models_dir(config.models_dir);
  const std::vector<std::string> images = o.images.empty() ? default_images(o.testdata_dir) : o.images;
  std::vector<cv::Mat> decoded;
  for (const auto& path : images) decoded.push_back(vision::read_image(path, {config.max_image_pixels}));
  std::cerr << "bench engine: " << images.size() << " images, " << o.repeat << " runs each, OpenCV "
            << CV_VERSION << ", " << cv::getNumThreads() << " threads\n"
            << "convolutions: " << convolution_backend() << "\n";

  // A 640x480 frame: the first image scaled to fill it, or noise without test data.
  cv::Mat frame(480, 640, CV_8UC3);
  if (decoded.empty()) cv::randu(frame, 0, 255);
  else cv::resize(decoded.front(), frame, frame.size());

  vision::FaceEngineOptions ssd_options, tiny_options;
  ssd_options.descriptor_batch_size = tiny_options.descriptor_batch_size = config.descriptor_batch_size;
  tiny_options.detector = vision::DetectorKind::Tiny;
  tiny_options.tiny_input_size = config.tiny_input_size;
  vision::FaceEngine ssd(models, ssd_options), tiny(models, tiny_options);

  report("detection_ssd_640x480", time_it(o.warmup, o.repeat, [&] { ssd.detector().detect(frame, config.min_score); }),
         {{"detector", "ssd"}, {"input_size", 512}});
  report("detection_tiny_640x480", time_it(o.warmup, o.repeat, [&] { tiny.detector().detect(frame, config.min_score); }),
         {{"detector", "tiny"}, {"input_size", config.tiny_input_size}});

  // Per-face stages on a real face crop.
  cv::Mat face_crop, aligned_crop;
  for (const cv::Mat& image : decoded) {
    const auto faces = ssd.analyse(image, config.min_score, false);
    if (faces.empty()) continue;
    face_crop = image(vision::clip_to_image(faces.front().detection.box, image.size())).clone();
    aligned_crop = image(vision::clip_to_image(faces.front().aligned_box, image.size())).clone();
    break;
  }
  if (face_crop.empty()) {
    face_crop = frame(cv::Rect(200, 100, 200, 240)).clone();
    aligned_crop = face_crop;
  }
  report("landmarks_per_face", time_it(o.warmup, o.repeat, [&] {
           ssd.landmark_detector().detect_landmarks_batch(std::span<const cv::Mat>(&face_crop, 1));
         }));
  report("descriptor_per_face_batch1", time_it(o.warmup, o.repeat, [&] {
           ssd.embedder().extract_embeddings_batch(std::span<const cv::Mat>(&aligned_crop, 1), 1);
         }));
  const std::vector<cv::Mat> eight(8, aligned_crop);
  Summary batch8 = time_it(o.warmup, o.repeat, [&] { ssd.embedder().extract_embeddings_batch(eight, 8); });
  report("descriptor_per_face_batch8", {batch8.median_ms / 8, batch8.p95_ms / 8}, {{"batch_ms_median", round2(batch8.median_ms)}});

  if (decoded.empty()) {
    std::cerr << "no images for whole-image timings (pass --images or --testdata)\n";
    return kExitOk;
  }
  for (auto* engine : {&ssd, &tiny}) {
    const std::string detector = engine == &ssd ? "ssd" : "tiny";
    double total_median = 0;
    for (std::size_t i = 0; i < decoded.size(); ++i) {
      const Summary s = time_it(o.warmup, o.repeat, [&] { engine->analyse(decoded[i], config.min_score, true); });
      total_median += s.median_ms;
      report("whole_image_" + detector, s, {{"image", images[i]}, {"detector", detector}});
    }
    json comparison = {{"comparison", "whole_image_" + detector},
                       {"images", decoded.size()},
                       {"safelynx_total_median_ms", round2(total_median)},
                       {"safelynx_per_image_ms", round2(total_median / static_cast<double>(decoded.size()))}};
    if (o.reference) {
      const json ref = run_reference(o, models, detector, config.tiny_input_size, images);
      if (!ref.is_null()) {
        const double ref_total = ref.value("total_median_ms", 0.0);
        comparison["reference"] = ref.value("implementation", "face-api");
        comparison["reference_total_median_ms"] = round2(ref_total);
        comparison["reference_per_image_ms"] = round2(ref_total / static_cast<double>(decoded.size()));
        comparison["speedup"] = round2(ref_total / total_median);
        std::fprintf(stderr, "whole image (%s): safelynx %.1f ms/image, reference %.1f ms/image: %.2fx faster\n",
                     detector.c_str(), total_median / static_cast<double>(decoded.size()),
                     ref_total / static_cast<double>(decoded.size()), ref_total / total_median);
      }
    }
    std::cout << comparison.dump() << std::endl;
  }
  return kExitOk;
}

}  // namespace safelynx::app
