// How good a view of a face is for recognition, so that a track's best
// shots are what gets matched, kept in a stranger's gallery and shown as
// their photo: the detector's confidence and the face's size (domain's
// face_quality), times how frontal it is (from the landmarks) and how sharp.
#pragma once

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::vision {

// 1 for a frontal face, falling to 0 as it turns away: where the nose tip
// lies between the outer eye corners, measured along the eye line (so a
// tilted head is not penalised; the face chip straightens it).
float frontal_pose(const Landmarks68& landmarks);

// 0.2..1 from face_sharpness(): 1 from 100 up (the development set's
// aligned crops are above 87 for 95% of them), lower for blurred faces.
float sharpness_factor(double laplacian_variance);

// domain face_quality(detection) x frontal_pose x sharpness_factor; for a
// face with landmarks (a described one) in `bgr`.
float face_quality(const Face& face, const cv::Mat& bgr);

}  // namespace safelynx::vision
