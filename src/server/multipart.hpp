// multipart/form-data bodies (RFC 7578), as browsers and curl -F send them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace safelynx::server {

struct MultipartPart {
  std::string name;                     // the form field name
  std::optional<std::string> filename;  // set for file fields
  std::string content_type;             // "" when the part has none
  std::string body;
};

// Parses `body` given the request's Content-Type header (which carries the
// boundary). Throws ApiError(400, "malformed_multipart", ...) saying what is
// wrong: no boundary, a missing closing delimiter, a part without
// Content-Disposition or name.
std::vector<MultipartPart> parse_multipart(std::string_view content_type, std::string_view body);

// The media type of a Content-Type header, lowercased, without parameters:
// "multipart/form-data; boundary=x" -> "multipart/form-data".
std::string media_type(std::string_view content_type);

}  // namespace safelynx::server
