#include <algorithm>
#include <set>
#include <stdexcept>

#include "server/http_server.hpp"

namespace safelynx::server {

PathPattern::PathPattern(const std::string& pattern) {
  if (pattern.empty() || pattern.front() != '/') throw std::invalid_argument("a path pattern must start with '/': " + pattern);
  for (auto& text : split(pattern)) {
    Segment segment;
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      segment.is_param = true;
      segment.text = text.substr(1, text.size() - 2);
    } else {
      segment.text = std::move(text);
    }
    segments_.push_back(std::move(segment));
  }
}

std::vector<std::string> PathPattern::split(const std::string& path) {
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

bool PathPattern::matches(const std::vector<std::string>& segments) const {
  if (segments.size() != segments_.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (segments_[i].is_param ? segments[i].empty() : segments_[i].text != segments[i]) return false;
  }
  return true;
}

std::map<std::string, std::string> PathPattern::parameters(const std::vector<std::string>& segments) const {
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < segments.size() && i < segments_.size(); ++i)
    if (segments_[i].is_param) found[segments_[i].text] = segments[i];
  return found;
}

bool PathPattern::more_specific_than(const PathPattern& other) const {
  for (std::size_t i = 0; i < segments_.size() && i < other.segments_.size(); ++i) {
    if (segments_[i].is_param != other.segments_[i].is_param) return !segments_[i].is_param;
  }
  return false;
}

struct Router::Route {
  std::string method;
  PathPattern pattern;
  Handler handler;
};

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  if (method.empty() || pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("Router::add: bad route '" + method + " " + pattern + "'");
  }
  routes_.push_back(std::make_shared<Route>(Route{method, PathPattern(pattern), std::move(handler)}));
}

void Router::set_fallback(Handler handler) { fallback_ = std::move(handler); }

HttpResponse Router::dispatch(HttpRequest& request) const {
  const auto path = PathPattern::split(request.path);
  const Route* best = nullptr;
  const Route* best_get = nullptr;  // for HEAD without an explicit HEAD route
  std::set<std::string> allowed;
  for (const auto& route : routes_) {
    if (!route->pattern.matches(path)) continue;
    allowed.insert(route->method);
    if (route->method == "GET") allowed.insert("HEAD");
    if (route->method == request.method && (best == nullptr || route->pattern.more_specific_than(best->pattern))) {
      best = route.get();
    }
    if (route->method == "GET" && (best_get == nullptr || route->pattern.more_specific_than(best_get->pattern))) {
      best_get = route.get();
    }
  }
  if (best == nullptr && request.method == "HEAD") best = best_get;  // the server drops the body
  const Handler* handler = nullptr;
  if (best != nullptr) {
    request.path_params = best->pattern.parameters(path);
    handler = &best->handler;
  } else if (!allowed.empty()) {
    std::string allow;
    for (const auto& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    auto response = error_response(405, "method_not_allowed",
                                    request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
    response.headers.emplace_back("Allow", allow);
    return response;
  } else if (fallback_ && (request.method == "GET" || request.method == "HEAD")) {
    handler = &fallback_;
  } else {
    return error_response(404, "not_found", "no route for " + request.path);
  }
  // ApiError becomes its JSON error here, so API tests can call dispatch()
  // directly; any other exception propagates (the server answers 500).
  try {
    return (*handler)(request);
  } catch (const ApiError& e) {
    return error_response(e.status(), e.code(), e.what());
  }
}

}  // namespace safelynx::server
