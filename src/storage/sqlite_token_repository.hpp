// Internal to the SQLite backend: the api_tokens table (login sessions and API tokens).
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteTokenRepository final : public TokenRepository {
 public:
  explicit SqliteTokenRepository(ConnectionPool& pool) : pool_(pool) {}

  void create(const ApiToken& token) override;
  std::optional<ApiToken> find_by_hash(const std::string& secret_hash) override;
  std::vector<ApiToken> list(std::uint64_t user_id, TokenKind kind) override;
  bool remove(const Uuid& id) override;
  void touch(const Uuid& id, TimePoint used_at) override;
  std::size_t remove_expired(TimePoint now) override;
  std::size_t remove_for_user(std::uint64_t user_id, std::optional<TokenKind> kind) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
