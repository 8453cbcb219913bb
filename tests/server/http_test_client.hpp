// A small synchronous Beast client for the server tests, and a temporary directory.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace safelynx::server::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Response = http::response<http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

// One connection; several requests may be sent on it (keep-alive).
class HttpTestClient {
 public:
  explicit HttpTestClient(std::uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  Response request(http::verb method, const std::string& target, const std::string& body = "",
                   const Headers& headers = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    http::write(socket_, req);
    return read_response(method == http::verb::head);
  }

  Response get(const std::string& target, const Headers& headers = {}) {
    return request(http::verb::get, target, "", headers);
  }

  void write_raw(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }

  Response read_response(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    parser.skip(head);  // a HEAD answer has Content-Length but no body
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  // True when the server has closed the connection (reads EOF or a reset).
  bool closed_by_server() {
    beast::error_code ec;
    char byte = 0;
    socket_.read_some(net::buffer(&byte, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

  tcp::socket& socket() { return socket_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// A fresh directory under /tmp, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("safelynx_http_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

}  // namespace safelynx::server::testing
