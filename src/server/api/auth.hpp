// Who may use the API: users with argon2id password hashes (libsodium), and
// bearer tokens — short-lived session tokens from login and long-lived,
// named API tokens. Only a BLAKE2b hash of a token's secret is stored, so a
// stolen database does not hand out working tokens.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/entities.hpp"
#include "storage/repositories.hpp"

namespace safelynx::server {

// SAFELYNX_ADMIN_PASSWORD breaks the password policy (a usage error).
class PasswordPolicyError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct AuthOptions {
  std::chrono::seconds session_ttl{std::chrono::hours(12)};
};

struct Principal {
  User user;
  ApiToken token;
  // What this request may do: the lesser of the user's current role and
  // the token's, so demoting a user demotes their tokens at once.
  Role role = Role::Viewer;
};

struct IssuedToken {
  ApiToken token;
  std::string secret;  // shown once; "slx_" + 43 base64url characters
};

class AuthService {
 public:
  AuthService(storage::UserRepository& users, storage::TokenRepository& tokens, AuthOptions options);

  // Creates user "admin" (role admin) when there is no user yet: with
  // `password` if given, otherwise with a generated one, which is returned
  // (to be shown once). Returns nothing when a user already exists or the
  // password was given. A given password must pass the password policy
  // (PasswordPolicyError otherwise); it is not checked when users exist.
  std::optional<std::string> ensure_admin(const std::optional<std::string>& password);

  // A session token; throws ApiError 401 "invalid_credentials" for an unknown
  // user or a wrong password (the same answer for both).
  IssuedToken login(const std::string& username, const std::string& password);
  // The "Authorization: Bearer T" value, or a token from a query parameter.
  // Throws ApiError 401 "unauthorized" saying why (missing, unknown, expired).
  Principal authenticate(const std::string& token);
  // A named API token of `user_id` capped at `role` (the caller checks that
  // the role is not more than the creator's).
  IssuedToken create_api_token(std::uint64_t user_id, const std::string& name,
                               std::optional<TimePoint> expires_at, Role role);
  std::vector<ApiToken> api_tokens(std::uint64_t user_id);
  // False when no such token of this user exists.
  bool revoke(std::uint64_t user_id, const Uuid& token_id);
  // Ends a session: its token stops working.
  void logout(const Uuid& token_id);
  // Every token of a user (of one kind, or all) stops working: a password
  // reset ends their sessions, a deleted user's tokens all go.
  void revoke_all(std::uint64_t user_id, std::optional<TokenKind> kind);
  // Runs `remove_user` (which deletes the user, and with it their tokens);
  // when it returns true, the listener hears of each of those tokens.
  bool remove_user(std::uint64_t user_id, const std::function<bool()>& remove_user);
  // A user's role went down: connections opened with their tokens carry the
  // rights they had then, so the listener hears of every one of their tokens
  // (which stay valid, with the lower role).
  void role_lowered(std::uint64_t user_id);
  // Told the id of every token whose connections must close, and why: it
  // stopped working (revoked, logged out, its user deleted) or its user's
  // role went down. Set before serving.
  using ConnectionsToClose = std::function<void(const Uuid& token_id, const std::string& reason)>;
  void on_connections_to_close(ConnectionsToClose listener);

  static std::string hash_password(const std::string& password);
  static bool verify_password(const std::string& hash, const std::string& password);

 private:
  IssuedToken issue(std::uint64_t user_id, TokenKind kind, const std::string& name,
                    std::optional<TimePoint> expires_at, Role role);

  storage::UserRepository& users_;
  void removed(const Uuid& token_id) const;
  void close_connections(const std::vector<ApiToken>& tokens, const std::string& reason) const;
  std::vector<ApiToken> tokens_of(std::uint64_t user_id) const;

  storage::TokenRepository& tokens_;
  AuthOptions options_;
  ConnectionsToClose close_connections_;
};

}  // namespace safelynx::server
