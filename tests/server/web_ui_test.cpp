// The web UI's files through a real HttpServer: a Router with two API routes
// and WebUi as its fallback, over a temporary directory with a fake build.
#include "server/web_ui.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "http_test_client.hpp"
#include "server/http_server.hpp"

namespace safelynx::server {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using testing::HttpTestClient;
using testing::Response;
using testing::TempDir;

constexpr const char* kIndex = "<!doctype html><title>Safelynx</title><script type=module src=/assets/abc/app.js></script>";
constexpr const char* kAppJs = "console.log('app');\n";
constexpr const char* kSecret = "TOP-SECRET-CONTENT";
constexpr const char* kImmutable = "public, max-age=31536000, immutable";

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string header(const Response& response, http::field field) { return std::string(response[field]); }
std::string header(const Response& response, const char* name) { return std::string(response[name]); }
std::string error_code_of(const Response& response) {
  return nlohmann::json::parse(response.body())["error"]["code"];
}

class WebUiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "dist";
    write_file(root_ / "index.html", kIndex);
    write_file(root_ / "assets/abc/app.js", kAppJs);
    // Outside the root: what traversal attempts are after.
    write_file(dir_.path() / "secret.txt", kSecret);
    write_file(dir_.path() / "safelynx.db", kSecret);
  }

  void start(WebUiOptions options = {}) {
    if (options.root.empty()) options.root = root_;
    ui_ = std::make_shared<WebUi>(options);
    auto router = std::make_shared<Router>();
    router->add("GET", "/api/v1/health", [](HttpRequest&) { return HttpResponse::json(200, R"({"status":"ok"})"); });
    router->add("POST", "/api/v1/things", [](HttpRequest&) { return HttpResponse::json(201, "{}"); });
    router->set_fallback([ui = ui_](HttpRequest& request) { return ui->serve(request); });
    HttpServerOptions http_options;
    http_options.port = 0;
    http_options.threads = 2;
    server_ = std::make_unique<HttpServer>(http_options, router);
    server_->start();
  }

  // A fresh connection each: a refused request must not spoil the next.
  Response get(const std::string& target, const testing::Headers& headers = {}) {
    HttpTestClient client(server_->port());
    return client.get(target, headers);
  }
  Response request(http::verb method, const std::string& target) {
    HttpTestClient client(server_->port());
    return client.request(method, target);
  }

  TempDir dir_;
  fs::path root_;
  std::shared_ptr<WebUi> ui_;
  std::unique_ptr<HttpServer> server_;
};

TEST(WebUiContentTypeTest, ByExtensionCaseInsensitive) {
  EXPECT_EQ(web_content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(web_content_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(web_content_type("worker.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(web_content_type("styles.css"), "text/css; charset=utf-8");
  EXPECT_EQ(web_content_type("icon.svg"), "image/svg+xml");
  EXPECT_EQ(web_content_type("data.json"), "application/json");
  EXPECT_EQ(web_content_type("app.js.map"), "application/json");
  EXPECT_EQ(web_content_type("photo.PNG"), "image/png");
  EXPECT_EQ(web_content_type("photo.jpg"), "image/jpeg");
  EXPECT_EQ(web_content_type("favicon.ico"), "image/x-icon");
  EXPECT_EQ(web_content_type("font.woff2"), "font/woff2");
  EXPECT_EQ(web_content_type("robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(web_content_type("site.webmanifest"), "application/manifest+json");
  EXPECT_EQ(web_content_type("archive.xyz"), "application/octet-stream");
  EXPECT_EQ(web_content_type("README"), "application/octet-stream");
}

TEST_F(WebUiTest, ServesFilesWithTheirTypesAndCaching) {
  write_file(root_ / "assets/abc/styles.css", "body{}");
  write_file(root_ / "assets/abc/icon.svg", "<svg/>");
  write_file(root_ / "assets/abc/font.woff2", std::string("wOF2\0\1", 6));
  write_file(root_ / "robots.txt", "User-agent: *\n");
  start();

  const auto js = get("/assets/abc/app.js");
  EXPECT_EQ(js.result_int(), 200);
  EXPECT_EQ(js.body(), kAppJs);
  EXPECT_EQ(header(js, http::field::content_type), "text/javascript; charset=utf-8");
  EXPECT_EQ(header(js, http::field::cache_control), kImmutable);
  EXPECT_EQ(header(js, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(js, "Content-Security-Policy"), "");  // HTML only
  EXPECT_EQ(header(get("/assets/abc/styles.css"), http::field::content_type), "text/css; charset=utf-8");
  EXPECT_EQ(header(get("/assets/abc/icon.svg"), http::field::content_type), "image/svg+xml");
  const auto font = get("/assets/abc/font.woff2");
  EXPECT_EQ(header(font, http::field::content_type), "font/woff2");
  EXPECT_EQ(font.body().size(), 6u);

  // Outside /assets/: revalidated every time.
  const auto robots = get("/robots.txt");
  EXPECT_EQ(robots.result_int(), 200);
  EXPECT_EQ(header(robots, http::field::content_type), "text/plain; charset=utf-8");
  EXPECT_EQ(header(robots, http::field::cache_control), "no-cache");

  const auto index = get("/index.html");
  EXPECT_EQ(index.body(), kIndex);
  EXPECT_EQ(header(index, http::field::cache_control), "no-cache");
}

TEST_F(WebUiTest, HtmlCarriesTheSecurityHeaders) {
  start();
  const auto page = get("/");
  EXPECT_EQ(page.result_int(), 200);
  EXPECT_EQ(page.body(), kIndex);
  EXPECT_EQ(header(page, http::field::content_type), "text/html; charset=utf-8");
  EXPECT_EQ(header(page, http::field::cache_control), "no-cache");
  EXPECT_EQ(header(page, "Content-Security-Policy"),
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; "
            "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(page, "Referrer-Policy"), "no-referrer");
}

TEST_F(WebUiTest, EtagAndIfNoneMatch) {
  start();
  const auto first = get("/assets/abc/app.js");
  const std::string etag = header(first, http::field::etag);
  ASSERT_EQ(etag.size(), 34u) << etag;  // 128 bits of SHA-256 in hex, quoted: a strong tag
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(header(get("/assets/abc/app.js"), http::field::etag), etag);  // stable

  for (const std::string& condition : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const auto again = get("/assets/abc/app.js", {{"If-None-Match", condition}});
    EXPECT_EQ(again.result_int(), 304) << condition;
    EXPECT_TRUE(again.body().empty());
    EXPECT_EQ(header(again, http::field::etag), etag);
    EXPECT_EQ(header(again, http::field::cache_control), kImmutable);
    EXPECT_EQ(header(again, http::field::content_length), "");  // RFC 9110 8.6
  }
  EXPECT_EQ(get("/assets/abc/app.js", {{"If-None-Match", "\"other\""}}).result_int(), 200);

  // index.html: revalidated; a rebuild of the same size still changes the tag.
  const auto page = get("/profiles/7");
  const std::string page_etag = header(page, http::field::etag);
  EXPECT_EQ(get("/", {{"If-None-Match", page_etag}}).result_int(), 304);
  std::string changed = kIndex;
  changed[changed.size() - 20] = 'X';
  write_file(root_ / "index.html", changed);
  const auto rebuilt = get("/", {{"If-None-Match", page_etag}});
  EXPECT_EQ(rebuilt.result_int(), 200);
  EXPECT_EQ(rebuilt.body(), changed);
  EXPECT_NE(header(rebuilt, http::field::etag), page_etag);
}

TEST_F(WebUiTest, HeadHasTheHeadersButNoBody) {
  start();
  const auto head = request(http::verb::head, "/assets/abc/app.js");
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(header(head, http::field::content_length), std::to_string(std::string(kAppJs).size()));
  EXPECT_EQ(header(head, http::field::content_type), "text/javascript; charset=utf-8");
  EXPECT_FALSE(header(head, http::field::etag).empty());
  const auto page = request(http::verb::head, "/timeline");
  EXPECT_EQ(page.result_int(), 200);
  EXPECT_TRUE(page.body().empty());
  EXPECT_EQ(header(page, http::field::content_length), std::to_string(std::string(kIndex).size()));
}

TEST_F(WebUiTest, ClientRoutesAnswerIndexButApiPathsAndMissingFilesAre404) {
  start();
  for (const char* route : {"/", "/profiles/123", "/timeline", "/cameras/abc/live", "/profiles/123/"}) {
    const auto response = get(route);
    EXPECT_EQ(response.result_int(), 200) << route;
    EXPECT_EQ(response.body(), kIndex) << route;
    EXPECT_EQ(header(response, http::field::cache_control), "no-cache") << route;
  }
  // The API keeps its routes and its JSON 404.
  EXPECT_EQ(get("/api/v1/health").body(), R"({"status":"ok"})");
  for (const char* path : {"/api/v1/nope", "/api", "/api/", "/ws", "/metrics"}) {
    const auto response = get(path);
    EXPECT_EQ(response.result_int(), 404) << path;
    EXPECT_EQ(header(response, http::field::content_type), "application/json") << path;
    EXPECT_EQ(error_code_of(response), "not_found") << path;
  }
  // Files: a dot in the last segment, or anything under /assets/.
  for (const char* path : {"/missing.js", "/assets/abc/missing.js", "/assets/abc/app", "/assets", "/assets/abc/",
                           "/profiles/123/photo.png"}) {
    const auto response = get(path);
    EXPECT_EQ(response.result_int(), 404) << path;
    EXPECT_EQ(error_code_of(response), "not_found") << path;
  }
  // Only GET and HEAD reach the UI; a known path keeps its 405.
  EXPECT_EQ(request(http::verb::post, "/profiles/123").result_int(), 404);
  EXPECT_EQ(request(http::verb::delete_, "/").result_int(), 404);
  EXPECT_EQ(request(http::verb::get, "/api/v1/things").result_int(), 405);
}

TEST_F(WebUiTest, TraversalAttemptsNeverReachFilesOutsideTheRoot) {
  // Links: one to a file outside, one to a folder outside, one inside.
  fs::create_symlink(dir_.path() / "secret.txt", root_ / "assets/abc/leak.txt");
  fs::create_directory_symlink(dir_.path(), root_ / "assets/up");
  fs::create_symlink(root_ / "assets/abc/app.js", root_ / "alias.js");
  write_file(root_ / ".env", kSecret);
  write_file(root_ / "assets/abc/.secret.txt", kSecret);
  start();
  for (const char* target : {
           "/assets/../../etc/passwd",
           "/assets/../secret.txt",
           "/%2e%2e/%2e%2e/etc/passwd",
           "/%2e%2e/secret.txt",
           "/assets/..%2f..%2fsafelynx.db",
           "/assets/abc/..%2F..%2F..%2Fsecret.txt",
           "/assets%2f..%2f..%2fsecret.txt",
           "/.%2e/secret.txt",
           "/./index.html",
           "/..%5csecret.txt",
           "/assets\\..\\..\\secret.txt",
           "/%252e%252e/secret.txt",  // decoded once: the literal name "%2e%2e"
           "/%00.js",
           "/index.html%00.js",
           "//secret.txt",
           "/assets/abc/leak.txt",
           "/assets/up/secret.txt",
           "/.env",
           "/assets/abc/.secret.txt",
       }) {
    const auto response = get(target);
    EXPECT_TRUE(response.result_int() == 400 || response.result_int() == 404)
        << target << " -> " << response.result_int();
    EXPECT_EQ(response.body().find(kSecret), std::string::npos) << target;
    EXPECT_EQ(response.body().find("root:"), std::string::npos) << target;
  }
  EXPECT_EQ(get("/assets/..%2f..%2fsafelynx.db").result_int(), 400);
  // A link that stays inside the root is followed.
  const auto alias = get("/alias.js");
  EXPECT_EQ(alias.result_int(), 200);
  EXPECT_EQ(alias.body(), kAppJs);
}

TEST_F(WebUiTest, NotBuiltAnswers503WithTheBuildCommand) {
  fs::remove(root_ / "index.html");
  start();
  EXPECT_FALSE(ui_->has_index());
  for (const char* route : {"/", "/profiles/123"}) {
    const auto response = get(route);
    EXPECT_EQ(response.result_int(), 503) << route;
    EXPECT_EQ(header(response, http::field::content_type), "text/html; charset=utf-8");
    EXPECT_EQ(header(response, http::field::cache_control), "no-store");
    EXPECT_FALSE(header(response, "Content-Security-Policy").empty());
    EXPECT_NE(response.body().find("not built"), std::string::npos);
    EXPECT_NE(response.body().find("npm --prefix web ci &amp;&amp; npm --prefix web run build"), std::string::npos);
    EXPECT_EQ(response.body().find(root_.string()), std::string::npos);  // the log names the folder, not the page
  }
  EXPECT_EQ(get("/api/v1/health").result_int(), 200);
  EXPECT_EQ(get("/assets/abc/app.js").result_int(), 200);
  EXPECT_EQ(get("/index.html").result_int(), 404);
  // Built while the server runs: served without a restart.
  write_file(root_ / "index.html", kIndex);
  EXPECT_TRUE(ui_->has_index());
  EXPECT_EQ(get("/").body(), kIndex);
}

TEST_F(WebUiTest, MissingRootIsNotBuilt) {
  start(WebUiOptions{.root = dir_.path() / "no-such-dir"});
  EXPECT_FALSE(ui_->has_index());
  EXPECT_EQ(get("/").result_int(), 503);
  EXPECT_EQ(get("/assets/abc/app.js").result_int(), 404);
}

TEST_F(WebUiTest, FilesOverTheLimitFailAndSpecialFilesAreNotServed) {
  write_file(root_ / "assets/abc/big.js", std::string(100, 'x'));
  ASSERT_EQ(::mkfifo((root_ / "assets/abc/pipe.js").c_str(), 0600), 0);  // must not block the request
  start(WebUiOptions{.root = root_, .max_file_bytes = 64});
  const auto big = get("/assets/abc/big.js");
  EXPECT_EQ(big.result_int(), 500);
  EXPECT_EQ(error_code_of(big), "internal_error");
  EXPECT_EQ(get("/assets/abc/app.js").result_int(), 200);
  EXPECT_EQ(get("/assets/abc/pipe.js").result_int(), 404);

  HttpRequest request;
  request.method = "GET";
  request.path = "/assets/abc/big.js";
  try {
    (void)ui_->serve(request);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {  // the server logs it
    EXPECT_NE(std::string(e.what()).find("big.js has 100 bytes, more than the 64"), std::string::npos) << e.what();
  }
  request.method = "POST";
  const auto post = ui_->serve(request);
  EXPECT_EQ(post.status, 405);
}

}  // namespace
}  // namespace safelynx::server
