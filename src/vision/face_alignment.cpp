#include "vision/face_alignment.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace safelynx::vision {
namespace {

Point centre(const Landmarks68& points, std::size_t first, std::size_t last) {
  Point sum;
  for (std::size_t i = first; i < last; ++i) {
    sum.x += points[i].x;
    sum.y += points[i].y;
  }
  const auto n = static_cast<float>(last - first);
  return {sum.x / n, sum.y / n};
}

float distance(Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); }

// dlib's mean face (dlib/image_transforms/interpolation.h, Boost Software
// License), in units of the unpadded face square, for the landmarks its
// get_face_chip_details fits: it leaves out the jaw, the eyebrows and the
// lower lip, which move with expression and pose more than they tell where
// the face is.
struct MeanFacePoint {
  std::size_t landmark;
  double x, y;
};
constexpr std::array<MeanFacePoint, 33> kMeanFace{{
    {27, 0.490127, 0.203352}, {28, 0.490127, 0.307009}, {29, 0.490127, 0.409805}, {30, 0.490127, 0.515625},
    {31, 0.36688, 0.587326},  {32, 0.426036, 0.609345}, {33, 0.490127, 0.628106}, {34, 0.554217, 0.609345},
    {35, 0.613373, 0.587326}, {36, 0.121737, 0.216423}, {37, 0.187122, 0.178758}, {38, 0.265825, 0.179852},
    {39, 0.334606, 0.231733}, {40, 0.260918, 0.245099}, {41, 0.182743, 0.244077}, {42, 0.645647, 0.231733},
    {43, 0.714428, 0.179852}, {44, 0.793132, 0.178758}, {45, 0.858516, 0.216423}, {46, 0.79751, 0.244077},
    {47, 0.719335, 0.245099}, {48, 0.254149, 0.780233}, {49, 0.340985, 0.745405}, {50, 0.428858, 0.727388},
    {51, 0.490127, 0.742578}, {52, 0.551395, 0.727388}, {53, 0.639268, 0.745405}, {54, 0.726104, 0.780233},
    {60, 0.290379, 0.784792}, {61, 0.428096, 0.778746}, {62, 0.490127, 0.785343}, {63, 0.552157, 0.778746},
    {64, 0.689874, 0.784792},
}};

cv::Point2d apply(const cv::Matx23d& m, double x, double y) {
  return {m(0, 0) * x + m(0, 1) * y + m(0, 2), m(1, 0) * x + m(1, 1) * y + m(1, 2)};
}

}  // namespace

FaceAlignment parse_face_alignment(const std::string& text) {
  if (text == "face-api") return FaceAlignment::FaceApiBox;
  if (text == "dlib-chip") return FaceAlignment::DlibChip;
  throw std::invalid_argument("unknown alignment '" + text + "' (expected dlib-chip or face-api)");
}

std::string to_string(FaceAlignment alignment) {
  return alignment == FaceAlignment::FaceApiBox ? "face-api" : "dlib-chip";
}

cv::Rect clip_to_image(const Box& box, cv::Size image) {
  const float x = std::max(box.x, 0.0f), y = std::max(box.y, 0.0f);
  const float width = std::min(box.right() - x, static_cast<float>(image.width) - x);
  const float height = std::min(box.bottom() - y, static_cast<float>(image.height) - y);
  const cv::Rect r(static_cast<int>(std::floor(x)), static_cast<int>(std::floor(y)), static_cast<int>(std::floor(width)),
                   static_cast<int>(std::floor(height)));
  if (r.width <= 0 || r.height <= 0) return {};
  return r & cv::Rect(0, 0, image.width, image.height);
}

Box dlib_aligned_box(const Landmarks68& landmarks, cv::Size landmark_crop) {
  // Reference proportions of dlib's face chip.
  constexpr float kCentreX = 0.5f, kCentreY = 0.43f, kScale = 0.45f;
  const Point left_eye = centre(landmarks, 36, 42);
  const Point right_eye = centre(landmarks, 42, 48);
  const Point mouth = centre(landmarks, 48, 68);
  const float eye_to_mouth = (distance(mouth, left_eye) + distance(mouth, right_eye)) / 2;
  const float size = std::floor(eye_to_mouth / kScale);
  const Point reference{(left_eye.x + right_eye.x + mouth.x) / 3, (left_eye.y + right_eye.y + mouth.y) / 3};
  const float x = std::floor(std::max(0.0f, reference.x - kCentreX * size));
  const float y = std::floor(std::max(0.0f, reference.y - kCentreY * size));
  return {x, y, std::min(size, static_cast<float>(landmark_crop.width) + x),
          std::min(size, static_cast<float>(landmark_crop.height) + y)};
}

double FaceChip::scale() const { return std::hypot(chip_to_image(0, 0), chip_to_image(1, 0)); }

Box FaceChip::bounds() const {
  const double last = size - 1;
  double left = std::numeric_limits<double>::infinity(), top = left, right = -left, bottom = -left;
  for (const cv::Point2d corner : std::array<cv::Point2d, 4>{{{0, 0}, {last, 0}, {0, last}, {last, last}}}) {
    const cv::Point2d p = apply(chip_to_image, corner.x, corner.y);
    left = std::min(left, p.x), right = std::max(right, p.x);
    top = std::min(top, p.y), bottom = std::max(bottom, p.y);
  }
  return {static_cast<float>(left), static_cast<float>(top), static_cast<float>(right - left),
          static_cast<float>(bottom - top)};
}

std::vector<ChipReferencePoint> dlib_chip_reference_points(int size, double padding) {
  std::vector<ChipReferencePoint> points;
  for (const MeanFacePoint& m : kMeanFace)
    points.push_back({m.landmark, {(padding + m.x) / (2 * padding + 1) * size, (padding + m.y) / (2 * padding + 1) * size}});
  return points;
}

FaceChip dlib_face_chip(const Landmarks68& landmarks, int size, double padding) {
  if (size < 2 || padding < 0) throw std::invalid_argument("face chip: size must be at least 2 and padding not negative");
  // Least-squares similarity from chip points p to image points q. In 2-D it
  // has a closed form: with both sets centred, q ~ z p for the complex number
  // z = sum(conj(p) q) / sum(|p|^2) = s (cos a + i sin a) (Umeyama's solution,
  // which dlib's find_similarity_transform computes with an SVD).
  const double side = size;
  const std::vector<ChipReferencePoint> reference = dlib_chip_reference_points(size, padding);
  std::vector<cv::Point2d> image_points;
  cv::Point2d chip_mean, image_mean;
  for (const ChipReferencePoint& r : reference) {
    const Point& q = landmarks[r.landmark];
    image_points.emplace_back(q.x, q.y);
    chip_mean += r.chip;
    image_mean += image_points.back();
  }
  chip_mean /= static_cast<double>(reference.size());
  image_mean /= static_cast<double>(reference.size());
  double dot = 0, cross = 0, norm = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const cv::Point2d p = reference[i].chip - chip_mean, q = image_points[i] - image_mean;
    dot += p.x * q.x + p.y * q.y;
    cross += p.x * q.y - p.y * q.x;
    norm += p.x * p.x + p.y * p.y;
  }
  const double c = dot / norm, s = cross / norm;  // scale * (cos, sin)
  const double scale = std::hypot(c, s);
  // dlib keeps the similarity's rotation and the image point of the chip's
  // centre, but then spans size * scale - 1 image pixels with the chip's
  // size - 1 pixel steps (centered_drect, then corner to corner in
  // extract_image_chip). The net was trained on those chips: do the same.
  const cv::Point2d centre(image_mean.x + c * (side / 2 - chip_mean.x) - s * (side / 2 - chip_mean.y),
                           image_mean.y + s * (side / 2 - chip_mean.x) + c * (side / 2 - chip_mean.y));
  // Landmarks all in one point (or a chip under a pixel) give an empty chip.
  const double step = scale > 0 ? std::max(0.0, side * scale - 1) / (side - 1) / scale : 0;
  const double a = c * step, b = s * step;
  const double half = (side - 1) / 2;
  FaceChip chip;
  chip.size = size;
  chip.chip_to_image = cv::Matx23d(a, -b, centre.x - a * half + b * half, b, a, centre.y - b * half - a * half);
  return chip;
}

cv::Mat extract_face_chip(const cv::Mat& bgr, const FaceChip& chip) {
  CV_Assert(bgr.type() == CV_8UC3 && chip.size > 0);
  // dlib halves the image until the chip's region is at most twice the chip.
  int halvings = 0;
  for (double side = chip.size * chip.scale(); side > 2.0 * chip.size; side /= 2) ++halvings;
  cv::Mat source = bgr;
  cv::Matx23d to_source = chip.chip_to_image;
  if (halvings > 0) {
    // Only the chip's region (and a margin for the pyramid's filter) is
    // downsampled; pixel x of a pyrDown level sits at 2x of the one above.
    const Box b = chip.bounds();
    const float margin = static_cast<float>(4 << halvings);
    const cv::Rect region =
        clip_to_image({b.x - margin, b.y - margin, b.width + 2 * margin, b.height + 2 * margin}, bgr.size());
    if (region.empty()) return cv::Mat(chip.size, chip.size, CV_8UC3, cv::Scalar::all(0));
    source = bgr(region);
    for (int i = 0; i < halvings; ++i) {
      cv::Mat down;
      cv::pyrDown(source, down);
      source = down;
    }
    const double shrink = 1.0 / static_cast<double>(1 << halvings);
    for (int r = 0; r < 2; ++r) {
      to_source(r, 0) *= shrink;
      to_source(r, 1) *= shrink;
    }
    to_source(0, 2) = (to_source(0, 2) - region.x) * shrink;
    to_source(1, 2) = (to_source(1, 2) - region.y) * shrink;
  }
  cv::Mat out;
  cv::warpAffine(source, out, cv::Mat(to_source), cv::Size(chip.size, chip.size), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

Box aligned_box(const Landmarks68& landmarks, cv::Size landmark_crop, FaceAlignment alignment) {
  if (alignment == FaceAlignment::FaceApiBox) return dlib_aligned_box(landmarks, landmark_crop);
  return dlib_face_chip(landmarks).bounds();
}

cv::Mat aligned_crop(const cv::Mat& bgr, const Landmarks68& landmarks, cv::Size landmark_crop,
                     FaceAlignment alignment) {
  if (alignment == FaceAlignment::FaceApiBox) {
    const cv::Rect r = clip_to_image(dlib_aligned_box(landmarks, landmark_crop), bgr.size());
    return r.empty() ? cv::Mat() : bgr(r);
  }
  const FaceChip chip = dlib_face_chip(landmarks);
  if (clip_to_image(chip.bounds(), bgr.size()).empty()) return {};
  return extract_face_chip(bgr, chip);
}

}  // namespace safelynx::vision
