// Pictures of a face cut from a frame: thumbnails for profiles and the
// snapshot crops of sightings, and a sharpness measure for quality gates.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::vision {

// A square crop around the face, a little wider than the box, `side` px, JPEG.
std::string face_thumbnail_jpeg(const cv::Mat& bgr, const Box& box, int side = 160);

// The face box widened by `margin` of its size on each side, clipped to the image.
cv::Rect face_region(const Box& box, cv::Size image, float margin);

// Variance of the Laplacian of the face (resized to 112 px): low for blurred
// or smeared faces, which make poor gallery embeddings.
double face_sharpness(const cv::Mat& bgr, const Box& box);

std::string encode_jpeg(const cv::Mat& bgr, int quality);

}  // namespace safelynx::vision
