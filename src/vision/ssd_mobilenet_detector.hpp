#pragma once

#include <filesystem>

#include <opencv2/dnn.hpp>

#include "vision/face_detector.hpp"
#include "vision/tfjs_weights.hpp"

namespace safelynx::vision {

// face-api's ssdMobilenetv1: MobileNet v1 body at 512 x 512, six SSD box
// predictors over 5118 anchors, box decoding and greedy non-maximum
// suppression (IoU 0.5). Accurate; for photos, enrolment and identification.
class SsdMobilenetDetector final : public FaceDetector {
 public:
  static constexpr int kInputSize = 512;

  explicit SsdMobilenetDetector(const WeightMap& weights, int max_results = 100);
  explicit SsdMobilenetDetector(const std::filesystem::path& models_dir);
  SsdMobilenetDetector(const SsdMobilenetDetector&) = delete;  // the network is not shareable
  SsdMobilenetDetector& operator=(const SsdMobilenetDetector&) = delete;

  std::vector<FaceDetection> detect(const cv::Mat& bgr, float min_score) override;
  std::string name() const override { return "ssd"; }

 private:
  cv::dnn::Net net_;
  std::vector<std::string> box_outputs_;    // one per predictor, NCHW [1, anchors*4, h, w]
  std::vector<std::string> class_outputs_;  // one per predictor, NCHW [1, anchors*3, h, w]
  std::vector<std::string> output_names_;  // box outputs, then class outputs
  std::vector<float> anchors_;              // 5118 x [ymin, xmin, ymax, xmax]
  int max_results_;
  cv::Mat input_;
};

}  // namespace safelynx::vision
