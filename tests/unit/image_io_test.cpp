#include "vision/image_io.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>  // setenv, unsetenv
#include <unistd.h>

#include <algorithm>
#include <array>
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

TEST_F(ImageIoTest, GrayscaleJpegIsReplicatedExactly) {
  // jpeg-js copies the decoded luma into R, G and B; OpenCV's grayscale
  // reading decodes the same luma with the same libjpeg IDCT.
  const cv::Mat gray = noise_image(40, 56, CV_8UC1);
  const Bytes jpeg = encode(".jpg", gray, {cv::IMWRITE_JPEG_QUALITY, 80});
  const cv::Mat image = decode_image(jpeg, "gray.jpg");
  ASSERT_EQ(image.type(), CV_8UC3);
  const cv::Mat luma = cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(image.size(), luma.size());
  std::vector<cv::Mat> channels;
  cv::split(image, channels);
  for (const cv::Mat& channel : channels) EXPECT_EQ(cv::norm(channel, luma, cv::NORM_INF), 0);
}

TEST_F(ImageIoTest, JpegjsConversionHelperTruncates) {
  // The expectations below rest on this helper; pin it to hand-worked values.
  EXPECT_EQ(jpegjs_bgr(100, 128, 130), cv::Vec3b(100, 98, 102));  // R = 102.804, G = 98.572: truncated, not rounded
  EXPECT_EQ(jpegjs_bgr(255, 255, 255), cv::Vec3b(255, 120, 255));  // G = 255 - 43.705 - 90.695
  EXPECT_EQ(jpegjs_bgr(0, 0, 0), cv::Vec3b(0, 135, 0));            // G = 44.049 + 91.409
}

TEST_F(ImageIoTest, ColourJpegMatchesJpegjsConversionOfLibjpegSamples) {
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

TEST_F(ImageIoTest, OtherFormatsOpenCvReadsAreAccepted) {
  const cv::Mat original = noise_image(9, 7, CV_8UC3);
  const cv::Mat image = decode_image(encode(".bmp", original), "picture.bmp");
  EXPECT_EQ(cv::norm(image, original, cv::NORM_INF), 0);
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
  for (const std::string extension : {".jpg", ".png", ".bmp"}) {
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

}  // namespace
