// A small synchronous HTTP/1.1 and WebSocket client (Boost.Beast) for tests
// against a real server on 127.0.0.1.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace safelynx::testing {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;

  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(unsigned short port, std::string host = "127.0.0.1") : host_(std::move(host)), port_(port) {}

  void set_token(std::string token) { token_ = std::move(token); }

  HttpResult request(const std::string& method, const std::string& target, const std::string& body = "",
                     const std::string& content_type = "", const std::map<std::string, std::string>& headers = {}) {
    namespace http = boost::beast::http;
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(120));
    stream.connect(resolver.resolve(host_, std::to_string(port_)));
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, host_);
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 31);
    http::read(stream, buffer, parser);
    const auto& res = parser.get();
    HttpResult result;
    result.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      result.headers[name] = std::string(field.value());
    }
    result.body = res.body();
    boost::beast::error_code ignored;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    return result;
  }

  HttpResult get(const std::string& target) { return request("GET", target); }
  HttpResult post_json(const std::string& target, const std::string& json) {
    return request("POST", target, json, "application/json");
  }
  HttpResult put_json(const std::string& target, const std::string& json) {
    return request("PUT", target, json, "application/json");
  }
  HttpResult del(const std::string& target) { return request("DELETE", target); }

 private:
  std::string host_;
  unsigned short port_;
  std::string token_;
};

// multipart/form-data body builder.
class Multipart {
 public:
  Multipart& field(const std::string& name, const std::string& value) {
    body_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
    return *this;
  }
  Multipart& file(const std::string& name, const std::string& filename, const std::string& type, const std::string& bytes) {
    body_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename +
             "\"\r\nContent-Type: " + type + "\r\n\r\n" + bytes + "\r\n";
    return *this;
  }
  std::string body() const { return body_ + "--" + boundary_ + "--\r\n"; }
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary_; }

 private:
  std::string boundary_ = "----safelynx-test-boundary-7MA4YWxkTrZu0gW";
  std::string body_;
};

class WebSocketClient {
 public:
  // Connects to ws://127.0.0.1:port + target; throws boost::system::system_error
  // (with the HTTP refusal) when the upgrade is refused.
  WebSocketClient(unsigned short port, const std::string& target) : ws_(io_) {
    boost::asio::ip::tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve("127.0.0.1", std::to_string(port));
    boost::beast::get_lowest_layer(ws_).connect(endpoints);
    ws_.handshake("127.0.0.1:" + std::to_string(port), target);
  }

  // Sends one binary message (a browser camera's JPEG frame).
  void send_binary(const std::string& bytes) {
    ws_.binary(true);
    ws_.write(boost::asio::buffer(bytes));
  }

  void send_text(const std::string& text) {
    ws_.text(true);
    ws_.write(boost::asio::buffer(text));
  }

  void close() {
    boost::beast::error_code ignored;
    ws_.close(boost::beast::websocket::close_code::normal, ignored);
  }

  // After a read failed because the server closed: its code and reason.
  struct CloseReason {
    std::uint16_t code = 0;
    std::string reason;
  };
  CloseReason close_reason() const {
    const auto& r = ws_.reason();
    return {static_cast<std::uint16_t>(r.code), std::string(r.reason.data(), r.reason.size())};
  }

  // The next text message, or nullopt when the socket closes or `timeout`
  // passes (then the socket is unusable: a test that waited that long has
  // failed). Asynchronous because tcp_stream's timeout binds only async
  // operations: a blocking read would wait forever on a silent server.
  std::optional<std::string> read(std::chrono::milliseconds timeout) {
    boost::beast::get_lowest_layer(ws_).expires_after(timeout);
    boost::beast::flat_buffer buffer;
    boost::beast::error_code error;
    ws_.async_read(buffer, [&error](boost::beast::error_code e, std::size_t) { error = e; });
    io_.restart();
    io_.run();
    if (error) return std::nullopt;
    return boost::beast::buffers_to_string(buffer.data());
  }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
};

}  // namespace safelynx::testing
