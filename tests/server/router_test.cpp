#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/http_server.hpp"

namespace safelynx::server {
namespace {

HttpRequest make_request(std::string method, std::string path) {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

std::string header_value(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

TEST(RouterTest, MatchesLiteralAndParameterSegments) {
  Router router;
  router.add("GET", "/profiles/{id}/sightings/{n}", [](HttpRequest& r) {
    return HttpResponse::json(200, r.path_param("id") + "|" + r.path_param("n"));
  });
  auto request = make_request("GET", "/profiles/abc/sightings/7");
  const auto response = router.dispatch(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "abc|7");
  EXPECT_EQ(request.path_params.at("id"), "abc");
}

TEST(PathPatternTest, ParametersMatchOneNonEmptySegmentAndEmptySegmentsCount) {
  const PathPattern pattern("/api/v1/cameras/{id}/browser");
  EXPECT_TRUE(pattern.matches(PathPattern::split("/api/v1/cameras/42/browser")));
  EXPECT_EQ(pattern.parameters(PathPattern::split("/api/v1/cameras/42/browser")).at("id"), "42");
  EXPECT_FALSE(pattern.matches(PathPattern::split("/api/v1/cameras//browser")));
  EXPECT_FALSE(pattern.matches(PathPattern::split("/api/v1/cameras/42/browser/")));
  EXPECT_FALSE(pattern.matches(PathPattern::split("/api/v1/cameras/42")));
  EXPECT_EQ(PathPattern::split("/"), std::vector<std::string>{""});
  EXPECT_THROW(PathPattern("ws"), std::invalid_argument);
  EXPECT_TRUE(PathPattern("/profiles/export").more_specific_than(PathPattern("/profiles/{id}")));
  EXPECT_FALSE(PathPattern("/profiles/{id}").more_specific_than(PathPattern("/profiles/export")));
}

TEST(RouterTest, LiteralSegmentWinsOverParameterRegardlessOfOrder) {
  Router router;
  router.add("GET", "/profiles/{id}", [](HttpRequest& r) { return HttpResponse::json(200, "id:" + r.path_param("id")); });
  router.add("GET", "/profiles/export", [](HttpRequest&) { return HttpResponse::json(200, "export"); });
  auto export_request = make_request("GET", "/profiles/export");
  EXPECT_EQ(router.dispatch(export_request).body, "export");
  auto id_request = make_request("GET", "/profiles/42");
  EXPECT_EQ(router.dispatch(id_request).body, "id:42");
}

TEST(RouterTest, UnknownPathIs404JsonError) {
  Router router;
  router.add("GET", "/a", [](HttpRequest&) { return HttpResponse::json(200, "{}"); });
  auto request = make_request("GET", "/b");
  const auto response = router.dispatch(request);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "not_found");
  // A parameter never matches an empty segment, and segment counts must agree.
  router.add("GET", "/items/{id}", [](HttpRequest&) { return HttpResponse::json(200, "{}"); });
  auto empty_segment = make_request("GET", "/items/");
  EXPECT_EQ(router.dispatch(empty_segment).status, 404);
  auto too_deep = make_request("GET", "/items/1/x");
  EXPECT_EQ(router.dispatch(too_deep).status, 404);
}

TEST(RouterTest, WrongMethodIs405WithAllowHeader) {
  Router router;
  router.add("POST", "/things", [](HttpRequest&) { return HttpResponse::json(201, "{}"); });
  router.add("GET", "/things", [](HttpRequest&) { return HttpResponse::json(200, "[]"); });
  auto request = make_request("DELETE", "/things");
  const auto response = router.dispatch(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "method_not_allowed");
  EXPECT_EQ(header_value(response, "Allow"), "GET, HEAD, POST");
}

TEST(RouterTest, HeadFallsBackToGet) {
  Router router;
  router.add("GET", "/x", [](HttpRequest&) { return HttpResponse::json(200, "[1]"); });
  auto request = make_request("HEAD", "/x");
  const auto response = router.dispatch(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "[1]");  // the server strips it
}

TEST(RouterTest, FallbackTakesGetAndHeadOnUnknownPathsOnly) {
  Router router;
  router.add("GET", "/api/things", [](HttpRequest&) { return HttpResponse::json(200, "route"); });
  router.add("POST", "/api/upload", [](HttpRequest&) { return HttpResponse::json(201, "{}"); });
  router.set_fallback([](HttpRequest& r) { return HttpResponse::json(200, "fallback " + r.method + " " + r.path); });
  auto get = make_request("GET", "/profiles/1");
  EXPECT_EQ(router.dispatch(get).body, "fallback GET /profiles/1");
  auto head = make_request("HEAD", "/");
  EXPECT_EQ(router.dispatch(head).body, "fallback HEAD /");
  auto routed = make_request("GET", "/api/things");
  EXPECT_EQ(router.dispatch(routed).body, "route");
  // A path a route matches keeps its 405; other methods keep the 404.
  auto wrong_method = make_request("GET", "/api/upload");
  EXPECT_EQ(router.dispatch(wrong_method).status, 405);
  auto post = make_request("POST", "/profiles/1");
  EXPECT_EQ(router.dispatch(post).status, 404);

  router.set_fallback([](HttpRequest&) -> HttpResponse { throw ApiError(400, "bad_request", "no"); });
  auto refused = make_request("GET", "/x");
  const auto response = router.dispatch(refused);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "bad_request");
}

TEST(RouterTest, ApiErrorBecomesJsonErrorWithEscaping) {
  Router router;
  router.add("GET", "/fail", [](HttpRequest&) -> HttpResponse {
    throw ApiError(409, "conflict", "name \"bob\" exists\n");
  });
  auto request = make_request("GET", "/fail");
  const auto response = router.dispatch(request);
  EXPECT_EQ(response.status, 409);
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "conflict");
  EXPECT_EQ(body["error"]["message"], "name \"bob\" exists\n");
}

TEST(RouterTest, OtherExceptionsPropagateToTheServer) {
  Router router;
  router.add("GET", "/boom", [](HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  auto request = make_request("GET", "/boom");
  EXPECT_THROW(router.dispatch(request), std::runtime_error);
}

TEST(HttpTypesTest, RequestAccessors) {
  HttpRequest request;
  request.headers["content-type"] = "text/plain";
  request.query.emplace("a", "1");
  request.query.emplace("a", "2");
  EXPECT_EQ(request.header("content-type"), "text/plain");
  EXPECT_EQ(request.header("x-missing"), "");
  EXPECT_EQ(request.query_param("a"), "1");
  EXPECT_FALSE(request.query_param("b").has_value());
  EXPECT_THROW(request.path_param("id"), std::out_of_range);
}

TEST(HttpTypesTest, ErrorResponseShape) {
  const auto response = error_response(400, "bad", "a \\ b");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"error":{"code":"bad","message":"a \\ b"}})");
}

}  // namespace
}  // namespace safelynx::server
