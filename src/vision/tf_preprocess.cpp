#include "vision/tf_preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace safelynx::vision {
namespace {

struct Tap {
  int lo = 0;
  int hi = 0;
  float frac = 0;
};

// TensorFlow's legacy sampling positions: source = destination * (in / out).
std::vector<Tap> sampling_taps(int in_size, int out_size) {
  std::vector<Tap> taps(static_cast<std::size_t>(out_size));
  const float ratio = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (int i = 0; i < out_size; ++i) {
    const float source = ratio * static_cast<float>(i);
    const int lo = std::max(0, static_cast<int>(std::floor(source)));
    taps[static_cast<std::size_t>(i)] = {lo, std::min(in_size - 1, static_cast<int>(std::ceil(source))),
                                         source - static_cast<float>(lo)};
  }
  return taps;
}

}  // namespace

void square_resize_normalise(const cv::Mat& bgr, int size, SquarePadding padding, const Normalisation& norm,
                             float* dst) {
  CV_Assert(bgr.type() == CV_8UC3 && size > 0);
  const int rows = bgr.rows, cols = bgr.cols;
  const int side = std::max(rows, cols);
  const int diff = side - std::min(rows, cols);
  // face-api appends round(diff / 2) and prepends the rest when centring.
  const int prepend = padding == SquarePadding::Centred ? diff - static_cast<int>(std::lround(diff * 0.5)) : 0;
  const int offset_y = rows < cols ? prepend : 0;
  const int offset_x = cols < rows ? prepend : 0;

  const auto row_taps = sampling_taps(side, size);
  const auto col_taps = sampling_taps(side, size);
  const std::size_t plane = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  float* planes[3] = {dst, dst + plane, dst + 2 * plane};  // R, G, B

  // Padded-square pixel (y, x) channel c (RGB order); zero outside the image.
  auto sample = [&](int y, int x, int c) -> float {
    y -= offset_y;
    x -= offset_x;
    if (y < 0 || y >= rows || x < 0 || x >= cols) return 0.0f;
    return static_cast<float>(bgr.ptr<cv::Vec3b>(y)[x][2 - c]);
  };

  for (int oy = 0; oy < size; ++oy) {
    const Tap& ty = row_taps[static_cast<std::size_t>(oy)];
    for (int ox = 0; ox < size; ++ox) {
      const Tap& tx = col_taps[static_cast<std::size_t>(ox)];
      const std::size_t at = static_cast<std::size_t>(oy) * static_cast<std::size_t>(size) + static_cast<std::size_t>(ox);
      for (int c = 0; c < 3; ++c) {
        const float top_left = sample(ty.lo, tx.lo, c), top_right = sample(ty.lo, tx.hi, c);
        const float bottom_left = sample(ty.hi, tx.lo, c), bottom_right = sample(ty.hi, tx.hi, c);
        const float top = top_left + (top_right - top_left) * tx.frac;
        const float bottom = bottom_left + (bottom_right - bottom_left) * tx.frac;
        const float value = top + (bottom - top) * ty.frac;
        planes[c][at] = (value - norm.mean_rgb[static_cast<std::size_t>(c)]) * norm.scale;
      }
    }
  }
}

cv::Size reshaped_dimensions(cv::Size image, int input_size) {
  const double scale = static_cast<double>(input_size) / std::max(image.width, image.height);
  return {static_cast<int>(std::lround(image.width * scale)), static_cast<int>(std::lround(image.height * scale))};
}

}  // namespace safelynx::vision
