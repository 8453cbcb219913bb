// The built web UI (web/dist: index.html and assets/<content hash>/...),
// served from a directory as the Router's fallback (Router::set_fallback):
//
// - a path whose last segment has no dot ("/", "/profiles/123") is a page of
//   the single-page app: index.html, or 503 and a short page saying how to
//   build the UI when the directory has none;
// - any other path is a file under the directory; a missing one is 404.
//   Files under /assets/ are cached for a year (their folder is named by
//   their content), everything else is revalidated (no-cache);
// - every file has a strong ETag (a SHA-256 of its content) and
//   If-None-Match answers 304;
// - HTML answers carry a Content-Security-Policy and Referrer-Policy, every
//   file X-Content-Type-Options: nosniff;
// - paths under the API's prefixes (/api, /metrics, /ws) are never the UI's:
//   the API's JSON 404.
//
// Paths are refused before they reach the file system when a segment is "."
// or ".." or has a backslash or NUL (400); a file is served only when its
// canonical path (symbolic links resolved) lies inside the canonical root,
// it is a regular file and no segment starts with a dot (404 otherwise).
// Files are read whole for each request (no cache in memory) and must not
// exceed max_file_bytes. The directory is looked at per request, so a UI
// built while the server runs is served without a restart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "server/http_types.hpp"

namespace safelynx::server {

// How to build the UI, from the root of a source checkout: the 503 page and
// the start-up warning say it.
inline constexpr std::string_view kWebUiBuildCommand = "npm --prefix web ci && npm --prefix web run build";

// The Content-Security-Policy of HTML answers: only this origin's scripts,
// styles and connections (WebSocket included); no plugins, no framing.
inline constexpr std::string_view kWebUiContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

struct WebUiOptions {
  std::filesystem::path root;  // the built UI: index.html, assets/
  // Paths whose first segment is one of these belong to the API: an unknown
  // one answers the JSON 404, never index.html.
  std::set<std::string> api_prefixes = {"api", "metrics", "ws"};
  // A larger file is not served: the request fails with 500 and the server
  // logs the file and the limit. UI files are far smaller; the limit bounds
  // the memory a request may take.
  std::uint64_t max_file_bytes = 8u << 20;
};

class WebUi {
 public:
  explicit WebUi(WebUiOptions options);

  // Answers a GET or HEAD (HEAD: the server drops the body); another method
  // is 405. Throws ApiError (400) for a path that is refused and
  // std::runtime_error for a file over max_file_bytes.
  HttpResponse serve(const HttpRequest& request) const;

  // Whether the root holds index.html (the UI is built).
  bool has_index() const;
  const std::filesystem::path& root() const { return options_.root; }

 private:
  WebUiOptions options_;
};

// The Content-Type for a file name, by its extension (case-insensitive);
// application/octet-stream for an unknown one.
std::string web_content_type(std::string_view file_name);

}  // namespace safelynx::server
