#include "vision/image_header.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace safelynx::vision {
namespace {

using Bytes = std::span<const std::uint8_t>;

std::uint16_t read_u16_be(Bytes bytes, std::size_t pos) {
  return static_cast<std::uint16_t>(bytes[pos] << 8 | bytes[pos + 1]);
}

std::uint32_t read_u32_be(Bytes bytes, std::size_t pos) {
  return static_cast<std::uint32_t>(bytes[pos]) << 24 | static_cast<std::uint32_t>(bytes[pos + 1]) << 16 |
         static_cast<std::uint32_t>(bytes[pos + 2]) << 8 | static_cast<std::uint32_t>(bytes[pos + 3]);
}

std::uint32_t read_u16_le(Bytes bytes, std::size_t pos) { return bytes[pos] | static_cast<std::uint32_t>(bytes[pos + 1]) << 8; }

std::uint32_t read_u24_le(Bytes bytes, std::size_t pos) {
  return read_u16_le(bytes, pos) | static_cast<std::uint32_t>(bytes[pos + 2]) << 16;
}

std::uint32_t read_u32_le(Bytes bytes, std::size_t pos) {
  return read_u16_le(bytes, pos) | read_u16_le(bytes, pos + 2) << 16;
}

bool has_prefix(Bytes bytes, std::size_t pos, const char* text, std::size_t length) {
  return pos + length <= bytes.size() && std::memcmp(bytes.data() + pos, text, length) == 0;
}

constexpr std::array<std::uint8_t, 8> png_signature = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

// Reads the Orientation tag from IFD0 of the TIFF block inside an EXIF APP1
// segment. Anything malformed means "no orientation" (1): a bad EXIF block
// must not make a good photo unreadable.
int parse_exif_orientation(Bytes tiff) {
  if (tiff.size() < 8) return 1;
  bool little_endian;
  if (tiff[0] == 'I' && tiff[1] == 'I') {
    little_endian = true;
  } else if (tiff[0] == 'M' && tiff[1] == 'M') {
    little_endian = false;
  } else {
    return 1;
  }
  const auto u16 = [&](std::size_t pos) -> std::uint32_t {
    return little_endian ? (tiff[pos] | tiff[pos + 1] << 8) : (tiff[pos] << 8 | tiff[pos + 1]);
  };
  const auto u32 = [&](std::size_t pos) -> std::uint32_t {
    return little_endian ? (u16(pos) | u16(pos + 2) << 16) : (u16(pos) << 16 | u16(pos + 2));
  };
  if (u16(2) != 42) return 1;
  const std::uint64_t ifd = u32(4);
  if (ifd + 2 > tiff.size()) return 1;
  const std::uint32_t entry_count = u16(ifd);
  constexpr std::uint32_t orientation_tag = 0x0112;
  constexpr std::uint32_t type_short = 3;
  constexpr std::uint32_t type_long = 4;
  for (std::uint32_t i = 0; i < entry_count; ++i) {
    const std::uint64_t entry = ifd + 2 + 12 * std::uint64_t{i};
    if (entry + 12 > tiff.size()) return 1;
    if (u16(entry) != orientation_tag) continue;
    const std::uint32_t type = u16(entry + 2);
    // The value sits left-justified in the 4-byte value field.
    const std::uint32_t value = type == type_short ? u16(entry + 8) : type == type_long ? u32(entry + 8) : 0;
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

bool is_frame_marker(std::uint8_t marker) {
  // SOF0-SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Walks the JPEG's marker segments, and the entropy-coded data after each SOS,
// up to EOI. libjpeg only warns about a file cut short and fills the rest with
// grey, so reaching EOI through the structure is how truncation is caught; an
// FFD9 inside an embedded thumbnail or entropy data does not count, and data
// after EOI (camera trailers, padding) is ignored.
ImageHeader scan_jpeg(Bytes bytes) {
  ImageHeader layout;
  bool have_frame = false;
  bool have_exif = false;
  const std::size_t size = bytes.size();
  std::size_t pos = 2;  // after SOI
  while (true) {
    // libjpeg skips stray bytes before a marker (with a warning), and any
    // number of FF fill bytes may precede the marker code.
    while (pos < size && bytes[pos] != 0xFF) ++pos;
    while (pos < size && bytes[pos] == 0xFF) ++pos;
    if (pos >= size) return layout;
    const std::uint8_t marker = bytes[pos++];
    if (marker == 0xD9) {  // EOI
      layout.structure = have_frame ? HeaderStructure::complete : HeaderStructure::no_frame_header;
      return layout;
    }
    // TEM, RST0-7 and SOI carry no length; FF00 outside a scan is junk.
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
    if (pos + 2 > size) return layout;
    const std::size_t length = read_u16_be(bytes, pos);
    if (length < 2) {
      layout.structure = HeaderStructure::bad_chunk_length;
      return layout;
    }
    if (pos + length > size) return layout;
    const Bytes payload = bytes.subspan(pos + 2, length - 2);
    if (is_frame_marker(marker) && !have_frame) {
      if (payload.size() < 6) {
        layout.structure = HeaderStructure::bad_frame_header;
        return layout;
      }
      layout.height = read_u16_be(payload, 1);
      layout.width = read_u16_be(payload, 3);
      have_frame = true;
    } else if (marker == 0xE1 && !have_exif && payload.size() >= 6 && std::memcmp(payload.data(), "Exif\0", 5) == 0) {
      // Only the first EXIF block counts (APP1 is also used for XMP).
      have_exif = true;
      layout.orientation = parse_exif_orientation(payload.subspan(6));
    }
    pos += length;
    if (marker != 0xDA) continue;
    // Entropy-coded data after SOS runs to the next marker other than a
    // stuffed FF00 or a restart marker.
    while (true) {
      const void* found = std::memchr(bytes.data() + pos, 0xFF, size - pos);
      if (found == nullptr) return layout;
      pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(found) - bytes.data());
      std::size_t code_pos = pos + 1;
      while (code_pos < size && bytes[code_pos] == 0xFF) ++code_pos;
      if (code_pos >= size) return layout;
      const std::uint8_t code = bytes[code_pos];
      if (code == 0x00 || (code >= 0xD0 && code <= 0xD7)) {
        pos = code_pos + 1;
        continue;
      }
      break;  // a real marker: the outer loop reads it from pos
    }
  }
}

// Walks the PNG chunks from IHDR to IEND. libpng can finish decoding a PNG
// that lost its tail after the last IDAT, so the missing IEND is what shows
// the truncation.
ImageHeader scan_png(Bytes bytes) {
  ImageHeader layout;
  const std::uint64_t size = bytes.size();
  std::uint64_t pos = png_signature.size();
  bool first_chunk = true;
  while (true) {
    if (pos + 8 > size) return layout;
    const std::uint64_t length = read_u32_be(bytes, pos);
    if (length > 0x7FFF'FFFF) {  // the PNG limit
      layout.structure = HeaderStructure::bad_chunk_length;
      return layout;
    }
    const Bytes type = bytes.subspan(pos + 4, 4);
    if (pos + 12 + length > size) return layout;  // 4 length + 4 type + data + 4 CRC
    if (first_chunk) {
      if (std::memcmp(type.data(), "IHDR", 4) != 0 || length != 13) {
        layout.structure = HeaderStructure::no_frame_header;
        return layout;
      }
      layout.width = read_u32_be(bytes, pos + 8);
      layout.height = read_u32_be(bytes, pos + 12);
      first_chunk = false;
    }
    if (std::memcmp(type.data(), "IEND", 4) == 0) {
      layout.structure = HeaderStructure::complete;
      return layout;
    }
    pos += 12 + length;
  }
}

// The dimensions in a VP8 (lossy) key frame header: a 3-byte frame tag, the
// start code 9D 01 2A, then 14-bit width and height (the top two bits scale).
bool read_vp8_size(Bytes payload, ImageHeader& header) {
  if (payload.size() < 10) return false;
  const bool key_frame = (payload[0] & 1) == 0;
  if (!key_frame || payload[3] != 0x9D || payload[4] != 0x01 || payload[5] != 0x2A) return false;
  const std::uint32_t width = read_u16_le(payload, 6) & 0x3FFF;
  const std::uint32_t height = read_u16_le(payload, 8) & 0x3FFF;
  if (width == 0 || height == 0) return false;  // as libwebp: no such frame
  header.width = std::max<std::uint64_t>(header.width, width);
  header.height = std::max<std::uint64_t>(header.height, height);
  return true;
}

// The dimensions in a VP8L (lossless) header: signature 2F, then width - 1
// and height - 1 in 14 bits each and a 3-bit version that must be 0.
bool read_vp8l_size(Bytes payload, ImageHeader& header) {
  if (payload.size() < 5 || payload[0] != 0x2F) return false;
  const std::uint32_t bits = read_u32_le(payload, 1);
  if (bits >> 29 != 0) return false;
  header.width = std::max<std::uint64_t>(header.width, (bits & 0x3FFF) + 1);
  header.height = std::max<std::uint64_t>(header.height, (bits >> 14 & 0x3FFF) + 1);
  return true;
}

// Walks the RIFF chunks of a WebP up to its image data: a VP8 or VP8L chunk
// first, or a VP8X chunk (canvas size and feature flags) and later the image
// data. The size checked is the larger of canvas and bitstream (libwebp
// refuses a still image where they differ, but the check must not rely on it).
ImageHeader scan_webp(Bytes bytes) {
  ImageHeader header;
  constexpr std::size_t riff_header_size = 12;  // "RIFF", size, "WEBP"
  if (bytes.size() < riff_header_size) return header;
  // The RIFF size counts what follows its own field; data past it is ignored.
  const std::uint64_t riff_end = 8 + std::uint64_t{read_u32_le(bytes, 4)};
  const std::uint64_t end = std::min<std::uint64_t>(riff_end, bytes.size());
  std::uint64_t pos = riff_header_size;
  bool extended = false;
  while (pos + 8 <= end) {
    const std::uint64_t chunk_size = read_u32_le(bytes, static_cast<std::size_t>(pos + 4));
    const std::uint64_t payload_pos = pos + 8;
    const bool first = pos == riff_header_size;
    const bool fits = chunk_size <= end - payload_pos;
    const Bytes payload = bytes.subspan(static_cast<std::size_t>(payload_pos),
                                        static_cast<std::size_t>(fits ? chunk_size : end - payload_pos));
    const bool is_vp8 = has_prefix(bytes, static_cast<std::size_t>(pos), "VP8 ", 4);
    const bool is_vp8l = has_prefix(bytes, static_cast<std::size_t>(pos), "VP8L", 4);
    if (first && has_prefix(bytes, static_cast<std::size_t>(pos), "VP8X", 4)) {
      if (payload.size() < 10) {
        header.structure = fits ? HeaderStructure::bad_frame_header : HeaderStructure::truncated;
        return header;
      }
      constexpr std::uint8_t animation_flag = 0x02;
      // 24-bit canvas width - 1 and height - 1: at most 2^24 each.
      header.width = std::uint64_t{read_u24_le(payload, 4)} + 1;
      header.height = std::uint64_t{read_u24_le(payload, 7)} + 1;
      if (payload[0] & animation_flag) {
        header.structure = HeaderStructure::animated;
        return header;
      }
      extended = true;
    } else if (is_vp8 || is_vp8l) {
      if (!first && !extended) {
        header.structure = HeaderStructure::no_frame_header;
        return header;
      }
      // A bitstream header cut short reads as truncated, not as malformed.
      const bool read = is_vp8 ? read_vp8_size(payload, header) : read_vp8l_size(payload, header);
      if (!read) {
        header.structure = !fits && payload.size() < (is_vp8 ? 10u : 5u) ? HeaderStructure::truncated
                                                                          : HeaderStructure::bad_frame_header;
        return header;
      }
      header.structure = fits ? HeaderStructure::complete : HeaderStructure::truncated;
      return header;
    } else if (first) {
      header.structure = HeaderStructure::no_frame_header;
      return header;
    }
    if (!fits) return header;  // truncated
    pos = payload_pos + chunk_size + (chunk_size & 1);  // chunks are padded to an even size
  }
  // No image data: in a file cut short (truncated), or in one that has none.
  if (riff_end > bytes.size()) return header;
  header.structure = HeaderStructure::no_frame_header;
  return header;
}

}  // namespace

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::jpeg:
      return "JPEG";
    case ImageFormat::png:
      return "PNG";
    case ImageFormat::webp:
      return "WebP";
    case ImageFormat::gif:
      return "GIF";
    case ImageFormat::bmp:
      return "BMP";
    case ImageFormat::tiff:
      return "TIFF";
    case ImageFormat::heif:
      return "HEIF/AVIF";
    case ImageFormat::other:
      break;
  }
  return "unknown";
}

bool is_accepted_image_format(ImageFormat format) {
  return format == ImageFormat::jpeg || format == ImageFormat::png || format == ImageFormat::webp;
}

ImageFormat sniff_image_format(std::span<const std::uint8_t> bytes) {
  // SOI alone is enough to call it a JPEG, so that one cut after a few bytes is
  // reported as truncated rather than as "not an image"; likewise a PNG
  // signature cut short.
  if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) return ImageFormat::jpeg;
  const std::size_t signature_bytes = std::min(bytes.size(), png_signature.size());
  if (signature_bytes >= 4 && std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(signature_bytes),
                                         png_signature.begin()))
    return ImageFormat::png;
  if (has_prefix(bytes, 0, "RIFF", 4) && has_prefix(bytes, 8, "WEBP", 4)) return ImageFormat::webp;
  if (has_prefix(bytes, 0, "GIF8", 4)) return ImageFormat::gif;
  if (has_prefix(bytes, 0, "BM", 2)) return ImageFormat::bmp;
  if (has_prefix(bytes, 0, "II*\0", 4) || has_prefix(bytes, 0, "MM\0*", 4)) return ImageFormat::tiff;
  if (has_prefix(bytes, 4, "ftyp", 4)) {
    for (const char* brand : {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1", "avif", "avis"})
      if (has_prefix(bytes, 8, brand, 4)) return ImageFormat::heif;
  }
  return ImageFormat::other;
}

ImageHeader read_image_header(std::span<const std::uint8_t> bytes) {
  const ImageFormat format = sniff_image_format(bytes);
  ImageHeader header;
  switch (format) {
    case ImageFormat::jpeg:
      header = scan_jpeg(bytes);
      break;
    case ImageFormat::png:
      header = scan_png(bytes);
      break;
    case ImageFormat::webp:
      header = scan_webp(bytes);
      break;
    default:
      break;
  }
  header.format = format;
  return header;
}

}  // namespace safelynx::vision
