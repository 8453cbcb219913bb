#include "server/api/json_mapping.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "domain/camera_url.hpp"
#include "server/multipart.hpp"
#include "domain/settings_schema.hpp"
#include "storage/settings_json.hpp"

namespace safelynx::server {

using nlohmann::json;

namespace {

json optional_time(const std::optional<TimePoint>& t) { return t ? json(to_iso8601(*t)) : json(nullptr); }



}  // namespace

void invalid_field(const std::string& name, const std::string& message) {
  throw ApiError(422, "invalid_field", name + ": " + message);
}

namespace {

// Calls `visit` with each code point of `text`; false at the first byte that
// is not valid UTF-8 (overlong forms and surrogates included).
template <class Visit>
bool for_each_code_point(const std::string& text, Visit&& visit) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    std::uint32_t code = length == 1 ? c : c & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next >> 6) != 0x2) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    visit(code);
    i += length;
  }
  return true;
}

// Bidirectional formatting characters: "\u202Egpj.exe" shows as
// "exe.jpg", so a name could pose as another.
bool is_bidi_control(std::uint32_t code) {
  return code == 0x061C || code == 0x200E || code == 0x200F || (code >= 0x202A && code <= 0x202E) ||
         (code >= 0x2066 && code <= 0x2069);
}

bool is_control(std::uint32_t code) { return code < 0x20 || (code >= 0x7F && code <= 0x9F); }

}  // namespace

void require_utf8(const std::string& field, const std::string& text) {
  if (!for_each_code_point(text, [](std::uint32_t) {})) invalid_field(field, "is not valid UTF-8");
}

std::string display_text(const std::string& field, const std::string& text, std::size_t max_length) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const std::string trimmed =
      first == std::string::npos ? std::string() : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
  if (trimmed.size() > max_length)
    invalid_field(field, "is longer than " + std::to_string(max_length) + " characters");
  std::optional<std::uint32_t> refused;
  const bool utf8 = for_each_code_point(trimmed, [&](std::uint32_t code) {
    if (!refused && (is_control(code) || is_bidi_control(code))) refused = code;
  });
  if (!utf8) invalid_field(field, "is not valid UTF-8");
  if (refused) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(*refused));
    invalid_field(field, std::string("must not contain control or bidirectional formatting characters (found ") + hex + ")");
  }
  return trimmed;
}

double short_decimal(float value, int places) {
  const double scale = std::pow(10.0, places);
  return std::round(static_cast<double>(value) * scale) / scale;
}

json box_json(const Box& box) {
  auto rounded = [](float v) { return std::round(static_cast<double>(v) * 10.0) / 10.0; };
  return json::array({rounded(box.x), rounded(box.y), rounded(box.width), rounded(box.height)});
}

json to_json(const Profile& p) {
  const std::string id = p.id.to_string();
  return {
      {"id", id},
      {"name", p.name ? json(*p.name) : json(nullptr)},
      {"classification", std::string(to_string(p.classification))},
      {"tags", p.tags},
      {"notes", p.notes},
      {"reviewed", p.reviewed},
      {"thumbnail_url", p.has_thumbnail ? json("/api/v1/profiles/" + id + "/thumbnail") : json(nullptr)},
      {"first_seen", optional_time(p.first_seen)},
      {"last_seen", optional_time(p.last_seen)},
      {"sighting_count", p.sighting_count},
      {"embedding_count", p.embedding_count},
      {"created_at", to_iso8601(p.created_at)},
      {"updated_at", to_iso8601(p.updated_at)},
  };
}

json summary_json(const Profile& p) {
  const std::string id = p.id.to_string();
  return {{"id", id},
          {"name", p.name ? json(*p.name) : json(nullptr)},
          {"classification", std::string(to_string(p.classification))},
          {"thumbnail_url", p.has_thumbnail ? json("/api/v1/profiles/" + id + "/thumbnail") : json(nullptr)}};
}

json to_json(const Camera& c) {
  return {
      {"id", c.id.to_string()},
      {"name", c.name},
      {"kind", std::string(to_string(c.kind))},
      {"source", mask_password(c.source)},  // secrets are write-only
      {"resolution", c.width > 0 ? json::array({c.width, c.height}) : json(nullptr)},
      {"fps", c.fps},
      {"location", c.location},
      {"enabled", c.enabled},
      {"status", std::string(to_string(c.status))},
      {"status_message", c.status_message},
      {"created_at", to_iso8601(c.created_at)},
      {"updated_at", to_iso8601(c.updated_at)},
  };
}

json to_json(const Sighting& s) {
  const std::string id = s.id.to_string();
  return {
      {"id", id},
      {"profile_id", s.profile_id.to_string()},
      {"camera_id", s.camera_id.to_string()},
      {"time", to_iso8601(s.time)},
      {"box", box_json(s.box)},
      {"score", short_decimal(s.detector_score)},
      {"distance", short_decimal(s.match_distance)},
      {"margin", short_decimal(s.match_margin)},
      {"corrected_from", s.corrected_from ? json(s.corrected_from->to_string()) : json(nullptr)},
      {"snapshot_url", s.has_face_snapshot ? json("/api/v1/sightings/" + id + "/snapshot") : json(nullptr)},
      {"frame_url", s.has_frame_snapshot ? json("/api/v1/sightings/" + id + "/snapshot?kind=frame") : json(nullptr)},
      {"recording_id", s.recording_id ? json(s.recording_id->to_string()) : json(nullptr)},
      {"recording_offset_s", s.recording_offset_s},
  };
}

json to_json(const Feedback& f) {
  return {
      {"id", f.id.to_string()},
      {"sighting_id", f.sighting_id.to_string()},
      {"verdict", std::string(to_string(f.verdict))},
      {"profile_id", f.profile_id.to_string()},
      {"previous_profile_id", f.previous_profile_id.to_string()},
      {"added_to_gallery", f.added_to_gallery},
      {"created_at", to_iso8601(f.created_at)},
      {"undone_at", optional_time(f.undone_at)},
  };
}

json to_json(const Recording& r) {
  const std::string id = r.id.to_string();
  return {
      {"id", id},
      {"camera_id", r.camera_id.to_string()},
      {"start", to_iso8601(r.start)},
      {"end", optional_time(r.end)},
      {"duration_s", r.end ? json(static_cast<double>((*r.end - r.start).count()) / 1000.0) : json(nullptr)},
      {"size_bytes", r.size_bytes},
      {"video_url", "/api/v1/recordings/" + id + "/video"},
  };
}

json to_json(const Settings& s) { return storage::settings_to_json(s); }

json to_json(const ApiToken& t) {
  return {
      {"id", t.id.to_string()},
      {"name", t.name},
      {"created_at", to_iso8601(t.created_at)},
      {"expires_at", optional_time(t.expires_at)},
      {"last_used_at", optional_time(t.last_used_at)},
      {"role", std::string(to_string(t.role))},
  };
}

// Never the password hash.
json to_json(const User& u) {
  return {
      {"id", u.id},
      {"username", u.username},
      {"role", std::string(to_string(u.role))},
      {"created_at", to_iso8601(u.created_at)},
  };
}

namespace {

json event_payload(const EventPayload& payload) {
  return std::visit(
      [](const auto& e) -> json {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ProfileCreated> || std::is_same_v<T, ProfileUpdated>) {
          return {{"profile", to_json(e.profile)}};
        } else if constexpr (std::is_same_v<T, ProfileDeleted>) {
          return {{"profile_id", e.profile_id.to_string()}};
        } else if constexpr (std::is_same_v<T, ProfilesMerged>) {
          json sources = json::array();
          for (const Uuid& id : e.sources) sources.push_back(id.to_string());
          return {{"into", e.into.to_string()}, {"source_ids", sources}};
        } else if constexpr (std::is_same_v<T, ProfileSighted>) {
          return {{"profile", to_json(e.profile)}, {"sighting", to_json(e.sighting)}};
        } else if constexpr (std::is_same_v<T, FaceDetected>) {
          return {{"camera_id", e.camera_id.to_string()}, {"box", box_json(e.box)}, {"score", short_decimal(e.score)}};
        } else if constexpr (std::is_same_v<T, NewSighting>) {
          return {{"sighting", to_json(e.sighting)}};
        } else if constexpr (std::is_same_v<T, SightingsCorrected>) {
          json ids = json::array();
          for (const Uuid& id : e.sightings) ids.push_back(id.to_string());
          return {{"from_profile_id", e.from.to_string()}, {"to_profile_id", e.to.to_string()},
                  {"sighting_ids", ids}, {"from_removed", e.from_removed}};
        } else if constexpr (std::is_same_v<T, UncertainFace>) {
          json candidates = json::array();
          for (const MatchCandidate& c : e.candidates)
            candidates.push_back({{"profile_id", c.profile_id.to_string()}, {"distance", short_decimal(c.distance)}});
          return {{"camera_id", e.camera_id.to_string()}, {"box", box_json(e.box)}, {"candidates", candidates}};
        } else if constexpr (std::is_same_v<T, CameraStatusChanged>) {
          return {{"camera_id", e.camera_id.to_string()},
                  {"status", std::string(to_string(e.status))},
                  {"message", e.message}};
        } else if constexpr (std::is_same_v<T, StorageWarning>) {
          return {{"used_bytes", e.used_bytes}, {"quota_bytes", e.quota_bytes}, {"message", e.message}};
        } else {
          return {{"reason", e.reason},
                  {"profile", e.profile ? to_json(*e.profile) : json(nullptr)},
                  {"sighting", e.sighting ? to_json(*e.sighting) : json(nullptr)}};
        }
      },
      payload);
}

// A setting's value from a PUT body: the JSON type must fit the member.
template <typename T>
void read_strictly(const json& value, const std::string& name, T& target) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean()) invalid_field(name, "must be true or false");
    target = value.get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!value.is_number()) invalid_field(name, "must be a number");
    target = value.get<T>();
  } else {
    if (!value.is_number_integer()) invalid_field(name, "must be an integer");
    if (value.is_number_unsigned()) {
      const auto v = value.get<std::uint64_t>();
      if (!std::in_range<T>(v)) invalid_field(name, "is too large");
      target = static_cast<T>(v);
    } else {
      const auto v = value.get<std::int64_t>();
      if (!std::in_range<T>(v)) invalid_field(name, "is out of range");
      target = static_cast<T>(v);
    }
  }
}

}  // namespace

json to_json(const DomainEvent& event) {
  return {{"type", event_type_name(event.payload)},
          {"payload", event_payload(event.payload)},
          {"timestamp", to_iso8601(event.timestamp)}};
}

Settings apply_settings_json(Settings s, const json& body) {
  if (!body.is_object()) throw ApiError(400, "malformed_json", "the settings must be a JSON object");
  reject_unknown_keys(body, settings_sections());
  for (const std::string_view section_name : settings_sections()) {
    const auto section = body.find(std::string(section_name));
    if (section == body.end()) continue;
    if (!section->is_object()) invalid_field(std::string(section_name), "must be an object");
    for (const auto& [name, value] : section->items())
      if (!find_setting(std::string(section_name) + "." + name)) invalid_field(std::string(section_name) + "." + name, "is not a setting");
    for (const SettingSpec& spec : settings_schema()) {
      const auto value = spec.section() == section_name ? section->find(std::string(spec.name())) : section->end();
      if (value != section->end())
        std::visit([&](const auto& field) { read_strictly(*value, std::string(spec.key), field.in(s)); }, spec.field);
    }
  }
  const auto problems = validate(s);
  if (!problems.empty()) {
    std::string message;
    for (const auto& problem : problems) message += (message.empty() ? "" : "; ") + problem.key + " " + problem.message;
    throw ApiError(422, "invalid_settings", message);
  }
  return s;
}

json settings_schema_json() {
  const Settings defaults;
  json items = json::array();
  for (const SettingSpec& spec : settings_schema()) {
    json item = {{"key", std::string(spec.key)},
                 {"label", std::string(spec.label)},
                 {"help", std::string(spec.help)},
                 {"unit", std::string(spec.unit)}};
    std::visit(
        [&](const auto& field) {
          item["default"] = storage::setting_json(field.of(defaults));
          if constexpr (requires { field.range; }) {
            item["type"] = std::is_floating_point_v<std::remove_cvref_t<decltype(field.of(defaults))>> ? "number" : "integer";
            item["minimum"] = storage::setting_json(field.range.low);
            item["exclusive_minimum"] = field.range.ends != RangeEnds::Closed;
            if (field.range.has_high()) {
              item["maximum"] = storage::setting_json(field.range.high);
              item["exclusive_maximum"] = field.range.ends == RangeEnds::OpenBoth;
            }
          } else {
            item["type"] = "boolean";
          }
        },
        spec.field);
    items.push_back(std::move(item));
  }
  return {{"settings", std::move(items)}};
}

json json_object_body(const HttpRequest& request) {
  const std::string type = media_type(request.header("content-type"));
  if (type != "application/json")
    throw ApiError(415, "unsupported_media_type",
                   "expected Content-Type: application/json, got '" + request.header("content-type") + "'");
  // A key given twice would silently take its last value, and a proxy or
  // another parser may have read the first: refused.
  std::vector<std::set<std::string>> keys_of_open_objects;
  std::optional<std::string> repeated;
  const json::parser_callback_t check_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys_of_open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!keys_of_open_objects.empty()) keys_of_open_objects.pop_back();
    } else if (event == json::parse_event_t::key && !keys_of_open_objects.empty() && !repeated) {
      if (!keys_of_open_objects.back().insert(parsed.get<std::string>()).second) repeated = parsed.get<std::string>();
    }
    return true;
  };
  json body = json::parse(request.body, check_keys, false);
  if (body.is_discarded()) throw ApiError(400, "malformed_json", "the request body is not valid JSON");
  if (repeated)
    throw ApiError(400, "malformed_json", "the key \"" + repeated->substr(0, 100) + "\" appears twice in one object");
  if (!body.is_object()) throw ApiError(400, "malformed_json", "the request body must be a JSON object");
  return body;
}

std::optional<std::string> optional_string(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) invalid_field(name, "must be a string");
  return it->get<std::string>();
}

std::optional<bool> optional_bool(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) invalid_field(name, "must be true or false");
  return it->get<bool>();
}

std::optional<double> optional_number(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) invalid_field(name, "must be a number");
  return it->get<double>();
}

std::optional<std::int64_t> optional_integer(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || (it->is_number_unsigned() && it->get<std::uint64_t>() > INT64_MAX))
    invalid_field(name, "must be an integer");
  return it->get<std::int64_t>();
}

std::string required_string(const json& object, const char* name) {
  auto value = optional_string(object, name);
  if (!value) invalid_field(name, "is required");
  return *value;
}

void reject_unknown_keys(const json& object, std::span<const std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const std::string_view k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      invalid_field(key, "is not a known field (expected " + list + ")");
    }
  }
}

void reject_unknown_keys(const json& object, std::initializer_list<std::string_view> allowed) {
  reject_unknown_keys(object, std::span(allowed.begin(), allowed.size()));
}

}  // namespace safelynx::server
