// Streamed responses (HttpResponse::stream) and inbound WebSockets
// (enable_websocket_ingest), on a real socket with Beast clients.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "http_test_client.hpp"
#include "server/http_server.hpp"

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
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// A producer following a script: each entry is a part ("" = nothing ready
// yet); after the last one, nullopt (the end), unless `endless`, when it
// keeps answering "" (or `filler`). Counts live instances and calls.
struct StreamProbe {
  std::atomic<int> live{0};
  std::atomic<int> calls{0};
  std::atomic<int> created{0};
};

class ScriptedStream final : public ResponseStream {
 public:
  ScriptedStream(StreamProbe& probe, std::deque<std::string> parts, bool endless = false, std::string filler = "",
                 std::chrono::milliseconds interval = 5ms)
      : probe_(probe), parts_(std::move(parts)), endless_(endless), filler_(std::move(filler)), interval_(interval) {
    ++probe_.live;
    ++probe_.created;
  }
  ~ScriptedStream() override { --probe_.live; }

  std::optional<std::string> next_part() override {
    ++probe_.calls;
    if (!parts_.empty()) {
      std::string part = std::move(parts_.front());
      parts_.pop_front();
      return part;
    }
    if (endless_) return filler_;
    return std::nullopt;
  }
  std::chrono::milliseconds poll_interval() const override { return interval_; }

 private:
  StreamProbe& probe_;
  std::deque<std::string> parts_;
  bool endless_;
  std::string filler_;
  std::chrono::milliseconds interval_;
};

HttpServerOptions test_options(std::size_t threads = 2) {
  HttpServerOptions options;
  options.port = 0;
  options.threads = threads;
  return options;
}

HttpResponse stream_response(std::shared_ptr<ResponseStream> stream) {
  HttpResponse response;
  response.content_type = "multipart/x-mixed-replace; boundary=frame";
  response.headers.emplace_back("X-Stream", "yes");
  response.headers.emplace_back("Content-Length", "5");  // ignored: a stream has no length
  response.stream = std::move(stream);
  return response;
}

// Sends a GET by hand and reads the head of the answer (not the body).
struct StreamClient {
  explicit StreamClient(std::uint16_t port, const std::string& target = "/stream") : client(port) {
    client.write_raw("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    http::read_header(client.socket(), buffer, parser);
  }
  // Reads at least `bytes` body bytes (including what came with the head).
  std::string read_body(std::size_t bytes) {
    std::string body = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    char chunk[4096];
    while (body.size() < bytes) {
      const std::size_t got = client.socket().read_some(net::buffer(chunk));
      body.append(chunk, got);
    }
    return body;
  }
  HttpTestClient client;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
};

TEST(HttpStreamingTest, SendsEveryPartThenCloses) {
  StreamProbe probe;
  auto router = std::make_shared<Router>();
  router->add("GET", "/stream", [&](HttpRequest&) {
    return stream_response(std::make_shared<ScriptedStream>(
        probe, std::deque<std::string>{"part-0|", "", "part-1|", "part-2|", "", "", "part-3|", "part-4|"}));
  });
  HttpServer server(test_options(), router);
  server.start();
  HttpTestClient client(server.port());
  const Response response = client.get("/stream");  // the body ends with the connection
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "part-0|part-1|part-2|part-3|part-4|");
  EXPECT_EQ(response[http::field::content_type], "multipart/x-mixed-replace; boundary=frame");
  EXPECT_EQ(response[http::field::content_length], "");
  EXPECT_EQ(response[http::field::transfer_encoding], "");
  EXPECT_EQ(response[http::field::connection], "close");
  EXPECT_EQ(response[http::field::cache_control], "no-cache, no-store");
  EXPECT_EQ(response["X-Stream"], "yes");
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_TRUE(wait_until([&] { return probe.live == 0; }));
  EXPECT_EQ(probe.calls, 9);  // 8 scripted answers and the end
}

TEST(HttpStreamingTest, ClientThatDisconnectsReleasesTheStream) {
  StreamProbe probe;
  auto router = std::make_shared<Router>();
  // Idle: the producer has nothing to send, so only the server's read
  // notices the client leaving.
  router->add("GET", "/idle", [&](HttpRequest&) {
    return stream_response(std::make_shared<ScriptedStream>(probe, std::deque<std::string>{"hello"}, true));
  });
  // Busy: it always has data, so the failing write notices.
  router->add("GET", "/busy", [&](HttpRequest&) {
    return stream_response(
        std::make_shared<ScriptedStream>(probe, std::deque<std::string>{}, true, std::string(16 * 1024, 'x')));
  });
  HttpServer server(test_options(), router);
  server.start();
  for (const char* target : {"/idle", "/busy"}) {
    {
      StreamClient viewer(server.port(), target);
      EXPECT_EQ(viewer.parser.get().result_int(), 200);
      EXPECT_GE(viewer.read_body(5).size(), 5U);
      EXPECT_EQ(probe.live, 1) << target;
    }  // the viewer closes its socket
    EXPECT_TRUE(wait_until([&] { return probe.live == 0; }, 3000ms)) << target;
  }
  // The server is fine afterwards.
  HttpTestClient after(server.port());
  EXPECT_EQ(after.get("/missing").result_int(), 404);
}

// Reads whatever the server sent until the connection ends; true when it
// ended by EOF or reset (not some other failure).
bool closed_after_draining(tcp::socket& socket) {
  char chunk[4096];
  beast::error_code ec;
  for (int i = 0; i < 10000 && !ec; ++i) socket.read_some(net::buffer(chunk), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

TEST(HttpStreamingTest, StopWithAnOpenStreamReturns) {
  StreamProbe probe;
  auto router = std::make_shared<Router>();
  router->add("GET", "/stream", [&](HttpRequest&) {
    return stream_response(std::make_shared<ScriptedStream>(probe, std::deque<std::string>{"x"}, true));
  });
  HttpServer server(test_options(), router);
  server.start();
  StreamClient viewer(server.port());
  EXPECT_EQ(viewer.read_body(1), "x");
  StreamClient second(server.port());
  EXPECT_EQ(probe.live, 2);
  const auto started = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(probe.live, 0);
  EXPECT_TRUE(closed_after_draining(viewer.client.socket()));
  EXPECT_TRUE(closed_after_draining(second.client.socket()));
}

TEST(HttpStreamingTest, SlowProducerDoesNotBlockOtherRequests) {
  StreamProbe probe;
  std::atomic<bool> release{false};
  // Has nothing to send until released, then "end" and the end.
  class Waiting final : public ResponseStream {
   public:
    explicit Waiting(std::atomic<bool>& released) : released_(released) {}
    std::optional<std::string> next_part() override {
      if (done_) return std::nullopt;
      if (!released_) return std::string();
      done_ = true;
      return std::string("end");
    }
    std::chrono::milliseconds poll_interval() const override { return 10ms; }

   private:
    std::atomic<bool>& released_;
    bool done_ = false;
  };
  auto router = std::make_shared<Router>();
  router->add("GET", "/stream", [&](HttpRequest&) { return stream_response(std::make_shared<Waiting>(release)); });
  router->add("GET", "/ping", [](HttpRequest&) { return HttpResponse::json(200, R"({"pong":true})"); });
  HttpServer server(test_options(1), router);  // one I/O thread for everything
  server.start();
  StreamClient viewer(server.port());
  StreamClient second_viewer(server.port());
  for (int i = 0; i < 5; ++i) {
    HttpTestClient client(server.port());
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(client.get("/ping").body(), R"({"pong":true})");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  }
  release = true;
  http::read(viewer.client.socket(), viewer.buffer, viewer.parser);  // to the end of the connection
  EXPECT_EQ(viewer.parser.get().body(), "end");
  http::read(second_viewer.client.socket(), second_viewer.buffer, second_viewer.parser);
  EXPECT_EQ(second_viewer.parser.get().body(), "end");
}

TEST(HttpStreamingTest, StreamOutlivesTheRequestTimeout) {
  // A part every 150 ms for 2.5 s while request_timeout is 1 s.
  class Timed final : public ResponseStream {
   public:
    std::optional<std::string> next_part() override {
      const auto now = std::chrono::steady_clock::now();
      if (now - start_ > 2500ms) return std::nullopt;
      if (now < next_) return std::string();
      next_ = now + 150ms;
      return std::string("tick;");
    }
    std::chrono::milliseconds poll_interval() const override { return 20ms; }

   private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point next_ = start_;
  };
  auto router = std::make_shared<Router>();
  router->add("GET", "/stream", [](HttpRequest&) { return stream_response(std::make_shared<Timed>()); });
  auto options = test_options();
  options.request_timeout = 1s;
  HttpServer server(options, router);
  server.start();
  HttpTestClient client(server.port());
  const Response response = client.get("/stream");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_GE(response.body().size(), std::string("tick;").size() * 12) << response.body();
}

TEST(HttpStreamingTest, HeadSendsTheHeadOnly) {
  StreamProbe probe;
  auto router = std::make_shared<Router>();
  router->add("GET", "/stream", [&](HttpRequest&) {
    return stream_response(std::make_shared<ScriptedStream>(probe, std::deque<std::string>{"never"}, true));
  });
  HttpServer server(test_options(), router);
  server.start();
  HttpTestClient client(server.port());
  client.write_raw("HEAD /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string raw;
  beast::error_code ec;
  net::read(client.socket(), net::dynamic_buffer(raw), ec);  // everything until the server closes
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << raw;
  EXPECT_NE(raw.find("Content-Type: multipart/x-mixed-replace; boundary=frame\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n") << raw;  // no body
  EXPECT_EQ(probe.calls, 0);
  EXPECT_TRUE(wait_until([&] { return probe.live == 0; }));
}

TEST(HttpStreamingTest, ProducerThatThrowsEndsTheStream) {
  class Throwing final : public ResponseStream {
   public:
    std::optional<std::string> next_part() override {
      if (calls_++ == 0) return std::string("first");
      throw std::runtime_error("camera vanished");
    }

   private:
    int calls_ = 0;
  };
  auto router = std::make_shared<Router>();
  router->add("GET", "/stream", [](HttpRequest&) { return stream_response(std::make_shared<Throwing>()); });
  HttpServer server(test_options(), router);
  server.start();
  HttpTestClient client(server.port());
  EXPECT_EQ(client.get("/stream").body(), "first");
}

// --- TLS ---------------------------------------------------------------------

// A self-signed EC certificate and its key (PEM) for "localhost".
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

TEST(HttpStreamingTest, StreamsOverTls) {
  const auto dir = std::filesystem::temp_directory_path() / ("safelynx_stream_tls_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_self_signed(dir / "cert.pem", dir / "key.pem");
  StreamProbe probe;
  auto router = std::make_shared<Router>();
  router->add("GET", "/stream", [&](HttpRequest&) {
    return stream_response(std::make_shared<ScriptedStream>(
        probe, std::deque<std::string>{"a1", "", "b2", std::string(100 * 1024, 'c'), "d4", "e5"}));
  });
  router->add("GET", "/idle", [&](HttpRequest&) {
    return stream_response(std::make_shared<ScriptedStream>(probe, std::deque<std::string>{"x"}, true));
  });
  auto options = test_options();
  options.tls_certificate = dir / "cert.pem";
  options.tls_private_key = dir / "key.pem";
  HttpServer server(options, router);
  server.start();

  net::io_context ioc;
  ssl::context context(ssl::context::tls_client);
  context.set_verify_mode(ssl::verify_none);  // self-signed
  auto connect = [&] {
    auto stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, context);
    beast::get_lowest_layer(*stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
    stream->handshake(ssl::stream_base::client);
    return stream;
  };
  {
    auto stream = connect();
    http::request<http::string_body> request{http::verb::get, "/stream", 11};
    request.set(http::field::host, "localhost");
    http::write(*stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    beast::error_code ec;
    http::read(*stream, buffer, parser, ec);  // ends at the server's close_notify
    EXPECT_TRUE(!ec || ec == net::ssl::error::stream_truncated) << ec.message();
    EXPECT_TRUE(parser.is_done());
    EXPECT_EQ(parser.get().body(), "a1b2" + std::string(100 * 1024, 'c') + "d4e5");
  }
  {
    // A TLS viewer that vanishes releases its stream too.
    auto stream = connect();
    http::request<http::string_body> request{http::verb::get, "/idle", 11};
    request.set(http::field::host, "localhost");
    http::write(*stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    http::read_header(*stream, buffer, parser);
    EXPECT_TRUE(wait_until([&] { return probe.live == 1; }));
    beast::error_code ignored;
    beast::get_lowest_layer(*stream).socket().close(ignored);
  }
  EXPECT_TRUE(wait_until([&] { return probe.live == 0; }, 3000ms));
  server.stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

// --- WebSocket ingest --------------------------------------------------------

struct Received {
  std::string id;
  std::string payload;
  bool binary = false;
};

class IngestTest : public ::testing::Test {
 protected:
  // on_close may still run when the server stops; it uses the members below,
  // so stop before they are destroyed.
  void TearDown() override {
    if (server_) server_->stop();
  }

  void start(std::size_t max_body = 32u << 20, bool throw_on_bad = false) {
    auto options = test_options();
    options.max_body_bytes = max_body;
    auto router = std::make_shared<Router>();
    router->add("GET", "/ping", [](HttpRequest&) { return HttpResponse::json(200, "{}"); });
    server_ = std::make_unique<HttpServer>(options, router);
    server_->enable_websocket("/ws", [](const HttpRequest&) { return WebSocketGrant{}; });
    server_->enable_websocket_ingest(
        "/cams/{id}/in",
        [](const HttpRequest& request) {
          if (request.query_param("token") != "good") throw ApiError(401, "unauthorized", "a valid token is required");
          if (request.path_param("id") == "forbidden") throw ApiError(403, "forbidden", "not your camera");
          return WebSocketGrant{};
        },
        [this, throw_on_bad](const HttpRequest& upgrade, std::string_view message, bool binary) {
          if (throw_on_bad && message == "bad") throw ApiError(422, "invalid_frame", "not a JPEG");
          std::lock_guard lock(mutex_);
          received_.push_back({upgrade.path_param("id"), std::string(message), binary});
        },
        [this](const HttpRequest& upgrade) {
          std::lock_guard lock(mutex_);
          closed_.push_back(upgrade.path_param("id"));
        });
    server_->start();
  }

  std::unique_ptr<websocket::stream<tcp::socket>> connect(const std::string& target) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(ioc_);
    ws->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    ws->handshake("127.0.0.1", target);
    return ws;
  }

  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::string> closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  net::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mutex_;
  std::vector<Received> received_;
  std::vector<std::string> closed_;
};

// An upgrade request sent with the plain HTTP client, to see the answer.
Response raw_upgrade(std::uint16_t port, const std::string& target) {
  HttpTestClient client(port);
  return client.get(target, {{"Connection", "Upgrade"},
                             {"Upgrade", "websocket"},
                             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                             {"Sec-WebSocket-Version", "13"}});
}

TEST_F(IngestTest, MessagesArriveInOrderWithPathParamsThenCloseIsReported) {
  start();
  auto ws = connect("/cams/abc/in?token=good");
  ws->binary(true);
  const std::string large(200 * 1024, '\xff');
  ws->write(net::buffer(std::string("\xff\xd8 frame one", 12)));
  ws->write(net::buffer(large));
  ws->write(net::buffer(std::string("frame three")));
  ws->text(true);
  ws->write(net::buffer(std::string("{\"hello\":1}")));
  ASSERT_TRUE(wait_until([&] { return received().size() == 4; }));
  EXPECT_TRUE(closed().empty());
  ws->close(websocket::close_code::normal);
  ASSERT_TRUE(wait_until([&] { return closed().size() == 1; }));
  EXPECT_EQ(closed()[0], "abc");
  const auto got = received();
  ASSERT_EQ(got.size(), 4U);
  EXPECT_EQ(got[0].payload, std::string("\xff\xd8 frame one", 12));
  EXPECT_EQ(got[1].payload, large);
  EXPECT_EQ(got[2].payload, "frame three");
  EXPECT_EQ(got[3].payload, "{\"hello\":1}");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(got[static_cast<std::size_t>(i)].binary);
  EXPECT_FALSE(got[3].binary);
  for (const auto& message : got) EXPECT_EQ(message.id, "abc");
  EXPECT_EQ(server_->websocket_client_count(), 0U);  // ingest clients are not broadcast clients
}

TEST_F(IngestTest, RefusedAuthorisationGetsItsStatus) {
  start();
  Response response = raw_upgrade(server_->port(), "/cams/abc/in?token=bad");
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_NE(response.body().find("unauthorized"), std::string::npos);
  response = raw_upgrade(server_->port(), "/cams/forbidden/in?token=good");
  EXPECT_EQ(response.result_int(), 403);
  EXPECT_EQ(raw_upgrade(server_->port(), "/cams/abc/in?token=good").result_int(), 101);
  EXPECT_TRUE(received().empty());
}

TEST_F(IngestTest, UnknownPathsStill404AndBroadcastStillWorks) {
  start();
  for (const char* target : {"/cams/abc/out?token=good", "/cams//in?token=good", "/cams/a/b/in?token=good",
                             "/other?token=good"}) {
    EXPECT_EQ(raw_upgrade(server_->port(), target).result_int(), 404) << target;
  }
  auto listener = connect("/ws");
  auto camera = connect("/cams/cam1/in?token=good");
  ASSERT_TRUE(wait_until([&] { return server_->websocket_client_count() == 1; }));
  server_->broadcast("event");
  beast::flat_buffer buffer;
  listener->read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "event");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(camera->next_layer().available(), 0U);  // the ingest client got nothing
  camera->write(net::buffer(std::string("still up")));
  ASSERT_TRUE(wait_until([&] { return received().size() == 1; }));
  EXPECT_EQ(received()[0].id, "cam1");
}

TEST_F(IngestTest, MessageOverTheBodyLimitClosesTheConnection) {
  start(1024);
  auto ws = connect("/cams/big/in?token=good");
  ws->binary(true);
  ws->write(net::buffer(std::string(512, 'a')));
  ws->write(net::buffer(std::string(4096, 'b')));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws->read(buffer, ec);  // the server's close frame (1009), or a reset: Beast drops the connection at once
  EXPECT_TRUE(ec);
  if (ec == websocket::error::closed) {
    EXPECT_EQ(ws->reason().code, websocket::close_code::too_big);
  }
  ASSERT_TRUE(wait_until([&] { return closed().size() == 1; }));
  ASSERT_EQ(received().size(), 1U);
  EXPECT_EQ(received()[0].payload.size(), 512U);
}

TEST_F(IngestTest, HandlerRefusalClosesWithItsReason) {
  start(32u << 20, true);
  auto ws = connect("/cams/x/in?token=good");
  ws->write(net::buffer(std::string("good")));
  ws->write(net::buffer(std::string("bad")));
  beast::flat_buffer buffer;
  beast::error_code ec;
  ws->read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws->reason().code, websocket::close_code::policy_error);
  EXPECT_EQ(std::string(ws->reason().reason.c_str()), "not a JPEG");
  ASSERT_TRUE(wait_until([&] { return closed().size() == 1; }));
  EXPECT_EQ(received().size(), 1U);
}

TEST_F(IngestTest, StopWithOpenIngestConnectionsReportsTheirClose) {
  start();
  auto a = connect("/cams/a/in?token=good");
  auto b = connect("/cams/b/in?token=good");
  a->write(net::buffer(std::string("1")));
  b->write(net::buffer(std::string("2")));
  ASSERT_TRUE(wait_until([&] { return received().size() == 2; }));
  server_->stop();
  auto ids = closed();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace safelynx::server
