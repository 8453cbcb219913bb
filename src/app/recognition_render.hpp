// Renders a recognition scenario (recognition_scenario.hpp) into video
// frames: a static textured background and each person's face crop pasted
// with a feathered edge, so that no hard rectangle tells the detector where
// a face is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <opencv2/core.hpp>

#include "app/recognition_scenario.hpp"

namespace safelynx::app {

// Smooth colour blobs, a few flat shapes and fine grain: something for the
// motion gate and the detector to look at besides faces. Same seed, same picture.
cv::Mat textured_background(int width, int height, std::uint64_t seed);

// `photo` scaled to `box` and blended in, its edge feathered over about a
// tenth of its side; the parts outside `frame` are cut off.
void paste_face(cv::Mat& frame, const cv::Mat& photo, const Box& box);

class ScenarioRenderer {
 public:
  // Reads every video photo of the scenario; throws std::runtime_error naming one that cannot be read.
  explicit ScenarioRenderer(const Scenario& scenario);
  cv::Mat frame(int index) const;  // 8-bit BGR, options.width x options.height

 private:
  const Scenario& scenario_;
  cv::Mat background_;
  std::vector<std::vector<cv::Mat>> photos_;  // [person][video photo]
};

// Every frame into an MJPG AVI at the scenario's frame rate (every frame a
// JPEG: no codec the build might lack, exact frame count). Throws
// std::runtime_error when the file cannot be written.
void write_scenario_video(const Scenario& scenario, const std::filesystem::path& file);

}  // namespace safelynx::app
