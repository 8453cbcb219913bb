#include <algorithm>
#include <set>
#include <stdexcept>

#include "server/http_server.hpp"

namespace safelynx::server {

namespace {

// "/a/b" -> {"a", "b"}; "/" -> {""}. Empty segments are kept so "/a//b" and
// "/a/b/" do not silently match "/a/b".
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = (!path.empty() && path.front() == '/') ? 1 : 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      segments.push_back(path.substr(start));
      return segments;
    }
    segments.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

}  // namespace

struct Router::Route {
  std::string method;
  struct Segment {
    std::string text;  // the literal, or the parameter name
    bool is_param = false;
  };
  std::vector<Segment> segments;
  Handler handler;

  bool matches(const std::vector<std::string>& path) const {
    if (path.size() != segments.size()) return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (segments[i].is_param ? path[i].empty() : segments[i].text != path[i]) return false;
    }
    return true;
  }

  // True when this route is more specific than `other` (both matching the
  // same path): the first segment where they differ is a literal here.
  bool more_specific_than(const Route& other) const {
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].is_param != other.segments[i].is_param) return !segments[i].is_param;
    }
    return false;
  }
};

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  if (method.empty() || pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("Router::add: bad route '" + method + " " + pattern + "'");
  }
  auto route = std::make_shared<Route>();
  route->method = method;
  route->handler = std::move(handler);
  for (auto& text : split_path(pattern)) {
    Route::Segment segment;
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      segment.is_param = true;
      segment.text = text.substr(1, text.size() - 2);
    } else {
      segment.text = std::move(text);
    }
    route->segments.push_back(std::move(segment));
  }
  routes_.push_back(std::move(route));
}

HttpResponse Router::dispatch(HttpRequest& request) const {
  const auto path = split_path(request.path);
  const Route* best = nullptr;
  const Route* best_get = nullptr;  // for HEAD without an explicit HEAD route
  std::set<std::string> allowed;
  for (const auto& route : routes_) {
    if (!route->matches(path)) continue;
    allowed.insert(route->method);
    if (route->method == "GET") allowed.insert("HEAD");
    if (route->method == request.method && (best == nullptr || route->more_specific_than(*best))) {
      best = route.get();
    }
    if (route->method == "GET" && (best_get == nullptr || route->more_specific_than(*best_get))) {
      best_get = route.get();
    }
  }
  if (best == nullptr && request.method == "HEAD") best = best_get;  // the server drops the body
  if (best == nullptr) {
    if (allowed.empty()) {
      return error_response(404, "not_found", "no route for " + request.path);
    }
    std::string allow;
    for (const auto& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    auto response = error_response(405, "method_not_allowed",
                                    request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  request.path_params.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (best->segments[i].is_param) request.path_params[best->segments[i].text] = path[i];
  }
  // ApiError becomes its JSON error here, so API tests can call dispatch()
  // directly; any other exception propagates (the server answers 500).
  try {
    return best->handler(request);
  } catch (const ApiError& e) {
    return error_response(e.status(), e.code(), e.what());
  }
}

}  // namespace safelynx::server
