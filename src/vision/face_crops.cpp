#include "vision/face_crops.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace safelynx::vision {

std::string encode_jpeg(const cv::Mat& bgr, int quality) {
  std::vector<std::uint8_t> encoded;
  cv::imencode(".jpg", bgr, encoded, {cv::IMWRITE_JPEG_QUALITY, quality});
  return std::string(encoded.begin(), encoded.end());
}

std::string face_thumbnail_jpeg(const cv::Mat& bgr, const Box& box, int side) {
  const float square = std::max(box.width, box.height) * 1.4f;
  const float cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  cv::Rect rect(static_cast<int>(std::lround(cx - square / 2)), static_cast<int>(std::lround(cy - square / 2)),
                static_cast<int>(std::lround(square)), static_cast<int>(std::lround(square)));
  rect &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (rect.empty()) rect = cv::Rect(0, 0, bgr.cols, bgr.rows);
  cv::Mat crop;
  cv::resize(bgr(rect), crop, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  return encode_jpeg(crop, 88);
}

cv::Rect face_region(const Box& box, cv::Size image, float margin) {
  const float dx = box.width * margin, dy = box.height * margin;
  cv::Rect rect(static_cast<int>(std::floor(box.x - dx)), static_cast<int>(std::floor(box.y - dy)),
                static_cast<int>(std::ceil(box.width + 2 * dx)), static_cast<int>(std::ceil(box.height + 2 * dy)));
  return rect & cv::Rect(0, 0, image.width, image.height);
}

double face_sharpness(const cv::Mat& bgr, const Box& box) {
  const cv::Rect rect = face_region(box, bgr.size(), 0.0f);
  if (rect.empty()) return 0;
  cv::Mat gray, small, laplacian;
  cv::cvtColor(bgr(rect), gray, cv::COLOR_BGR2GRAY);
  cv::resize(gray, small, cv::Size(112, 112), 0, 0, cv::INTER_AREA);
  cv::Laplacian(small, laplacian, CV_64F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  return stddev[0] * stddev[0];
}

}  // namespace safelynx::vision
