// The Range header parser and FileRangeBody's reading, for file responses.
#include "server/file_body.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

#include <boost/asio/error.hpp>
#include <boost/beast/core/string.hpp>

namespace safelynx::server::detail {

namespace {

bool parse_u64(std::string_view text, std::uint64_t& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

}  // namespace

RangeKind parse_range(std::string_view header, std::uint64_t size, std::uint64_t& first, std::uint64_t& last) {
  constexpr std::string_view kPrefix = "bytes=";
  // Boost 1.74's beast::iequals takes boost::string_view, not std's.
  if (header.size() <= kPrefix.size() || !boost::beast::iequals(boost::beast::string_view(header.data(), kPrefix.size()),
                                                                boost::beast::string_view(kPrefix.data(), kPrefix.size()))) {
    return RangeKind::kNone;
  }
  const std::string_view spec = header.substr(kPrefix.size());
  if (spec.find(',') != std::string_view::npos) return RangeKind::kNone;
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeKind::kNone;
  const std::string_view a = spec.substr(0, dash);
  const std::string_view b = spec.substr(dash + 1);
  if (a.empty()) {
    std::uint64_t suffix = 0;
    if (!parse_u64(b, suffix)) return RangeKind::kNone;
    if (suffix == 0 || size == 0) return RangeKind::kUnsatisfiable;
    first = size - std::min(suffix, size);
    last = size - 1;
    return RangeKind::kSatisfiable;
  }
  if (!parse_u64(a, first)) return RangeKind::kNone;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!parse_u64(b, last) || last < first) {
    return RangeKind::kNone;
  }
  if (first >= size) return RangeKind::kUnsatisfiable;
  last = std::min(last, size - 1);
  return RangeKind::kSatisfiable;
}

void FileRangeBody::writer::init(boost::beast::error_code& ec) { body_.file.seek(body_.offset, ec); }

boost::optional<std::pair<FileRangeBody::writer::const_buffers_type, bool>> FileRangeBody::writer::get(
    boost::beast::error_code& ec) {
  ec = {};
  if (remain_ == 0) return boost::none;
  const auto amount = static_cast<std::size_t>(std::min<std::uint64_t>(remain_, sizeof buffer_));
  const std::size_t read = body_.file.read(buffer_, amount, ec);
  if (ec) return boost::none;
  if (read == 0) {  // the file shrank under us
    ec = boost::asio::error::eof;
    return boost::none;
  }
  remain_ -= read;
  return {{const_buffers_type(buffer_, read), remain_ > 0}};
}

}  // namespace safelynx::server::detail
