// Shared by the route files of the API; not part of its interface.
#pragma once

#include <nlohmann/json.hpp>
#include <opencv2/core/mat.hpp>

#include <functional>
#include <span>
#include <variant>
#include <string>

#include "server/api/api.hpp"
#include "server/api/json_mapping.hpp"

namespace safelynx::server::detail {

using AuthedHandler = std::function<HttpResponse(HttpRequest&, const Principal&)>;

// Wraps a handler so it runs only for a valid token (401 otherwise) whose
// role holds `permission` (403 "forbidden" otherwise), sent in the
// Authorization header. Every route names one.
Handler authed(ApiContext& context, Permission permission, AuthedHandler handler,
               TokenPlace place = TokenPlace::Header);
// The same for images and videos, which a browser loads from a URL: the
// token may also be ?token=.
Handler authed_media(ApiContext& context, Permission permission, AuthedHandler handler);

// The role of a token being created: body "role" (default: the request's
// own), never more than the request's role (403 "forbidden").
Role token_role(const nlohmann::json& body, const Principal& who);
// Every check of a password a client sent goes through the login throttle:
// the permit to hash it now, or the 429 answer (logged). A wrong password is
// then recorded (counted and logged as `what`). Both log lines name the
// address and the username.
std::variant<LoginThrottle::Permit, HttpResponse> admit_password_check(ApiContext& context, const HttpRequest& request,
                                                                       const std::string& username,
                                                                       const std::string& refused_what);
void record_password_failure(ApiContext& context, const HttpRequest& request, const std::string& username,
                             const std::string& what);

// The expiry of a token being created: an API token making it hands on at
// most its own expiry (the default when none is asked; later is 422).
std::optional<TimePoint> token_expiry(std::optional<TimePoint> asked, const Principal& who);

HttpResponse ok(const nlohmann::json& body, int status = 200);
HttpResponse no_content();
HttpResponse jpeg_file(const std::filesystem::path& file, const std::string& what);

// {id} as a Uuid, or 404 naming the kind of thing ("profile").
Uuid path_uuid(const HttpRequest& request, const char* what);
// A query parameter parsed with `parse`; a bad value is 400 naming it.
std::optional<Uuid> query_uuid(const HttpRequest& request, const char* name);
std::optional<TimePoint> query_time(const HttpRequest& request, const char* name);
// true/1 or false/0; nullopt when absent or empty.
std::optional<bool> query_bool(const HttpRequest& request, const char* name);
storage::Page query_page(const HttpRequest& request, const ApiOptions& options);
nlohmann::json page_json(nlohmann::json items, std::uint64_t total, const storage::Page& page);
[[noreturn]] void not_found(const std::string& what, const std::string& id);
[[noreturn]] void bad_query(const std::string& name, const std::string& message);

// One page of sightings matching `filter` (page and per_page from the query).
HttpResponse sightings_page(ApiContext& context, storage::SightingFilter filter, const HttpRequest& request);
// Sightings as the API shows them: each with its profile's summary
// ("profile", null when it is gone), the profiles looked up once each.
nlohmann::json sightings_json(ApiContext& context, std::span<const Sighting> sightings);

// The one photo of an identify-style request (the image as the body with its
// content type, or multipart field "photo"), decoded within the API's
// limits: 415 for another content type or format, 413 too large, 422
// empty or undecodable.
cv::Mat request_image(const ApiContext& context, HttpRequest& request);

// Profiles near another as [{"profile": summary, "distance"}], nearest first.
nlohmann::json similar_json(const std::vector<gallery::Identification>& similar);
// How many look-alikes an enrolment's answer names at most.
inline constexpr std::size_t kLooksLikeLimit = 5;

void add_profile_routes(Router& router, ApiContext& context);
void add_merge_routes(Router& router, ApiContext& context);
void add_face_routes(Router& router, ApiContext& context);
void add_camera_routes(Router& router, ApiContext& context);
void add_sighting_routes(Router& router, ApiContext& context);
void add_analytics_routes(Router& router, ApiContext& context);
void add_user_routes(Router& router, ApiContext& context);
void add_audit_routes(Router& router, ApiContext& context);
void add_recognition_routes(Router& router, ApiContext& context);
void add_feedback_routes(Router& router, ApiContext& context);

}  // namespace safelynx::server::detail
