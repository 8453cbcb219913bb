// Geometry between the networks, as face-api computes it: which pixels the
// landmark net sees for a detection, and the dlib-style aligned box the
// descriptor is computed on.
#pragma once

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::vision {

// `box` clipped to the image and floored to whole pixels (face-api's
// clipAtImageBorders); empty when nothing of it lies inside the image.
cv::Rect clip_to_image(const Box& box, cv::Size image);

// The dlib alignment box from landmarks in image pixels: centred on the eyes
// and mouth, sized from the eye-to-mouth distance. `landmark_crop` is the size
// of the crop the landmarks were found on (face-api caps the box with it).
Box dlib_aligned_box(const Landmarks68& landmarks, cv::Size landmark_crop);

}  // namespace safelynx::vision
