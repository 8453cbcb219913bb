// Requests and responses as the API handlers see them: plain values, no
// Beast types, so handlers are easy to test without sockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace safelynx::server {

struct HttpRequest {
  std::string method;                               // "GET", "POST", ...
  std::string path;                                 // percent-decoded, without the query
  std::multimap<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;       // names lowercased
  std::string body;
  std::string client_address;                       // "127.0.0.1"
  std::map<std::string, std::string> path_params;   // filled by the router: "{id}" -> value

  // The header's value, or "" when absent. `name` must be lowercase.
  const std::string& header(const std::string& name) const;
  // The first value of a query parameter.
  std::optional<std::string> query_param(const std::string& name) const;
  const std::string& path_param(const std::string& name) const;  // throws std::out_of_range
};

class ResponseStream;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // When set, the body is this file, streamed; the server honours Range
  // requests (206, 416) and sets Content-Length and Accept-Ranges.
  std::optional<std::filesystem::path> file;
  // When set, the body is produced over time (a live MJPEG stream): the
  // server sends the status and headers (no Content-Length, the connection
  // closes at the end), then asks the stream for parts until it ends or the
  // client goes away.
  std::shared_ptr<ResponseStream> stream;

  static HttpResponse json(int status, std::string body);
};

// The producer of a streamed body. The server polls it from its I/O threads,
// so next_part() must never block.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // The next bytes to send; "" when nothing is ready yet (the server asks
  // again after poll_interval()); nullopt when the stream has ended.
  virtual std::optional<std::string> next_part() = 0;
  virtual std::chrono::milliseconds poll_interval() const { return std::chrono::milliseconds(20); }
};

// Thrown by handlers (and by the server itself) for every client error:
// becomes {"error": {"code": code, "message": message}} with `status`.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

// {"error": {"code": ..., "message": ...}} with the status.
HttpResponse error_response(int status, const std::string& code, const std::string& message);

}  // namespace safelynx::server
