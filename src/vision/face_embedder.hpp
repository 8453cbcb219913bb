#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::vision {

// Computes 128-d face descriptors from aligned face crops. Not thread-safe
// (one per thread).
class FaceEmbedder {
 public:
  virtual ~FaceEmbedder() = default;
  // One network forward per `batch_size` crops (8-bit BGR, any size).
  virtual std::vector<FaceDescriptor> extract_embeddings_batch(std::span<const cv::Mat> aligned_faces,
                                                               std::size_t batch_size) = 0;
  FaceDescriptor extract_embedding(const cv::Mat& aligned_face) {
    return extract_embeddings_batch(std::span<const cv::Mat>(&aligned_face, 1), 1).front();
  }
};

}  // namespace safelynx::vision
