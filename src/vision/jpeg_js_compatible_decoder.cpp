// Ported, for compatibility with the reference pipeline, from jpeg-js 0.4.4
// (https://github.com/jpeg-js/jpeg-js, BSD-3-Clause), lib/decoder.js
// (Copyright 2011 notmasteryet, Apache License 2.0, from pdf.js), whose IDCT,
// quantizeAndInverse, pdf.js took from poppler. Every operation, its order and
// its rounding are kept.
#include "vision/jpeg_js_compatible_decoder.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace safelynx::vision::jpegjs {
namespace {

// jpeg-js computes its IDCT in doubles, exactly (no operand reaches 2^46),
// and reduces a value modulo 2^32 to a signed 32-bit integer (ToInt32) before
// every `>>` and `<<` and whenever it stores into its Int32Array; nothing
// looks at a value before that. Reduction modulo 2^32 commutes with +, - and
// *, so wrapping unsigned 32-bit arithmetic, read as signed for each shift,
// gives exactly jpeg-js's results for any coefficients, even a hostile file's
// whose intermediates pass 2^31 (where signed arithmetic would overflow).
using Wrapping = std::uint32_t;

constexpr Wrapping wrap(std::int32_t value) { return static_cast<Wrapping>(value); }

// JavaScript's `value >> bits`, after ToInt32 (an arithmetic shift since C++20).
constexpr std::int32_t shift_right(Wrapping value, int bits) { return static_cast<std::int32_t>(value) >> bits; }

// (value + half) >> shift, the rounding jpeg-js uses throughout.
constexpr std::int32_t rounded_shift(Wrapping value, int shift) {
  return shift_right(value + (Wrapping{1} << (shift - 1)), shift);
}

// (sum + 1) >> 1
constexpr std::int32_t halved(Wrapping sum) { return shift_right(sum + 1, 1); }

// jpeg-js's fixed-point constants, scaled by 2^12.
constexpr Wrapping cos1 = 4017;        // cos(pi/16)
constexpr Wrapping sin1 = 799;         // sin(pi/16)
constexpr Wrapping cos3 = 3406;        // cos(3*pi/16)
constexpr Wrapping sin3 = 2276;        // sin(3*pi/16)
constexpr Wrapping cos6 = 1567;        // cos(6*pi/16)
constexpr Wrapping sin6 = 3784;        // sin(6*pi/16)
constexpr Wrapping sqrt2 = 5793;       // sqrt(2)
constexpr Wrapping half_sqrt2 = 2896;  // sqrt(2) / 2

// The row pass and the column pass are the same butterfly with different
// fixed-point scaling: the row pass keeps 4 more fractional bits.
struct PassScaling {
  int input_shift;      // the shift after multiplying an input (and in stage 3)
  int odd_input_shift;  // how far the inputs 3 and 5 are shifted up
  int dc_only_shift;    // the shift when every AC input is zero
};
constexpr PassScaling row_pass{.input_shift = 8, .odd_input_shift = 4, .dc_only_shift = 10};
constexpr PassScaling column_pass{.input_shift = 12, .odd_input_shift = 0, .dc_only_shift = 14};

using Vector8 = std::array<std::int32_t, block_side>;

// One 8-point inverse DCT as jpeg-js computes it (Loeffler, Ligtenberg and
// Moschytz, 1989, as poppler and pdf.js have it), `at(k)` giving input k.
// `may_be_dc_only` is false where the caller knows some AC input is nonzero.
template <PassScaling scaling, bool may_be_dc_only, typename Input>
Vector8 inverse_dct_8(Input at) {
  // jpeg-js's shortcut when every AC input is zero, which rounds differently
  // from the full butterfly.
  const bool ac_zero = may_be_dc_only && (at(1) | at(2) | at(3) | at(4) | at(5) | at(6) | at(7)) == 0;
  const std::int32_t dc_only = rounded_shift(wrap(at(0)) * sqrt2, scaling.dc_only_shift);

  constexpr int shift = scaling.input_shift;
  // stage 4
  std::int32_t v0 = rounded_shift(wrap(at(0)) * sqrt2, shift);
  std::int32_t v1 = rounded_shift(wrap(at(4)) * sqrt2, shift);
  std::int32_t v2 = at(2);
  std::int32_t v3 = at(6);
  std::int32_t v4 = rounded_shift((wrap(at(1)) - wrap(at(7))) * half_sqrt2, shift);
  std::int32_t v7 = rounded_shift((wrap(at(1)) + wrap(at(7))) * half_sqrt2, shift);
  std::int32_t v5 = static_cast<std::int32_t>(wrap(at(3)) << scaling.odd_input_shift);
  std::int32_t v6 = static_cast<std::int32_t>(wrap(at(5)) << scaling.odd_input_shift);

  // stage 3
  std::int32_t t = halved(wrap(v0) - wrap(v1));
  v0 = halved(wrap(v0) + wrap(v1));
  v1 = t;
  t = rounded_shift(wrap(v2) * sin6 + wrap(v3) * cos6, shift);
  v2 = rounded_shift(wrap(v2) * cos6 - wrap(v3) * sin6, shift);
  v3 = t;
  t = halved(wrap(v4) - wrap(v6));
  v4 = halved(wrap(v4) + wrap(v6));
  v6 = t;
  t = halved(wrap(v7) + wrap(v5));
  v5 = halved(wrap(v7) - wrap(v5));
  v7 = t;

  // stage 2
  t = halved(wrap(v0) - wrap(v3));
  v0 = halved(wrap(v0) + wrap(v3));
  v3 = t;
  t = halved(wrap(v1) - wrap(v2));
  v1 = halved(wrap(v1) + wrap(v2));
  v2 = t;
  t = rounded_shift(wrap(v4) * sin3 + wrap(v7) * cos3, 12);
  v4 = rounded_shift(wrap(v4) * cos3 - wrap(v7) * sin3, 12);
  v7 = t;
  t = rounded_shift(wrap(v5) * sin1 + wrap(v6) * cos1, 12);
  v5 = rounded_shift(wrap(v5) * cos1 - wrap(v6) * sin1, 12);
  v6 = t;

  // stage 1, stored into jpeg-js's Int32Array
  const auto out = [&](Wrapping value) { return ac_zero ? dc_only : static_cast<std::int32_t>(value); };
  return {out(wrap(v0) + wrap(v7)), out(wrap(v1) + wrap(v6)), out(wrap(v2) + wrap(v5)), out(wrap(v3) + wrap(v4)),
          out(wrap(v3) - wrap(v4)), out(wrap(v2) - wrap(v5)), out(wrap(v1) - wrap(v6)), out(wrap(v0) - wrap(v7))};
}

// Which rows of a block hold any coefficient, which hold an AC coefficient,
// and whether columns 4 to 7 are all zero: read from the 16-bit coefficients,
// four at a time.
struct BlockOccupancy {
  unsigned nonzero_rows = 0;  // bit r for row r
  unsigned rows_with_ac = 0;
  bool right_half_zero = true;
};

BlockOccupancy occupancy_of(std::span<const std::int16_t, block_size> coefficients) {
  constexpr std::uint64_t column_0_mask = std::bit_cast<std::uint64_t>(std::array<std::uint16_t, 4>{0xFFFF, 0, 0, 0});
  BlockOccupancy occupancy;
  std::uint64_t right_halves = 0;
  for (std::size_t row = 0; row < block_side; ++row) {
    std::uint64_t left_half, right_half;
    std::memcpy(&left_half, &coefficients[row * block_side], sizeof left_half);
    std::memcpy(&right_half, &coefficients[row * block_side + block_side / 2], sizeof right_half);
    occupancy.nonzero_rows |= unsigned{(left_half | right_half) != 0} << row;
    occupancy.rows_with_ac |= unsigned{((left_half & ~column_0_mask) | right_half) != 0} << row;
    right_halves |= right_half;
  }
  occupancy.right_half_zero = right_halves == 0;
  return occupancy;
}

// jpeg-js's row pass, then column pass, on dequantised `values` (row by row),
// in place. Rows from `row_bound` on and columns from `column_bound` on must be
// all zero: the compiler then drops the arithmetic on them, which is most of
// it for the many sparse blocks. A zero row stays zero (jpeg-js's shortcut
// gives (0 + 512) >> 10), so it is skipped.
template <std::size_t row_bound, std::size_t column_bound>
void inverse_dct_in_place_bounded(std::array<std::int32_t, block_size>& values, BlockOccupancy occupancy) {
  for (std::size_t row = 0; row < row_bound; ++row) {
    if ((occupancy.nonzero_rows >> row & 1) == 0) continue;
    std::int32_t* const row_values = &values[row * block_side];
    if ((occupancy.rows_with_ac >> row & 1) == 0) {  // jpeg-js's shortcut
      std::fill(row_values, row_values + block_side,
                rounded_shift(wrap(row_values[0]) * sqrt2, row_pass.dc_only_shift));
      continue;
    }
    const Vector8 result =
        inverse_dct_8<row_pass, false>([&](std::size_t k) { return k < column_bound ? row_values[k] : 0; });
    std::copy(result.begin(), result.end(), row_values);
  }
  for (std::size_t column = 0; column < block_side; ++column) {
    const Vector8 result = inverse_dct_8<column_pass, true>(
        [&](std::size_t k) { return k < row_bound ? values[k * block_side + column] : 0; });
    for (std::size_t row = 0; row < block_side; ++row) values[row * block_side + column] = result[row];
  }
}

// inverse_dct_in_place_bounded for the block's last nonzero row.
template <std::size_t column_bound>
void inverse_dct_in_place(std::array<std::int32_t, block_size>& values, BlockOccupancy occupancy) {
  const int row_bound = std::bit_width(occupancy.nonzero_rows);
  if (row_bound <= 1) {
    inverse_dct_in_place_bounded<1, column_bound>(values, occupancy);
  } else if (row_bound <= 2) {
    inverse_dct_in_place_bounded<2, column_bound>(values, occupancy);
  } else if (row_bound <= 4) {
    inverse_dct_in_place_bounded<4, column_bound>(values, occupancy);
  } else {
    inverse_dct_in_place_bounded<8, column_bound>(values, occupancy);
  }
}

// jpeg-js's last step: level shift, then clamp.
std::uint8_t to_sample(std::int32_t value) {
  const std::int32_t sample = 128 + shift_right(wrap(value) + 8, 4);
  return static_cast<std::uint8_t>(sample < 0 ? 0 : sample > 255 ? 255 : sample);
}

// jpeg-js's YCbCr -> RGB conversion, Y + 1.402 * (Cr - 128) and the like in
// double, clamped to [0, 255] and truncated, comes to exactly Y plus the floor
// of the chroma term, clamped: no chroma term lies within rounding error of an
// integer without being one (the unit tests check all 2^24 inputs). So the
// terms are tabulated as integers, green's for each (Cb, Cr) pair, summed as
// jpeg-js sums them, and the clamp is a table too: several times faster.
struct ColourTables {
  // Each term plus clamp_offset, so that Y + term indexes `clamped` directly.
  std::array<std::int16_t, 256> red_from_cr;
  std::array<std::int16_t, 256> blue_from_cb;
  std::array<std::int16_t, 256 * 256> green_from_cb_cr;  // [cb * 256 + cr]
  std::array<std::uint8_t, 768> clamped;                 // clamped[i] = i - clamp_offset, clamped to [0, 255]
};
constexpr int clamp_offset = 256;  // the terms lie within [-227, 225]

const ColourTables& colour_tables() {
  static const ColourTables tables = [] {
    ColourTables built{};
    const auto term = [](double value) { return static_cast<std::int16_t>(std::floor(value) + clamp_offset); };
    for (int value = 0; value < 256; ++value) {
      const auto index = static_cast<std::size_t>(value);
      built.red_from_cr[index] = term(1.402 * (value - 128));
      built.blue_from_cb[index] = term(1.772 * (value - 128));
    }
    for (int cb = 0; cb < 256; ++cb)
      for (int cr = 0; cr < 256; ++cr)
        built.green_from_cb_cr[static_cast<std::size_t>(cb * 256 + cr)] =
            term(-(0.3441363 * (cb - 128)) - 0.71413636 * (cr - 128));
    for (std::size_t index = 0; index < built.clamped.size(); ++index)
      built.clamped[index] = static_cast<std::uint8_t>(std::clamp(static_cast<int>(index) - clamp_offset, 0, 255));
    return built;
  }();
  return tables;
}

}  // namespace

std::array<std::uint8_t, block_size> dequantize_and_inverse_dct(std::span<const std::int16_t, block_size> coefficients,
                                                                std::span<const std::uint16_t, block_size> quantizers) {
  std::array<std::uint8_t, block_size> samples;
  const BlockOccupancy occupancy = occupancy_of(coefficients);
  if (occupancy.rows_with_ac == 0 && occupancy.nonzero_rows <= 1) {
    // Only a DC coefficient, as in many flat blocks: jpeg-js's row pass leaves
    // a constant first row and zeros, and its column pass a constant block.
    const std::int32_t dc = std::int32_t{coefficients[0]} * quantizers[0];
    const std::int32_t after_rows = rounded_shift(wrap(dc) * sqrt2, row_pass.dc_only_shift);
    samples.fill(to_sample(rounded_shift(wrap(after_rows) * sqrt2, column_pass.dc_only_shift)));
    return samples;
  }

  // A 16-bit coefficient times a 16-bit quantiser stays below 2^31 in
  // magnitude: each product is exactly what jpeg-js stores.
  std::array<std::int32_t, block_size> values{};
  for (std::size_t row = 0; row < block_side; ++row) {
    if ((occupancy.nonzero_rows >> row & 1) == 0) continue;
    for (std::size_t index = row * block_side; index < (row + 1) * block_side; ++index)
      values[index] = std::int32_t{coefficients[index]} * quantizers[index];
  }
  if (occupancy.right_half_zero) {
    inverse_dct_in_place<block_side / 2>(values, occupancy);
  } else {
    inverse_dct_in_place<block_side>(values, occupancy);
  }
  for (std::size_t index = 0; index < block_size; ++index) samples[index] = to_sample(values[index]);
  return samples;
}

int sampled_index(int position, int sampling_factor, int max_sampling_factor) {
  // jpeg-js's component.scaleX = h / maxH; its other factor, the requested
  // size over the image size, is exactly 1 here.
  const double scale = static_cast<double>(sampling_factor) / max_sampling_factor;
  return static_cast<int>(position * scale);
}

void ycbcr_to_bgr(std::span<const std::uint8_t> luma, std::span<const std::uint8_t> cb,
                  std::span<const std::uint8_t> cr, std::span<std::uint8_t> bgr) {
  const ColourTables& tables = colour_tables();
  const auto clamped = [&](int index) { return tables.clamped[static_cast<std::size_t>(index)]; };
  std::uint8_t* pixel = bgr.data();
  for (std::size_t x = 0; x < luma.size(); ++x, pixel += 3) {
    const int y = luma[x];
    const std::size_t blue_difference = cb[x], red_difference = cr[x];
    pixel[0] = clamped(y + tables.blue_from_cb[blue_difference]);
    pixel[1] = clamped(y + tables.green_from_cb_cr[blue_difference * 256 + red_difference]);
    pixel[2] = clamped(y + tables.red_from_cr[red_difference]);
  }
}

}  // namespace safelynx::vision::jpegjs
