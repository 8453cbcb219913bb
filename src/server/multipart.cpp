#include "server/multipart.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "server/http_types.hpp"

namespace safelynx::server {

namespace {

[[noreturn]] void malformed(const std::string& message) {
  throw ApiError(400, "malformed_multipart", message);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Parameters after the first ';' of a header value such as
// `form-data; name="a"; filename="x;y.jpg"` or `multipart/form-data; boundary=b`.
// Names are lowercased; quoted values may contain ';' and backslash escapes.
std::map<std::string, std::string> header_params(std::string_view value) {
  std::map<std::string, std::string> params;
  std::size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;  // past ';'
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const std::size_t name_start = i;
    while (i < value.size() && value[i] != '=' && value[i] != ';') ++i;
    const std::string name = lowercase(trim(value.substr(name_start, i - name_start)));
    std::string param_value;
    if (i < value.size() && value[i] == '=') {
      ++i;
      while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
      if (i < value.size() && value[i] == '"') {
        ++i;
        while (i < value.size() && value[i] != '"') {
          if (value[i] == '\\' && i + 1 < value.size()) ++i;
          param_value += value[i++];
        }
        if (i >= value.size()) malformed("unterminated quoted string in header parameter '" + name + "'");
        ++i;  // closing quote
      } else {
        const std::size_t start = i;
        while (i < value.size() && value[i] != ';') ++i;
        param_value = std::string(trim(value.substr(start, i - start)));
      }
    }
    if (!name.empty()) params.emplace(name, std::move(param_value));
    i = value.find(';', i);
  }
  return params;
}

bool is_transport_padding(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string media_type(std::string_view content_type) {
  return lowercase(trim(content_type.substr(0, content_type.find(';'))));
}

std::vector<MultipartPart> parse_multipart(std::string_view content_type, std::string_view body) {
  if (media_type(content_type).rfind("multipart/", 0) != 0) {
    malformed("expected a multipart/form-data body, got Content-Type '" + std::string(content_type) + "'");
  }
  const auto params = header_params(content_type);
  const auto boundary_it = params.find("boundary");
  if (boundary_it == params.end() || boundary_it->second.empty()) {
    malformed("the Content-Type has no boundary parameter");
  }
  if (boundary_it->second.size() > 200) malformed("the multipart boundary is longer than 200 characters");
  const std::string dash_boundary = "--" + boundary_it->second;
  const std::string delimiter = "\r\n" + dash_boundary;

  // After a delimiter: "--" closes the body; otherwise optional padding and
  // CRLF start a part. Returns the position after the line, npos when neither
  // (then the bytes were part content that merely looked like a boundary).
  enum class After { kPart, kClose, kNeither };
  auto classify = [&](std::size_t pos, std::size_t& next) {
    if (body.substr(pos, 2) == "--") {
      next = pos + 2;
      return After::kClose;
    }
    while (pos < body.size() && is_transport_padding(body[pos])) ++pos;
    if (body.substr(pos, 2) == "\r\n") {
      next = pos + 2;
      return After::kPart;
    }
    return After::kNeither;
  };

  // Finds the next delimiter line starting at or after `from`: the content
  // ends before its CRLF. Boundary-like bytes not followed by "--" or a line
  // end are content (binary files may contain anything).
  auto find_delimiter = [&](std::size_t from, std::size_t& line_end, After& kind) {
    for (std::size_t pos = body.find(delimiter, from); pos != std::string_view::npos;
         pos = body.find(delimiter, pos + 1)) {
      kind = classify(pos + delimiter.size(), line_end);
      if (kind != After::kNeither) return pos;
    }
    return std::string_view::npos;
  };

  // The first delimiter may start the body (no preamble) or follow a preamble.
  std::size_t cursor = 0;
  After kind = After::kNeither;
  if (body.substr(0, dash_boundary.size()) == dash_boundary) {
    kind = classify(dash_boundary.size(), cursor);
  }
  if (kind == After::kNeither) {
    if (find_delimiter(0, cursor, kind) == std::string_view::npos) {
      malformed("the body does not contain the boundary '" + boundary_it->second + "'");
    }
  }

  std::vector<MultipartPart> parts;
  while (kind == After::kPart) {
    const std::size_t headers_end = body.find("\r\n\r\n", cursor);
    // A part with no headers at all starts directly with the blank line.
    std::string_view header_block;
    std::size_t content_start = 0;
    if (body.substr(cursor, 2) == "\r\n") {
      content_start = cursor + 2;
    } else if (headers_end == std::string_view::npos) {
      malformed("part " + std::to_string(parts.size() + 1) + " has no end of headers (blank line)");
    } else {
      header_block = body.substr(cursor, headers_end - cursor);
      content_start = headers_end + 4;
    }

    MultipartPart part;
    bool has_disposition = false;
    std::size_t line_start = 0;
    while (line_start < header_block.size()) {
      std::size_t line_end = header_block.find("\r\n", line_start);
      if (line_end == std::string_view::npos) line_end = header_block.size();
      const std::string_view line = header_block.substr(line_start, line_end - line_start);
      line_start = line_end + 2;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        malformed("part " + std::to_string(parts.size() + 1) + " has a header line without ':'");
      }
      const std::string name = lowercase(trim(line.substr(0, colon)));
      const std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (media_type(value) != "form-data") {
          malformed("part " + std::to_string(parts.size() + 1) + " has Content-Disposition '" + std::string(value) +
                    "', expected form-data");
        }
        has_disposition = true;
        const auto disposition = header_params(value);
        if (const auto it = disposition.find("name"); it != disposition.end()) part.name = it->second;
        if (const auto it = disposition.find("filename"); it != disposition.end()) part.filename = it->second;
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition) malformed("part " + std::to_string(parts.size() + 1) + " has no Content-Disposition header");
    if (part.name.empty()) malformed("part " + std::to_string(parts.size() + 1) + " has no field name");

    const std::size_t content_end = find_delimiter(content_start, cursor, kind);
    if (content_end == std::string_view::npos) {
      malformed("missing closing boundary delimiter '" + dash_boundary + "--'");
    }
    part.body = std::string(body.substr(content_start, content_end - content_start));
    parts.push_back(std::move(part));
  }
  // kind == kClose: whatever follows is the epilogue, ignored.
  return parts;
}

}  // namespace safelynx::server
