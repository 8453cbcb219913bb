#pragma once

#include <filesystem>

#include <opencv2/dnn.hpp>

#include "vision/landmark_detector.hpp"
#include "vision/tfjs_weights.hpp"

namespace safelynx::vision {

// face-api's faceLandmark68Net: four densely connected blocks of separable
// convolutions on a 112 x 112 crop, then a fully connected layer to 68 points.
class FaceLandmarkNet final : public LandmarkDetector {
 public:
  static constexpr int kInputSize = 112;

  explicit FaceLandmarkNet(const WeightMap& weights);
  explicit FaceLandmarkNet(const std::filesystem::path& models_dir);
  FaceLandmarkNet(const FaceLandmarkNet&) = delete;
  FaceLandmarkNet& operator=(const FaceLandmarkNet&) = delete;

  std::vector<Landmarks68> detect_landmarks_batch(std::span<const cv::Mat> face_crops) override;

 private:
  cv::dnn::Net net_;
};

}  // namespace safelynx::vision
