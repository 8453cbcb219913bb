// The API's JSON shapes of the domain's values, and the strict reading of
// request bodies: a malformed body is 400, a wrong type or value 422, each
// naming the field.
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/entities.hpp"
#include "domain/events.hpp"
#include "domain/settings.hpp"
#include "server/http_types.hpp"

namespace safelynx::server {

nlohmann::json to_json(const Profile& profile);
// The short form other answers embed: id, name, classification, thumbnail_url.
nlohmann::json summary_json(const Profile& profile);
nlohmann::json to_json(const Camera& camera);
nlohmann::json to_json(const Sighting& sighting);
nlohmann::json to_json(const Recording& recording);
nlohmann::json to_json(const Feedback& feedback);
nlohmann::json to_json(const Settings& settings);
nlohmann::json to_json(const ApiToken& token);
nlohmann::json to_json(const User& user);  // without the password hash
nlohmann::json box_json(const Box& box);
// A float as the short decimal it stands for (0.6, not 0.6000000238418579).
double short_decimal(float value, int places = 6);
// {"type": "ProfileCreated", "payload": {...}, "timestamp": "...Z"}
nlohmann::json to_json(const DomainEvent& event);

// Applies the keys present in `body` (nested like to_json(Settings)) over
// `settings`. Unknown keys and wrong types throw ApiError 422 naming the key;
// so do out-of-range values (every problem listed).
Settings apply_settings_json(Settings settings, const nlohmann::json& body);
// GET /api/v1/settings/schema: every setting of domain/settings_schema.hpp
// with its type, range, default, unit, label and help.
nlohmann::json settings_schema_json();

// The request body as a JSON object: 415 unless the content type is JSON,
// 400 "malformed_json" when it does not parse or is not an object.
nlohmann::json json_object_body(const HttpRequest& request);

// Typed field access: absent -> nullopt; wrong type -> ApiError 422
// "invalid_field" naming `name`.
std::optional<std::string> optional_string(const nlohmann::json& object, const char* name);
std::optional<bool> optional_bool(const nlohmann::json& object, const char* name);
std::optional<double> optional_number(const nlohmann::json& object, const char* name);
std::optional<std::int64_t> optional_integer(const nlohmann::json& object, const char* name);
std::string required_string(const nlohmann::json& object, const char* name);
// Rejects keys other than `allowed` (a typo must not be silently ignored).
void reject_unknown_keys(const nlohmann::json& object, std::initializer_list<std::string_view> allowed);
void reject_unknown_keys(const nlohmann::json& object, std::span<const std::string_view> allowed);

// Text from outside JSON (multipart fields) must be UTF-8 before it is
// stored: 422 naming the field otherwise.
void require_utf8(const std::string& field, const std::string& text);

// A name or label shown to people (profile and camera names, tags, token
// names, usernames): trimmed of surrounding white space; 422 naming the field
// when longer than `max_length` bytes, not UTF-8, or holding control
// characters (NUL included) or bidirectional formatting characters.
std::string display_text(const std::string& field, const std::string& text, std::size_t max_length);

[[noreturn]] void invalid_field(const std::string& name, const std::string& message);

}  // namespace safelynx::server
