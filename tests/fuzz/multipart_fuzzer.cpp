// libFuzzer target for parse_multipart: the first line of the input is the
// Content-Type header, the rest the body. Any input must either parse into
// parts whose bytes all come from the body, or throw the API's 400; nothing
// else (no crash, no other exception, no read past the input).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/http_types.hpp"
#include "server/multipart.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view content_type = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
  try {
    std::size_t bytes = 0;
    for (const auto& part : safelynx::server::parse_multipart(content_type, body)) {
      if (part.name.empty()) std::abort();  // a part without a name must be refused
      bytes += part.body.size();
    }
    if (bytes > body.size()) std::abort();  // parts are slices of the body
  } catch (const safelynx::server::ApiError& error) {
    if (error.status() != 400) std::abort();
  }
  return 0;
}
