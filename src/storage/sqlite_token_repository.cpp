// The api_tokens table: login sessions and API tokens, by secret hash, per user, expiry.
#include "storage/sqlite_token_repository.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

const std::string kTokenColumns = "uuid, user_id, kind, name, secret_hash, created_at, expires_at, last_used_at, role";

std::string_view token_kind_name(TokenKind kind) { return kind == TokenKind::Api ? "api" : "session"; }

ApiToken read_token(const Statement& row) {
  ApiToken token;
  token.id = row.column_uuid(0);
  token.user_id = to_count(row.column_int(1));
  token.kind = row.column_text(2) == "api" ? TokenKind::Api : TokenKind::Session;
  token.name = row.column_text(3);
  token.secret_hash = row.column_text(4);
  token.created_at = row.column_time(5);
  token.expires_at = row.column_optional_time(6);
  token.last_used_at = row.column_optional_time(7);
  token.role = read_role(row, 8);
  return token;
}

}  // namespace

void SqliteTokenRepository::create(const ApiToken& token) {
  pool_.write([&](Connection& connection) {
    auto statement =
        connection.prepare("INSERT INTO api_tokens (" + kTokenColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    statement.bind_uuid(1, token.id)
        .bind_int(2, to_sql_int(token.user_id))
        .bind_text(3, token_kind_name(token.kind))
        .bind_text(4, token.name)
        .bind_text(5, token.secret_hash)
        .bind_time(6, token.created_at)
        .bind_time(7, token.expires_at)
        .bind_time(8, token.last_used_at)
        .bind_text(9, to_string(token.role))
        .run();
  });
}

std::optional<ApiToken> SqliteTokenRepository::find_by_hash(const std::string& secret_hash) {
  // Expired tokens are returned too: the caller decides (and can say why).
  return pool_.read([&](Connection& connection) -> std::optional<ApiToken> {
    auto statement = connection.prepare("SELECT " + kTokenColumns + " FROM api_tokens WHERE secret_hash = ?1");
    statement.bind_text(1, secret_hash);
    if (!statement.step()) return std::nullopt;
    return read_token(statement);
  });
}

std::vector<ApiToken> SqliteTokenRepository::list(std::uint64_t user_id, TokenKind kind) {
  return pool_.read([&](Connection& connection) {
    std::vector<ApiToken> result;
    auto statement = connection.prepare("SELECT " + kTokenColumns +
                                        " FROM api_tokens WHERE user_id = ?1 AND kind = ?2 ORDER BY created_at, id");
    statement.bind_int(1, to_sql_int(user_id)).bind_text(2, token_kind_name(kind));
    while (statement.step()) result.push_back(read_token(statement));
    return result;
  });
}

bool SqliteTokenRepository::remove(const Uuid& id) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("DELETE FROM api_tokens WHERE uuid = ?1");
    statement.bind_uuid(1, id).run();
    return connection.changes() > 0;
  });
}

void SqliteTokenRepository::touch(const Uuid& id, TimePoint used_at) {
  pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("UPDATE api_tokens SET last_used_at = ?2 WHERE uuid = ?1");
    statement.bind_uuid(1, id).bind_time(2, used_at).run();
  });
}

std::size_t SqliteTokenRepository::remove_expired(TimePoint now) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("DELETE FROM api_tokens WHERE expires_at < ?1");
    statement.bind_time(1, now).run();
    return static_cast<std::size_t>(connection.changes());
  });
}

std::size_t SqliteTokenRepository::remove_for_user(std::uint64_t user_id, std::optional<TokenKind> kind) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("DELETE FROM api_tokens WHERE user_id = ?1 AND (?2 IS NULL OR kind = ?2)");
    statement.bind_int(1, to_sql_int(user_id));
    if (kind) statement.bind_text(2, token_kind_name(*kind));
    statement.run();
    return static_cast<std::size_t>(connection.changes());
  });
}

}  // namespace safelynx::storage::sqlite
