#pragma once

#include <filesystem>

#include <opencv2/dnn.hpp>

#include "vision/face_detector.hpp"
#include "vision/tfjs_weights.hpp"

namespace safelynx::vision {

// face-api's tinyFaceDetector: a Tiny-YOLOv2 with depthwise-separable
// convolutions, five anchors per cell, NMS at IoU 0.4. Fast, for live video;
// the input size (a multiple of 32, e.g. 224, 320, 416, 512, 608) trades speed
// for small-face recall.
class TinyFaceDetector final : public FaceDetector {
 public:
  static constexpr int kDefaultInputSize = 416;

  TinyFaceDetector(const WeightMap& weights, int input_size = kDefaultInputSize);
  TinyFaceDetector(const std::filesystem::path& models_dir, int input_size = kDefaultInputSize);
  TinyFaceDetector(const TinyFaceDetector&) = delete;
  TinyFaceDetector& operator=(const TinyFaceDetector&) = delete;

  std::vector<FaceDetection> detect(const cv::Mat& bgr, float min_score) override;
  std::string name() const override { return "tiny"; }
  int input_size() const { return input_size_; }

 private:
  cv::dnn::Net net_;
  int input_size_;
  cv::Mat input_;
};

// Throws std::invalid_argument unless `size` is a positive multiple of 32.
void validate_tiny_input_size(int size);

}  // namespace safelynx::vision
