// Geometry between the networks: which pixels the landmark net sees for a
// detection, and the crop the descriptor net sees, either face-api's
// unrotated dlib-style box or dlib's own face chip (what the ResNet was
// trained on).
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "domain/face.hpp"

namespace safelynx::vision {

// How a face is cut out for the descriptor net.
enum class FaceAlignment {
  FaceApiBox,  // face-api 1.7.15: an axis-aligned box from the eyes and mouth, no rotation
  DlibChip     // dlib's get_face_chip_details(shape, 150, 0.25) + extract_image_chip
};

FaceAlignment parse_face_alignment(const std::string& text);  // "face-api" | "dlib-chip"; throws std::invalid_argument
std::string to_string(FaceAlignment alignment);

// `box` clipped to the image and floored to whole pixels (face-api's
// clipAtImageBorders); empty when nothing of it lies inside the image.
cv::Rect clip_to_image(const Box& box, cv::Size image);

// The dlib alignment box from landmarks in image pixels: centred on the eyes
// and mouth, sized from the eye-to-mouth distance. `landmark_crop` is the size
// of the crop the landmarks were found on (face-api caps the box with it).
Box dlib_aligned_box(const Landmarks68& landmarks, cv::Size landmark_crop);

// dlib's face chip: a square of `size` pixels whose pixel (u, v) samples the
// image at chip_to_image * (u, v, 1), a similarity (rotation, uniform scale,
// translation) fitted to the landmarks.
struct FaceChip {
  cv::Matx23d chip_to_image;
  int size = 0;

  double scale() const;  // image pixels per chip pixel
  Box bounds() const;    // the chip's corners' bounding box in the image
};

inline constexpr int kFaceChipSize = 150;
inline constexpr double kFaceChipPadding = 0.25;

// Where dlib's chip puts the landmarks it fits (27-54 and 60-64), in chip
// pixels: its mean face, padded.
struct ChipReferencePoint {
  std::size_t landmark;
  cv::Point2d chip;
};
std::vector<ChipReferencePoint> dlib_chip_reference_points(int size = kFaceChipSize,
                                                           double padding = kFaceChipPadding);

// The least-squares similarity from dlib's mean face (landmarks 27-54 and
// 60-64: nose, eyes and upper mouth) to `landmarks`, as dlib lays it out in a
// `size` chip with `padding` (a fraction of the face's size on each side).
FaceChip dlib_face_chip(const Landmarks68& landmarks, int size = kFaceChipSize, double padding = kFaceChipPadding);

// The chip's pixels, bilinear; 8-bit BGR in, 8-bit BGR out (size x size).
// Outside the image is black, as in dlib. A chip more than twice smaller than
// its image region is taken from a Gaussian pyramid level, as dlib does, so
// downsampling does not alias.
cv::Mat extract_face_chip(const cv::Mat& bgr, const FaceChip& chip);

// Where the descriptor's crop lies in the image under `alignment`
// (FaceApiBox: dlib_aligned_box; DlibChip: the chip's bounds).
Box aligned_box(const Landmarks68& landmarks, cv::Size landmark_crop, FaceAlignment alignment);

// The crop the descriptor net sees under `alignment`; empty when the face
// lies wholly outside the image. FaceApiBox gives a view into `bgr`.
cv::Mat aligned_crop(const cv::Mat& bgr, const Landmarks68& landmarks, cv::Size landmark_crop,
                     FaceAlignment alignment);

}  // namespace safelynx::vision
