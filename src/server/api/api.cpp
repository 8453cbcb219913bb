#include "server/api/api.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <variant>

#include "server/api/api_internal.hpp"
#include "server/revocable_stream.hpp"

namespace safelynx::server {

using nlohmann::json;

Settings ApiContext::settings() const {
  std::lock_guard lock(settings_mutex_);
  if (!settings_) settings_ = database.settings().load();
  return *settings_;
}

void ApiContext::set_settings(const Settings& settings) {
  std::vector<std::function<void(const Settings&)>> listeners;
  {
    std::lock_guard lock(settings_mutex_);
    database.settings().save(settings);
    settings_ = settings;
    listeners = settings_listeners_;
  }
  for (const auto& listener : listeners) listener(settings);
}

void ApiContext::on_settings_changed(std::function<void(const Settings&)> listener) {
  std::lock_guard lock(settings_mutex_);
  settings_listeners_.push_back(std::move(listener));
}

std::string request_token(const HttpRequest& request, TokenPlace place) {
  const std::string& authorization = request.header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() > kBearer.size()) {
    std::string scheme = authorization.substr(0, kBearer.size());
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (scheme == kBearer) return authorization.substr(kBearer.size());
  }
  auto query_token = request.query_param("token");
  if (!query_token) return {};
  if (place != TokenPlace::HeaderOrQuery || (request.method != "GET" && request.method != "HEAD"))
    throw ApiError(401, "unauthorized",
                   "a token in the URL is accepted only for images, videos and WebSockets; send "
                   "'Authorization: Bearer <token>'");
  return *query_token;
}

BodyAdmission make_body_admission(ApiContext& context) {
  return [&context](const HttpRequest& headers) -> std::size_t {
    if (headers.method == "POST" && headers.path == "/api/v1/auth/login") return context.options.max_login_body_bytes;
    (void)context.auth.authenticate(request_token(headers));
    return std::numeric_limits<std::size_t>::max();  // the server's own limit
  };
}

Principal authorize(AuthService& auth, const HttpRequest& request, Permission permission, TokenPlace place) {
  Principal principal = auth.authenticate(request_token(request, place));
  if (!can(principal.role, permission)) {
    throw ApiError(403, "forbidden",
                   "this needs the " + std::string(to_string(required_role(permission))) +
                       " role; this request has the " + std::string(to_string(principal.role)) + " role");
  }
  return principal;
}

namespace detail {

Handler authed(ApiContext& context, Permission permission, AuthedHandler handler, TokenPlace place) {
  return [&context, permission, handler = std::move(handler), place](HttpRequest& request) {
    const Principal principal = authorize(context.auth, request, permission, place);
    return handler(request, principal);
  };
}

Handler authed_media(ApiContext& context, Permission permission, AuthedHandler handler) {
  return [&context, permission, handler = std::move(handler)](HttpRequest& request) {
    const Principal principal = authorize(context.auth, request, permission, TokenPlace::HeaderOrQuery);
    HttpResponse response = handler(request, principal);
    // A live view lasts as long as someone watches: it ends within a second
    // of its token being revoked, expiring or losing the right.
    if (response.stream) {
      const std::string token = request_token(request, TokenPlace::HeaderOrQuery);
      response.stream = std::make_shared<RevocableStream>(std::move(response.stream), [&context, token, permission] {
        try {
          return can(context.auth.authenticate(token).role, permission);
        } catch (...) {
          return false;  // revoked, expired, or the check itself failed: stop showing the camera
        }
      });
    }
    return response;
  };
}

// Replace rather than throw on invalid UTF-8: one bad stored string must not
// make a whole list unreadable.
HttpResponse ok(const json& body, int status) {
  return HttpResponse::json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

HttpResponse no_content() {
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

HttpResponse jpeg_file(const std::filesystem::path& file, const std::string& what) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) throw ApiError(404, "not_found", what + " has no image");
  HttpResponse response;
  response.content_type = "image/jpeg";
  response.file = file;
  response.headers.emplace_back("Cache-Control", "private, max-age=60");
  return response;
}

void not_found(const std::string& what, const std::string& id) {
  throw ApiError(404, "not_found", "no " + what + " with id " + id.substr(0, 64));
}

void bad_query(const std::string& name, const std::string& message) {
  throw ApiError(400, "invalid_query", "query parameter " + name + ": " + message);
}

Uuid path_uuid(const HttpRequest& request, const char* what) {
  const std::string& text = request.path_param("id");
  try {
    return Uuid::parse(text);
  } catch (const std::invalid_argument&) {
    not_found(what, text);
  }
}

std::optional<Uuid> query_uuid(const HttpRequest& request, const char* name) {
  const auto text = request.query_param(name);
  if (!text || text->empty()) return std::nullopt;
  try {
    return Uuid::parse(*text);
  } catch (const std::invalid_argument& error) {
    bad_query(name, error.what());
  }
}

std::optional<TimePoint> query_time(const HttpRequest& request, const char* name) {
  const auto text = request.query_param(name);
  if (!text || text->empty()) return std::nullopt;
  try {
    return parse_iso8601(*text);
  } catch (const std::invalid_argument& error) {
    bad_query(name, error.what());
  }
}

std::optional<bool> query_bool(const HttpRequest& request, const char* name) {
  const auto text = request.query_param(name);
  if (!text || text->empty()) return std::nullopt;
  if (*text == "1" || *text == "true") return true;
  if (*text == "0" || *text == "false") return false;
  bad_query(name, "must be true or false");
}

namespace {

std::uint64_t positive_integer(const HttpRequest& request, const char* name, std::uint64_t fallback,
                               std::uint64_t max) {
  const auto text = request.query_param(name);
  if (!text || text->empty()) return fallback;
  std::uint64_t value = 0;
  for (char c : *text) {
    if (c < '0' || c > '9' || value > max) bad_query(name, "must be an integer from 1 to " + std::to_string(max));
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value < 1 || value > max) bad_query(name, "must be an integer from 1 to " + std::to_string(max));
  return value;
}

}  // namespace

storage::Page query_page(const HttpRequest& request, const ApiOptions& options) {
  storage::Page page;
  page.page = positive_integer(request, "page", 1, 1'000'000'000);
  page.per_page = positive_integer(request, "per_page", 50, options.max_per_page);
  return page;
}

json page_json(json items, std::uint64_t total, const storage::Page& page) {
  return {{"items", std::move(items)}, {"total", total}, {"page", page.page}, {"per_page", page.per_page}};
}

std::variant<LoginThrottle::Permit, HttpResponse> admit_password_check(ApiContext& context, const HttpRequest& request,
                                                                       const std::string& username,
                                                                       const std::string& refused_what) {
  auto admitted = context.login_throttle.admit(request.client_address, username);
  if (auto* permit = std::get_if<LoginThrottle::Permit>(&admitted)) return std::move(*permit);
  const auto& refusal = std::get<LoginThrottle::Refusal>(admitted);
  context.log_warning(refused_what, {{"address", request.client_address}, {"username", username.substr(0, 100)},
                                                 {"path", request.path}, {"reason", refusal.reason},
                                                 {"retry_after_s", refusal.retry_after_s}});
  HttpResponse response = error_response(429, "too_many_login_attempts",
                                         refusal.reason + "; retry in " + std::to_string(refusal.retry_after_s) + " s");
  response.headers.emplace_back("Retry-After", std::to_string(refusal.retry_after_s));
  return response;
}

void record_password_failure(ApiContext& context, const HttpRequest& request, const std::string& username,
                             const std::string& what) {
  context.login_throttle.record_failure(request.client_address, username);
  context.log_warning(what, {{"address", request.client_address}, {"username", username.substr(0, 100)}});
}

}  // namespace detail

namespace {

// Throttled (LoginThrottle), and every failure logged with the address and
// the username tried.
HttpResponse login(ApiContext& context, HttpRequest& request) {
  using namespace detail;
  const json body = json_object_body(request);
  reject_unknown_keys(body, {"username", "password"});
  const std::string username = required_string(body, "username");
  const std::string password = required_string(body, "password");
  auto admitted = admit_password_check(context, request, username, "login refused");
  if (auto* refusal = std::get_if<HttpResponse>(&admitted)) return std::move(*refusal);
  IssuedToken issued;
  try {
    issued = context.auth.login(username, password);
  } catch (const ApiError& error) {
    if (error.status() == 401) {
      record_password_failure(context, request, username, "login failed");
      context.audit.record(AuditActor::claimed(username, request), "auth.login_failed", {"user", ""});
    }
    throw;
  }
  context.login_throttle.record_success(request.client_address, username);
  AuditActor actor = AuditActor::claimed(username, request);
  actor.user_id = issued.token.user_id;
  context.audit.record(actor, "auth.login", {"user", std::to_string(issued.token.user_id)});
  return ok({{"token", issued.secret}, {"expires_at", to_iso8601(*issued.token.expires_at)}});
}

void add_system_routes(Router& router, ApiContext& context) {
  using namespace detail;
  router.add("GET", "/api/v1/health", [&context](HttpRequest&) {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - context.started);
    // Nothing about the gallery: anyone who can reach the port may ask.
    return ok({{"status", "ok"},
               {"version", context.options.version},
               {"uptime_s", uptime.count()},
               {"schema_version", context.database.schema_version()}});
  });

  // The API's own description: public, like the documentation it is.
  router.add("GET", "/api/v1/openapi.json", [&context](HttpRequest&) {
    return HttpResponse::json(200, context.options.openapi_json);
  });
  // Outside /api/v1, where Prometheus looks; its scraper sends a token like any client.
  router.add("GET", "/metrics", [&context](HttpRequest& request) {
    (void)authorize(context.auth, request, Permission::Read);
    if (!context.metrics_text) throw ApiError(503, "metrics_unavailable", "this server runs without the camera pipeline");
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = context.metrics_text();
    return response;
  });

  router.add("POST", "/api/v1/auth/login", [&context](HttpRequest& request) { return login(context, request); });

  router.add("POST", "/api/v1/auth/tokens", authed(context, Permission::OwnAccount, [&context](HttpRequest& request, const Principal& who) {
               const json body = json_object_body(request);
               reject_unknown_keys(body, {"name", "expires_at", "role"});
               const std::string name = display_text("name", required_string(body, "name"), 100);
               if (name.empty()) invalid_field("name", "must have 1 to 100 characters");
               std::optional<TimePoint> expires;
               if (auto text = optional_string(body, "expires_at")) {
                 try {
                   expires = parse_iso8601(*text);
                 } catch (const std::invalid_argument& error) {
                   invalid_field("expires_at", error.what());
                 }
                 if (*expires <= now_ms()) invalid_field("expires_at", "is in the past");
               }
               expires = token_expiry(expires, who);
               const Role role = token_role(body, who);
               const IssuedToken issued = context.auth.create_api_token(who.user.id, name, expires, role);
               context.audit.record(AuditActor::of(who, request), "token.create", {"token", issued.token.id.to_string()},
                                    nullptr, to_json(issued.token));
               json out = to_json(issued.token);
               out["token"] = issued.secret;
               return ok(out, 201);
             }));
  router.add("GET", "/api/v1/auth/tokens", authed(context, Permission::OwnAccount, [&context](HttpRequest&, const Principal& who) {
               json items = json::array();
               for (const ApiToken& token : context.auth.api_tokens(who.user.id)) items.push_back(to_json(token));
               return ok({{"items", items}, {"total", items.size()}, {"page", 1},
                          {"per_page", std::max<std::size_t>(items.size(), 1)}});
             }));
  router.add("POST", "/api/v1/auth/logout", authed(context, Permission::OwnAccount, [&context](HttpRequest& request, const Principal& who) {
               context.auth.logout(who.token.id);
               context.audit.record(AuditActor::of(who, request), "auth.logout", {"user", std::to_string(who.user.id)});
               return no_content();
             }));
  router.add("DELETE", "/api/v1/auth/tokens/{id}", authed(context, Permission::OwnAccount, [&context](HttpRequest& request, const Principal& who) {
               const Uuid id = path_uuid(request, "token");
               if (!context.auth.revoke(who.user.id, id)) not_found("token", id.to_string());
               context.audit.record(AuditActor::of(who, request), "token.revoke", {"token", id.to_string()});
               return no_content();
             }));

  router.add("GET", "/api/v1/settings", authed(context, Permission::Read, [&context](HttpRequest&, const Principal&) {
               return ok(to_json(context.settings()));
             }));
  router.add("GET", "/api/v1/settings/schema", authed(context, Permission::Read, [](HttpRequest&, const Principal&) {
               return ok(settings_schema_json());
             }));
  router.add("PUT", "/api/v1/settings", authed(context, Permission::ManageSettings, [&context](HttpRequest& request, const Principal& who) {
               const Settings before = context.settings();
               const Settings updated = apply_settings_json(before, json_object_body(request));
               context.set_settings(updated);
               context.audit.record(AuditActor::of(who, request), "settings.update", {"settings", ""}, to_json(before), to_json(updated));
               return ok(to_json(updated));
             }));
}

}  // namespace

std::shared_ptr<Router> make_api_router(ApiContext& context) {
  auto router = std::make_shared<Router>();
  add_system_routes(*router, context);
  detail::add_profile_routes(*router, context);
  detail::add_merge_routes(*router, context);
  detail::add_face_routes(*router, context);
  detail::add_camera_routes(*router, context);
  detail::add_sighting_routes(*router, context);
  detail::add_analytics_routes(*router, context);
  detail::add_user_routes(*router, context);
  detail::add_audit_routes(*router, context);
  detail::add_recognition_routes(*router, context);
  detail::add_feedback_routes(*router, context);
  return router;
}

}  // namespace safelynx::server
