// Camera source URLs and the secrets in them: what logs, the audit log and
// the API may show of an "rtsp://user:password@host/path".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace safelynx {

// A URL without its user:password part, for logs and status messages.
std::string redact_credentials(const std::string& url);

// What the API shows of a camera's URL: the password replaced by
// kMaskedPassword ("rtsp://admin:***@cam/live"); unchanged without one.
inline constexpr std::string_view kMaskedPassword = "***";
std::string mask_password(const std::string& url);

// A URL's parts around its password: "rtsp://admin:" + "secret" + "@cam/live".
// nullopt when it has no user:password part.
struct UrlPassword {
  std::string before;    // scheme, "://", user and ':'
  std::string password;
  std::string after;     // '@', host, port, path
};
std::optional<UrlPassword> split_password(const std::string& url);

}  // namespace safelynx
