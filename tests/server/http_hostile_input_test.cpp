// The HTTP core against requests an attacker would send: request smuggling
// through Transfer-Encoding, bodies sent before authentication, WebSockets
// from another site's page, and sockets that must close when their token is
// revoked or expires. Real sockets on 127.0.0.1.
#include "server/http_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/beast/websocket.hpp>

#include "http_test_client.hpp"

namespace safelynx::server {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestClient;
using testing::Response;
using testing::wait_until;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string error_code_of(const Response& response) {
  return nlohmann::json::parse(response.body())["error"]["code"];
}

std::shared_ptr<Router> echo_router() {
  auto router = std::make_shared<Router>();
  router->add("POST", "/echo", [](HttpRequest& r) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = r.body;
    return response;
  });
  router->add("POST", "/open", [](HttpRequest& r) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = r.body;
    return response;
  });
  router->add("GET", "/hello", [](HttpRequest&) { return HttpResponse::json(200, R"({"hello":"world"})"); });
  router->add("GET", "/whoami", [](HttpRequest& r) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = r.client_address;
    return response;
  });
  return router;
}

HttpServerOptions options() {
  HttpServerOptions o;
  o.port = 0;
  o.threads = 2;
  // Long enough that a server waiting for a body never answers in the test.
  o.request_timeout = 20s;
  return o;
}

// --- Transfer-Encoding (RFC 9112 section 6) ---------------------------------

TEST(HttpHostileInput, UnknownTransferCodingIs501AndTheConnectionCloses) {
  HttpServer server(options(), echo_router());
  server.start();
  HttpTestClient client(server.port());
  // Beast alone read "gzip" as "no body" and the body as the next request.
  client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
                   "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  const Response response = client.read_response();
  EXPECT_EQ(response.result_int(), 501);
  EXPECT_EQ(error_code_of(response), "not_implemented");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpHostileInput, TransferEncodingWithContentLengthIs400InEitherOrder) {
  HttpServer server(options(), echo_router());
  server.start();
  for (const std::string headers : {"Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
                                    "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n",
                                    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"}) {
    HttpTestClient client(server.port());
    client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\n" + headers + "\r\nhello");
    const Response response = client.read_response();
    EXPECT_EQ(response.result_int(), 400) << headers;
    EXPECT_TRUE(client.closed_by_server()) << headers;
  }
}

TEST(HttpHostileInput, TransferEncodingInHttp10Is400) {
  HttpServer server(options(), echo_router());
  server.start();
  HttpTestClient client(server.port());
  client.write_raw("POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(client.read_response().result_int(), 400);
}

TEST(HttpHostileInput, ChunkedBodiesStillWork) {
  HttpServer server(options(), echo_router());
  server.start();
  HttpTestClient client(server.port());
  client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked \r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  const Response response = client.read_response();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello");
}

// --- X-Forwarded-For -----------------------------------------------------

TEST(HttpHostileInput, XForwardedForIsBelievedOnlyFromTrustedProxies) {
  const auto client_seen = [](const std::vector<std::string>& trusted, const std::string& forwarded) {
    auto o = options();
    o.trusted_proxies = trusted;
    HttpServer server(o, echo_router());
    server.start();
    HttpTestClient client(server.port());
    return client.get("/whoami", {{"X-Forwarded-For", forwarded}}).body();
  };
  // Anyone can send the header: from an untrusted peer it changes nothing.
  EXPECT_EQ(client_seen({}, "203.0.113.9"), "127.0.0.1");
  EXPECT_EQ(client_seen({"10.1.1.1"}, "203.0.113.9"), "127.0.0.1");
  // Behind the proxy: the last address it did not add itself.
  EXPECT_EQ(client_seen({"127.0.0.1"}, "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(client_seen({"127.0.0.1"}, "198.51.100.1, 203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(client_seen({"127.0.0.1", "192.0.2.10"}, "203.0.113.9, 192.0.2.10"), "203.0.113.9");
}

// --- Bodies are admitted on the headers --------------------------------------

class BodyAdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(options(), echo_router());
    // Like the API's: /open takes 16 bytes from anyone, the rest needs a key.
    server_->set_body_admission([](const HttpRequest& headers) -> std::size_t {
      if (headers.path == "/open") return 16;
      if (headers.header("x-key") != "secret") throw ApiError(401, "unauthorized", "a key is required");
      return 1u << 20;
    });
    server_->start();
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(BodyAdmissionTest, AnUnauthenticatedBodyIsRefusedBeforeItIsRead) {
  HttpTestClient client(server_->port());
  // 30 MB announced, none sent: the answer must come from the headers alone
  // (a server reading the body first would wait for the request timeout).
  client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                   "Content-Length: 30000000\r\n\r\n");
  const Response response = client.read_response();
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_EQ(error_code_of(response), "unauthorized");
  EXPECT_TRUE(client.closed_by_server());
}

TEST_F(BodyAdmissionTest, AnAdmittedBodyIsReadAndItsLimitIsThePerRequestOne) {
  HttpTestClient client(server_->port());
  const Response echoed = client.request(http::verb::post, "/echo", "payload", {{"X-Key", "secret"}});
  EXPECT_EQ(echoed.result_int(), 200);
  EXPECT_EQ(echoed.body(), "payload");

  HttpTestClient open(server_->port());
  EXPECT_EQ(open.request(http::verb::post, "/open", "short").result_int(), 200);
  HttpTestClient too_long(server_->port());
  const Response refused = too_long.request(http::verb::post, "/open", std::string(17, 'x'));
  EXPECT_EQ(refused.result_int(), 413);
  EXPECT_NE(refused.body().find("16 bytes"), std::string::npos) << refused.body();

  // A chunked body is counted as it arrives.
  HttpTestClient chunked(server_->port());
  chunked.write_raw("POST /open HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.read_response().result_int(), 413);
}

TEST_F(BodyAdmissionTest, RequestsWithoutABodyAreNotAsked) {
  HttpTestClient client(server_->port());
  EXPECT_EQ(client.get("/hello").result_int(), 200);
}

// --- WebSockets: Origin, revocation, expiry ----------------------------------

class WebSocketGrantTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> allowed_origins = {}) {
    auto o = options();
    o.websocket_allowed_origins = std::move(allowed_origins);
    server_ = std::make_unique<HttpServer>(o, echo_router());
    const auto grant = [](const HttpRequest& request) {
      WebSocketGrant granted{request.query_param("token").value_or(""), std::nullopt};
      if (auto ms = request.query_param("expires_in_ms"))
        granted.expires_at = std::chrono::system_clock::now() + std::chrono::milliseconds(std::stoi(*ms));
      return granted;
    };
    server_->enable_websocket("/ws", grant);
    server_->enable_websocket_ingest("/in/{id}", grant, [](const HttpRequest&, std::string_view, bool) {});
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  Response upgrade_with_origin(const std::string& origin, const std::string& host) {
    HttpTestClient client(server_->port());
    testing::Headers headers = {{"Connection", "Upgrade"},
                                {"Upgrade", "websocket"},
                                {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                {"Sec-WebSocket-Version", "13"},
                                {"Host", host}};
    if (!origin.empty()) headers.emplace_back("Origin", origin);
    return client.get("/ws?token=t", headers);
  }

  std::unique_ptr<websocket::stream<tcp::socket>> connect(const std::string& target) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(ioc_);
    ws->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    ws->handshake("127.0.0.1", target);
    return ws;
  }

  // Reads until the server closes; returns its close reason. A socket the
  // server leaves open fails the test after 10 s instead of hanging it: the
  // watchdog shuts the socket down, which ends the blocking read.
  static websocket::close_reason read_until_closed(websocket::stream<tcp::socket>& ws) {
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    bool timed_out = false;
    std::thread watchdog([&] {
      std::unique_lock lock(mutex);
      if (!done_changed.wait_for(lock, 10s, [&] { return done; })) {
        timed_out = true;
        ::shutdown(ws.next_layer().native_handle(), SHUT_RDWR);
      }
    });
    beast::flat_buffer buffer;
    beast::error_code ec;
    while (!ec) ws.read(buffer, ec);
    {
      std::lock_guard lock(mutex);
      done = true;
    }
    done_changed.notify_all();
    watchdog.join();
    EXPECT_FALSE(timed_out) << "the server did not close the socket within 10 s";
    EXPECT_EQ(ec, websocket::error::closed) << ec.message();
    return ws.reason();
  }

  net::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(WebSocketGrantTest, AnotherSitesOriginIsRefused) {
  start({"https://nvr.example.org"});
  const std::string own = "127.0.0.1:" + std::to_string(server_->port());
  const Response evil = upgrade_with_origin("https://evil.example", own);
  EXPECT_EQ(evil.result_int(), 403);
  EXPECT_EQ(error_code_of(evil), "forbidden_origin");
  // Its host must be the whole Host, not a prefix of it.
  EXPECT_EQ(upgrade_with_origin("http://127.0.0.1", own).result_int(), 403);
  EXPECT_EQ(upgrade_with_origin("null", own).result_int(), 403);
  // The server's own origin (behind a TLS proxy too), a configured one, and
  // clients that are not browsers (no Origin).
  EXPECT_EQ(upgrade_with_origin("http://" + own, own).result_int(), 101);
  EXPECT_EQ(upgrade_with_origin("https://" + own, own).result_int(), 101);
  EXPECT_EQ(upgrade_with_origin("https://nvr.example.org", own).result_int(), 101);
  EXPECT_EQ(upgrade_with_origin("", own).result_int(), 101);
}

TEST_F(WebSocketGrantTest, ClosingAnOwnersSocketsLeavesTheOthersOpen) {
  start();
  auto revoked = connect("/ws?token=a");
  auto ingest = connect("/in/cam?token=a");
  auto other = connect("/ws?token=b");
  ASSERT_TRUE(wait_until([&] { return server_->websocket_client_count() == 2; }));
  server_->close_websockets("a", "the token was revoked");
  const auto reason = read_until_closed(*revoked);
  EXPECT_EQ(reason.code, websocket::close_code::policy_error);
  EXPECT_EQ(std::string(reason.reason.c_str()), "the token was revoked");
  EXPECT_EQ(std::string(read_until_closed(*ingest).reason.c_str()), "the token was revoked");
  ASSERT_TRUE(wait_until([&] { return server_->websocket_client_count() == 1; }));
  server_->broadcast("still here");
  beast::flat_buffer buffer;
  other->read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "still here");
}

// The client's handshake returns once the server's 101 is written, which can
// be before the server has finished its side: a token revoked in that moment
// must still close the socket.
TEST_F(WebSocketGrantTest, ARevocationRightAfterTheHandshakeStillClosesTheSocket) {
  start();
  for (int i = 0; i < 20; ++i) {
    const std::string token = "r" + std::to_string(i);
    auto broadcast = connect("/ws?token=" + token);
    auto ingest = connect("/in/cam?token=" + token);
    server_->close_websockets(token, "the token was revoked");
    EXPECT_EQ(std::string(read_until_closed(*broadcast).reason.c_str()), "the token was revoked") << i;
    EXPECT_EQ(std::string(read_until_closed(*ingest).reason.c_str()), "the token was revoked") << i;
  }
}

TEST_F(WebSocketGrantTest, ASocketClosesWhenItsGrantExpires) {
  start();
  auto expiring = connect("/ws?token=a&expires_in_ms=300");
  auto ingest = connect("/in/cam?token=a&expires_in_ms=300");
  const auto reason = read_until_closed(*expiring);
  EXPECT_EQ(reason.code, websocket::close_code::policy_error);
  EXPECT_NE(std::string(reason.reason.c_str()).find("expired"), std::string::npos);
  EXPECT_NE(std::string(read_until_closed(*ingest).reason.c_str()).find("expired"), std::string::npos);
}

}  // namespace
}  // namespace safelynx::server
