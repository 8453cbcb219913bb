#include "app/detection_recall_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "app/cli_commands.hpp"
#include "app/recognition_render.hpp"
#include "app/recognition_scenario.hpp"
#include "vision/image_io.hpp"
#include "vision/model_paths.hpp"
#include "vision/multi_pass_detector.hpp"
#include "vision/ssd_mobilenet_detector.hpp"
#include "vision/tiny_face_detector.hpp"

namespace safelynx::app {
namespace {

using json = nlohmann::ordered_json;

constexpr int kWidth = 640;
constexpr int kHeight = 480;
constexpr double kHitIou = 0.3;  // lenient: a rotated face's box is larger than the crop's square
constexpr int kBackgrounds = 8;  // a few walls, so no one texture decides the result

// The crop scaled so its side is `size`, rotated by `angle` degrees about
// its centre, blended into `frame` at `centre` through a feathered mask (no
// hard edge, and no background corners from the rotation).
void paste_rotated(cv::Mat& frame, const cv::Mat& crop, cv::Point2f centre, int size, double angle) {
  cv::Mat face;
  // Scaled before rotating: INTER_AREA's prefilter keeps small faces from aliasing.
  cv::resize(crop, face, {size, size}, 0, 0, size < crop.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int margin = std::max(1, size / 20);
  cv::Mat mask(face.size(), CV_32F, cv::Scalar(0));
  mask(cv::Rect(margin, margin, size - 2 * margin, size - 2 * margin)).setTo(1);
  cv::GaussianBlur(mask, mask, {0, 0}, std::max(1.0, size / 20.0));
  const float half = static_cast<float>(size) / 2;
  cv::Mat m = cv::getRotationMatrix2D({half, half}, angle, 1.0);
  m.at<double>(0, 2) += centre.x - half;
  m.at<double>(1, 2) += centre.y - half;
  cv::Mat placed, alpha;
  cv::warpAffine(face, placed, m, frame.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::warpAffine(mask, alpha, m, frame.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  const cv::Mat rest = 1.0 - alpha;
  cv::blendLinear(placed, frame, alpha, rest, frame);
}

struct Tally {
  int frames = 0;
  int hits = 0;
  int near = 0;  // missed, but a box overlapped the face: a box of another shape, not no box
};

struct DetectorRun {
  std::string label;
  std::unique_ptr<vision::FaceDetector> detector;
  std::map<std::pair<int, int>, Tally> tallies;  // (size, angle)
  double ms = 0;
  int frames = 0;
  int false_detections = 0;  // overlapping no face: the price of a lower score
};

std::string percent(const Tally& t) {
  char text[16];
  std::snprintf(text, sizeof text, "%5.1f%%", t.frames == 0 ? 0.0 : 100.0 * t.hits / t.frames);
  return text;
}

void print_table(const DetectorRun& run, const DetectionRecallOptions& o) {
  std::fprintf(stderr, "%s: recall (IoU >= %.1f), %.1f ms a frame, %.3f false detections a frame\n  size \\ angle",
               run.label.c_str(), kHitIou, run.ms / std::max(run.frames, 1),
               static_cast<double>(run.false_detections) / std::max(run.frames, 1));
  for (int angle : o.angles) std::fprintf(stderr, " %6d", angle);
  std::fprintf(stderr, "\n");
  for (int size : o.sizes) {
    std::fprintf(stderr, "  %4d px     ", size);
    for (int angle : o.angles) std::fprintf(stderr, " %s", percent(run.tallies.at({size, angle})).c_str());
    std::fprintf(stderr, "\n");
  }
}

}  // namespace

void add_detection_recall_flags(CLI::App& command, DetectionRecallOptions& o) {
  command.add_option("--dev-set", o.dev_set, "Face crops: DIR/<person>/<photos>")->capture_default_str();
  command.add_option("--sizes", o.sizes, "Face sides in the 640x480 frame, px, comma-separated")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(8, 400));
  command.add_option("--angles", o.angles, "In-plane rotations, degrees, comma-separated")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(-180, 180));
  command.add_option("--per-person", o.per_person, "Photos of each person (the first ones)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  command.add_option("--second-pass-input", o.second_pass.small_face_input,
                     "Second pass: the tiny detector's larger input for small faces (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  command.add_option("--second-pass-turn", o.second_pass.turn_degrees,
                     "Second pass: the frame turned by +- this many degrees (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));
}

int run_detection_recall_bench(const EngineConfig& config, const DetectionRecallOptions& o) {
  std::vector<cv::Mat> crops;
  for (const Identity& person : list_identities(o.dev_set))
    for (std::size_t i = 0; i < person.photos.size() && i < static_cast<std::size_t>(o.per_person); ++i)
      crops.push_back(vision::read_image(person.photos[i], {config.max_image_pixels}));
  if (crops.empty()) throw ConfigError("bench detection-recall: no photos in " + o.dev_set);
  const auto models = vision::resolve_models_dir(config.models_dir);
  std::vector<DetectorRun> runs;
  const std::string tiny = "tiny" + std::to_string(config.tiny_input_size);
  runs.push_back({tiny, std::make_unique<vision::TinyFaceDetector>(models, config.tiny_input_size), {}, 0, 0, 0});
  runs.push_back({"ssd", std::make_unique<vision::SsdMobilenetDetector>(models), {}, 0, 0, 0});
  // The second pass's parts alone, then together (what the pipeline runs).
  const vision::SecondPassOptions larger{o.second_pass.small_face_input, 0};
  const vision::SecondPassOptions turned{0, o.second_pass.turn_degrees};
  const std::string larger_label = tiny + "+tiny" + std::to_string(larger.small_face_input);
  const std::string turned_label = tiny + "+turned" + std::to_string(static_cast<int>(turned.turn_degrees));
  if (larger.small_face_input > 0)
    runs.push_back({larger_label, vision::make_second_pass_detector(models, config.tiny_input_size, larger), {}, 0, 0, 0});
  if (turned.turn_degrees != 0)
    runs.push_back({turned_label, vision::make_second_pass_detector(models, config.tiny_input_size, turned), {}, 0, 0, 0});
  if (larger.small_face_input > 0 && turned.turn_degrees != 0)
    runs.push_back({"second_pass", vision::make_second_pass_detector(models, config.tiny_input_size, o.second_pass), {}, 0, 0, 0});
  std::vector<cv::Mat> backgrounds;
  for (int i = 0; i < kBackgrounds; ++i) backgrounds.push_back(textured_background(kWidth, kHeight, 100 + i));
  std::cerr << "bench detection-recall: " << crops.size() << " crops x " << o.sizes.size() << " sizes x "
            << o.angles.size() << " angles, " << runs.size() << " detectors, min score "
            << config.min_score << "\n";

  for (std::size_t index = 0; index < crops.size(); ++index) {
    cv::RNG rng(index + 1);  // where the face goes: the same every run
    for (int size : o.sizes) {
      // Room for the rotated square's corners.
      const int reach = static_cast<int>(std::ceil(size * 0.75)) + 2;
      const cv::Point2f centre(static_cast<float>(rng.uniform(reach, std::max(reach + 1, kWidth - reach))),
                               static_cast<float>(rng.uniform(reach, std::max(reach + 1, kHeight - reach))));
      const Box truth{centre.x - size / 2.0f, centre.y - size / 2.0f, static_cast<float>(size), static_cast<float>(size)};
      for (int angle : o.angles) {
        cv::Mat frame = backgrounds[index % backgrounds.size()].clone();
        paste_rotated(frame, crops[index], centre, size, angle);
        for (DetectorRun& run : runs) {
          const auto start = std::chrono::steady_clock::now();
          const std::vector<FaceDetection> found = run.detector->detect(frame, config.min_score);
          run.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
          ++run.frames;
          bool hit = false, near = false;
          for (const FaceDetection& d : found) {
            const float iou = intersection_over_union(d.box, truth);
            if (iou >= kHitIou) hit = true;
            else ++run.false_detections;
            near = near || iou > 0;
          }
          Tally& t = run.tallies[{size, angle}];
          ++t.frames;
          t.hits += hit ? 1 : 0;
          t.near += !hit && near ? 1 : 0;
        }
      }
    }
    if ((index + 1) % 20 == 0) std::cerr << "bench detection-recall: " << index + 1 << "/" << crops.size() << " crops\n";
  }

  json results = json::array(), ms = json::object(), false_detections = json::object();
  for (const DetectorRun& run : runs) {
    print_table(run, o);
    for (const auto& [key, t] : run.tallies)
      results.push_back({{"detector", run.label}, {"size", key.first}, {"angle", key.second},
                         {"frames", t.frames}, {"hits", t.hits}, {"near_misses", t.near},
                         {"recall", std::round(1e4 * t.hits / std::max(t.frames, 1)) / 1e4}});
    ms[run.label] = std::round(10 * run.ms / std::max(run.frames, 1)) / 10;
    false_detections[run.label] =
        std::round(1e3 * run.false_detections / std::max(run.frames, 1)) / 1e3;
  }
  json out = {{"command", "bench detection-recall"},
              {"dev_set", o.dev_set},
              {"crops", crops.size()},
              {"frame", {kWidth, kHeight}},
              {"tiny_input_size", config.tiny_input_size},
              {"min_score", config.min_score},
              {"hit_iou", kHitIou},
              {"ms_per_frame", ms},
              {"false_detections_per_frame", false_detections},
              {"results", results}};
  std::cout << out.dump() << std::endl;
  return kExitOk;
}

}  // namespace safelynx::app
