// File responses with Range support (HttpResponse::file): the single-range
// "Range: bytes=..." parser and a Beast body type that sends one byte range
// of a file. Internal to the server core; HttpSession (http_server.cpp)
// answers 200, 206 or 416 with them.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/file.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace safelynx::server::detail {

enum class RangeKind { kNone, kSatisfiable, kUnsatisfiable };

// A single "bytes=a-b", "bytes=a-" or "bytes=-n" range of a file of `size`
// bytes; when satisfiable, [first, last] (inclusive) within the file. Several
// ranges or an invalid header are ignored (kNone: a full 200 answer), as RFC
// 9110 allows.
RangeKind parse_range(std::string_view header, std::uint64_t size, std::uint64_t& first, std::uint64_t& last);

// A body type that streams [offset, offset + length) of a file, for 206
// responses (http::file_body always sends the whole file).
struct FileRangeBody {
  struct value_type {
    boost::beast::file file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& body) { return body.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body), remain_(body.length) {}

    void init(boost::beast::error_code& ec);
    // The next piece of the range; the error net::error::eof when the file
    // ends before the range does (it shrank under us).
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec);

   private:
    value_type& body_;
    std::uint64_t remain_;
    char buffer_[16 * 1024];
  };
};

}  // namespace safelynx::server::detail
