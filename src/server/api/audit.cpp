#include "server/api/audit.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "domain/camera_url.hpp"

namespace safelynx::server {

using nlohmann::json;

namespace {

bool is_secret_key(const std::string& key) {
  static constexpr std::array<std::string_view, 6> kSecret = {"password", "password_hash", "secret",
                                                               "secret_hash", "token", "new_password"};
  return std::find(kSecret.begin(), kSecret.end(), key) != kSecret.end();
}

// Only the keys whose values differ, recursing into objects both sides have.
void keep_changes(json& old_value, json& new_value) {
  for (auto it = old_value.begin(); it != old_value.end();) {
    const auto other = new_value.find(it.key());
    if (other == new_value.end()) {
      ++it;
      continue;
    }
    if (it->is_object() && other->is_object()) {
      keep_changes(*it, *other);
      if (it->empty() && other->empty()) {
        new_value.erase(other);
        it = old_value.erase(it);
        continue;
      }
    } else if (*it == *other) {
      new_value.erase(other);
      it = old_value.erase(it);
      continue;
    }
    ++it;
  }
}

std::string bounded_text(const json& value) {
  if (value.is_null()) return {};
  // Replace rather than throw on invalid UTF-8: the entry must be written.
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > AuditLog::kMaxValueBytes) text = json{{"omitted", "too large"}, {"bytes", text.size()}}.dump();
  return text;
}

// Cut at a UTF-8 character boundary.
std::string cut(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

AuditActor AuditActor::of(const Principal& who, const HttpRequest& request) {
  AuditActor actor;
  actor.user_id = who.user.id;
  actor.username = who.user.username;
  if (who.token.kind == TokenKind::Api) {
    actor.token_id = who.token.id;
    actor.token_name = who.token.name;
  }
  actor.address = request.client_address;
  return actor;
}

AuditActor AuditActor::claimed(const std::string& username, const HttpRequest& request) {
  AuditActor actor;
  actor.username = cut(username, AuditLog::kMaxNameBytes);
  actor.address = request.client_address;
  return actor;
}

AuditActor AuditActor::system() {
  AuditActor actor;
  actor.username = "system";
  return actor;
}

json without_secrets(const json& value) {
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [key, item] : value.items())
      if (!is_secret_key(key)) out[key] = without_secrets(item);
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const json& item : value) out.push_back(without_secrets(item));
    return out;
  }
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.find("://") != std::string::npos) return redact_credentials(text);
  }
  return value;
}

storage::AuditEntry AuditLog::record(const AuditActor& actor, const std::string& action, const AuditObject& object,
                                     const json& old_value, const json& new_value) {
  // Compared before masking, so a change of a URL's password alone still
  // shows (as the same masked URL on both sides).
  json old_clean = old_value;
  json new_clean = new_value;
  if (old_clean.is_object() && new_clean.is_object()) keep_changes(old_clean, new_clean);
  old_clean = without_secrets(old_clean);
  new_clean = without_secrets(new_clean);
  storage::AuditEntry entry;
  entry.time = now_ms();
  entry.user_id = actor.user_id;
  entry.actor = actor.username;
  entry.token_id = actor.token_id;
  entry.token_name = actor.token_name;
  entry.action = action;
  entry.object_type = object.type;
  entry.object_id = object.id;
  entry.address = actor.address;
  entry.old_value = bounded_text(old_clean);
  entry.new_value = bounded_text(new_clean);
  repository_.append(entry);
  return entry;
}

json audit_fields(const Profile& p) {
  return {{"name", p.name ? json(*p.name) : json(nullptr)},
          {"classification", std::string(to_string(p.classification))},
          {"tags", p.tags},
          {"notes", p.notes},
          {"reviewed", p.reviewed}};
}

json audit_fields(const Camera& c) {
  return {{"name", c.name},
          {"kind", std::string(to_string(c.kind))},
          {"source", redact_credentials(c.source)},
          {"resolution", c.width > 0 ? json::array({c.width, c.height}) : json(nullptr)},
          {"fps", c.fps},
          {"location", c.location},
          {"enabled", c.enabled}};
}

}  // namespace safelynx::server
