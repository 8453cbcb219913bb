#include "server/api/auth.hpp"

#include <sodium.h>

#include <array>
#include <mutex>
#include <stdexcept>

#include "domain/password_policy.hpp"
#include "server/http_types.hpp"

namespace safelynx::server {
namespace {

const std::string kTokenRevoked = "the token was revoked";

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  });
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), data, size);
  hex.pop_back();
  return hex;
}

std::string secret_hash(const std::string& secret) {
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  return to_hex(digest.data(), digest.size());
}

std::string random_secret() {
  std::array<unsigned char, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.resize(std::char_traits<char>::length(text.c_str()));
  return "slx_" + text;
}

std::string generated_password() {
  // 18 random bytes -> 24 base64url characters: easy to copy, 144 bits.
  std::array<unsigned char, 18> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.resize(std::char_traits<char>::length(text.c_str()));
  return text;
}

[[noreturn]] void unauthorized(const std::string& why) { throw ApiError(401, "unauthorized", why); }

}  // namespace

AuthService::AuthService(storage::UserRepository& users, storage::TokenRepository& tokens, AuthOptions options)
    : users_(users), tokens_(tokens), options_(options) {
  ensure_sodium();
}

std::string AuthService::hash_password(const std::string& password) {
  ensure_sodium();
  std::array<char, crypto_pwhash_STRBYTES> hash{};
  // Interactive limits (64 MiB, ~0.1 s here): logins are rare, and the
  // per-client rate limit keeps guessing slow.
  if (crypto_pwhash_str_alg(hash.data(), password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("argon2id password hashing ran out of memory");
  return hash.data();
}

bool AuthService::verify_password(const std::string& hash, const std::string& password) {
  ensure_sodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::optional<std::string> AuthService::ensure_admin(const std::optional<std::string>& password) {
  if (users_.count() > 0) return std::nullopt;
  if (password) {
    if (auto problem = password_problem(*password, "admin")) throw PasswordPolicyError("SAFELYNX_ADMIN_PASSWORD " + *problem);
  }
  const std::string chosen = password ? *password : generated_password();
  User admin;
  admin.username = "admin";
  admin.role = Role::Admin;
  admin.password_hash = hash_password(chosen);
  admin.created_at = now_ms();
  users_.create(admin);
  if (password) return std::nullopt;
  return chosen;
}

IssuedToken AuthService::login(const std::string& username, const std::string& password) {
  const auto user = users_.find_by_name(username);
  // Hash even for an unknown user so the answer takes as long either way.
  static const std::string kDummyHash = hash_password("safelynx-timing-equaliser");
  const bool ok = verify_password(user ? user->password_hash : kDummyHash, password) && user.has_value();
  if (!ok) throw ApiError(401, "invalid_credentials", "wrong username or password");
  tokens_.remove_expired(now_ms());
  return issue(user->id, TokenKind::Session, "login", now_ms() + options_.session_ttl, user->role);
}

IssuedToken AuthService::issue(std::uint64_t user_id, TokenKind kind, const std::string& name,
                               std::optional<TimePoint> expires_at, Role role) {
  IssuedToken issued;
  issued.secret = random_secret();
  issued.token.id = Uuid::random();
  issued.token.user_id = user_id;
  issued.token.kind = kind;
  issued.token.name = name;
  issued.token.secret_hash = secret_hash(issued.secret);
  issued.token.created_at = now_ms();
  issued.token.expires_at = expires_at;
  issued.token.role = role;
  tokens_.create(issued.token);
  return issued;
}

Principal AuthService::authenticate(const std::string& token) {
  if (token.empty()) unauthorized("this endpoint needs a token: send 'Authorization: Bearer <token>' (POST /api/v1/auth/login gives one)");
  auto stored = tokens_.find_by_hash(secret_hash(token));
  if (!stored) unauthorized("the token is not valid (revoked, or never issued)");
  const TimePoint now = now_ms();
  if (stored->expires_at && *stored->expires_at <= now) unauthorized("the token has expired; log in again");
  auto user = users_.find(stored->user_id);
  if (!user) unauthorized("the token's user no longer exists");
  // Write last-use at most once a minute: a read-heavy client must not turn
  // every request into a durable write.
  if (!stored->last_used_at || now - *stored->last_used_at > std::chrono::minutes(1)) {
    tokens_.touch(stored->id, now);
    stored->last_used_at = now;
  }
  const Role role = min_role(user->role, stored->role);
  return Principal{std::move(*user), std::move(*stored), role};
}

IssuedToken AuthService::create_api_token(std::uint64_t user_id, const std::string& name,
                                          std::optional<TimePoint> expires_at, Role role) {
  return issue(user_id, TokenKind::Api, name, expires_at, role);
}

std::vector<ApiToken> AuthService::api_tokens(std::uint64_t user_id) { return tokens_.list(user_id, TokenKind::Api); }

bool AuthService::revoke(std::uint64_t user_id, const Uuid& token_id) {
  for (const ApiToken& token : tokens_.list(user_id, TokenKind::Api)) {
    if (token.id != token_id) continue;
    const bool removed_now = tokens_.remove(token_id);
    removed(token_id);
    return removed_now;
  }
  return false;
}

void AuthService::logout(const Uuid& token_id) {
  tokens_.remove(token_id);
  removed(token_id);
}

void AuthService::revoke_all(std::uint64_t user_id, std::optional<TokenKind> kind) {
  std::vector<ApiToken> tokens = tokens_of(user_id);
  if (kind) std::erase_if(tokens, [&](const ApiToken& token) { return token.kind != *kind; });
  tokens_.remove_for_user(user_id, kind);
  close_connections(tokens, kTokenRevoked);
}

bool AuthService::remove_user(std::uint64_t user_id, const std::function<bool()>& remove) {
  const std::vector<ApiToken> tokens = tokens_of(user_id);
  if (!remove()) return false;
  close_connections(tokens, kTokenRevoked);
  return true;
}

void AuthService::role_lowered(std::uint64_t user_id) {
  close_connections(tokens_of(user_id), "the user's role was lowered; connect again");
}

void AuthService::on_connections_to_close(ConnectionsToClose listener) { close_connections_ = std::move(listener); }

std::vector<ApiToken> AuthService::tokens_of(std::uint64_t user_id) const {
  std::vector<ApiToken> tokens = tokens_.list(user_id, TokenKind::Session);
  for (ApiToken& token : tokens_.list(user_id, TokenKind::Api)) tokens.push_back(std::move(token));
  return tokens;
}

void AuthService::removed(const Uuid& token_id) const {
  if (close_connections_) close_connections_(token_id, kTokenRevoked);
}

void AuthService::close_connections(const std::vector<ApiToken>& tokens, const std::string& reason) const {
  if (!close_connections_) return;
  for (const ApiToken& token : tokens) close_connections_(token.id, reason);
}

}  // namespace safelynx::server
