// Who may use the API: users with argon2id password hashes (libsodium), and
// bearer tokens — short-lived session tokens from login and long-lived,
// named API tokens. Only a BLAKE2b hash of a token's secret is stored, so a
// stolen database does not hand out working tokens.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain/entities.hpp"
#include "storage/repositories.hpp"

namespace safelynx::server {

// A fresh random version-4 UUID (libsodium's CSPRNG).
Uuid random_uuid();

struct AuthOptions {
  std::chrono::seconds session_ttl{std::chrono::hours(12)};
};

struct Principal {
  User user;
  ApiToken token;
};

struct IssuedToken {
  ApiToken token;
  std::string secret;  // shown once; "slx_" + 43 base64url characters
};

class AuthService {
 public:
  AuthService(storage::UserRepository& users, storage::TokenRepository& tokens, AuthOptions options);

  // Creates user "admin" when there is no user yet: with `password` if given,
  // otherwise with a generated one, which is returned (to be shown once).
  // Returns nothing when a user already exists or the password was given.
  std::optional<std::string> ensure_admin(const std::optional<std::string>& password);

  // A session token; throws ApiError 401 "invalid_credentials" for an unknown
  // user or a wrong password (the same answer for both).
  IssuedToken login(const std::string& username, const std::string& password);
  // The "Authorization: Bearer T" value, or a token from a query parameter.
  // Throws ApiError 401 "unauthorized" saying why (missing, unknown, expired).
  Principal authenticate(const std::string& token);
  IssuedToken create_api_token(std::uint64_t user_id, const std::string& name,
                               std::optional<TimePoint> expires_at);
  std::vector<ApiToken> api_tokens(std::uint64_t user_id);
  // False when no such token of this user exists.
  bool revoke(std::uint64_t user_id, const Uuid& token_id);
  // Ends a session: its token stops working.
  void logout(const Uuid& token_id);
  // Told the id of every token that stops working (revoked, logged out), so
  // the connections it opened can be closed. Set before serving.
  void on_token_removed(std::function<void(const Uuid&)> listener);

  static std::string hash_password(const std::string& password);
  static bool verify_password(const std::string& hash, const std::string& password);

 private:
  IssuedToken issue(std::uint64_t user_id, TokenKind kind, const std::string& name,
                    std::optional<TimePoint> expires_at);

  storage::UserRepository& users_;
  void removed(const Uuid& token_id) const;

  storage::TokenRepository& tokens_;
  AuthOptions options_;
  std::function<void(const Uuid&)> token_removed_;
};

}  // namespace safelynx::server
