#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "vision/face_detector.hpp"

namespace safelynx::vision {

// One more look at a frame: a detector (e.g. the tiny one at a larger input,
// for small faces) on the frame turned by `angle_degrees` (for tilted
// faces; 0 = as it is).
struct DetectorPass {
  std::unique_ptr<FaceDetector> detector;
  double angle_degrees = 0;
};

// The primary detector's faces and those of every extra pass, merged: boxes
// of the same face (IoU > 0.4) keep the best-scoring one. A face found in a
// turned frame is reported upright at its place in the frame, at the size it
// had there. Costs one detector run per pass; the pipeline runs it only on
// some frames (detection.second_pass_every). Not thread-safe, like the
// detectors it holds.
class MultiPassDetector final : public FaceDetector {
 public:
  MultiPassDetector(std::unique_ptr<FaceDetector> primary, std::vector<DetectorPass> passes);

  std::vector<FaceDetection> detect(const cv::Mat& bgr, float min_score) override;
  std::string name() const override { return name_; }

 private:
  std::unique_ptr<FaceDetector> primary_;
  std::vector<DetectorPass> passes_;
  std::string name_;
};

// The live pipeline's second look at a frame (docs/ACCURACY.md): the tiny
// detector at `primary_input`, again at `small_face_input` (a larger input:
// small faces; 0 = no such pass) and on the frame turned by +-`turn_degrees`
// (tilted faces; 0 = no such passes).
struct SecondPassOptions {
  int small_face_input = 608;
  double turn_degrees = 25;
};
std::unique_ptr<FaceDetector> make_second_pass_detector(const std::filesystem::path& models_dir, int primary_input,
                                                        const SecondPassOptions& options);

// Greedy non-maximum suppression over detections of several passes: best
// score first, a box overlapping a kept one by more than `max_iou` dropped.
std::vector<FaceDetection> merge_detections(std::vector<FaceDetection> all, float max_iou);

}  // namespace safelynx::vision
