#include "vision/tf_preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
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
  const std::size_t out_size = static_cast<std::size_t>(size);
  const std::size_t plane = out_size * out_size;

  // Rows of the padded square are interpolated horizontally once each and
  // kept, since neighbouring output rows usually read the same source rows.
  std::vector<std::uint8_t> padded_row(static_cast<std::size_t>(side) * 3);
  struct InterpolatedRow {
    int source = -1;
    std::vector<float> values;  // size x 3, BGR interleaved
  };
  InterpolatedRow cache[2];
  for (auto& c : cache) c.values.resize(out_size * 3);
  int next_slot = 0;
  auto interpolated_row = [&](int source) -> const std::vector<float>& {
    for (int i = 0; i < 2; ++i) {
      if (cache[i].source == source) {
        next_slot = i ^ 1;  // never evict the row just handed out
        return cache[i].values;
      }
    }
    InterpolatedRow& slot = cache[next_slot];
    next_slot ^= 1;
    slot.source = source;
    std::fill(padded_row.begin(), padded_row.end(), std::uint8_t{0});
    const int y = source - offset_y;
    if (y >= 0 && y < rows)
      std::copy_n(bgr.ptr<std::uint8_t>(y), static_cast<std::size_t>(cols) * 3,
                  padded_row.begin() + static_cast<std::ptrdiff_t>(offset_x) * 3);
    for (std::size_t ox = 0; ox < out_size; ++ox) {
      const Tap& t = col_taps[ox];
      const std::uint8_t* left = &padded_row[static_cast<std::size_t>(t.lo) * 3];
      const std::uint8_t* right = &padded_row[static_cast<std::size_t>(t.hi) * 3];
      for (int c = 0; c < 3; ++c) {
        const float l = left[c], r = right[c];
        slot.values[ox * 3 + static_cast<std::size_t>(c)] = l + (r - l) * t.frac;
      }
    }
    return slot.values;
  };

  for (std::size_t oy = 0; oy < out_size; ++oy) {
    const Tap& ty = row_taps[oy];
    const std::vector<float>& top = interpolated_row(ty.lo);
    const std::vector<float>& bottom = interpolated_row(ty.hi);
    for (int c = 0; c < 3; ++c) {
      // Output planes are RGB; the interleaved rows are BGR.
      const std::size_t channel = static_cast<std::size_t>(2 - c);
      float* out = dst + static_cast<std::size_t>(c) * plane + oy * out_size;
      const float mean = norm.mean_rgb[static_cast<std::size_t>(c)];
      for (std::size_t ox = 0; ox < out_size; ++ox) {
        const float t = top[ox * 3 + channel], b = bottom[ox * 3 + channel];
        out[ox] = (t + (b - t) * ty.frac - mean) * norm.scale;
      }
    }
  }
}

cv::Size reshaped_dimensions(cv::Size image, int input_size) {
  const double scale = static_cast<double>(input_size) / std::max(image.width, image.height);
  return {static_cast<int>(std::lround(image.width * scale)), static_cast<int>(std::lround(image.height * scale))};
}

}  // namespace safelynx::vision
