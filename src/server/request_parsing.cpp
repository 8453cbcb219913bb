// From a Beast request to the HttpRequest handlers see, and the checks the
// server makes on a request before answering it: RFC 9112 framing, the
// Origin of a WebSocket upgrade, X-Forwarded-For from trusted proxies.
#include "server/request_parsing.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

namespace safelynx::server::detail {

namespace http = boost::beast::http;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes; false on a malformed escape or an encoded NUL (which could
// truncate paths handed to C APIs).
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int high = hex_value(in[i + 1]);
      const int low = hex_value(in[i + 2]);
      if (high < 0 || low < 0) return false;
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return false;
      out += decoded;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The client behind trusted proxies: walking X-Forwarded-For from the right
// (each proxy appends the address it saw), the first that is not a trusted
// proxy. `peer` when it is no trusted proxy itself or sent no header.
std::string forwarded_client(const std::string& peer, const std::string& forwarded_for,
                             const std::vector<std::string>& trusted) {
  const auto is_trusted = [&](std::string_view address) {
    return std::find(trusted.begin(), trusted.end(), address) != trusted.end();
  };
  if (!is_trusted(peer) || forwarded_for.empty()) return peer;
  std::string_view rest(forwarded_for);
  std::string client = peer;
  while (!rest.empty()) {
    const std::size_t comma = rest.rfind(',');
    const std::string_view entry = trimmed(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    if (entry.empty() || entry.size() > 64) break;
    client = std::string(entry);
    if (!is_trusted(entry)) break;
  }
  return client;
}

// Boost 1.74's beast::iequals takes boost::string_view, not std's.
bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// "http://Host:port" and "https://host" both name the host "host:port"/"host".
std::string_view origin_host(std::string_view origin) {
  for (std::string_view scheme : {"http://", "https://"})
    if (origin.size() > scheme.size() && same_ignoring_case(origin.substr(0, scheme.size()), scheme))
      return origin.substr(scheme.size());
  return {};
}

}  // namespace

HttpRequest to_http_request(const http::request<http::string_body>& req, const std::string& client_address,
                            const std::vector<std::string>& trusted_proxies) {
  HttpRequest request;
  request.method = std::string(req.method_string());
  request.client_address = client_address;
  const std::string_view target(req.target().data(), req.target().size());
  if (target.empty() || target.front() != '/') {
    throw ApiError(400, "bad_request", "the request target must be an absolute path");
  }
  const std::size_t question = target.find('?');
  if (!percent_decode(target.substr(0, question), false, request.path)) {
    throw ApiError(400, "bad_request", "the request path has an invalid percent escape");
  }
  if (question != std::string_view::npos) {
    std::string_view rest = target.substr(question + 1);
    const std::size_t hash = rest.find('#');
    if (hash != std::string_view::npos) rest = rest.substr(0, hash);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (pair.empty()) continue;
      const std::size_t equals = pair.find('=');
      std::string name;
      std::string value;
      if (!percent_decode(pair.substr(0, equals), true, name) ||
          (equals != std::string_view::npos && !percent_decode(pair.substr(equals + 1), true, value))) {
        throw ApiError(400, "bad_request", "the query string has an invalid percent escape");
      }
      request.query.emplace(std::move(name), std::move(value));
    }
  }
  for (const auto& field : req) {
    std::string name = lowercase(std::string_view(field.name_string().data(), field.name_string().size()));
    const std::string value(field.value());
    // Repeated headers are combined as RFC 9110 section 5.3 allows.
    auto [it, inserted] = request.headers.emplace(std::move(name), value);
    if (!inserted) it->second += ", " + value;
  }
  if (!trusted_proxies.empty())
    request.client_address = forwarded_client(client_address, request.header("x-forwarded-for"), trusted_proxies);
  return request;
}

bool origin_allowed(const HttpRequest& request, const std::vector<std::string>& allowed) {
  const std::string& origin = request.header("origin");
  if (origin.empty()) return true;
  for (const std::string& entry : allowed)
    if (same_ignoring_case(entry, origin)) return true;
  const std::string_view host = origin_host(origin);
  const std::string& own = request.header("host");
  return !host.empty() && !own.empty() && same_ignoring_case(host, own);
}

std::optional<ApiError> framing_error(const http::request<http::string_body>& req) {
  const auto coding = req.find(http::field::transfer_encoding);
  if (coding == req.end()) return std::nullopt;
  if (req.find(http::field::content_length) != req.end())
    return ApiError(400, "bad_request", "a request must not have both Transfer-Encoding and Content-Length");
  if (req.version() < 11) return ApiError(400, "bad_request", "Transfer-Encoding is not allowed in HTTP/1.0");
  const std::string_view value = trimmed(std::string_view(coding->value().data(), coding->value().size()));
  if (!same_ignoring_case(value, "chunked") || req.count(http::field::transfer_encoding) > 1)
    return ApiError(501, "not_implemented",
                    "Transfer-Encoding '" + std::string(value.substr(0, 64)) + "' is not supported; send chunked or Content-Length");
  return std::nullopt;
}

}  // namespace safelynx::server::detail
