#include "vision/image_io.hpp"

#include <gtest/gtest.h>

#include "vision/jpeg_js_compatible_decoder.hpp"

#include <stdlib.h>  // setenv, unsetenv
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace {

namespace fs = std::filesystem;
using safelynx::vision::decode_image;
using safelynx::vision::ImageError;
using safelynx::vision::ImageReadOptions;
using safelynx::vision::jpeg_exif_orientation;
using safelynx::vision::read_image;
using Bytes = std::vector<std::uint8_t>;

// The message of the ImageError that `action` throws; fails the test if none.
template <typename Action>
std::string error_message_of(Action&& action) {
  try {
    action();
  } catch (const ImageError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an ImageError";
  return {};
}

Bytes encode(const std::string& extension, const cv::Mat& image, const std::vector<int>& params = {}) {
  Bytes bytes;
  if (!cv::imencode(extension, image, bytes, params)) throw std::runtime_error("imencode failed for " + extension);
  return bytes;
}

Bytes encode_jpeg(const cv::Mat& image) { return encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 100}); }

void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// An image whose quadrants have distinct colours, so that every flip and
// rotation can be told apart: top-left red, top-right green, bottom-left blue,
// bottom-right white (BGR).
const cv::Vec3b red{0, 0, 255}, green{0, 255, 0}, blue{255, 0, 0}, white{255, 255, 255};
constexpr int quad_width = 48, quad_height = 32;

cv::Mat quadrant_image() {
  cv::Mat image(quad_height, quad_width, CV_8UC3);
  const int half_w = quad_width / 2, half_h = quad_height / 2;
  image(cv::Rect(0, 0, half_w, half_h)).setTo(red);
  image(cv::Rect(half_w, 0, half_w, half_h)).setTo(green);
  image(cv::Rect(0, half_h, half_w, half_h)).setTo(blue);
  image(cv::Rect(half_w, half_h, half_w, half_h)).setTo(white);
  return image;
}

// Colours at the centres of the four quadrants: top-left, top-right, bottom-left, bottom-right.
std::array<cv::Vec3b, 4> quadrant_colours(const cv::Mat& image) {
  const int x0 = image.cols / 4, x1 = 3 * image.cols / 4, y0 = image.rows / 4, y1 = 3 * image.rows / 4;
  return {image.at<cv::Vec3b>(y0, x0), image.at<cv::Vec3b>(y0, x1), image.at<cv::Vec3b>(y1, x0),
          image.at<cv::Vec3b>(y1, x1)};
}

bool near(const cv::Vec3b& a, const cv::Vec3b& b, int tolerance = 12) {
  for (int c = 0; c < 3; ++c)
    if (std::abs(a[c] - b[c]) > tolerance) return false;
  return true;
}

// An APP1 segment holding an EXIF block whose IFD0 has one Orientation entry.
Bytes exif_segment(int orientation, bool big_endian) {
  const auto o = static_cast<std::uint8_t>(orientation);
  const Bytes tiff = big_endian ? Bytes{'M', 'M', 0, 42, 0, 0, 0, 8,   // header, IFD0 at 8
                                        0, 1,                          // one entry
                                        0x01, 0x12, 0, 3, 0, 0, 0, 1,  // Orientation, SHORT, count 1
                                        0, o, 0, 0,                    // value
                                        0, 0, 0, 0}                    // no next IFD
                                : Bytes{'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0,
                                        o,   0,   0,  0, 0, 0, 0, 0};
  const Bytes header{0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
  Bytes segment(header.size() + tiff.size());
  std::copy(header.begin(), header.end(), segment.begin());
  std::copy(tiff.begin(), tiff.end(), segment.begin() + static_cast<std::ptrdiff_t>(header.size()));
  const std::size_t length = segment.size() - 2;
  segment[2] = static_cast<std::uint8_t>(length >> 8);
  segment[3] = static_cast<std::uint8_t>(length & 0xFF);
  return segment;
}

// Inserts `segment` right after the JPEG's SOI marker.
Bytes with_segment_after_soi(Bytes jpeg, const Bytes& segment) {
  jpeg.insert(jpeg.begin() + 2, segment.begin(), segment.end());
  return jpeg;
}

// Offset of the first SOF0 marker (cv::imencode writes baseline JPEGs).
std::size_t sof0_offset(const Bytes& jpeg) {
  for (std::size_t i = 2; i + 1 < jpeg.size(); ++i)
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) return i;
  throw std::runtime_error("no SOF0 marker");
}

void set_u16_be(Bytes& bytes, std::size_t pos, unsigned value) {
  bytes[pos] = static_cast<std::uint8_t>(value >> 8);
  bytes[pos + 1] = static_cast<std::uint8_t>(value & 0xFF);
}

void set_u32_be(Bytes& bytes, std::size_t pos, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[pos + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
}

// PNG IHDR: signature (8) + length (4) + "IHDR" (4), then width and height.
constexpr std::size_t png_width_offset = 16, png_height_offset = 20;

cv::Mat noise_image(int rows, int cols, int type) {
  cv::Mat image(rows, cols, type);
  cv::randu(image, 0, 255);
  return image;
}

// jpeg-js's YCbCr -> RGB conversion (lib/decoder.js, getData), written out
// independently of image_io.cpp: double arithmetic, clamped to [0, 255], then
// truncated by the Uint8Array it is stored in. Returned as BGR.
cv::Vec3b jpegjs_bgr(int y, int cb, int cr) {
  const auto store = [](double value) { return static_cast<std::uint8_t>(value < 0 ? 0 : value > 255 ? 255 : value); };
  const std::uint8_t r = store(y + 1.402 * (cr - 128));
  const std::uint8_t g = store(y - 0.3441363 * (cb - 128) - 0.71413636 * (cr - 128));
  const std::uint8_t b = store(y + 1.772 * (cb - 128));
  return {b, g, r};
}

// --- JPEGs written by hand, so that the decoded samples are known exactly ---
//
// Every 8x8 block holds only a DC coefficient and every quantiser is 1, so a
// block whose DC is 8 * (v - 128) decodes to exactly v under any correct IDCT.

void append_segment(Bytes& jpeg, std::uint8_t marker, const Bytes& payload) {
  const std::size_t length = payload.size() + 2;
  jpeg.insert(jpeg.end(), {0xFF, marker, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length & 0xFF)});
  jpeg.insert(jpeg.end(), payload.begin(), payload.end());
}

// Huffman-coded bits, most significant first, with FF bytes stuffed.
class EntropyWriter {
 public:
  void put(std::uint32_t bits, int count) {
    for (int i = count - 1; i >= 0; --i) {
      byte_ = static_cast<std::uint8_t>(byte_ << 1 | ((bits >> i) & 1));
      if (++filled_ == 8) flush();
    }
  }
  // DC table below: category c has the 4-bit code c, then c bits of the difference.
  void put_dc_difference(int difference) {
    int category = 0;
    while ((std::abs(difference) >> category) != 0) ++category;
    put(static_cast<std::uint32_t>(category), 4);
    if (category > 0) put(static_cast<std::uint32_t>(difference >= 0 ? difference : difference + (1 << category) - 1), category);
  }
  void put_end_of_block() { put(0, 1); }  // AC table below: EOB is the only code, "0"
  Bytes finish() {
    while (filled_ != 0) put(1, 1);  // pad with 1 bits
    return std::move(bytes_);
  }

 private:
  void flush() {
    bytes_.push_back(byte_);
    if (byte_ == 0xFF) bytes_.push_back(0x00);
    byte_ = 0;
    filled_ = 0;
  }
  Bytes bytes_;
  std::uint8_t byte_ = 0;
  int filled_ = 0;
};

// SOI, quantisers of 1, and the two Huffman tables EntropyWriter encodes for.
Bytes dc_only_jpeg_header() {
  Bytes jpeg = {0xFF, 0xD8};
  Bytes quantisers(65, 1);
  quantisers[0] = 0x00;  // 8-bit table 0
  append_segment(jpeg, 0xDB, quantisers);
  Bytes dc_table = {0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // twelve 4-bit codes
  for (std::uint8_t category = 0; category < 12; ++category) dc_table.push_back(category);
  append_segment(jpeg, 0xC4, dc_table);
  append_segment(jpeg, 0xC4, {0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00});  // EOB only
  return jpeg;
}

Bytes frame_header(int width, int height, const Bytes& components) {
  Bytes frame = {8, static_cast<std::uint8_t>(height >> 8), static_cast<std::uint8_t>(height & 0xFF),
                 static_cast<std::uint8_t>(width >> 8), static_cast<std::uint8_t>(width & 0xFF),
                 static_cast<std::uint8_t>(components.size() / 3)};
  for (const std::uint8_t byte : components) frame.push_back(byte);
  return frame;
}

int dc_of(int sample) { return 8 * (sample - 128); }

// One 16x16 4:2:0 MCU of flat blocks: four luma values (top-left, top-right,
// bottom-left, bottom-right 8x8 block) sharing one Cb and Cr.
struct FlatMcu {
  std::array<int, 4> luma;
  int cb, cr;
};

// A baseline YCbCr 4:2:0 JPEG of flat MCUs, row by row.
Bytes flat_mcu_jpeg(const std::vector<FlatMcu>& mcus, int mcus_across) {
  const int mcus_down = static_cast<int>(mcus.size()) / mcus_across;
  Bytes jpeg = dc_only_jpeg_header();
  append_segment(jpeg, 0xC0, frame_header(16 * mcus_across, 16 * mcus_down, {1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0}));
  append_segment(jpeg, 0xDA, {3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0});
  EntropyWriter entropy;
  std::array<int, 3> previous_dc = {0, 0, 0};
  const auto put_block = [&](std::size_t component, int sample) {
    entropy.put_dc_difference(dc_of(sample) - previous_dc[component]);
    previous_dc[component] = dc_of(sample);
    entropy.put_end_of_block();
  };
  for (const FlatMcu& mcu : mcus) {
    for (const int luma : mcu.luma) put_block(0, luma);
    put_block(1, mcu.cb);
    put_block(2, mcu.cr);
  }
  const Bytes data = entropy.finish();
  jpeg.insert(jpeg.end(), data.begin(), data.end());
  jpeg.insert(jpeg.end(), {0xFF, 0xD9});
  return jpeg;
}

// A progressive grayscale 8x8 JPEG of value `gray` with one DC scan, then
// every AC coefficient sent on its own by successive approximation, from
// point transform `first_shift` down to 0: 1 + 63 * (first_shift + 1) scans,
// each a valid, consistent progression.
Bytes many_scan_gray_jpeg(int gray, int first_shift) {
  Bytes jpeg = dc_only_jpeg_header();
  append_segment(jpeg, 0xC2, frame_header(8, 8, {1, 0x11, 0}));
  const auto append_scan = [&](int spectral_start, int spectral_end, int high_bit, int low_bit, bool dc) {
    append_segment(jpeg, 0xDA, {1, 1, 0x00, static_cast<std::uint8_t>(spectral_start), static_cast<std::uint8_t>(spectral_end),
                                static_cast<std::uint8_t>(high_bit << 4 | low_bit)});
    EntropyWriter entropy;
    if (dc) {
      entropy.put_dc_difference(dc_of(gray));
    } else {
      entropy.put_end_of_block();  // all coefficients zero
    }
    const Bytes data = entropy.finish();
    jpeg.insert(jpeg.end(), data.begin(), data.end());
  };
  append_scan(0, 0, 0, 0, true);
  for (int coefficient = 1; coefficient < 64; ++coefficient) {
    append_scan(coefficient, coefficient, 0, first_shift, false);
    for (int shift = first_shift; shift > 0; --shift) append_scan(coefficient, coefficient, shift, shift - 1, false);
  }
  jpeg.insert(jpeg.end(), {0xFF, 0xD9});
  return jpeg;
}

// Offset just past the SOS segment (where entropy-coded data starts), and of the EOI marker.
std::pair<std::size_t, std::size_t> entropy_data_range(const Bytes& jpeg) {
  for (std::size_t i = 2; i + 3 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA) {
      const std::size_t start = i + 2 + (std::size_t{jpeg[i + 2]} << 8 | jpeg[i + 3]);
      return {start, jpeg.size() - 2};  // imencode ends with EOI
    }
  }
  throw std::runtime_error("no SOS marker");
}

double mean_abs_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat difference;
  cv::absdiff(a, b, difference);
  return cv::mean(difference.reshape(1))[0];
}

// --- jpeg-js's arithmetic, written out from its source --------------------
//
// jpeg-js 0.4.4 (lib/decoder.js) computes in doubles; `>>` and `<<` first
// reduce a number to a signed 32-bit integer (ToInt32), as does storing into
// an Int32Array. These helpers follow that literally, independently of the
// integer port in jpeg_js_compatible_decoder.cpp.

double js_to_int32(double value) {
  double modulo = std::fmod(value, 4294967296.0);
  if (modulo < 0) modulo += 4294967296.0;
  return modulo >= 2147483648.0 ? modulo - 4294967296.0 : modulo;
}

double js_shift_right(double value, int bits) { return std::floor(js_to_int32(value) / std::ldexp(1.0, bits)); }

double js_shift_left(double value, int bits) { return js_to_int32(js_to_int32(value) * std::ldexp(1.0, bits)); }

using Block = std::array<int, 64>;  // natural (row by row) order

// jpeg-js's quantizeAndInverse, line by line.
std::array<std::uint8_t, 64> jpegjs_quantize_and_inverse(const Block& zz, const Block& qt) {
  const double dctCos1 = 4017, dctSin1 = 799, dctCos3 = 3406, dctSin3 = 2276, dctCos6 = 1567, dctSin6 = 3784,
               dctSqrt2 = 5793, dctSqrt1d2 = 2896;
  std::array<double, 64> p;  // the Int32Array: every store goes through js_to_int32
  double v0, v1, v2, v3, v4, v5, v6, v7, t;
  for (std::size_t i = 0; i < 64; i++) p[i] = js_to_int32(static_cast<double>(zz[i]) * qt[i]);

  const auto pass = [&](auto at, bool rows) {
    // rows: `row = 8 * i` and shifts by 8 or 10; columns: `col = i` and shifts by 12 or 14
    const int input_shift = rows ? 8 : 12, dc_shift = rows ? 10 : 14;
    const double input_round = rows ? 128 : 2048, dc_round = rows ? 512 : 8192;
    for (int i = 0; i < 8; ++i) {
      if (at(i, 1) == 0 && at(i, 2) == 0 && at(i, 3) == 0 && at(i, 4) == 0 && at(i, 5) == 0 && at(i, 6) == 0 &&
          at(i, 7) == 0) {
        t = js_shift_right(dctSqrt2 * at(i, 0) + dc_round, dc_shift);
        for (int k = 0; k < 8; ++k) at(i, k) = js_to_int32(t);
        continue;
      }
      // stage 4
      v0 = js_shift_right(dctSqrt2 * at(i, 0) + input_round, input_shift);
      v1 = js_shift_right(dctSqrt2 * at(i, 4) + input_round, input_shift);
      v2 = at(i, 2);
      v3 = at(i, 6);
      v4 = js_shift_right(dctSqrt1d2 * (at(i, 1) - at(i, 7)) + input_round, input_shift);
      v7 = js_shift_right(dctSqrt1d2 * (at(i, 1) + at(i, 7)) + input_round, input_shift);
      v5 = rows ? js_shift_left(at(i, 3), 4) : at(i, 3);
      v6 = rows ? js_shift_left(at(i, 5), 4) : at(i, 5);
      // stage 3
      t = js_shift_right(v0 - v1 + 1, 1);
      v0 = js_shift_right(v0 + v1 + 1, 1);
      v1 = t;
      t = js_shift_right(v2 * dctSin6 + v3 * dctCos6 + input_round, input_shift);
      v2 = js_shift_right(v2 * dctCos6 - v3 * dctSin6 + input_round, input_shift);
      v3 = t;
      t = js_shift_right(v4 - v6 + 1, 1);
      v4 = js_shift_right(v4 + v6 + 1, 1);
      v6 = t;
      t = js_shift_right(v7 + v5 + 1, 1);
      v5 = js_shift_right(v7 - v5 + 1, 1);
      v7 = t;
      // stage 2
      t = js_shift_right(v0 - v3 + 1, 1);
      v0 = js_shift_right(v0 + v3 + 1, 1);
      v3 = t;
      t = js_shift_right(v1 - v2 + 1, 1);
      v1 = js_shift_right(v1 + v2 + 1, 1);
      v2 = t;
      t = js_shift_right(v4 * dctSin3 + v7 * dctCos3 + 2048, 12);
      v4 = js_shift_right(v4 * dctCos3 - v7 * dctSin3 + 2048, 12);
      v7 = t;
      t = js_shift_right(v5 * dctSin1 + v6 * dctCos1 + 2048, 12);
      v5 = js_shift_right(v5 * dctCos1 - v6 * dctSin1 + 2048, 12);
      v6 = t;
      // stage 1
      at(i, 0) = js_to_int32(v0 + v7);
      at(i, 7) = js_to_int32(v0 - v7);
      at(i, 1) = js_to_int32(v1 + v6);
      at(i, 6) = js_to_int32(v1 - v6);
      at(i, 2) = js_to_int32(v2 + v5);
      at(i, 5) = js_to_int32(v2 - v5);
      at(i, 3) = js_to_int32(v3 + v4);
      at(i, 4) = js_to_int32(v3 - v4);
    }
  };
  pass([&](int i, int k) -> double& { return p[static_cast<std::size_t>(8 * i + k)]; }, true);   // rows
  pass([&](int i, int k) -> double& { return p[static_cast<std::size_t>(k * 8 + i)]; }, false);  // columns

  std::array<std::uint8_t, 64> data_out;
  for (std::size_t i = 0; i < 64; ++i) {
    const double sample = 128 + js_shift_right(p[i] + 8, 4);
    data_out[i] = static_cast<std::uint8_t>(sample < 0 ? 0 : sample > 0xFF ? 0xFF : sample);
  }
  return data_out;
}

// The port under test, on the same int inputs.
std::array<std::uint8_t, 64> ported_quantize_and_inverse(const Block& zz, const Block& qt) {
  std::array<std::int16_t, 64> coefficients;
  std::array<std::uint16_t, 64> quantizers;
  for (std::size_t i = 0; i < 64; ++i) {
    coefficients[i] = static_cast<std::int16_t>(zz[i]);
    quantizers[i] = static_cast<std::uint16_t>(qt[i]);
  }
  return safelynx::vision::jpegjs::dequantize_and_inverse_dct(coefficients, quantizers);
}

// jpeg-js's dctZigZag: the natural index of each zigzag position.
constexpr std::array<std::size_t, 64> natural_of_zigzag = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

// The JPEG standard's example luminance quantisers (Annex K), in natural order.
constexpr Block standard_luma_quantizers = {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                                            14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                                            18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                                            49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};

// --- JPEGs of arbitrary coefficients, written by hand ------------------------

// One component of a hand-written baseline JPEG: sampling factors, which
// quantisation table, and its quantised blocks (natural order), row by row
// over the whole block grid, MCU padding included.
struct CodedComponent {
  int h = 1, v = 1, table = 0;
  int blocks_across = 0;
  std::vector<Block> blocks;
  const Block& block(int row, int column) const {
    return blocks[static_cast<std::size_t>(row * blocks_across + column)];
  }
};

// The AC Huffman table used below: every symbol (EOB, ZRL and each run/size
// pair with sizes up to 10) gets the 8-bit code equal to its index here.
std::vector<std::uint8_t> ac_symbols() {
  std::vector<std::uint8_t> symbols = {0x00, 0xF0};
  for (int run = 0; run < 16; ++run)
    for (int size = 1; size <= 10; ++size) symbols.push_back(static_cast<std::uint8_t>(run << 4 | size));
  return symbols;
}

int magnitude_category(int value) {
  int category = 0;
  while ((std::abs(value) >> category) != 0) ++category;
  return category;
}

// A baseline JPEG (interleaved if it has several components) holding exactly
// the given coefficients; quantisation tables in natural order, 1 to 255.
Bytes coefficient_jpeg(int width, int height, const std::vector<Block>& quantization_tables,
                       const std::vector<CodedComponent>& components) {
  Bytes jpeg = {0xFF, 0xD8};
  for (std::size_t table = 0; table < quantization_tables.size(); ++table) {
    Bytes payload = {static_cast<std::uint8_t>(table)};  // 8-bit values
    for (const std::size_t natural : natural_of_zigzag)
      payload.push_back(static_cast<std::uint8_t>(quantization_tables[table][natural]));
    append_segment(jpeg, 0xDB, payload);
  }
  Bytes dc_table = {0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // twelve 4-bit codes
  for (std::uint8_t category = 0; category < 12; ++category) dc_table.push_back(category);
  append_segment(jpeg, 0xC4, dc_table);
  const std::vector<std::uint8_t> symbols = ac_symbols();
  Bytes ac_table = {0x10, 0, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(symbols.size()), 0, 0, 0, 0, 0, 0, 0, 0};
  ac_table.insert(ac_table.end(), symbols.begin(), symbols.end());
  append_segment(jpeg, 0xC4, ac_table);
  Bytes sampling;
  for (std::size_t index = 0; index < components.size(); ++index) {
    const CodedComponent& component = components[index];
    sampling.insert(sampling.end(),
                    {static_cast<std::uint8_t>(index + 1), static_cast<std::uint8_t>(component.h << 4 | component.v),
                     static_cast<std::uint8_t>(component.table)});
  }
  append_segment(jpeg, 0xC0, frame_header(width, height, sampling));
  Bytes scan = {static_cast<std::uint8_t>(components.size())};
  for (std::size_t index = 0; index < components.size(); ++index)
    scan.insert(scan.end(), {static_cast<std::uint8_t>(index + 1), 0x00});
  scan.insert(scan.end(), {0, 63, 0});
  append_segment(jpeg, 0xDA, scan);

  EntropyWriter entropy;
  const auto put_magnitude = [&](int value, int category) {
    if (category > 0)
      entropy.put(static_cast<std::uint32_t>(value >= 0 ? value : value + (1 << category) - 1), category);
  };
  const auto ac_code = [&](int run, int category) {
    const auto symbol = static_cast<std::uint8_t>(run << 4 | category);
    return static_cast<std::uint32_t>(std::find(symbols.begin(), symbols.end(), symbol) - symbols.begin());
  };
  std::vector<int> previous_dc(components.size(), 0);
  const auto put_block = [&](std::size_t index, const Block& block) {
    entropy.put_dc_difference(block[0] - previous_dc[index]);
    previous_dc[index] = block[0];
    int run = 0;
    for (std::size_t zigzag = 1; zigzag < 64; ++zigzag) {
      const int value = block[natural_of_zigzag[zigzag]];
      if (value == 0) {
        ++run;
        continue;
      }
      for (; run > 15; run -= 16) entropy.put(ac_code(15, 0), 8);  // ZRL
      const int category = magnitude_category(value);
      entropy.put(ac_code(run, category), 8);
      put_magnitude(value, category);
      run = 0;
    }
    if (run > 0) entropy.put(ac_code(0, 0), 8);  // EOB
  };
  if (components.size() == 1) {  // non-interleaved: the blocks covering the image, row by row
    const CodedComponent& only = components[0];
    for (int row = 0; row < (height + 7) / 8; ++row)
      for (int column = 0; column < (width + 7) / 8; ++column) put_block(0, only.block(row, column));
  } else {
    int max_h = 1, max_v = 1;
    for (const CodedComponent& component : components)
      max_h = std::max(max_h, component.h), max_v = std::max(max_v, component.v);
    const int mcus_across = (width + 8 * max_h - 1) / (8 * max_h), mcus_down = (height + 8 * max_v - 1) / (8 * max_v);
    for (int mcu_row = 0; mcu_row < mcus_down; ++mcu_row)
      for (int mcu_column = 0; mcu_column < mcus_across; ++mcu_column)
        for (std::size_t index = 0; index < components.size(); ++index) {
          const CodedComponent& component = components[index];
          for (int j = 0; j < component.v; ++j)
            for (int k = 0; k < component.h; ++k)
              put_block(index, component.block(mcu_row * component.v + j, mcu_column * component.h + k));
        }
  }
  const Bytes data = entropy.finish();
  jpeg.insert(jpeg.end(), data.begin(), data.end());
  jpeg.insert(jpeg.end(), {0xFF, 0xD9});
  return jpeg;
}

// What jpeg-js decodes from those coefficients, as BGR: buildComponentData
// (every block of blocksPerLine x blocksPerColumn through quantizeAndInverse)
// and getData (nearest-neighbour sampling, then the YCbCr -> RGB formula, or
// luma copied into R, G and B).
cv::Mat jpegjs_decoding_of(int width, int height, const std::vector<Block>& quantization_tables,
                           const std::vector<CodedComponent>& components) {
  int max_h = 1, max_v = 1;
  for (const CodedComponent& component : components)
    max_h = std::max(max_h, component.h), max_v = std::max(max_v, component.v);
  std::vector<cv::Mat> planes;
  for (const CodedComponent& component : components) {
    const int blocks_per_line = static_cast<int>(std::ceil(std::ceil(width / 8.0) * component.h / max_h));
    const int blocks_per_column = static_cast<int>(std::ceil(std::ceil(height / 8.0) * component.v / max_v));
    cv::Mat plane(8 * blocks_per_column, 8 * blocks_per_line, CV_8UC1);
    for (int row = 0; row < blocks_per_column; ++row)
      for (int column = 0; column < blocks_per_line; ++column) {
        const auto samples = jpegjs_quantize_and_inverse(
            component.block(row, column), quantization_tables[static_cast<std::size_t>(component.table)]);
        for (int j = 0; j < 8; ++j)
          for (int i = 0; i < 8; ++i)
            plane.at<std::uint8_t>(8 * row + j, 8 * column + i) = samples[static_cast<std::size_t>(8 * j + i)];
      }
    planes.push_back(plane);
  }
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      std::array<int, 3> values{};
      for (std::size_t index = 0; index < components.size(); ++index) {
        const double scale_x = static_cast<double>(components[index].h) / max_h;
        const double scale_y = static_cast<double>(components[index].v) / max_v;
        values[index] = planes[index].at<std::uint8_t>(static_cast<int>(y * scale_y), static_cast<int>(x * scale_x));
      }
      image.at<cv::Vec3b>(y, x) =
          components.size() == 1 ? cv::Vec3b(static_cast<std::uint8_t>(values[0]), static_cast<std::uint8_t>(values[0]),
                                             static_cast<std::uint8_t>(values[0]))
                                 : jpegjs_bgr(values[0], values[1], values[2]);
    }
  return image;
}

// Random sparse blocks, as in a photo: a DC coefficient and a few AC ones.
std::vector<Block> random_blocks(std::mt19937& generator, int count) {
  std::uniform_int_distribution<int> dc(-120, 120), ac(-40, 40), position(1, 63), how_many(0, 10);
  std::vector<Block> blocks(static_cast<std::size_t>(count));
  for (Block& block : blocks) {
    block.fill(0);
    block[0] = dc(generator);
    for (int n = how_many(generator); n > 0; --n) block[static_cast<std::size_t>(position(generator))] = ac(generator);
  }
  return blocks;
}

Block random_quantization_table(std::mt19937& generator) {
  std::uniform_int_distribution<int> quantizer(1, 40);  // no two positions alike: a transposed table shows
  Block table;
  for (int& value : table) value = quantizer(generator);
  return table;
}

class ImageIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("safelynx_image_io_" + std::to_string(::getpid()) + "_" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(dir_ / "unreadable.png", fs::perms::owner_all, ignored);
    fs::remove_all(dir_, ignored);
  }

  fs::path write(const std::string& name, const Bytes& bytes) {
    const fs::path path = dir_ / name;
    write_file(path, bytes);
    return path;
  }

  fs::path dir_;
};

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// --- pixel formats -------------------------------------------------------

TEST_F(ImageIoTest, ColourPngIsReadExactly) {
  const cv::Mat original = noise_image(20, 30, CV_8UC3);
  const fs::path path = dir_ / "colour.png";
  ASSERT_TRUE(cv::imwrite(path.string(), original));
  const cv::Mat image = read_image(path);
  ASSERT_EQ(image.type(), CV_8UC3);
  EXPECT_EQ(cv::norm(image, original, cv::NORM_INF), 0);
}

TEST_F(ImageIoTest, GrayscalePngBecomesBgrWithEqualChannels) {
  const cv::Mat gray = noise_image(10, 12, CV_8UC1);
  const cv::Mat image = decode_image(encode(".png", gray), "gray.png");
  ASSERT_EQ(image.type(), CV_8UC3);
  ASSERT_EQ(image.size(), gray.size());
  std::vector<cv::Mat> channels;
  cv::split(image, channels);
  for (const cv::Mat& channel : channels) EXPECT_EQ(cv::norm(channel, gray, cv::NORM_INF), 0);
}

TEST_F(ImageIoTest, GrayscaleJpegBecomesBgr) {
  cv::Mat gray(16, 16, CV_8UC1, cv::Scalar(100));
  const cv::Mat image = decode_image(encode_jpeg(gray), "gray.jpg");
  ASSERT_EQ(image.type(), CV_8UC3);
  EXPECT_TRUE(near(image.at<cv::Vec3b>(8, 8), cv::Vec3b(100, 100, 100), 2));
}

TEST_F(ImageIoTest, GrayscaleJpegIsReplicatedIntoEveryChannel) {
  // jpeg-js copies the decoded luma into R, G and B. OpenCV's grayscale
  // reading decodes the same luma with libjpeg's IDCT, which rounds a little
  // differently from jpeg-js's.
  const cv::Mat gray = noise_image(40, 56, CV_8UC1);
  const Bytes jpeg = encode(".jpg", gray, {cv::IMWRITE_JPEG_QUALITY, 80});
  const cv::Mat image = decode_image(jpeg, "gray.jpg");
  ASSERT_EQ(image.type(), CV_8UC3);
  const cv::Mat luma = cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(image.size(), luma.size());
  std::vector<cv::Mat> channels;
  cv::split(image, channels);
  EXPECT_EQ(cv::norm(channels[0], channels[1], cv::NORM_INF), 0);
  EXPECT_EQ(cv::norm(channels[0], channels[2], cv::NORM_INF), 0);
  EXPECT_LE(cv::norm(channels[0], luma, cv::NORM_INF), 3);
}

TEST_F(ImageIoTest, JpegjsConversionHelperTruncates) {
  // The expectations below rest on this helper; pin it to hand-worked values.
  EXPECT_EQ(jpegjs_bgr(100, 128, 130), cv::Vec3b(100, 98, 102));  // R = 102.804, G = 98.572: truncated, not rounded
  EXPECT_EQ(jpegjs_bgr(255, 255, 255), cv::Vec3b(255, 120, 255));  // G = 255 - 43.705 - 90.695
  EXPECT_EQ(jpegjs_bgr(0, 0, 0), cv::Vec3b(0, 135, 0));            // G = 44.049 + 91.409
}

TEST_F(ImageIoTest, ColourJpegOfFlatBlocksMatchesJpegjsConversion) {
  // Flat 16x16 MCUs whose Y, Cb and Cr are known exactly. Chroma changes from
  // MCU to MCU, so interpolating ("fancy") upsampling would blend the pixels
  // along every MCU edge, where jpeg-js replicates chroma samples.
  std::vector<FlatMcu> mcus = {
      {{255, 255, 0, 0}, 255, 255},      // clamped above and below
      {{0, 255, 128, 1}, 0, 0},          //
      {{100, 101, 102, 103}, 128, 130},  // truncation differs from rounding
      {{16, 235, 16, 235}, 16, 240},     // video-range extremes
  };
  std::mt19937 generator(2024);
  std::uniform_int_distribution<int> sample(0, 255);
  while (mcus.size() < 24)
    mcus.push_back({{sample(generator), sample(generator), sample(generator), sample(generator)}, sample(generator),
                    sample(generator)});
  constexpr int mcus_across = 6;
  const cv::Mat image = decode_image(flat_mcu_jpeg(mcus, mcus_across), "flat.jpg");
  ASSERT_EQ(image.type(), CV_8UC3);
  ASSERT_EQ(image.size(), cv::Size(16 * mcus_across, 16 * 4));
  int mismatches = 0;
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      const FlatMcu& mcu = mcus[static_cast<std::size_t>(y / 16 * mcus_across + x / 16)];
      const int luma = mcu.luma[static_cast<std::size_t>((y % 16) / 8 * 2 + (x % 16) / 8)];
      const cv::Vec3b expected = jpegjs_bgr(luma, mcu.cb, mcu.cr);
      if (image.at<cv::Vec3b>(y, x) != expected && ++mismatches <= 5)
        ADD_FAILURE() << "pixel (" << x << ", " << y << ") is " << image.at<cv::Vec3b>(y, x) << ", expected " << expected
                      << " from Y " << luma << " Cb " << mcu.cb << " Cr " << mcu.cr;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// --- jpeg-js's arithmetic ---------------------------------------------------

TEST(ImageIoJpegjsArithmetic, DcOnlyBlocksMatchHandWorkedValues) {
  Block quantizers;
  quantizers.fill(16);
  const auto flat_block_of = [&](int dc) {
    Block zz{};
    zz[0] = dc;
    return ported_quantize_and_inverse(zz, quantizers);
  };
  // DC 10 * 16 = 160: rows (5793 * 160 + 512) >> 10 = 905, columns
  // (5793 * 905 + 8192) >> 14 = 320, sample 128 + ((320 + 8) >> 4) = 148.
  std::array<std::uint8_t, 64> all_148;
  all_148.fill(148);
  EXPECT_EQ(flat_block_of(10), all_148);
  // -48: -277552 >> 10 = -272 (an arithmetic shift, rounding down),
  // -1567504 >> 14 = -96, 128 + (-88 >> 4) = 128 - 6 = 122.
  EXPECT_EQ(flat_block_of(-3)[37], 122);
  EXPECT_EQ(flat_block_of(0)[0], 128);
  EXPECT_EQ(flat_block_of(100)[63], 255);  // clamped above
  EXPECT_EQ(flat_block_of(-100)[12], 0);   // and below
}

TEST(ImageIoJpegjsArithmetic, BlocksWithAcCoefficientsMatchJpegjsItself) {
  // Computed by jpeg-js 0.4.4's own quantizeAndInverse (lib/decoder.js, run in
  // node) on these coefficients and the standard luminance quantisers.
  struct Case {
    std::vector<std::pair<std::size_t, int>> coefficients;  // natural index, value
    std::array<std::uint8_t, 64> samples;
  };
  const std::vector<Case> cases = {
      {{{0, -12}, {1, 5}, {8, -3}, {9, 2}, {2, -1}, {16, 1}},
       {114, 112, 109, 105, 99,  92,  86,  83,  113, 111, 109, 104, 98,  92,  87,  84,  111, 110, 108, 104, 99,  93,
        88,  85,  110, 109, 107, 104, 100, 95,  91,  88,  110, 109, 108, 106, 103, 99,  95,  93,  111, 111, 111, 110,
        107, 104, 101, 99,  113, 114, 114, 113, 111, 108, 106, 104, 115, 115, 115, 115, 113, 111, 109, 107}},
      {{{0, 40}, {1, -15}, {8, 12}, {3, 6}, {24, -5}, {63, 2}},  // clamped at 255 in places
       {210, 190, 198, 198, 247, 248, 255, 235, 212, 219, 176, 244, 220, 255, 244, 252, 228, 184, 236, 179, 255, 233,
        255, 241, 196, 219, 147, 252, 187, 255, 221, 244, 191, 142, 204, 133, 255, 189, 251, 201, 159, 177, 115, 207,
        157, 249, 187, 204, 175, 142, 174, 142, 227, 194, 227, 194, 177, 171, 152, 188, 199, 234, 216, 210}},
      {{{7, 3}, {56, -4}, {36, 2}},  // no DC, the last row and column
       {141, 83,  128, 103, 167, 74,  119, 129, 146, 155, 200, 108, 171, 146, 191, 133, 75,  85, 130, 37,  100, 76,
        121, 62,  201, 143, 188, 163, 227, 134, 179, 189, 101, 43,  88,  63,  127, 34,  79,  89, 160, 169, 214, 122,
        185, 160, 205, 147, 89,  99,  144, 51,  114, 90,  135, 76,  161, 103, 148, 123, 187, 94, 139, 149}},
  };
  for (const Case& known : cases) {
    Block zz{};
    for (const auto& [index, value] : known.coefficients) zz[index] = value;
    EXPECT_EQ(ported_quantize_and_inverse(zz, standard_luma_quantizers), known.samples);
    EXPECT_EQ(jpegjs_quantize_and_inverse(zz, standard_luma_quantizers), known.samples);  // the transcription too
  }
}

TEST(ImageIoJpegjsArithmetic, RandomBlocksMatchTheTranscribedSource) {
  std::mt19937 generator(7);
  int compared = 0;
  const auto compare = [&](const Block& zz, const Block& qt) {
    ++compared;
    const auto ported = ported_quantize_and_inverse(zz, qt);
    const auto expected = jpegjs_quantize_and_inverse(zz, qt);
    if (ported != expected) {
      ADD_FAILURE() << "block " << compared << " differs; first coefficients " << zz[0] << " " << zz[1] << " " << zz[8]
                    << ", quantisers " << qt[0] << " " << qt[1] << " " << qt[8];
      return false;
    }
    return true;
  };
  // Photo-like blocks: sparse, small coefficients, 8-bit quantisers.
  for (int n = 0; n < 2000; ++n)
    if (!compare(random_blocks(generator, 1)[0], random_quantization_table(generator))) return;
  // Dense blocks, every value at one magnitude with random signs: the largest
  // an 8-bit JPEG's DCT gives, and 16-bit extremes whose sums pass 2^31.
  std::bernoulli_distribution negative(0.5), present(0.7);
  for (const auto& [magnitude, quantizer] : {std::pair{2047, 1}, std::pair{32767, 1}, std::pair{32767, 65535}}) {
    for (int n = 0; n < 300; ++n) {
      Block zz, qt;
      qt.fill(quantizer);
      for (int& value : zz) value = present(generator) ? (negative(generator) ? -magnitude : magnitude) : 0;
      if (!compare(zz, qt)) return;
    }
  }
  // Hostile files: any 16-bit coefficient and quantiser, where jpeg-js's
  // 32-bit wrap-arounds decide the result.
  std::uniform_int_distribution<int> coefficient(-32768, 32767), quantizer(0, 65535), position(0, 63);
  for (int n = 0; n < 2000; ++n) {
    Block zz{}, qt;
    for (int& value : qt) value = quantizer(generator);
    const int how_many = n % 3 == 0 ? 64 : n % 5 + 1;
    for (int k = 0; k < how_many; ++k)
      zz[static_cast<std::size_t>(how_many == 64 ? k : position(generator))] = coefficient(generator);
    if (!compare(zz, qt)) return;
  }
  EXPECT_EQ(compared, 2000 + 900 + 2000);
}

TEST(ImageIoJpegjsArithmetic, ColourConversionMatchesTheFormulaForEveryInput) {
  // jpeg_js_compatible_decoder computes jpeg-js's double formula with integer
  // tables; this is the check that they agree on all 2^24 inputs.
  Bytes luma(65536), cb(65536), cr(65536), bgr(3 * 65536);
  for (std::size_t i = 0; i < cb.size(); ++i) {
    cb[i] = static_cast<std::uint8_t>(i >> 8);
    cr[i] = static_cast<std::uint8_t>(i & 0xFF);
  }
  int mismatches = 0;
  for (int y = 0; y < 256; ++y) {
    std::fill(luma.begin(), luma.end(), static_cast<std::uint8_t>(y));
    safelynx::vision::jpegjs::ycbcr_to_bgr(luma, cb, cr, bgr);
    for (std::size_t i = 0; i < cb.size(); ++i) {
      const cv::Vec3b expected = jpegjs_bgr(y, cb[i], cr[i]);
      if ((bgr[3 * i] != expected[0] || bgr[3 * i + 1] != expected[1] || bgr[3 * i + 2] != expected[2]) &&
          ++mismatches <= 5)
        ADD_FAILURE() << "Y " << y << " Cb " << int{cb[i]} << " Cr " << int{cr[i]} << " gives " << int{bgr[3 * i]}
                      << " " << int{bgr[3 * i + 1]} << " " << int{bgr[3 * i + 2]} << ", expected " << expected;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(ImageIoJpegjsArithmetic, UpsamplingTakesTheNearestSampleBelow) {
  using safelynx::vision::jpegjs::sampled_index;
  for (int position = 0; position < 100; ++position) {
    EXPECT_EQ(sampled_index(position, 2, 2), position);
    EXPECT_EQ(sampled_index(position, 1, 2), position / 2);
    EXPECT_EQ(sampled_index(position, 1, 4), position / 4);
    EXPECT_EQ(sampled_index(position, 3, 4), static_cast<int>(position * 0.75));
  }
  EXPECT_EQ(sampled_index(3, 1, 3), 1);  // 3 * (1 / 3) is exactly 1 in double
}

TEST_F(ImageIoTest, ColourJpegDecodesExactlyAsJpegjs) {
  // Sizes that are no multiple of the MCU: chroma upsampling (including a
  // fractional 1/3), partial blocks and MCU padding, zigzag order and both
  // quantisation tables (random, so that a transposed or mixed-up table shows)
  // all matter.
  std::mt19937 generator(11);
  constexpr int width = 37, height = 29;
  for (const auto& [luma_h, luma_v] :
       {std::pair{2, 2}, std::pair{2, 1}, std::pair{1, 2}, std::pair{1, 1}, std::pair{3, 2}}) {
    SCOPED_TRACE("luma sampling " + std::to_string(luma_h) + "x" + std::to_string(luma_v));
    const int mcus_across = (width + 8 * luma_h - 1) / (8 * luma_h),
              mcus_down = (height + 8 * luma_v - 1) / (8 * luma_v);
    const std::vector<Block> tables = {random_quantization_table(generator), random_quantization_table(generator)};
    std::vector<CodedComponent> components = {
        {.h = luma_h,
         .v = luma_v,
         .table = 0,
         .blocks_across = mcus_across * luma_h,
         .blocks = random_blocks(generator, mcus_across * luma_h * mcus_down * luma_v)},
        {.h = 1,
         .v = 1,
         .table = 1,
         .blocks_across = mcus_across,
         .blocks = random_blocks(generator, mcus_across * mcus_down)},
        {.h = 1,
         .v = 1,
         .table = 1,
         .blocks_across = mcus_across,
         .blocks = random_blocks(generator, mcus_across * mcus_down)}};
    const cv::Mat image = decode_image(coefficient_jpeg(width, height, tables, components), "coefficients.jpg");
    const cv::Mat expected = jpegjs_decoding_of(width, height, tables, components);
    ASSERT_EQ(image.size(), expected.size());
    EXPECT_EQ(cv::norm(image, expected, cv::NORM_INF), 0);
    // Not a vacuous match: the blocks make a varied picture.
    cv::Scalar mean, deviation;
    cv::meanStdDev(image.reshape(1), mean, deviation);
    EXPECT_GT(deviation[0], 20);
  }
}

TEST_F(ImageIoTest, GrayscaleJpegDecodesExactlyAsJpegjs) {
  std::mt19937 generator(12);
  constexpr int width = 21, height = 18;  // 3 x 3 blocks, partial ones at the edges
  const std::vector<Block> tables = {random_quantization_table(generator)};
  const std::vector<CodedComponent> components = {
      {.h = 1, .v = 1, .table = 0, .blocks_across = 3, .blocks = random_blocks(generator, 3 * 3)}};
  const cv::Mat image = decode_image(coefficient_jpeg(width, height, tables, components), "gray-coefficients.jpg");
  const cv::Mat expected = jpegjs_decoding_of(width, height, tables, components);
  ASSERT_EQ(image.size(), expected.size());
  EXPECT_EQ(cv::norm(image, expected, cv::NORM_INF), 0);
}

TEST_F(ImageIoTest, NaturalColourJpegIsCloseToOpenCvsDecoding) {
  // Only chroma upsampling and rounding differ from OpenCV's decoding; on
  // smooth colour gradients, like most of a photo, both are small.
  cv::Mat smooth(64, 96, CV_8UC3);
  for (int y = 0; y < smooth.rows; ++y)
    for (int x = 0; x < smooth.cols; ++x)
      smooth.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>(2 * x), static_cast<std::uint8_t>(3 * y),
                                             static_cast<std::uint8_t>(200 - x - y));
  const Bytes jpeg = encode(".jpg", smooth, {cv::IMWRITE_JPEG_QUALITY, 90});
  const cv::Mat image = decode_image(jpeg, "smooth.jpg");
  const cv::Mat by_opencv = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  ASSERT_EQ(image.size(), by_opencv.size());
  EXPECT_LT(mean_abs_difference(image, by_opencv), 1.5);
}

TEST_F(ImageIoTest, ProgressiveJpegDecodesLikeBaseline) {
  // Both encodings carry the same quantised coefficients.
  const cv::Mat original = noise_image(160, 64, CV_8UC3);  // taller than libjpeg's smallest buffer
  const Bytes baseline = encode(".jpg", original, {cv::IMWRITE_JPEG_QUALITY, 95});
  const Bytes progressive = encode(".jpg", original, {cv::IMWRITE_JPEG_QUALITY, 95, cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  ASSERT_NE(baseline, progressive);
  // libjpeg would otherwise take its memory cap from JPEGMEM: 1000 bytes here,
  // far too little for a progressive file's coefficient buffer.
  const char* previous = std::getenv("JPEGMEM");
  const std::optional<std::string> saved = previous ? std::optional<std::string>(previous) : std::nullopt;
  ::setenv("JPEGMEM", "1", 1);
  cv::Mat from_progressive;
  EXPECT_NO_THROW(from_progressive = decode_image(progressive, "progressive.jpg"));
  if (saved) {
    ::setenv("JPEGMEM", saved->c_str(), 1);
  } else {
    ::unsetenv("JPEGMEM");
  }
  const cv::Mat from_baseline = decode_image(baseline, "baseline.jpg");
  ASSERT_EQ(from_progressive.size(), from_baseline.size());
  EXPECT_EQ(cv::norm(from_progressive, from_baseline, cv::NORM_INF), 0);
}

TEST_F(ImageIoTest, JpegWithTooManyScansIsRefused) {
  // 442 scans are accepted; 505 are not (a hostile file could cost minutes of CPU).
  const cv::Mat image = decode_image(many_scan_gray_jpeg(77, 6), "scans.jpg");
  ASSERT_EQ(image.size(), cv::Size(8, 8));
  EXPECT_EQ(cv::norm(image, cv::Mat(8, 8, CV_8UC3, cv::Scalar(77, 77, 77)), cv::NORM_INF), 0);
  const std::string message = error_message_of([] { decode_image(many_scan_gray_jpeg(77, 7), "scans.jpg"); });
  EXPECT_EQ(message, "scans.jpg: corrupt JPEG: more than 500 progressive scans");
}

TEST_F(ImageIoTest, RgbaPngDropsAlphaWithoutCompositing) {
  cv::Mat bgra(4, 4, CV_8UC4, cv::Scalar(10, 20, 30, 0));  // fully transparent
  bgra.at<cv::Vec4b>(1, 1) = cv::Vec4b(200, 150, 100, 128);
  const cv::Mat image = decode_image(encode(".png", bgra), "rgba.png");
  ASSERT_EQ(image.type(), CV_8UC3);
  // Compositing over black or white would change these; dropping alpha keeps them.
  EXPECT_EQ(image.at<cv::Vec3b>(0, 0), cv::Vec3b(10, 20, 30));
  EXPECT_EQ(image.at<cv::Vec3b>(1, 1), cv::Vec3b(200, 150, 100));
}

TEST_F(ImageIoTest, SixteenBitPngIsScaledBy1Over257AndRounded) {
  // 25828 / 257 = 100.498 -> 100; 25829 / 257 = 100.502 -> 101 (pngjs rounds the same way).
  const std::array<std::uint16_t, 6> samples = {0, 65535, 25700, 25828, 25829, 257};
  const std::array<std::uint8_t, 6> expected = {0, 255, 100, 100, 101, 1};
  cv::Mat sixteen(1, static_cast<int>(samples.size()), CV_16UC3);
  for (std::size_t i = 0; i < samples.size(); ++i)
    sixteen.at<cv::Vec3w>(0, static_cast<int>(i)) = cv::Vec3w(samples[i], samples[i], 0);
  const cv::Mat image = decode_image(encode(".png", sixteen), "deep.png");
  ASSERT_EQ(image.type(), CV_8UC3);
  for (std::size_t i = 0; i < samples.size(); ++i)
    EXPECT_EQ(image.at<cv::Vec3b>(0, static_cast<int>(i)), cv::Vec3b(expected[i], expected[i], 0)) << "sample " << samples[i];
}

TEST_F(ImageIoTest, SixteenBitGrayAndRgbaPngsBecome8BitBgr) {
  cv::Mat gray16(3, 3, CV_16UC1, cv::Scalar(257 * 40));
  EXPECT_EQ(decode_image(encode(".png", gray16), "gray16.png").at<cv::Vec3b>(1, 1), cv::Vec3b(40, 40, 40));
  cv::Mat bgra16(3, 3, CV_16UC4, cv::Scalar(257 * 1, 257 * 2, 257 * 3, 0));
  const cv::Mat image = decode_image(encode(".png", bgra16), "rgba16.png");
  ASSERT_EQ(image.type(), CV_8UC3);
  EXPECT_EQ(image.at<cv::Vec3b>(2, 2), cv::Vec3b(1, 2, 3));
}

// --- EXIF orientation ----------------------------------------------------

// The upright image for a stored image and its EXIF Orientation, written with
// cv::rotate rather than the transpose-and-flip of image_io.cpp.
cv::Mat oriented_per_exif(const cv::Mat& stored, int orientation) {
  cv::Mat rotated, upright;
  switch (orientation) {
    case 2:  // mirrored
      cv::flip(stored, upright, 1);
      return upright;
    case 3:
      cv::rotate(stored, upright, cv::ROTATE_180);
      return upright;
    case 4:  // mirrored vertically
      cv::flip(stored, upright, 0);
      return upright;
    case 5:  // mirrored, then rotated 90 anticlockwise = transposed
      cv::rotate(stored, rotated, cv::ROTATE_90_CLOCKWISE);
      cv::flip(rotated, upright, 1);
      return upright;
    case 6:
      cv::rotate(stored, upright, cv::ROTATE_90_CLOCKWISE);
      return upright;
    case 7:  // mirrored, then rotated 90 clockwise = transversed
      cv::rotate(stored, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
      cv::flip(rotated, upright, 1);
      return upright;
    case 8:
      cv::rotate(stored, upright, cv::ROTATE_90_COUNTERCLOCKWISE);
      return upright;
    default:
      return stored.clone();
  }
}

TEST_F(ImageIoTest, JpegExifOrientationIsApplied) {
  const Bytes plain = encode_jpeg(quadrant_image());
  const cv::Vec3b R = red, G = green, B = blue, W = white;
  // Which original colour ends up in each quadrant (TL, TR, BL, BR) of the upright image.
  const std::array<std::array<cv::Vec3b, 4>, 9> expected = {{
      {},
      {R, G, B, W},  // 1: as stored
      {G, R, W, B},  // 2: mirrored
      {W, B, G, R},  // 3: rotated 180
      {B, W, R, G},  // 4: flipped vertically
      {R, B, G, W},  // 5: transposed
      {B, R, W, G},  // 6: rotated 90 clockwise
      {W, G, B, R},  // 7: transversed
      {G, W, R, B},  // 8: rotated 90 anticlockwise
  }};
  for (int orientation = 1; orientation <= 8; ++orientation) {
    for (const bool big_endian : {false, true}) {
      SCOPED_TRACE("orientation " + std::to_string(orientation) + (big_endian ? " big-endian" : " little-endian"));
      const Bytes jpeg = with_segment_after_soi(plain, exif_segment(orientation, big_endian));
      EXPECT_EQ(jpeg_exif_orientation(jpeg), orientation);
      const cv::Mat image = decode_image(jpeg, "rotated.jpg");
      ASSERT_EQ(image.type(), CV_8UC3);
      const bool swaps_axes = orientation >= 5;
      EXPECT_EQ(image.cols, swaps_axes ? quad_height : quad_width);
      EXPECT_EQ(image.rows, swaps_axes ? quad_width : quad_height);
      const auto colours = quadrant_colours(image);
      for (std::size_t q = 0; q < 4; ++q)
        EXPECT_TRUE(near(colours[q], expected[static_cast<std::size_t>(orientation)][q]))
            << "quadrant " << q << " is " << colours[q];
      // Exactly the stored pixels, moved as the EXIF definition says.
      const cv::Mat expected_pixels = oriented_per_exif(decode_image(plain, "plain.jpg"), orientation);
      ASSERT_EQ(expected_pixels.size(), image.size());
      EXPECT_EQ(cv::norm(expected_pixels, image, cv::NORM_INF), 0);
      // OpenCV's own EXIF handling (IMREAD_COLOR) gives the same geometry:
      // its smoother chroma only differs along the sharp quadrant edges, where
      // a wrong turn would swap whole quadrants of saturated colours.
      const cv::Mat by_opencv = cv::imdecode(jpeg, cv::IMREAD_COLOR);
      ASSERT_EQ(by_opencv.size(), image.size());
      EXPECT_LT(mean_abs_difference(by_opencv, image), 8.0);
    }
  }
}

TEST_F(ImageIoTest, MalformedExifIsIgnored) {
  const Bytes plain = encode_jpeg(quadrant_image());
  Bytes bad_ifd_offset = exif_segment(6, false);
  bad_ifd_offset[10 + 4] = 0xF0;  // IFD0 offset far past the block
  Bytes bad_value = exif_segment(6, false);
  bad_value[10 + 18] = 9;  // orientation 9 does not exist
  Bytes bad_byte_order = exif_segment(6, false);
  bad_byte_order[10] = 'X';
  for (const Bytes& segment : {bad_ifd_offset, bad_value, bad_byte_order}) {
    const Bytes jpeg = with_segment_after_soi(plain, segment);
    EXPECT_EQ(jpeg_exif_orientation(jpeg), 1);
    const cv::Mat image = decode_image(jpeg, "odd-exif.jpg");
    EXPECT_EQ(image.size(), cv::Size(quad_width, quad_height));
  }
}

TEST_F(ImageIoTest, OrientationIsOneWithoutExifOrForNonJpeg) {
  EXPECT_EQ(jpeg_exif_orientation(encode_jpeg(quadrant_image())), 1);
  EXPECT_EQ(jpeg_exif_orientation(encode(".png", quadrant_image())), 1);
  EXPECT_EQ(jpeg_exif_orientation(Bytes{}), 1);
}

// --- bad input -------------------------------------------------------------

TEST_F(ImageIoTest, MissingFileIsReported) {
  const fs::path path = dir_ / "no_such_file.jpg";
  const std::string message = error_message_of([&] { read_image(path); });
  EXPECT_TRUE(starts_with(message, path.string() + ": ")) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
}

TEST_F(ImageIoTest, DirectoryIsReported) {
  const std::string message = error_message_of([&] { read_image(dir_); });
  EXPECT_TRUE(starts_with(message, dir_.string() + ": ")) << message;
  EXPECT_NE(message.find("is a directory"), std::string::npos) << message;
}

TEST_F(ImageIoTest, UnreadableFileIsReported) {
  const fs::path path = write("unreadable.png", encode(".png", quadrant_image()));
  fs::permissions(path, fs::perms::none);
  if (std::ifstream(path).is_open()) GTEST_SKIP() << "running as root: file permissions are not enforced";
  const std::string message = error_message_of([&] { read_image(path); });
  EXPECT_TRUE(starts_with(message, path.string() + ": ")) << message;
  EXPECT_NE(message.find("cannot open"), std::string::npos) << message;
}

TEST_F(ImageIoTest, EmptyFileIsReported) {
  const fs::path path = write("empty.jpg", {});
  const std::string message = error_message_of([&] { read_image(path); });
  EXPECT_EQ(message, path.string() + ": empty file (0 bytes)");
}

TEST_F(ImageIoTest, RandomBytesAndTextAreNotImages) {
  std::mt19937 generator(1234);
  Bytes garbage(4096);
  for (auto& byte : garbage) byte = static_cast<std::uint8_t>(generator());
  const fs::path garbage_path = write("garbage.jpg", garbage);
  std::string message = error_message_of([&] { read_image(garbage_path); });
  EXPECT_TRUE(starts_with(message, garbage_path.string() + ": not an image")) << message;

  const std::string text = "name,score\nobama,0.9\n";
  message = error_message_of([&] { decode_image(Bytes(text.begin(), text.end()), "notes.csv"); });
  EXPECT_TRUE(starts_with(message, "notes.csv: not an image")) << message;
}

TEST_F(ImageIoTest, TruncatedJpegIsReported) {
  const Bytes jpeg = encode_jpeg(noise_image(64, 64, CV_8UC3));
  // Half the data, all but the EOI marker, and a cut inside the headers.
  for (const std::size_t kept : {jpeg.size() / 2, jpeg.size() - 2, std::size_t{40}, std::size_t{2}}) {
    const Bytes cut(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(kept));
    const fs::path path = write("cut.jpg", cut);
    const std::string message = error_message_of([&] { read_image(path); });
    EXPECT_TRUE(starts_with(message, path.string() + ": truncated JPEG")) << kept << " bytes: " << message;
  }
}

TEST_F(ImageIoTest, JpegWithTrailingDataAfterEndMarkerIsRead) {
  Bytes jpeg = encode_jpeg(quadrant_image());
  const Bytes trailer = {0x00, 0x00, 'T', 'R', 'A', 'I', 'L', 0xFF, 0xD8, 0xFF};
  jpeg.insert(jpeg.end(), trailer.begin(), trailer.end());
  EXPECT_EQ(decode_image(jpeg, "trailer.jpg").size(), cv::Size(quad_width, quad_height));
}

TEST_F(ImageIoTest, CorruptJpegDataIsReportedWithLibjpegsMessage) {
  // Bytes changed in the middle of the entropy-coded data: the structure is
  // intact, and libjpeg would only warn and decode garbage.
  const Bytes original = encode_jpeg(noise_image(64, 64, CV_8UC3));
  const auto [data_start, data_end] = entropy_data_range(original);
  Bytes corrupt = original;
  for (std::size_t i = (data_start + data_end) / 2, changed = 0; changed < 32; ++i) {
    if (corrupt[i] == 0xFF) {  // keep stuffed FF00 pairs, so that no marker appears or vanishes
      ++i;
      continue;
    }
    const auto flipped = static_cast<std::uint8_t>(corrupt[i] ^ 0x5A);
    corrupt[i] = flipped == 0xFF ? 0x00 : flipped;
    ++changed;
  }
  const fs::path path = write("corrupt.jpg", corrupt);
  ::testing::internal::CaptureStderr();
  const std::string message = error_message_of([&] { read_image(path); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "libjpeg must not print";
  EXPECT_TRUE(starts_with(message, path.string() + ": corrupt JPEG data (libjpeg: Corrupt JPEG data: ")) << message;
}

TEST_F(ImageIoTest, ExtraneousBytesBeforeAMarkerAreReported) {
  Bytes jpeg = encode_jpeg(quadrant_image());
  const Bytes stray = {0x12, 0x34};
  jpeg.insert(jpeg.begin() + static_cast<std::ptrdiff_t>(sof0_offset(jpeg)), stray.begin(), stray.end());
  ::testing::internal::CaptureStderr();
  const std::string message = error_message_of([&] { decode_image(jpeg, "extra.jpg"); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(message, "extra.jpg: corrupt JPEG data (libjpeg: Corrupt JPEG data: 2 extraneous bytes before marker 0xc0)");
}

TEST_F(ImageIoTest, JpegErrorsQuoteLibjpeg) {
  // A Huffman table selector that no DHT defines: a libjpeg error, not a warning.
  Bytes jpeg = encode_jpeg(quadrant_image());
  const auto [data_start, data_end] = entropy_data_range(jpeg);
  jpeg[data_start - 4] = 0x33;  // first component of SOS: DC and AC table 3
  ::testing::internal::CaptureStderr();
  const std::string message = error_message_of([&] { decode_image(jpeg, "tables.jpg"); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(starts_with(message, "tables.jpg: corrupt or unsupported JPEG data (libjpeg: Huffman table 0x03 was not defined)"))
      << message;
}

TEST_F(ImageIoTest, TruncatedPngIsReported) {
  const Bytes png = encode(".png", noise_image(64, 64, CV_8UC3));
  // Half the data, everything but the IEND chunk, and a cut inside the signature.
  for (const std::size_t kept : {png.size() / 2, png.size() - 12, std::size_t{6}}) {
    const Bytes cut(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(kept));
    const std::string message = error_message_of([&] { decode_image(cut, "cut.png"); });
    EXPECT_TRUE(starts_with(message, "cut.png: truncated PNG")) << kept << " bytes: " << message;
  }
}

TEST_F(ImageIoTest, CorruptPngDataIsReported) {
  Bytes png = encode(".png", noise_image(32, 32, CV_8UC3));
  png[png.size() / 2] ^= 0xFF;  // inside IDAT: the CRC no longer matches
  ::testing::internal::CaptureStderr();  // libpng prints its own complaint
  const std::string message = error_message_of([&] { decode_image(png, "corrupt.png"); });
  ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(starts_with(message, "corrupt.png: corrupt or unsupported PNG data")) << message;
}

TEST_F(ImageIoTest, TooManyPixelsAreRefused) {
  const ImageReadOptions small_limit{.max_pixels = 48 * 32 - 1};
  for (const std::string extension : {".jpg", ".png", ".webp"}) {
    const std::string label = "big" + extension;
    const std::string message =
        error_message_of([&] { decode_image(encode(extension, quadrant_image()), label, small_limit); });
    EXPECT_EQ(message, label + ": image is too large: 48x32 is 1536 pixels, more than the limit of 1535") << message;
  }
  const ImageReadOptions exact_limit{.max_pixels = 48 * 32};
  EXPECT_NO_THROW(decode_image(encode_jpeg(quadrant_image()), "fits.jpg", exact_limit));
}

TEST_F(ImageIoTest, HugeHeadersAreRefusedBeforeDecoding) {
  // Headers that claim billions of pixels over a few bytes of data: decoding
  // would try to allocate gigabytes, or fail with a decoder message instead.
  Bytes jpeg = encode_jpeg(quadrant_image());
  const std::size_t sof = sof0_offset(jpeg);
  set_u16_be(jpeg, sof + 5, 60000);  // height
  set_u16_be(jpeg, sof + 7, 60000);  // width
  std::string message = error_message_of([&] { decode_image(jpeg, "huge.jpg"); });
  EXPECT_TRUE(starts_with(message, "huge.jpg: image is too large: 60000x60000 is 3600000000 pixels")) << message;

  Bytes png = encode(".png", quadrant_image());
  set_u32_be(png, png_width_offset, 100000);
  set_u32_be(png, png_height_offset, 100000);
  message = error_message_of([&] { decode_image(png, "huge.png"); });
  EXPECT_TRUE(starts_with(message, "huge.png: image is too large: 100000x100000")) << message;
}

TEST_F(ImageIoTest, ZeroSizedImagesAreRefused) {
  Bytes jpeg = encode_jpeg(quadrant_image());
  set_u16_be(jpeg, sof0_offset(jpeg) + 5, 0);
  std::string message = error_message_of([&] { decode_image(jpeg, "flat.jpg"); });
  EXPECT_EQ(message, "flat.jpg: image has zero width or height (48x0)");

  Bytes png = encode(".png", quadrant_image());
  set_u32_be(png, png_width_offset, 0);
  message = error_message_of([&] { decode_image(png, "thin.png"); });
  EXPECT_EQ(message, "thin.png: image has zero width or height (0x32)");
}

TEST_F(ImageIoTest, PngWithoutHeaderChunkIsCorrupt) {
  Bytes png = encode(".png", quadrant_image());
  png[12] = 'X';  // IHDR -> XHDR
  const std::string message = error_message_of([&] { decode_image(png, "headless.png"); });
  EXPECT_TRUE(starts_with(message, "headless.png: corrupt PNG")) << message;
}

TEST_F(ImageIoTest, MutatedFilesNeverCrash) {
  // Every outcome is an image or an ImageError; nothing else escapes.
  ::testing::internal::CaptureStderr();  // libpng and OpenCV print hundreds of complaints
  std::mt19937 generator(99);
  const std::array<Bytes, 2> originals = {encode_jpeg(noise_image(24, 24, CV_8UC3)),
                                          encode(".png", noise_image(24, 24, CV_8UC4))};
  for (const Bytes& original : originals) {
    for (int round = 0; round < 200; ++round) {
      Bytes mutated = original;
      for (int flips = 0; flips < 4; ++flips)
        mutated[generator() % mutated.size()] = static_cast<std::uint8_t>(generator());
      try {
        const cv::Mat image = decode_image(mutated, "mutated");
        EXPECT_EQ(image.type(), CV_8UC3);
      } catch (const ImageError&) {
      }
    }
  }
  ::testing::internal::GetCapturedStderr();
}

// --- the shared photographs -----------------------------------------------

TEST(ImageIoTestData, SharedPhotosReadAsUprightBgr) {
#ifndef SAFELYNX_TESTDATA_DIR
  GTEST_SKIP() << "SAFELYNX_TESTDATA_DIR is not defined";
#else
  const fs::path root = SAFELYNX_TESTDATA_DIR;
  if (!fs::is_directory(root / "faces") || !fs::is_directory(root / "scenes"))
    GTEST_SKIP() << "shared test data not found at " << root << " (faces/ and scenes/)";
  int images = 0;
  for (const char* folder : {"faces", "scenes"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      const std::string extension = entry.path().extension().string();
      if (!entry.is_regular_file() || (extension != ".jpg" && extension != ".png")) continue;
      SCOPED_TRACE(entry.path().string());
      ++images;
      const cv::Mat image = read_image(entry.path());
      ASSERT_EQ(image.type(), CV_8UC3);
      // The reference (jpeg-js / pngjs) ignores EXIF; these photos agree with it
      // only because none of them is stored rotated.
      std::ifstream in(entry.path(), std::ios::binary);
      const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(jpeg_exif_orientation(bytes), 1) << "a rotated photo: results will differ from the reference";
      // OpenCV's plain reading, alpha dropped: the same PNG pixels; JPEG pixels
      // differ by chroma upsampling and rounding only (jpeg-js's conversion).
      const cv::Mat unchanged = cv::imread(entry.path().string(), cv::IMREAD_UNCHANGED);
      ASSERT_EQ(unchanged.size(), image.size());
      cv::Mat expected = unchanged;
      if (unchanged.channels() == 4) cv::cvtColor(unchanged, expected, cv::COLOR_BGRA2BGR);
      ASSERT_EQ(expected.type(), CV_8UC3);
      if (extension == ".png") {
        EXPECT_EQ(cv::norm(expected, image, cv::NORM_INF), 0);
      } else {
        EXPECT_LT(mean_abs_difference(expected, image), 1.5);
      }
    }
  }
  EXPECT_EQ(images, 21);
#endif
}

TEST(ImageIoTestData, SharedJpegsDecodeBitIdenticallyToJpegjs) {
#ifndef SAFELYNX_TESTDATA_DIR
  GTEST_SKIP() << "SAFELYNX_TESTDATA_DIR is not defined";
#else
  const fs::path root = SAFELYNX_TESTDATA_DIR;
  if (!fs::is_directory(root / "faces") || !fs::is_directory(root / "scenes"))
    GTEST_SKIP() << "shared test data not found at " << root << " (faces/ and scenes/)";
  // FNV-1a (64-bit) of the R, G, B bytes, row by row, of jpeg-js 0.4.4's
  // decoding of each photo (`jpeg.decode(data, {useTArray: true})`, alpha
  // dropped). Two of them are progressive: rose1.jpg and obama_biden_2.jpg.
  const std::vector<std::pair<std::string, std::uint64_t>> jpegjs_hashes = {
      {"faces/alex_lacamoire/alex1.jpg", 0x9b48dc93678339d7},
      {"faces/alex_lacamoire/alex3.jpg", 0x918af271e6a4dd77},
      {"faces/biden/biden.jpg", 0xd94e13f6e17cdbc8},
      {"faces/biden/biden2.jpg", 0xad73c2b2d73fbb42},
      {"faces/kit_harington/kit1.jpg", 0xb42496c91be2ad90},
      {"faces/kit_harington/kit2.jpg", 0xc84caa351f9071b5},
      {"faces/obama/obama-480p.jpg", 0xe077e1dd6d91e834},
      {"faces/obama/obama.jpg", 0x2a725c5a8c202cad},
      {"faces/obama/obama2.jpg", 0xd7d3eb5bb0834726},
      {"faces/obama/obama3.jpg", 0x0fc3ebc30b1033bf},
      {"faces/obama/obama_small.jpg", 0xb625bade4354c1fb},
      {"faces/rose_leslie/rose1.jpg", 0x80a9bb14ac6f5877},
      {"faces/rose_leslie/rose2.jpg", 0xc6f319c6069fe7d5},
      {"scenes/kit_rose.jpg", 0x657d058c1957dd8e},
      {"scenes/kit_test.jpg", 0xc9dc1374174fa438},
      {"scenes/obama_biden_1.jpg", 0x009d149110dde511},
      {"scenes/obama_biden_2.jpg", 0x8ac7a037c4b57c87},
      {"scenes/obama_partial_face.jpg", 0x6f7e19931f17ddb2},
  };
  for (const auto& [name, expected_hash] : jpegjs_hashes) {
    SCOPED_TRACE(name);
    const cv::Mat image = read_image(root / name);
    ASSERT_EQ(image.type(), CV_8UC3);
    std::uint64_t hash = 14695981039346656037ULL;
    for (int y = 0; y < image.rows; ++y)
      for (int x = 0; x < image.cols; ++x)
        for (const int channel : {2, 1, 0}) {  // R, G, B
          hash ^= image.at<cv::Vec3b>(y, x)[channel];
          hash *= 1099511628211ULL;
        }
    EXPECT_EQ(hash, expected_hash) << "pixels differ from jpeg-js's";
  }
#endif
}

}  // namespace
