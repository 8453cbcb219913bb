#include "server/http_types.hpp"

#include <nlohmann/json.hpp>

namespace safelynx::server {

const std::string& HttpRequest::header(const std::string& name) const {
  static const std::string empty;
  const auto it = headers.find(name);
  return it == headers.end() ? empty : it->second;
}

std::optional<std::string> HttpRequest::query_param(const std::string& name) const {
  const auto it = query.find(name);  // multimap::find returns the first of equal keys
  if (it == query.end()) return std::nullopt;
  return it->second;
}

const std::string& HttpRequest::path_param(const std::string& name) const {
  return path_params.at(name);
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

HttpResponse error_response(int status, const std::string& code, const std::string& message) {
  // nlohmann::json escapes quotes and control characters in the message; dump
  // with replace so invalid UTF-8 from a client (echoed in a message) cannot throw.
  const nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return HttpResponse::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace safelynx::server
