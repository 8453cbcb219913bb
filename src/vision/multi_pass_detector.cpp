#include "vision/multi_pass_detector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "vision/tiny_face_detector.hpp"

namespace safelynx::vision {
namespace {

// The detectors' own NMS thresholds are 0.4 (tiny) and 0.5 (SSD); two passes'
// boxes of one face overlap at least that much.
constexpr float kMergeIou = 0.4f;

std::string describe(const FaceDetector& primary, const std::vector<DetectorPass>& passes) {
  std::string name = primary.name();
  for (const DetectorPass& pass : passes) {
    name += "+" + pass.detector->name();
    if (pass.angle_degrees != 0) name += "@" + std::to_string(static_cast<int>(std::lround(pass.angle_degrees)));
  }
  return name;
}

// `bgr` turned by `angle` degrees about its centre (counter-clockwise, as
// OpenCV counts), same size; `back` maps the turned frame's points into `bgr`.
cv::Mat turned(const cv::Mat& bgr, double angle, cv::Mat& back) {
  const cv::Point2f centre(static_cast<float>(bgr.cols) / 2, static_cast<float>(bgr.rows) / 2);
  const cv::Mat forward = cv::getRotationMatrix2D(centre, angle, 1.0);
  cv::invertAffineTransform(forward, back);
  cv::Mat out;
  cv::warpAffine(bgr, out, forward, bgr.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

Box moved_back(const Box& box, const cv::Mat& back) {
  const double cx = box.x + box.width / 2.0, cy = box.y + box.height / 2.0;
  const double x = back.at<double>(0, 0) * cx + back.at<double>(0, 1) * cy + back.at<double>(0, 2);
  const double y = back.at<double>(1, 0) * cx + back.at<double>(1, 1) * cy + back.at<double>(1, 2);
  return Box{static_cast<float>(x - box.width / 2.0), static_cast<float>(y - box.height / 2.0), box.width, box.height};
}

}  // namespace

std::vector<FaceDetection> merge_detections(std::vector<FaceDetection> all, float max_iou) {
  std::stable_sort(all.begin(), all.end(), [](const FaceDetection& a, const FaceDetection& b) { return a.score > b.score; });
  std::vector<FaceDetection> kept;
  for (const FaceDetection& d : all) {
    const bool duplicate = std::any_of(kept.begin(), kept.end(), [&](const FaceDetection& k) {
      return intersection_over_union(k.box, d.box) > max_iou;
    });
    if (!duplicate) kept.push_back(d);
  }
  return kept;
}

MultiPassDetector::MultiPassDetector(std::unique_ptr<FaceDetector> primary, std::vector<DetectorPass> passes)
    : primary_(std::move(primary)), passes_(std::move(passes)) {
  if (!primary_) throw std::invalid_argument("MultiPassDetector needs a primary detector");
  for (const DetectorPass& pass : passes_)
    if (!pass.detector) throw std::invalid_argument("MultiPassDetector: a pass without a detector");
  name_ = describe(*primary_, passes_);
}

std::vector<FaceDetection> MultiPassDetector::detect(const cv::Mat& bgr, float min_score) {
  std::vector<FaceDetection> all = primary_->detect(bgr, min_score);
  for (DetectorPass& pass : passes_) {
    if (pass.angle_degrees == 0) {
      for (const FaceDetection& d : pass.detector->detect(bgr, min_score)) all.push_back(d);
      continue;
    }
    cv::Mat back;
    const cv::Mat frame = turned(bgr, pass.angle_degrees, back);
    for (const FaceDetection& d : pass.detector->detect(frame, min_score)) all.push_back({moved_back(d.box, back), d.score});
  }
  return merge_detections(std::move(all), kMergeIou);
}

std::unique_ptr<FaceDetector> make_second_pass_detector(const std::filesystem::path& models_dir, int primary_input,
                                                        const SecondPassOptions& options) {
  std::vector<DetectorPass> passes;
  if (options.small_face_input > 0)
    passes.push_back({std::make_unique<TinyFaceDetector>(models_dir, options.small_face_input), 0});
  if (options.turn_degrees != 0)
    for (double angle : {options.turn_degrees, -options.turn_degrees})
      passes.push_back({std::make_unique<TinyFaceDetector>(models_dir, primary_input), angle});
  return std::make_unique<MultiPassDetector>(std::make_unique<TinyFaceDetector>(models_dir, primary_input),
                                             std::move(passes));
}

}  // namespace safelynx::vision
