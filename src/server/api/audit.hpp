// The one place where changes are recorded in the audit log: who (a user and
// the API token they used, or "system"), what, to which object, when, from
// which address, with the old and new values. Values are kept small and never
// hold secrets: keys that name a password, secret or token are dropped,
// credentials in URLs are masked, and a value too large is replaced by a note
// saying so. Read through GET /api/v1/audit (api_audit.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>

#include "domain/entities.hpp"
#include "server/api/auth.hpp"
#include "server/http_types.hpp"
#include "storage/repositories.hpp"

namespace safelynx::server {

struct AuditActor {
  std::optional<std::uint64_t> user_id;
  std::string username;           // "system" for automatic actions
  std::optional<Uuid> token_id;   // only for API tokens (a session token is the login itself)
  std::string token_name;
  std::string address;            // the client's address; "" for system actions

  // The authenticated caller of `request`.
  static AuditActor of(const Principal& who, const HttpRequest& request);
  // Someone not (yet) authenticated, e.g. a failed login for `username`.
  static AuditActor claimed(const std::string& username, const HttpRequest& request);
  static AuditActor system();
};

struct AuditObject {
  std::string type;  // "profile", "camera", "settings", "token", "user"
  std::string id;    // "" when the object is a singleton (settings)
};

class AuditLog {
 public:
  // A value (old or new) whose JSON text is longer is recorded as
  // {"omitted": "too large", "bytes": N}.
  static constexpr std::size_t kMaxValueBytes = 4096;
  // Usernames from failed logins are the client's text: cut to this.
  static constexpr std::size_t kMaxNameBytes = 100;

  explicit AuditLog(storage::AuditRepository& repository) : repository_(repository) {}

  // Appends one entry, durable when this returns (a storage error
  // propagates: a change that cannot be audited is reported as failed).
  // When both values are objects only the keys that differ are kept, so an
  // update shows what changed. `null` means no value.
  storage::AuditEntry record(const AuditActor& actor, const std::string& action, const AuditObject& object,
                             const nlohmann::json& old_value = nullptr, const nlohmann::json& new_value = nullptr);

  storage::AuditRepository& repository() { return repository_; }

 private:
  storage::AuditRepository& repository_;
};

// What the audit log keeps of an entity: the fields a user edits, without
// counters or secrets (a camera's source URL has its credentials masked).
nlohmann::json audit_fields(const Profile& profile);
nlohmann::json audit_fields(const Camera& camera);

// `value` without secrets: keys that name a password, secret or token value
// removed at any depth, credentials in URL strings masked.
nlohmann::json without_secrets(const nlohmann::json& value);

}  // namespace safelynx::server
