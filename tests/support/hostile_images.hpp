// Small files whose headers claim huge images, for the tests of the checks
// that must refuse them before decoding (issue 13, findings 2 and 3).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace safelynx::testing::hostile {

inline void put_u32_be(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift & 0xFF));
}

inline void put_u16_le(std::string& out, std::uint32_t value) {
  out.push_back(static_cast<char>(value & 0xFF));
  out.push_back(static_cast<char>(value >> 8 & 0xFF));
}

inline void put_u32_le(std::string& out, std::uint32_t value) {
  put_u16_le(out, value & 0xFFFF);
  put_u16_le(out, value >> 16);
}

inline void put_u24_le(std::string& out, std::uint32_t value) {
  put_u16_le(out, value & 0xFFFF);
  out.push_back(static_cast<char>(value >> 16 & 0xFF));
}

inline void append_png_chunk(std::string& png, const char* type, const std::string& data) {
  put_u32_be(png, static_cast<std::uint32_t>(data.size()));
  const std::string typed = std::string(type, 4) + data;
  png += typed;
  put_u32_be(png, static_cast<std::uint32_t>(
                      ::crc32(0, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size()))));
}

// `bytes` of zeros through `stream` with a full flush: the output depends on
// nothing before (the flush forgets the history), so equal inputs give equal
// outputs that can be repeated.
inline std::string deflate_zeros(z_stream& stream, std::size_t bytes) {
  std::vector<Bytef> input(bytes, 0);
  std::string output;
  std::vector<Bytef> buffer(1 << 16);
  stream.next_in = input.data();
  stream.avail_in = static_cast<uInt>(input.size());
  do {
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    if (::deflate(&stream, Z_FULL_FLUSH) == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    output.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - stream.avail_out);
  } while (stream.avail_out == 0);
  return output;
}

// A valid 8-bit grayscale PNG of width x height, all black. Its IDAT holds
// the whole zlib stream of zero rows, which deflate shrinks about a thousand
// times: 20000x20000 is about 400 KB, and 400 MB decoded (1.2 GB as BGR).
// Built from one compressed megabyte repeated, in milliseconds.
inline std::string black_png(std::uint32_t width, std::uint32_t height) {
  std::string header;
  put_u32_be(header, width);
  put_u32_be(header, height);
  header += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit, grayscale, deflate, no filter, no interlace

  const std::uint64_t total = std::uint64_t{height} * (std::uint64_t{width} + 1);  // a filter byte per row
  constexpr std::size_t chunk = 1 << 20;
  z_stream stream{};
  if (deflateInit(&stream, 9) != Z_OK) throw std::runtime_error("deflateInit failed");
  std::string idat;
  std::uint64_t done = 0;
  std::string repeated;
  if (total >= 3 * std::uint64_t{chunk}) {
    idat = deflate_zeros(stream, chunk);  // the zlib header and the first megabyte
    repeated = deflate_zeros(stream, chunk);
    if (deflate_zeros(stream, chunk) != repeated) throw std::runtime_error("zlib output is not repeatable");
    done = 3 * std::uint64_t{chunk};
    idat += repeated + repeated;
    for (; done + chunk <= total; done += chunk) idat += repeated;
  }
  idat += deflate_zeros(stream, static_cast<std::size_t>(total - done));
  deflateEnd(&stream);
  // A final empty fixed-Huffman block, then the Adler-32 of `total` zeros:
  // A stays 1 and B grows by 1 a byte.
  idat += std::string("\x03\x00", 2);
  put_u32_be(idat, static_cast<std::uint32_t>((total % 65521) << 16 | 1));

  std::string png("\x89PNG\r\n\x1a\n", 8);
  append_png_chunk(png, "IHDR", header);
  append_png_chunk(png, "IDAT", idat);
  append_png_chunk(png, "IEND", "");
  return png;
}

// A little-endian baseline TIFF header of width x height, 8-bit grayscale,
// one uncompressed strip, with no pixel data: TIFF is refused from its first
// bytes, whatever it claims.
inline std::string tiff_header(std::uint32_t width, std::uint32_t height) {
  std::string tiff("II*\0", 4);
  put_u32_le(tiff, 8);  // IFD0
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> entries = {
      {256, width}, {257, height}, {258, 8}, {259, 1}, {262, 1}, {273, 8}, {277, 1}, {278, height}, {279, 0}};
  put_u16_le(tiff, static_cast<std::uint32_t>(entries.size()));
  for (const auto& [tag, value] : entries) {
    put_u16_le(tiff, tag);
    put_u16_le(tiff, 4);  // LONG
    put_u32_le(tiff, 1);  // count
    put_u32_le(tiff, value);
  }
  put_u32_le(tiff, 0);  // no next IFD
  return tiff;
}

// An extended WebP (VP8X) whose canvas is width x height, with a lossless
// bitstream header of the same size (14 bits a side: at most 16384) and no
// image data after it.
inline std::string webp_header(std::uint32_t width, std::uint32_t height) {
  std::string chunks("VP8X", 4);
  put_u32_le(chunks, 10);
  chunks += std::string(4, '\0');  // flags, reserved
  put_u24_le(chunks, width - 1);
  put_u24_le(chunks, height - 1);
  chunks += "VP8L";
  put_u32_le(chunks, 6);
  chunks.push_back('\x2F');
  put_u32_le(chunks, ((width - 1) & 0x3FFF) | ((height - 1) & 0x3FFF) << 14);
  chunks.push_back('\0');  // pad to the chunk size
  std::string webp("RIFF", 4);
  put_u32_le(webp, static_cast<std::uint32_t>(4 + chunks.size()));
  return webp + "WEBP" + chunks;
}

// `jpeg` with the size in its first SOF0/SOF2 frame header replaced.
inline std::string with_jpeg_size(std::string jpeg, std::uint16_t width, std::uint16_t height) {
  std::size_t pos = 2;
  while (pos + 4 <= jpeg.size()) {
    const auto marker = static_cast<unsigned char>(jpeg[pos + 1]);
    const std::size_t length =
        static_cast<std::size_t>(static_cast<unsigned char>(jpeg[pos + 2]) << 8 | static_cast<unsigned char>(jpeg[pos + 3]));
    if (marker == 0xC0 || marker == 0xC2) {
      jpeg[pos + 5] = static_cast<char>(height >> 8);
      jpeg[pos + 6] = static_cast<char>(height & 0xFF);
      jpeg[pos + 7] = static_cast<char>(width >> 8);
      jpeg[pos + 8] = static_cast<char>(width & 0xFF);
      return jpeg;
    }
    pos += 2 + length;
  }
  throw std::runtime_error("no SOF0/SOF2 in the JPEG");
}

}  // namespace safelynx::testing::hostile
