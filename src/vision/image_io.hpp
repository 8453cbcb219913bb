// Reading photos for the face engine: EXIF orientation applied, grayscale,
// RGBA and 16-bit images converted to 8-bit BGR, and every kind of bad file
// answered with an ImageError that says what is wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>

#include <opencv2/core.hpp>

namespace safelynx::vision {

class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The image has more pixels than ImageReadOptions::max_pixels allows.
class ImageTooLargeError : public ImageError {
 public:
  using ImageError::ImageError;
};

// The data is not in a format that is read (JPEG, PNG, WebP): another image
// format (TIFF, GIF, BMP, HEIF...), an animated WebP, or not an image at all.
class UnsupportedImageFormatError : public ImageError {
 public:
  using ImageError::ImageError;
};

struct ImageReadOptions {
  // Images with more pixels than this are refused from their header, before
  // any pixel is decoded (image_header.hpp).
  std::uint64_t max_pixels = 40'000'000;
};

// Decodes a JPEG, PNG or WebP image held in memory; other formats are refused
// (UnsupportedImageFormatError) without being decoded. `label` names the
// image in error messages. Returns an 8-bit, 3-channel BGR image:
// grayscale is replicated, alpha is dropped (not composited), 16-bit samples
// are scaled by 1/257 and rounded, and a JPEG's EXIF orientation is applied.
// YCbCr and grayscale JPEGs are decoded bit-identically to the reference
// decoder, jpeg-js 0.4.4: libjpeg's entropy decoding, then jpeg-js's own IDCT,
// chroma replication and YCbCr -> RGB formula (jpeg_js_compatible_decoder.hpp);
// anything libjpeg only warns about (corrupt data, a premature end) is an
// ImageError quoting libjpeg. Other JPEGs (CMYK, YCCK, RGB-coded), PNG and
// WebP are decoded by OpenCV.
cv::Mat decode_image(std::span<const std::uint8_t> bytes, const std::string& label,
                     const ImageReadOptions& options = {});

// Reads and decodes an image file; throws ImageError for a missing, empty,
// unreadable, non-image, truncated or too large file.
cv::Mat read_image(const std::filesystem::path& path, const ImageReadOptions& options = {});

// The EXIF Orientation tag (1-8) of a JPEG held in memory; 1 when the bytes
// are not a JPEG, carry no EXIF block, or hold a missing or invalid tag.
// decode_image applies exactly this value.
int jpeg_exif_orientation(std::span<const std::uint8_t> bytes);

}  // namespace safelynx::vision
