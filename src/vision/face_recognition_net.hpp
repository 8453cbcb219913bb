#pragma once

#include <filesystem>

#include <opencv2/dnn.hpp>

#include "vision/face_embedder.hpp"
#include "vision/tfjs_weights.hpp"

namespace safelynx::vision {

// face-api's faceRecognitionNet: the dlib ResNet-34 face descriptor (29 conv
// layers) on a 150 x 150 aligned crop, giving a 128-d descriptor compared by L2.
class FaceRecognitionNet final : public FaceEmbedder {
 public:
  static constexpr int kInputSize = 150;

  explicit FaceRecognitionNet(const WeightMap& weights);
  explicit FaceRecognitionNet(const std::filesystem::path& models_dir);
  FaceRecognitionNet(const FaceRecognitionNet&) = delete;
  FaceRecognitionNet& operator=(const FaceRecognitionNet&) = delete;

  std::vector<FaceDescriptor> extract_embeddings_batch(std::span<const cv::Mat> aligned_faces,
                                                       std::size_t batch_size) override;

 private:
  cv::dnn::Net net_;
};

}  // namespace safelynx::vision
