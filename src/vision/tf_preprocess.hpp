// Input preparation that reproduces what @vladmandic/face-api does before each
// network (NetInput.toBatchTensor): pad the image with zeros to a square, resize
// it with TensorFlow's legacy bilinear sampling (align_corners = false,
// half_pixel_centers = false, which cv::resize does not offer), then normalise
// per channel. Matching this is what lets our outputs agree with the reference.
#pragma once

#include <array>

#include <opencv2/core.hpp>

namespace safelynx::vision {

enum class SquarePadding {
  End,     // zeros appended at the bottom or right (the detectors)
  Centred  // zeros split between both sides (landmarks, descriptor)
};

struct Normalisation {
  std::array<float, 3> mean_rgb{0, 0, 0};
  float scale = 1;  // applied after subtracting the mean
};

// Writes one NCHW image (3 x size x size, RGB planes) for `bgr` (8-bit BGR) to `dst`.
void square_resize_normalise(const cv::Mat& bgr, int size, SquarePadding padding, const Normalisation& norm,
                             float* dst);

// Size of the image after scaling its longer side to `input_size`, rounded as
// face-api does; used to map network coordinates back to the image.
cv::Size reshaped_dimensions(cv::Size image, int input_size);

}  // namespace safelynx::vision
