// The Range header parser on its own (the HTTP answers it leads to are in
// http_server_test.cpp's FileServingTest).
#include "server/file_body.hpp"

#include <gtest/gtest.h>

namespace safelynx::server::detail {
namespace {

RangeKind kind_of(std::string_view header, std::uint64_t size) {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  return parse_range(header, size, first, last);
}

// The header names [first, last] of a file of `size` bytes.
void expect_range(std::string_view header, std::uint64_t size, std::uint64_t first, std::uint64_t last) {
  std::uint64_t parsed_first = 0;
  std::uint64_t parsed_last = 0;
  EXPECT_EQ(parse_range(header, size, parsed_first, parsed_last), RangeKind::kSatisfiable) << header;
  EXPECT_EQ(parsed_first, first) << header;
  EXPECT_EQ(parsed_last, last) << header;
}

TEST(ParseRange, BoundedOpenAndSuffixRanges) {
  expect_range("bytes=2-5", 10, 2, 5);
  expect_range("bytes=7-", 10, 7, 9);
  expect_range("bytes=-3", 10, 7, 9);
}

TEST(ParseRange, EndsPastTheFileAreClampedAndTheUnitIsCaseInsensitive) {
  expect_range("BYTES=4-1000", 10, 4, 9);
  expect_range("bytes=-1000", 10, 0, 9);
}

TEST(ParseRange, RangesOutsideTheFileAreUnsatisfiable) {
  EXPECT_EQ(kind_of("bytes=10-12", 10), RangeKind::kUnsatisfiable);
  EXPECT_EQ(kind_of("bytes=-0", 10), RangeKind::kUnsatisfiable);
  EXPECT_EQ(kind_of("bytes=-5", 0), RangeKind::kUnsatisfiable);
  EXPECT_EQ(kind_of("bytes=0-", 0), RangeKind::kUnsatisfiable);
}

TEST(ParseRange, SeveralOrMalformedRangesAreIgnored) {
  for (const char* header : {"bytes=0-1,4-5", "bytes=5-2", "bytes=a-3", "bytes=3", "bytes=", "items=0-1",
                             "bytes=1-2x", "bytes=--1", ""}) {
    EXPECT_EQ(kind_of(header, 10), RangeKind::kNone) << header;
  }
}

}  // namespace
}  // namespace safelynx::server::detail
