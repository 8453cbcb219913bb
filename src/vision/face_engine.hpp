#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/face.hpp"
#include "vision/face_alignment.hpp"
#include "vision/face_detector.hpp"
#include "vision/face_embedder.hpp"
#include "vision/landmark_detector.hpp"

namespace safelynx::vision {

enum class DetectorKind { Ssd, Tiny };

DetectorKind parse_detector_kind(const std::string& text);  // "ssd" | "tiny"; throws std::invalid_argument
std::string to_string(DetectorKind kind);

struct FaceEngineOptions {
  DetectorKind detector = DetectorKind::Ssd;
  int tiny_input_size = 416;
  std::size_t descriptor_batch_size = 8;
  // dlib's chip is what the ResNet was trained on and recognises better
  // (docs/ACCURACY.md); FaceApiBox reproduces face-api's descriptors (the
  // reference-agreement test). The same face moves by about 0.15 between them.
  FaceAlignment alignment = FaceAlignment::DlibChip;
};

struct ImageDetections {
  const cv::Mat& image;  // 8-bit BGR
  std::vector<FaceDetection> detections;
};

// Milliseconds spent in each stage by the last analyse() call.
struct StageTimings {
  double detection_ms = 0;
  double landmarks_ms = 0;
  double descriptors_ms = 0;
};

// Runs detector, landmark net and descriptor net on an image. Owns its
// networks: not thread-safe, give each worker thread its own engine.
class FaceEngine {
 public:
  FaceEngine(const std::filesystem::path& models_dir, const FaceEngineOptions& options);
  FaceEngine(std::unique_ptr<FaceDetector> detector, std::unique_ptr<LandmarkDetector> landmarks,
             std::unique_ptr<FaceEmbedder> embedder, const FaceEngineOptions& options);

  // Faces with score >= min_score, best first, each with landmarks and (when
  // asked) a descriptor computed on the aligned crop (options' alignment).
  std::vector<Face> analyse(const cv::Mat& bgr, float min_score, bool with_descriptors);

  // Landmarks and descriptors for faces already detected, over several
  // images at once: one landmark forward and descriptor batches across all
  // of them (what the live pipeline does with frames of many cameras).
  // Returns, for each image, one Face per detection given, in the same
  // order; a detection wholly outside its image has no landmarks (an empty
  // aligned_box) and no descriptor, nor has one whose aligned crop is empty.
  std::vector<std::vector<Face>> describe(std::span<const ImageDetections> images, bool with_descriptors);

  const StageTimings& last_timings() const { return timings_; }
  FaceDetector& detector() { return *detector_; }
  LandmarkDetector& landmark_detector() { return *landmarks_; }
  FaceEmbedder& embedder() { return *embedder_; }

 private:
  std::unique_ptr<FaceDetector> detector_;
  std::unique_ptr<LandmarkDetector> landmarks_;
  std::unique_ptr<FaceEmbedder> embedder_;
  FaceEngineOptions options_;
  StageTimings timings_;
};

std::unique_ptr<FaceDetector> make_face_detector(const std::filesystem::path& models_dir, DetectorKind kind,
                                                 int tiny_input_size);

}  // namespace safelynx::vision
