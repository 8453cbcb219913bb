// Fake networks for FaceEngine and the pipeline's stages: fixed boxes,
// frontal landmarks and descriptors that say where they came from, so tests
// run the stages without the models.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/face_detector.hpp"
#include "vision/face_embedder.hpp"
#include "vision/landmark_detector.hpp"

namespace safelynx::testing {

// Finds the same boxes in every image.
class FixedDetector : public vision::FaceDetector {
 public:
  explicit FixedDetector(std::vector<FaceDetection> found) : found_(std::move(found)) {}
  std::vector<FaceDetection> detect(const cv::Mat&, float) override { return found_; }
  std::string name() const override { return "fixed"; }

 private:
  std::vector<FaceDetection> found_;
};

// Nose, eyes and mouth where a frontal face has them, in the crop's pixels
// (what both alignments fit; the other points stay at the crop's origin).
class FrontalLandmarks : public vision::LandmarkDetector {
 public:
  std::vector<Landmarks68> detect_landmarks_batch(std::span<const cv::Mat> crops) override {
    std::vector<Landmarks68> out;
    for (const cv::Mat& crop : crops) {
      Landmarks68 points{};
      const auto w = static_cast<float>(crop.cols), h = static_cast<float>(crop.rows);
      for (std::size_t p = 27; p < 31; ++p) points[p] = {0.5f * w, (0.45f + 0.05f * static_cast<float>(p - 27)) * h};
      for (std::size_t p = 31; p < 36; ++p) points[p] = {(0.4f + 0.05f * static_cast<float>(p - 31)) * w, 0.65f * h};
      for (std::size_t p = 36; p < 42; ++p) points[p] = {0.3f * w, 0.4f * h};
      for (std::size_t p = 42; p < 48; ++p) points[p] = {0.7f * w, 0.4f * h};
      for (std::size_t p = 48; p < 68; ++p) points[p] = {0.5f * w, 0.8f * h};
      out.push_back(points);
    }
    return out;
  }
};

// A descriptor that tells which crop it came from: its first value is the
// crop's mean grey level; the rest are `base`.
class GreyLevelEmbedder : public vision::FaceEmbedder {
 public:
  explicit GreyLevelEmbedder(float base = 0) : base_(base) {}
  std::vector<FaceDescriptor> extract_embeddings_batch(std::span<const cv::Mat> faces, std::size_t) override {
    std::vector<FaceDescriptor> out;
    for (const cv::Mat& face : faces) {
      FaceDescriptor d;
      d.fill(base_);
      d[0] = static_cast<float>(cv::mean(face)[0]);
      out.push_back(d);
    }
    return out;
  }

 private:
  float base_;
};

// The same descriptor for every face: one person, whatever the pixels.
class ConstantEmbedder : public vision::FaceEmbedder {
 public:
  explicit ConstantEmbedder(FaceDescriptor descriptor) : descriptor_(descriptor) {}
  std::vector<FaceDescriptor> extract_embeddings_batch(std::span<const cv::Mat> faces, std::size_t) override {
    return std::vector<FaceDescriptor>(faces.size(), descriptor_);
  }

 private:
  FaceDescriptor descriptor_;
};

}  // namespace safelynx::testing
