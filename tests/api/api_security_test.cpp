// Issue 13's findings against a real server, as an attacker with (or
// without) a valid token would try them: login guessing, bodies before
// authentication, tokens in URLs, sockets outliving their token, another
// site's page opening a WebSocket, duplicate JSON keys, names that display as
// something else, what /health tells strangers, and who can read the data dir.
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "api/api_test_support.hpp"

namespace safelynx::testing {
namespace {

class SecurityApi : public SharedServerTest<SecurityApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models()) return;
    // A data dir the server creates itself (fresh_dir's has the test's umask).
    server_ = new RunningServer(fresh_dir("security") / "data");
  }
};

// Sends `head` (request line and headers) and no body; returns what the
// server answers before the read times out ("" when it answers nothing).
std::string answer_to_headers_alone(unsigned short port, const std::string& head) {
  namespace net = boost::asio;
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  net::write(socket, net::buffer(head));
  timeval timeout{10, 0};  // the server's request timeout is 30 s
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  char buffer[4096];
  boost::system::error_code error;
  while (!error) {
    const std::size_t n = socket.read_some(net::buffer(buffer), error);
    answer.append(buffer, n);
  }
  return answer;
}

mode_t mode_of(const std::filesystem::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

TEST_F(SecurityApi, HealthTellsStrangersNothingAboutTheGallery) {
  const json body = parse(server_->anonymous().get("/api/v1/health"));
  EXPECT_EQ(body["status"], "ok");
  EXPECT_FALSE(body.contains("embeddings")) << body;
  EXPECT_FALSE(body.contains("profiles")) << body;
}

TEST_F(SecurityApi, BodiesWithoutAValidTokenAreRefusedOnTheHeaders) {
  const std::string answer = answer_to_headers_alone(
      server_->process().port(),
      "POST /api/v1/profiles HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
      "Content-Length: 30000000\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 401")) << answer.substr(0, 200);
  const std::string forged = answer_to_headers_alone(
      server_->process().port(),
      "PUT /api/v1/settings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer slx_forged\r\n"
      "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n");
  EXPECT_TRUE(forged.starts_with("HTTP/1.1 401")) << forged.substr(0, 200);
  // A login is the one body taken without a token, and only a small one.
  const HttpResult huge_login = server_->anonymous().post_json(
      "/api/v1/auth/login", json{{"username", "admin"}, {"password", std::string(100'000, 'x')}}.dump());
  EXPECT_EQ(huge_login.status, 413);
  // With a token, bodies are read as before.
  EXPECT_EQ(client().put_json("/api/v1/settings", "{}").status, 200);
}

TEST_F(SecurityApi, ATokenInTheUrlIsTakenOnlyForImagesVideosAndSockets) {
  HttpClient anonymous = server_->anonymous();
  const HttpResult list = anonymous.get("/api/v1/profiles?token=" + server_->token());
  EXPECT_EQ(list.status, 401);
  EXPECT_NE(error_message(list).find("Authorization"), std::string::npos) << list.body;
  EXPECT_EQ(anonymous.get("/api/v1/settings?token=" + server_->token()).status, 401);

  const HttpResult enrolled = enrol(client(), "url token", {photos_of("obama").front()});
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  const std::string id = parse(enrolled)["id"];
  const HttpResult thumbnail = anonymous.get("/api/v1/profiles/" + id + "/thumbnail?token=" + server_->token());
  EXPECT_EQ(thumbnail.status, 200);
  EXPECT_EQ(thumbnail.header("content-type"), "image/jpeg");
  WebSocketClient events(server_->process().port(), "/ws?token=" + server_->token());
}

TEST_F(SecurityApi, RevokingATokenClosesItsWebSockets) {
  const HttpResult created = client().post_json("/api/v1/auth/tokens", R"({"name": "dashboard on the wall"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const json token = parse(created);
  WebSocketClient events(server_->process().port(), "/ws?token=" + token["token"].get<std::string>());
  WebSocketClient untouched(server_->process().port(), "/ws?token=" + server_->token());
  ASSERT_EQ(client().del("/api/v1/auth/tokens/" + token["id"].get<std::string>()).status, 204);
  EXPECT_EQ(events.read(std::chrono::seconds(10)), std::nullopt);
  EXPECT_EQ(events.close_reason().code, 1008);
  EXPECT_EQ(events.close_reason().reason, "the token was revoked");

  // Logging out ends the session's sockets too; the other session's stays.
  const HttpResult login = server_->anonymous().post_json(
      "/api/v1/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
  ASSERT_EQ(login.status, 200);
  const std::string session = parse(login)["token"];
  WebSocketClient session_events(server_->process().port(), "/ws?token=" + session);
  HttpClient session_client = server_->anonymous();
  session_client.set_token(session);
  ASSERT_EQ(session_client.post_json("/api/v1/auth/logout", "{}").status, 204);
  EXPECT_EQ(session_events.read(std::chrono::seconds(10)), std::nullopt);
  EXPECT_EQ(session_events.close_reason().code, 1008);

  ASSERT_EQ(client().put_json("/api/v1/settings", "{}").status, 200);  // an event for the open socket
  const HttpResult enrolled = enrol(client(), "after revocation", {photos_of("biden").front()});
  ASSERT_EQ(enrolled.status, 201);
  EXPECT_NE(untouched.read(std::chrono::seconds(10)), std::nullopt);
}

TEST_F(SecurityApi, WebSocketsFromAnotherSitesPageAreRefused) {
  HttpClient anonymous = server_->anonymous();
  const std::map<std::string, std::string> upgrade = {{"Connection", "Upgrade"},
                                                      {"Upgrade", "websocket"},
                                                      {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                                      {"Sec-WebSocket-Version", "13"},
                                                      {"Origin", "https://evil.example"}};
  const HttpResult refused = anonymous.request("GET", "/ws?token=" + server_->token(), "", "", upgrade);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(error_code(refused), "forbidden_origin");
}

TEST_F(SecurityApi, DuplicateJsonKeysAreRefused) {
  const HttpResult settings =
      client().put_json("/api/v1/settings", R"({"recognition": {"match_threshold": 0.5, "match_threshold": 0.9}})");
  EXPECT_EQ(settings.status, 400);
  EXPECT_EQ(error_code(settings), "malformed_json");
  EXPECT_NE(error_message(settings).find("match_threshold"), std::string::npos) << settings.body;
  EXPECT_EQ(client().post_json("/api/v1/auth/tokens", R"({"name": "a", "name": "b"})").status, 400);
  // The same key in two objects is fine.
  EXPECT_EQ(client().put_json("/api/v1/settings", R"({"detection": {"min_score": 0.6}, "recognition": {}})").status, 200);
}

TEST_F(SecurityApi, NamesRefuseControlAndBidirectionalCharacters) {
  for (const std::string& name : {std::string("mal\0lory", 8), std::string("\u202Egpj.exe"), std::string("a\u2066b"),
                                 std::string("bell\x07")}) {
    const HttpResult token = client().post_json("/api/v1/auth/tokens", json{{"name", name}}.dump());
    EXPECT_EQ(token.status, 422) << token.body;
    const HttpResult camera = client().post_json(
        "/api/v1/cameras", json{{"name", name}, {"kind", "browser"}, {"source", ""}}.dump());
    EXPECT_EQ(camera.status, 422) << camera.body;
    const HttpResult located = client().post_json(
        "/api/v1/cameras", json{{"name", "porch"}, {"kind", "browser"}, {"location", name}}.dump());
    EXPECT_EQ(located.status, 422) << located.body;
  }
  const HttpResult enrolled = enrol(client(), "bidi", {photos_of("kit_harington").front()});
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  const std::string id = parse(enrolled)["id"];
  const HttpResult renamed = client().put_json("/api/v1/profiles/" + id, json{{"name", "Kit\u202E"}}.dump());
  EXPECT_EQ(renamed.status, 422);
  EXPECT_NE(error_message(renamed).find("U+202E"), std::string::npos) << renamed.body;
  // Accents and other scripts are names like any other.
  EXPECT_EQ(client().put_json("/api/v1/profiles/" + id, json{{"name", "Zoë Łukasiewicz 山田"}}.dump()).status, 200);
}

TEST_F(SecurityApi, TheDataDirIsReadableOnlyByTheServersUser) {
  const HttpResult enrolled = enrol(client(), "private", {photos_of("rose_leslie").front()});
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  const std::string id = parse(enrolled)["id"];
  EXPECT_EQ(mode_of(server_->data_dir()), 0700u);
  EXPECT_EQ(mode_of(server_->data_dir() / "safelynx.db"), 0600u);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(server_->data_dir())) {
    const mode_t mode = mode_of(entry.path());
    EXPECT_EQ(mode & 077, 0u) << entry.path() << " has mode " << std::oct << mode;
    files += entry.is_regular_file() ? 1 : 0;
  }
  EXPECT_GT(files, 2u);  // the database, its WAL and the thumbnail at least
}

TEST(SecurityApiWarnings, AnExistingDataDirOthersCanReadIsReported) {
  if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir();
  const auto dir = fresh_dir("open-data-dir");
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                        std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                        std::filesystem::perms::others_exec);
  RunningServer server(dir);
  EXPECT_NE(server.process().log().find("can be read by other local users"), std::string::npos)
      << server.process().log();
}

// Own server: the throttle's state must not leak into the other tests.
TEST(LoginThrottling, FailuresSlowFurtherAttemptsAndEveryOneIsLogged) {
  if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir();
  RunningServer server(fresh_dir("throttle"));
  HttpClient anonymous = server.anonymous();
  const auto login = [&](const std::string& password) {
    return anonymous.post_json("/api/v1/auth/login", json{{"username", "admin"}, {"password", password}}.dump());
  };
  // Three free failures, then a one-second delay after the fourth.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(login("wrong-" + std::to_string(i)).status, 401) << i;
  const HttpResult early = login(kAdminPassword);  // even the right password waits
  EXPECT_EQ(early.status, 429);
  EXPECT_EQ(error_code(early), "too_many_login_attempts");
  ASSERT_FALSE(early.header("retry-after").empty());
  const int retry_after = std::stoi(early.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 2);
  std::this_thread::sleep_for(std::chrono::seconds(retry_after) + std::chrono::milliseconds(200));
  EXPECT_EQ(login(kAdminPassword).status, 200);  // and a success clears the count
  EXPECT_EQ(login("wrong-again").status, 401);

  std::size_t failed_lines = 0;
  const std::string log = server.process().log();
  for (std::size_t at = log.find("\"login failed\""); at != std::string::npos; at = log.find("\"login failed\"", at + 1))
    ++failed_lines;
  EXPECT_EQ(failed_lines, 5u) << log;
  EXPECT_NE(log.find("\"address\":\"127.0.0.1\""), std::string::npos);
  EXPECT_NE(log.find("\"login refused\""), std::string::npos);
}

// A stolen session must not turn "change my password" into a fast, unlogged
// way to guess the current one.
TEST(LoginThrottling, ChangingOnesPasswordIsThrottledAndLoggedLikeALogin) {
  if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir();
  RunningServer server(fresh_dir("throttle-password"));
  const auto change = [&](const std::string& current) {
    return server.client().put_json("/api/v1/users/me/password",
                                    json{{"current_password", current}, {"new_password", "the-admins-next-secret"}}.dump());
  };
  for (int i = 0; i < 4; ++i) {
    const HttpResult wrong = change("guess-" + std::to_string(i));
    EXPECT_EQ(wrong.status, 403) << i << ": " << wrong.body;
    EXPECT_EQ(error_code(wrong), "wrong_password") << i;
  }
  const HttpResult early = change(kAdminPassword);  // even the right one waits
  EXPECT_EQ(early.status, 429) << early.body;
  EXPECT_EQ(error_code(early), "too_many_login_attempts");
  EXPECT_FALSE(early.header("retry-after").empty());
  // The same counters as logins: the account's logins wait too.
  EXPECT_EQ(server.anonymous()
                .post_json("/api/v1/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump())
                .status,
            429);

  std::size_t failed_lines = 0;
  const std::string log = server.process().log();
  for (std::size_t at = log.find("\"password change failed: wrong current password\"");
       at != std::string::npos; at = log.find("\"password change failed: wrong current password\"", at + 1))
    ++failed_lines;
  EXPECT_EQ(failed_lines, 4u) << log;
  EXPECT_NE(log.find("\"password change refused\""), std::string::npos) << log;

  const json audit = parse(server.client().get("/api/v1/audit?action=user.password_change_failed"));
  EXPECT_EQ(audit["total"], 4) << audit.dump();
}

TEST(LoginThrottling, OnlyOnePasswordIsHashedAtATime) {
  if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir();
  RunningServer server(fresh_dir("throttle-parallel"));
  // Logins at once, all with the right password (so no failure delays): the
  // ones that find the hash slot busy are answered 429 at once instead of
  // holding an I/O thread each.
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      HttpClient client = server.anonymous();
      while (!go) std::this_thread::yield();
      const HttpResult result = client.post_json(
          "/api/v1/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
      if (result.status == 200) ++ok;
      else if (result.status == 429 && error_code(result) == "too_many_login_attempts") ++busy;
      else ++other;
    });
  }
  go = true;
  for (auto& client : clients) client.join();
  EXPECT_GE(ok.load(), 1);
  EXPECT_GE(busy.load(), 1);
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace safelynx::testing
