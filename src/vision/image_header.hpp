// An image's format and dimensions read from its header, without decoding a
// pixel. Every decode path checks the size here first: a 400 KB PNG that
// claims 20000x20000 would otherwise cost 1.2 GB once decoded. The bytes are
// hostile (uploads, browser frames): every read is bounds-checked, and no
// arithmetic on header fields can overflow. Depends on nothing but the
// standard library so that it is fuzzed on its own
// (tests/fuzz/image_header_fuzzer.cpp).
#pragma once

#include <cstdint>
#include <span>

namespace safelynx::vision {

// What the first bytes say. Only jpeg, png and webp are decoded; the others
// are named so that the refusal can say what was sent.
enum class ImageFormat { jpeg, png, webp, gif, bmp, tiff, heif, other };

// "JPEG", "PNG", "WebP", "GIF", "BMP", "TIFF", "HEIF/AVIF", "unknown".
const char* image_format_name(ImageFormat format);

// The formats photos may be in (users upload JPEG and PNG; WebP is what
// browsers save web images as). Others, TIFF among them, are refused before
// decoding: OpenCV's decoders for them read the whole image before its size
// can be checked.
bool is_accepted_image_format(ImageFormat format);
inline constexpr const char* accepted_image_formats = "JPEG, PNG or WebP";

ImageFormat sniff_image_format(std::span<const std::uint8_t> bytes);

// What the walk through the file's structure found wrong, if anything.
enum class HeaderStructure {
  complete,          // JPEG: up to EOI; PNG: up to IEND; WebP: up to the image data chunk
  truncated,         // the data ends first
  bad_chunk_length,  // a segment or chunk length that cannot be
  bad_frame_header,  // the frame header (SOF, IHDR, VP8/VP8L/VP8X) is malformed
  no_frame_header,   // no frame header where one must be
  animated,          // an animated WebP (only still images are read)
};

struct ImageHeader {
  ImageFormat format = ImageFormat::other;
  HeaderStructure structure = HeaderStructure::truncated;
  // From the frame header; 0 when none was reached. Set even when the
  // structure is not complete (a file cut after its header).
  std::uint64_t width = 0;
  std::uint64_t height = 0;
  int orientation = 1;  // a JPEG's EXIF Orientation (1-8); 1 otherwise
};

// Sniffs the format and, for JPEG, PNG and WebP, walks the structure:
// JPEG marker segments and entropy-coded data up to EOI (libjpeg only warns
// about a file cut short), PNG chunks up to IEND, WebP's RIFF chunks up to
// the image data. Linear in the size of the data; never throws.
ImageHeader read_image_header(std::span<const std::uint8_t> bytes);

}  // namespace safelynx::vision
