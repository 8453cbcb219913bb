#include "server/web_ui.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "server/http_server.hpp"  // PathPattern

namespace safelynx::server {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";
// Files under /assets/ live in a folder named by their content's hash: a new
// build makes new URLs, so a cached copy never goes stale.
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

struct TypeByExtension {
  std::string_view extension;
  std::string_view type;
};

constexpr TypeByExtension kContentTypes[] = {
    {"html", kHtml},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"ttf", "font/ttf"},
    {"wasm", "application/wasm"},
};

void add_security_headers(HttpResponse& response) {
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (response.content_type.starts_with("text/html")) {
    response.headers.emplace_back("Content-Security-Policy", std::string(kWebUiContentSecurityPolicy));
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
}

// A strong validator: the first 128 bits of the content's SHA-256, in quotes.
std::string strong_etag(std::string_view content) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(content.data(), content.size(), digest, &length, EVP_sha256(), nullptr) != 1 || length < 16) {
    throw std::runtime_error("web UI: SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (unsigned int i = 0; i < 16; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 0x0f];
  }
  return tag + "\"";
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110
// section 13.1.2: W/"x" matches "x").
bool if_none_match_names(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view tag = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

// The canonical path that `segments` name under `root`, when it lies inside
// the canonical root: symbolic links are resolved first, so one that leads
// out of the root is refused. Empty segments ("a//b", "dir/") and hidden
// names (".env", ".git") name nothing.
std::optional<fs::path> path_inside(const fs::path& root, const std::vector<std::string>& segments) {
  std::error_code error;
  const fs::path real_root = fs::canonical(root, error);
  if (error) return std::nullopt;
  fs::path candidate = real_root;
  for (const std::string& segment : segments) {
    if (segment.empty() || segment.front() == '.') return std::nullopt;
    candidate /= segment;
  }
  fs::path real = fs::canonical(candidate, error);
  if (error) return std::nullopt;
  const auto mismatch = std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
  if (mismatch.first != real_root.end()) return std::nullopt;
  return real;
}

// The content of the regular file at `path`; nullopt when it is not one.
// O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the
// path was just resolved, a link in its place now is refused.
std::optional<std::string> read_regular_file(const fs::path& path, std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes) {
    throw std::runtime_error("web UI file " + path.string() + " has " + std::to_string(size) +
                             " bytes, more than the " + std::to_string(max_bytes) + " a web UI file may have");
  }
  std::string content(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::read(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot read web UI file " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;  // it shrank meanwhile
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

// The file `segments` name under the root, with its caching headers and
// ETag; 304 when If-None-Match names it. nullopt when there is no such file.
std::optional<HttpResponse> file_response(const HttpRequest& request, const WebUiOptions& options,
                                          const std::vector<std::string>& segments, bool immutable) {
  const auto path = path_inside(options.root, segments);
  if (!path) return std::nullopt;
  auto content = read_regular_file(*path, options.max_file_bytes);
  if (!content) return std::nullopt;
  HttpResponse response;
  response.content_type = web_content_type(segments.back());
  const std::string etag = strong_etag(*content);
  response.headers.emplace_back("ETag", etag);
  response.headers.emplace_back("Cache-Control", immutable ? kImmutable : "no-cache");
  add_security_headers(response);
  if (if_none_match_names(request.header("if-none-match"), etag)) {
    response.status = 304;  // the same headers, no body and no Content-Type
    response.content_type.clear();
  } else {
    response.body = std::move(*content);
  }
  return response;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

// 503 for the pages while the root has no index.html. The page does not name
// the directory (the start-up warning in the log does).
HttpResponse not_built_page() {
  HttpResponse response;
  response.status = 503;
  response.content_type = std::string(kHtml);
  response.body =
      "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Safelynx: web UI not built</title></head>\n"
      "<body>\n<h1>The Safelynx web UI is not built</h1>\n"
      "<p>Build it in the Safelynx source checkout with</p>\n<pre>" +
      html_escape(kWebUiBuildCommand) +
      "</pre>\n<p>and reload this page (no restart needed). The server's log names the folder it serves the UI "
      "from (<code>[server] web_dir</code>). The API under <code>/api/v1</code> works meanwhile.</p>\n</body>\n</html>\n";
  response.headers.emplace_back("Cache-Control", "no-store");
  add_security_headers(response);
  return response;
}

}  // namespace

std::string web_content_type(std::string_view file_name) {
  const std::size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    std::string extension(file_name.substr(dot + 1));
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& entry : kContentTypes)
      if (entry.extension == extension) return std::string(entry.type);
  }
  return "application/octet-stream";
}

WebUi::WebUi(WebUiOptions options) : options_(std::move(options)) {}

bool WebUi::has_index() const {
  std::error_code error;
  const auto index = path_inside(options_.root, {"index.html"});
  return index && fs::is_regular_file(*index, error);
}

HttpResponse WebUi::serve(const HttpRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    auto response = error_response(405, "method_not_allowed",
                                   request.method + " is not allowed on " + request.path + " (allowed: GET, HEAD)");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  // request.path is percent-decoded once (by the server): "%2e%2e" is ".."
  // here, and "%252e" stays the literal "%2e".
  const std::vector<std::string> segments = PathPattern::split(request.path);
  if (options_.api_prefixes.contains(segments.front())) {
    return error_response(404, "not_found", "no route for " + request.path);
  }
  for (const std::string& segment : segments) {
    if (segment == "." || segment == ".." || segment.find_first_of(std::string_view("\\\0", 2)) != std::string::npos) {
      throw ApiError(400, "bad_request", "the path must not have '.' or '..' segments, backslashes or NUL bytes");
    }
  }
  const bool asset = segments.front() == "assets";
  if (!asset && segments.back().find('.') == std::string::npos) {
    // A page of the single-page app ("/", "/profiles/123"): its code routes it.
    if (auto index = file_response(request, options_, {"index.html"}, false)) return std::move(*index);
    return not_built_page();
  }
  if (auto file = file_response(request, options_, segments, asset)) return std::move(*file);
  return error_response(404, "not_found", "no file at " + request.path);
}

}  // namespace safelynx::server
