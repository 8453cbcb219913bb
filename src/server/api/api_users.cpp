// Users and their roles (admin only), one's own password, and everyone's API
// tokens for admins. The permission rules themselves are domain/roles.hpp.
#include <algorithm>
#include <cctype>

#include "domain/password_policy.hpp"
#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

Role token_role(const json& body, const Principal& who) {
  const auto text = optional_string(body, "role");
  if (!text) return who.role;
  const auto role = parse_role(*text);
  if (!role) invalid_field("role", "must be viewer, operator or admin");
  if (*role > who.role) {
    throw ApiError(403, "forbidden",
                   "a token cannot have more rights than the request creating it: asked for the " + *text +
                       " role, this request has the " + std::string(to_string(who.role)) + " role");
  }
  return *role;
}

std::optional<TimePoint> token_expiry(std::optional<TimePoint> asked, const Principal& who) {
  // A login's session is short by design and is how people make their
  // long-lived tokens; an API token is a delegated credential and may not
  // hand on more time than it has itself.
  if (who.token.kind != TokenKind::Api || !who.token.expires_at) return asked;
  const TimePoint limit = *who.token.expires_at;
  if (!asked) return limit;
  if (*asked > limit)
    invalid_field("expires_at", "may not be later than the expiry of the API token making this request (" +
                                    to_iso8601(limit) + ")");
  return asked;
}

namespace {

// Letters, digits and . _ - @: no look-alikes, controls or bidi overrides
// in a name that shows in lists and the audit log.
void check_username(const std::string& name) {
  if (name.empty() || name.size() > kMaxUsernameLength)
    invalid_field("username", "must have 1 to " + std::to_string(kMaxUsernameLength) + " characters");
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-' || c == '@';
  });
  if (!plain) invalid_field("username", "may hold only ASCII letters, digits and . _ - @");
}

void check_password(const char* field, const std::string& password, const std::string& username) {
  if (auto problem = password_problem(password, username)) invalid_field(field, *problem);
}

Role required_role_field(const json& body, const char* name) {
  const auto role = parse_role(required_string(body, name));
  if (!role) invalid_field(name, "must be viewer, operator or admin");
  return *role;
}

std::uint64_t path_user_id(const HttpRequest& request) {
  const std::string& text = request.path_param("id");
  std::uint64_t id = 0;
  const bool digits = !text.empty() && text.size() <= 18 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) id = std::stoull(text);
  if (id == 0) not_found("user", text);
  return id;
}

User find_user(ApiContext& context, std::uint64_t id) {
  auto user = context.database.users().find(id);
  if (!user) not_found("user", std::to_string(id));
  return *user;
}

HttpResponse token_list(const std::vector<ApiToken>& tokens) {
  json items = json::array();
  for (const ApiToken& token : tokens) items.push_back(to_json(token));
  return ok({{"items", items}, {"total", items.size()}, {"page", 1},
             {"per_page", std::max<std::size_t>(items.size(), 1)}});
}

// Saves, turning the storage's refusals into answers.
void save_user(ApiContext& context, const User& user) {
  try {
    context.database.users().update(user);
  } catch (const storage::LastAdminError& error) {
    throw ApiError(409, "last_admin", error.what());
  } catch (const storage::NotFoundError&) {
    not_found("user", std::to_string(user.id));
  } catch (const storage::ConflictError&) {
    throw ApiError(409, "username_taken", "the username '" + user.username + "' is taken");
  }
}

HttpResponse create_user(ApiContext& context, HttpRequest& request, const Principal& who) {
  const json body = json_object_body(request);
  reject_unknown_keys(body, {"username", "password", "role"});
  User user;
  user.username = required_string(body, "username");
  check_username(user.username);
  const std::string password = required_string(body, "password");
  check_password("password", password, user.username);
  user.role = body.contains("role") ? required_role_field(body, "role") : Role::Viewer;
  user.password_hash = AuthService::hash_password(password);
  user.created_at = now_ms();
  try {
    context.database.users().create(user);
  } catch (const storage::ConflictError&) {
    throw ApiError(409, "username_taken", "the username '" + user.username + "' is taken");
  }
  context.audit.record(AuditActor::of(who, request), "user.create", {"user", std::to_string(user.id)}, nullptr,
                       to_json(user));
  return ok(to_json(user), 201);
}

// Username, role and (an admin's reset) password; a reset ends the user's
// sessions, so whoever knew the old password is logged out.
HttpResponse update_user(ApiContext& context, HttpRequest& request, const Principal& who) {
  User user = find_user(context, path_user_id(request));
  const User before = user;
  const json body = json_object_body(request);
  reject_unknown_keys(body, {"username", "role", "password"});
  if (auto name = optional_string(body, "username")) {
    check_username(*name);
    user.username = *name;
  }
  if (body.contains("role")) user.role = required_role_field(body, "role");
  const auto password = optional_string(body, "password");
  if (password) {
    check_password("password", *password, user.username);
    user.password_hash = AuthService::hash_password(*password);
  }
  save_user(context, user);
  if (password && user.id != who.user.id) context.auth.revoke_all(user.id, TokenKind::Session);
  if (user.role < before.role) context.auth.role_lowered(user.id);
  json changed = to_json(user);
  if (password) changed["password"] = "changed";  // the audit log drops the value itself
  context.audit.record(AuditActor::of(who, request), "user.update", {"user", std::to_string(user.id)}, to_json(before),
                       changed);
  return ok(to_json(user));
}

HttpResponse change_own_password(ApiContext& context, HttpRequest& request, const Principal& who) {
  const json body = json_object_body(request);
  reject_unknown_keys(body, {"current_password", "new_password"});
  const std::string current = required_string(body, "current_password");
  const std::string fresh = required_string(body, "new_password");
  // Re-read: the principal's copy may predate another change.
  User user = find_user(context, who.user.id);
  // Checked like a login: a stolen session must not become a fast way to
  // guess the password, or to keep the cores busy hashing.
  auto admitted = admit_password_check(context, request, user.username, "password change refused");
  if (auto* refusal = std::get_if<HttpResponse>(&admitted)) return std::move(*refusal);
  if (!AuthService::verify_password(user.password_hash, current)) {
    record_password_failure(context, request, user.username, "password change failed: wrong current password");
    context.audit.record(AuditActor::of(who, request), "user.password_change_failed", {"user", std::to_string(user.id)});
    throw ApiError(403, "wrong_password", "current_password is not this user's password");
  }
  context.login_throttle.record_success(request.client_address, user.username);
  check_password("new_password", fresh, user.username);
  user.password_hash = AuthService::hash_password(fresh);
  save_user(context, user);
  context.audit.record(AuditActor::of(who, request), "user.password_change", {"user", std::to_string(user.id)});
  return no_content();
}

}  // namespace

void add_user_routes(Router& router, ApiContext& context) {
  constexpr Permission kAdmin = Permission::ManageUsers;
  router.add("GET", "/api/v1/users", authed(context, kAdmin, [&context](HttpRequest&, const Principal&) {
               json items = json::array();
               for (const User& user : context.database.users().list()) items.push_back(to_json(user));
               return ok({{"items", items}, {"total", items.size()}, {"page", 1},
                          {"per_page", std::max<std::size_t>(items.size(), 1)}});
             }));
  router.add("POST", "/api/v1/users", authed(context, kAdmin, [&context](HttpRequest& request, const Principal& who) {
               return create_user(context, request, who);
             }));
  // Anyone's own account: what the UI shows and hides follows "effective_role".
  router.add("GET", "/api/v1/users/me", authed(context, Permission::OwnAccount, [](HttpRequest&, const Principal& who) {
               json out = to_json(who.user);
               out["effective_role"] = std::string(to_string(who.role));
               return ok(out);
             }));
  router.add("PUT", "/api/v1/users/me/password",
             authed(context, Permission::OwnAccount, [&context](HttpRequest& request, const Principal& who) {
               return change_own_password(context, request, who);
             }));
  router.add("GET", "/api/v1/users/{id}", authed(context, kAdmin, [&context](HttpRequest& request, const Principal&) {
               return ok(to_json(find_user(context, path_user_id(request))));
             }));
  router.add("PUT", "/api/v1/users/{id}", authed(context, kAdmin, [&context](HttpRequest& request, const Principal& who) {
               return update_user(context, request, who);
             }));
  router.add("DELETE", "/api/v1/users/{id}", authed(context, kAdmin, [&context](HttpRequest& request, const Principal& who) {
               const User user = find_user(context, path_user_id(request));
               try {
                 // Their tokens go with them, and the sockets those opened are closed.
                 const bool removed = context.auth.remove_user(user.id, [&] { return context.database.users().remove(user.id); });
                 if (!removed) not_found("user", std::to_string(user.id));
               } catch (const storage::LastAdminError& error) {
                 throw ApiError(409, "last_admin", error.what());
               }
               context.audit.record(AuditActor::of(who, request), "user.delete", {"user", std::to_string(user.id)},
                                    to_json(user), nullptr);
               return no_content();
             }));
  router.add("GET", "/api/v1/users/{id}/tokens", authed(context, kAdmin, [&context](HttpRequest& request, const Principal&) {
               const User user = find_user(context, path_user_id(request));
               return token_list(context.auth.api_tokens(user.id));
             }));
  router.add("DELETE", "/api/v1/users/{id}/tokens/{token_id}",
             authed(context, kAdmin, [&context](HttpRequest& request, const Principal& who) {
               const User user = find_user(context, path_user_id(request));
               const std::string& text = request.path_param("token_id");
               Uuid token_id;
               try {
                 token_id = Uuid::parse(text);
               } catch (const std::invalid_argument&) {
                 not_found("token", text);
               }
               if (!context.auth.revoke(user.id, token_id)) not_found("token", text);
               context.audit.record(AuditActor::of(who, request), "token.revoke", {"token", token_id.to_string()});
               return no_content();
             }));
}

}  // namespace safelynx::server::detail
