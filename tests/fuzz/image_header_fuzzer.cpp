// libFuzzer target for read_image_header, the check every decode path asks
// before decoding (vision/image_header.hpp): the input is the image file.
// It must never read out of bounds, overflow or throw, and what it reports
// must keep the bounds the callers rely on; a violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "vision/image_header.hpp"

namespace {

using safelynx::vision::HeaderStructure;
using safelynx::vision::ImageFormat;

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const safelynx::vision::ImageHeader header = safelynx::vision::read_image_header(bytes);
  require(header.format == safelynx::vision::sniff_image_format(bytes));
  require(header.orientation >= 1 && header.orientation <= 8);
  // Each format's fields bound its sides, so width * height cannot overflow.
  switch (header.format) {
    case ImageFormat::jpeg:
      require(header.width <= 0xFFFF && header.height <= 0xFFFF);
      break;
    case ImageFormat::png:
      require(header.width <= 0xFFFF'FFFF && header.height <= 0xFFFF'FFFF);
      break;
    case ImageFormat::webp:
      require(header.width <= (1U << 24) && header.height <= (1U << 24));
      break;
    default:  // other formats are only named, never walked
      require(header.width == 0 && header.height == 0 && header.structure == HeaderStructure::truncated);
      break;
  }
  if (header.format != ImageFormat::jpeg) require(header.orientation == 1);
  // A complete header always has a size (zero sides are refused by the callers, not here).
  if (header.structure == HeaderStructure::complete && header.format == ImageFormat::webp)
    require(header.width > 0 && header.height > 0);
  return 0;
}
