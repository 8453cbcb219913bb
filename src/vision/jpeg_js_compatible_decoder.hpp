// The arithmetic by which jpeg-js 0.4.4 (lib/decoder.js), the JPEG decoder of
// the reference pipeline, turns quantised DCT coefficients into RGB pixels,
// ported so that our JPEG pixels are bit-identical to the reference's: a
// difference of one step in a few samples is enough to move face-api's
// floor()-ed alignment box by a pixel. libjpeg does the entropy decoding
// (image_io.cpp); everything after it is done here as jpeg-js does it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace safelynx::vision::jpegjs {

inline constexpr std::size_t block_side = 8;
inline constexpr std::size_t block_size = block_side * block_side;

// jpeg-js's quantizeAndInverse: multiplies each quantised coefficient by its
// quantiser, then applies jpeg-js's (pdf.js's) integer IDCT and level shift,
// clamped to [0, 255]. Coefficients, quantisers and the returned samples are
// all in natural (row by row) order, not zigzag order.
std::array<std::uint8_t, block_size> dequantize_and_inverse_dct(std::span<const std::int16_t, block_size> coefficients,
                                                                std::span<const std::uint16_t, block_size> quantizers);

// jpeg-js's nearest-neighbour upsampling: image column (or row) `position`
// reads sample `0 | (position * sampling_factor / max_sampling_factor)` of a
// component, the scale computed in double as jpeg-js computes it.
int sampled_index(int position, int sampling_factor, int max_sampling_factor);

// jpeg-js's YCbCr -> RGB conversion (its double formula, clamped to [0, 255]
// and truncated; computed here in integers, with the same results) of a row
// of upsampled samples, written as B, G, R triples: luma.size() pixels.
void ycbcr_to_bgr(std::span<const std::uint8_t> luma, std::span<const std::uint8_t> cb,
                  std::span<const std::uint8_t> cr, std::span<std::uint8_t> bgr);

}  // namespace safelynx::vision::jpegjs
