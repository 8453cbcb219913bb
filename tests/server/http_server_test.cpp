// The server on a real socket (127.0.0.1, ephemeral port) with Beast clients.
#include "server/http_server.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "http_test_client.hpp"

namespace safelynx::server {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestClient;
using testing::TempDir;
using testing::Response;
using testing::wait_until;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

nlohmann::json json_of(const Response& response) { return nlohmann::json::parse(response.body()); }
std::string error_code_of(const Response& response) { return json_of(response)["error"]["code"]; }

std::shared_ptr<Router> demo_router(const std::filesystem::path& file_dir = {}) {
  auto router = std::make_shared<Router>();
  router->add("GET", "/items/{id}", [](HttpRequest& r) {
    nlohmann::json body = {{"id", r.path_param("id")},
                           {"q", r.query_param("q").value_or("<none>")},
                           {"tags", nlohmann::json::array()},
                           {"x_test", r.header("x-test")},
                           {"client", r.client_address},
                           {"method", r.method},
                           {"path", r.path}};
    for (auto [it, end] = r.query.equal_range("tag"); it != end; ++it) body["tags"].push_back(it->second);
    return HttpResponse::json(200, body.dump());
  });
  router->add("GET", "/hello", [](HttpRequest&) { return HttpResponse::json(200, R"({"hello":"world"})"); });
  router->add("POST", "/echo", [](HttpRequest& r) {
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = r.body;
    response.headers.emplace_back("X-Body-Length", std::to_string(r.body.size()));
    return response;
  });
  router->add("GET", "/fail/api", [](HttpRequest&) -> HttpResponse {
    throw ApiError(422, "invalid_face", "no face in the image");
  });
  router->add("GET", "/fail/internal", [](HttpRequest&) -> HttpResponse {
    throw std::runtime_error("secret database detail");
  });
  router->add("GET", "/files/{name}", [file_dir](HttpRequest& r) {
    HttpResponse response;
    response.content_type = "application/octet-stream";
    response.file = file_dir / r.path_param("name");
    return response;
  });
  return router;
}

HttpServerOptions test_options() {
  HttpServerOptions options;
  options.port = 0;
  options.threads = 2;
  return options;
}

std::string header(const Response& response, http::field field) { return std::string(response[field]); }

TEST(HttpServerTest, GetWithPathParamQueryAndHeaders) {
  HttpServer server(test_options(), demo_router());
  server.start();
  ASSERT_NE(server.port(), 0);
  HttpTestClient client(server.port());
  const auto response =
      client.get("/items/a%20b?q=hello+world%21&tag=1&tag=two&flag", {{"X-Test", "value"}});
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(header(response, http::field::content_type), "application/json");
  EXPECT_EQ(header(response, http::field::cache_control), "no-store");
  EXPECT_EQ(header(response, http::field::server), "safelynx");
  EXPECT_EQ(header(response, http::field::content_length), std::to_string(response.body().size()));
  const auto body = json_of(response);
  EXPECT_EQ(body["id"], "a b");
  EXPECT_EQ(body["path"], "/items/a b");
  EXPECT_EQ(body["q"], "hello world!");
  EXPECT_EQ(body["tags"], nlohmann::json::array({"1", "two"}));
  EXPECT_EQ(body["x_test"], "value");
  EXPECT_EQ(body["client"], "127.0.0.1");
  EXPECT_EQ(body["method"], "GET");
}

TEST(HttpServerTest, InvalidPercentEscapesAre400) {
  HttpServer server(test_options(), demo_router());
  server.start();
  for (const char* target : {"/items/%00", "/items/%zz", "/items/abc%4", "/items/x?q=%G1"}) {
    HttpTestClient client(server.port());
    const auto response = client.get(target);
    EXPECT_EQ(response.result_int(), 400) << target;
    EXPECT_EQ(error_code_of(response), "bad_request") << target;
  }
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpServer server(test_options(), demo_router());
  server.start();
  HttpTestClient client(server.port());
  for (int i = 0; i < 3; ++i) {
    const std::string payload = "payload " + std::to_string(i);
    const auto response = client.request(http::verb::post, "/echo", payload);
    ASSERT_EQ(response.result_int(), 200);
    EXPECT_TRUE(response.keep_alive());
    EXPECT_EQ(response.body(), payload);
    EXPECT_EQ(header(response, http::field::content_type), "text/plain");
    EXPECT_EQ(response["X-Body-Length"], std::to_string(payload.size()));
    EXPECT_EQ(response[http::field::cache_control], "");  // only JSON is marked no-store
  }
  EXPECT_EQ(json_of(client.get("/items/7"))["id"], "7");
  // Connection: close is honoured.
  const auto last = client.get("/items/8", {{"Connection", "close"}});
  EXPECT_FALSE(last.keep_alive());
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpServerTest, HeadAnswersHeadersWithoutBody) {
  HttpServer server(test_options(), demo_router());
  server.start();
  HttpTestClient client(server.port());
  const auto full = client.get("/hello");
  EXPECT_EQ(full.body(), R"({"hello":"world"})");
  const auto head = client.request(http::verb::head, "/hello");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head.body(), "");
  EXPECT_EQ(header(head, http::field::content_length), std::to_string(full.body().size()));
  EXPECT_EQ(client.get("/items/2").result_int(), 200);  // the connection is still in sync
}

TEST(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  HttpServer server(test_options(), demo_router());
  server.start();
  HttpTestClient client(server.port());
  const auto missing = client.get("/nope");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(error_code_of(missing), "not_found");
  const auto wrong = client.request(http::verb::delete_, "/echo");
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(error_code_of(wrong), "method_not_allowed");
  EXPECT_EQ(header(wrong, http::field::allow), "POST");
}

TEST(HttpServerTest, BodyOverLimitIs413AndServerKeepsServing) {
  auto options = test_options();
  options.max_body_bytes = 1000;
  HttpServer server(options, demo_router());
  server.start();
  {
    HttpTestClient client(server.port());
    const auto response = client.request(http::verb::post, "/echo", std::string(5000, 'x'));
    EXPECT_EQ(response.result_int(), 413);
    EXPECT_EQ(error_code_of(response), "payload_too_large");
    EXPECT_NE(json_of(response)["error"]["message"].get<std::string>().find("1000 bytes"), std::string::npos);
    EXPECT_FALSE(response.keep_alive());
    EXPECT_TRUE(client.closed_by_server());
  }
  {
    // Only the headers announce a huge body: refused before it is sent.
    HttpTestClient client(server.port());
    client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n");
    EXPECT_EQ(client.read_response().result_int(), 413);
  }
  HttpTestClient next(server.port());
  EXPECT_EQ(next.request(http::verb::post, "/echo", std::string(1000, 'y')).body(), std::string(1000, 'y'));
}

TEST(HttpServerTest, ExpectContinueGetsAnInterimAnswer) {
  HttpServer server(test_options(), demo_router());
  server.start();
  HttpTestClient client(server.port());
  client.write_raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(client.read_response().result_int(), 100);  // before the body is sent
  client.write_raw("abcde");
  const auto response = client.read_response();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "abcde");
}

TEST(HttpServerTest, SlowHandlersRunConcurrently) {
  auto router = demo_router();
  router->add("GET", "/slow", [](HttpRequest&) {
    std::this_thread::sleep_for(400ms);  // like face recognition
    return HttpResponse::json(200, "{}");
  });
  HttpServer server(test_options(), router);  // 2 threads
  server.start();
  const auto started = std::chrono::steady_clock::now();
  std::thread other([&] {
    HttpTestClient client(server.port());
    EXPECT_EQ(client.get("/slow").result_int(), 200);
  });
  HttpTestClient client(server.port());
  EXPECT_EQ(client.get("/slow").result_int(), 200);
  other.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 750ms);
}

TEST(HttpServerTest, MalformedRequestLineIs400AndClosed) {
  HttpServer server(test_options(), demo_router());
  server.start();
  HttpTestClient client(server.port());
  client.write_raw("THIS IS NOT HTTP\r\n\r\n");
  const auto response = client.read_response();
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(error_code_of(response), "bad_request");
  EXPECT_TRUE(client.closed_by_server());
  HttpTestClient next(server.port());
  EXPECT_EQ(next.get("/items/1").result_int(), 200);
}

TEST(HttpServerTest, HandlerErrorsBecomeJsonErrors) {
  HttpServer server(test_options(), demo_router());
  server.start();
  HttpTestClient client(server.port());
  const auto api = client.get("/fail/api");
  EXPECT_EQ(api.result_int(), 422);
  EXPECT_EQ(error_code_of(api), "invalid_face");
  EXPECT_EQ(json_of(api)["error"]["message"], "no face in the image");

  const auto internal = client.get("/fail/internal");
  EXPECT_EQ(internal.result_int(), 500);
  EXPECT_EQ(error_code_of(internal), "internal_error");
  EXPECT_EQ(internal.body().find("secret"), std::string::npos);  // details go to the log only
  // Same connection, still healthy.
  EXPECT_EQ(client.get("/items/ok").result_int(), 200);
}

TEST(HttpServerTest, SlowClientIsDroppedAfterRequestTimeout) {
  auto options = test_options();
  options.request_timeout = 1s;
  HttpServer server(options, demo_router());
  server.start();
  HttpTestClient client(server.port());
  client.write_raw("GET /items/1 HTTP/1.1\r\nHost: x\r\n");  // headers never finish
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.closed_by_server());
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 800ms);
  EXPECT_LT(waited, 10s);
}

class FileServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 1000; ++i) content_ += static_cast<char>('a' + i % 26);
    std::ofstream(dir_.path() / "data.bin", std::ios::binary) << content_;
    server_ = std::make_unique<HttpServer>(test_options(), demo_router(dir_.path()));
    server_->start();
    client_ = std::make_unique<HttpTestClient>(server_->port());
  }

  TempDir dir_;
  std::string content_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpTestClient> client_;
};

TEST_F(FileServingTest, FullFile) {
  const auto response = client_->get("/files/data.bin");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), content_);
  EXPECT_EQ(header(response, http::field::accept_ranges), "bytes");
  EXPECT_EQ(header(response, http::field::content_length), "1000");
  EXPECT_EQ(header(response, http::field::content_type), "application/octet-stream");
}

TEST_F(FileServingTest, SingleRanges) {
  const auto middle = client_->get("/files/data.bin", {{"Range", "bytes=10-19"}});
  EXPECT_EQ(middle.result_int(), 206);
  EXPECT_EQ(middle.body(), content_.substr(10, 10));
  EXPECT_EQ(header(middle, http::field::content_range), "bytes 10-19/1000");
  EXPECT_EQ(header(middle, http::field::content_length), "10");
  EXPECT_EQ(header(middle, http::field::accept_ranges), "bytes");

  const auto open_ended = client_->get("/files/data.bin", {{"Range", "bytes=990-"}});
  EXPECT_EQ(open_ended.result_int(), 206);
  EXPECT_EQ(open_ended.body(), content_.substr(990));
  EXPECT_EQ(header(open_ended, http::field::content_range), "bytes 990-999/1000");

  const auto suffix = client_->get("/files/data.bin", {{"Range", "bytes=-5"}});
  EXPECT_EQ(suffix.result_int(), 206);
  EXPECT_EQ(suffix.body(), content_.substr(995));
  EXPECT_EQ(header(suffix, http::field::content_range), "bytes 995-999/1000");

  const auto clamped = client_->get("/files/data.bin", {{"Range", "bytes=998-5000"}});
  EXPECT_EQ(clamped.result_int(), 206);
  EXPECT_EQ(clamped.body(), content_.substr(998));
  EXPECT_EQ(header(clamped, http::field::content_range), "bytes 998-999/1000");
}

TEST_F(FileServingTest, UnsatisfiableRangeIs416) {
  for (const char* range : {"bytes=1000-", "bytes=5000-6000", "bytes=-0"}) {
    const auto response = client_->get("/files/data.bin", {{"Range", range}});
    EXPECT_EQ(response.result_int(), 416) << range;
    EXPECT_EQ(header(response, http::field::content_range), "bytes */1000") << range;
    EXPECT_EQ(error_code_of(response), "range_not_satisfiable");
  }
}

TEST_F(FileServingTest, MultipleOrInvalidRangesGetTheFullFile) {
  for (const char* range : {"bytes=0-1,5-6", "bytes=9-3", "items=0-1", "bytes=x-y"}) {
    const auto response = client_->get("/files/data.bin", {{"Range", range}});
    EXPECT_EQ(response.result_int(), 200) << range;
    EXPECT_EQ(response.body(), content_) << range;
  }
}

TEST_F(FileServingTest, MissingFileIs404Json) {
  const auto response = client_->get("/files/absent.bin");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_EQ(error_code_of(response), "not_found");
  // A directory is not a file either.
  std::filesystem::create_directory(dir_.path() / "sub");
  EXPECT_EQ(client_->get("/files/sub").result_int(), 404);
  EXPECT_EQ(client_->get("/files/data.bin").result_int(), 200);  // connection still usable
}

TEST_F(FileServingTest, HeadOfFileHasLengthButNoBody) {
  const auto response = client_->request(http::verb::head, "/files/data.bin");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(header(response, http::field::content_length), "1000");
  EXPECT_EQ(response.body(), "");
  EXPECT_EQ(client_->get("/files/data.bin", {{"Range", "bytes=0-0"}}).body(), "a");
}

TEST(HttpServerTest, RateLimitAnswers429AfterBurst) {
  auto options = test_options();
  options.rate_limit_per_second = 0.01;  // effectively no refill during the test
  options.rate_limit_burst = 3;
  HttpServer server(options, demo_router());
  server.start();
  HttpTestClient client(server.port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.get("/items/1").result_int(), 200) << i;
  const auto limited = client.get("/items/1");
  EXPECT_EQ(limited.result_int(), 429);
  EXPECT_EQ(error_code_of(limited), "rate_limited");
  EXPECT_GE(std::stoi(std::string(limited[http::field::retry_after])), 1);
  EXPECT_EQ(client.get("/items/1").result_int(), 429);  // keeps the connection
}

TEST(HttpServerTest, BindFailureNamesTheAddress) {
  HttpServer first(test_options(), demo_router());
  first.start();
  auto options = test_options();
  options.port = first.port();
  HttpServer second(options, demo_router());
  try {
    second.start();
    FAIL() << "start() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << e.what();
  }
}

TEST(HttpServerTest, StopWithOpenConnectionsAndRestart) {
  HttpServer server(test_options(), demo_router());
  server.enable_websocket("/ws", [](const HttpRequest&) { return WebSocketGrant{}; });
  server.start();
  HttpTestClient idle(server.port());
  EXPECT_EQ(idle.get("/items/1").result_int(), 200);
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  ws.handshake("127.0.0.1", "/ws");
  ASSERT_TRUE(wait_until([&] { return server.websocket_client_count() == 1; }));
  server.stop();
  EXPECT_EQ(server.websocket_client_count(), 0U);
  EXPECT_TRUE(idle.closed_by_server());
  server.stop();  // idempotent
  server.start();
  HttpTestClient again(server.port());
  EXPECT_EQ(again.get("/items/2").result_int(), 200);
}

// --- WebSocket -------------------------------------------------------------

class WebSocketTest : public ::testing::Test {
 protected:
  void start(std::size_t max_queued = 1024) {
    auto options = test_options();
    options.websocket_max_queued_messages = max_queued;
    server_ = std::make_unique<HttpServer>(options, demo_router());
    server_->enable_websocket("/ws", [](const HttpRequest& request) {
      if (request.query_param("token") != "good") throw ApiError(401, "unauthorized", "a valid token is required");
      return WebSocketGrant{};
    });
    server_->start();
  }

  std::unique_ptr<websocket::stream<tcp::socket>> connect(const std::string& target) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(ioc_);
    ws->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    ws->handshake("127.0.0.1", target);
    return ws;
  }

  std::string read_text(websocket::stream<tcp::socket>& ws) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }

  net::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(WebSocketTest, AuthorizedClientReceivesBroadcastsInOrder) {
  start();
  auto ws = connect("/ws?token=good");
  ASSERT_TRUE(wait_until([&] { return server_->websocket_client_count() == 1; }));
  for (int i = 0; i < 50; ++i) server_->broadcast("{\"n\":" + std::to_string(i) + "}");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(read_text(*ws), "{\"n\":" + std::to_string(i) + "}");
  }
  EXPECT_TRUE(ws->got_text());
  // Client messages are accepted and ignored; the connection stays up.
  ws->write(net::buffer(std::string("hello")));
  server_->broadcast("after");
  EXPECT_EQ(read_text(*ws), "after");
  ws->close(websocket::close_code::normal);
  EXPECT_TRUE(wait_until([&] { return server_->websocket_client_count() == 0; }));
}

// An upgrade request sent with the plain HTTP client, to see the answer
// (Beast 1.74's synchronous handshake drops the response when declined).
Response raw_upgrade(std::uint16_t port, const std::string& target) {
  HttpTestClient client(port);
  return client.get(target, {{"Connection", "Upgrade"},
                             {"Upgrade", "websocket"},
                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                             {"Sec-WebSocket-Version", "13"}});
}

TEST_F(WebSocketTest, UnauthorizedClientGets401AndNoUpgrade) {
  start();
  websocket::stream<tcp::socket> ws(ioc_);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  beast::error_code ec;
  ws.handshake("127.0.0.1", "/ws?token=bad", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);

  const auto response = raw_upgrade(server_->port(), "/ws?token=bad");
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_EQ(error_code_of(response), "unauthorized");
  EXPECT_EQ(response[http::field::upgrade], "");
  EXPECT_EQ(server_->websocket_client_count(), 0U);
  // The same request with the token is upgraded.
  EXPECT_EQ(raw_upgrade(server_->port(), "/ws?token=good").result_int(), 101);
}

TEST_F(WebSocketTest, UpgradeOnAnotherPathIs404) {
  start();
  websocket::stream<tcp::socket> ws(ioc_);
  ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  beast::error_code ec;
  ws.handshake("127.0.0.1", "/other?token=good", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);
  const auto response = raw_upgrade(server_->port(), "/other?token=good");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_EQ(error_code_of(response), "not_found");
}

TEST_F(WebSocketTest, ClosedClientDoesNotBreakBroadcast) {
  start();
  auto good = connect("/ws?token=good");
  auto gone = connect("/ws?token=good");
  ASSERT_TRUE(wait_until([&] { return server_->websocket_client_count() == 2; }));
  beast::error_code ignored;
  gone->next_layer().close(ignored);  // vanishes without a close frame
  for (int i = 0; i < 20; ++i) server_->broadcast("m" + std::to_string(i));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(read_text(*good), "m" + std::to_string(i));
  EXPECT_TRUE(wait_until([&] { return server_->websocket_client_count() == 1; }));
}

TEST_F(WebSocketTest, SlowClientIsDisconnectedWithoutHoldingUpOthers) {
  start(8);
  auto good = connect("/ws?token=good");
  auto slow = connect("/ws?token=good");  // never reads
  ASSERT_TRUE(wait_until([&] { return server_->websocket_client_count() == 2; }));
  const std::string chunk(256 * 1024, 'z');
  // Lock-step with the good client: its queue stays short while the slow
  // client's socket buffers fill and its queue passes the limit.
  int received = 0;
  for (int i = 0; i < 400 && server_->websocket_client_count() == 2; ++i) {
    const std::string message = std::to_string(i) + chunk;
    server_->broadcast(message);
    EXPECT_EQ(read_text(*good), message);
    ++received;
  }
  EXPECT_TRUE(wait_until([&] { return server_->websocket_client_count() == 1; }));
  server_->broadcast("still here");
  EXPECT_EQ(read_text(*good), "still here");
  EXPECT_GT(received, 8);
}

// --- TLS -------------------------------------------------------------------

// Writes a self-signed EC certificate and its key (PEM) for "localhost".
void write_self_signed(const std::filesystem::path& cert_path, const std::filesystem::path& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* cert_file = std::fopen(cert_path.c_str(), "w");
  ASSERT_NE(cert_file, nullptr);
  EXPECT_EQ(PEM_write_X509(cert_file, cert), 1);
  std::fclose(cert_file);
  FILE* key_file = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(key_file, nullptr);
  EXPECT_EQ(PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(key_file);
  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST(HttpServerTlsTest, ServesHttpsWithASelfSignedCertificate) {
  TempDir dir;
  const auto cert = dir.path() / "cert.pem";
  const auto key = dir.path() / "key.pem";
  write_self_signed(cert, key);
  auto options = test_options();
  options.tls_certificate = cert;
  options.tls_private_key = key;
  HttpServer server(options, demo_router());
  server.start();

  net::io_context ioc;
  ssl::context context(ssl::context::tls_client);
  context.set_verify_mode(ssl::verify_none);  // self-signed
  beast::ssl_stream<beast::tcp_stream> stream(ioc, context);
  beast::get_lowest_layer(stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  stream.handshake(ssl::stream_base::client);
  for (const char* id : {"first", "second"}) {  // keep-alive over TLS
    http::request<http::string_body> request{http::verb::get, std::string("/items/") + id + "?q=tls", 11};
    request.set(http::field::host, "localhost");
    http::write(stream, request);
    beast::flat_buffer buffer;
    Response response;
    http::read(stream, buffer, response);
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(json_of(response)["id"], id);
    EXPECT_EQ(json_of(response)["q"], "tls");
  }
  beast::error_code ec;
  stream.shutdown(ec);  // the server answers close_notify; any error here is irrelevant

  // Plain HTTP to the TLS port gets no HTTP answer.
  HttpTestClient plain(server.port());
  plain.write_raw("GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  beast::flat_buffer buffer;
  Response response;
  http::read(plain.socket(), buffer, response, ec);
  EXPECT_TRUE(ec);
}

TEST(HttpServerTlsTest, BadCertificatePathThrowsNamingTheFile) {
  TempDir dir;
  auto options = test_options();
  options.tls_certificate = dir.path() / "missing-cert.pem";
  options.tls_private_key = dir.path() / "missing-key.pem";
  HttpServer server(options, demo_router());
  try {
    server.start();
    FAIL() << "start() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing-cert.pem"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace safelynx::server
