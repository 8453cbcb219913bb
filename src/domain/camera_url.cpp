#include "domain/camera_url.hpp"

#include <algorithm>

namespace safelynx {

std::string redact_credentials(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto authority = scheme + 3;
  const auto path = url.find('/', authority);
  const auto at = url.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + "***@" + url.substr(at + 1);
}

std::optional<UrlPassword> split_password(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return std::nullopt;
  const auto authority = scheme + 3;
  const auto authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  const auto at = url.rfind('@', authority_end == 0 ? 0 : authority_end - 1);
  if (at == std::string::npos || at < authority) return std::nullopt;
  const auto colon = url.find(':', authority);
  if (colon == std::string::npos || colon > at) return std::nullopt;  // a user without a password
  return UrlPassword{url.substr(0, colon + 1), url.substr(colon + 1, at - colon - 1), url.substr(at)};
}

std::string mask_password(const std::string& url) {
  auto parts = split_password(url);
  if (!parts) return url;
  return parts->before + std::string(kMaskedPassword) + parts->after;
}

}  // namespace safelynx
