// Internal to the SQLite backend: the users table.
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteUserRepository final : public UserRepository {
 public:
  explicit SqliteUserRepository(ConnectionPool& pool) : pool_(pool) {}

  void create(User& user) override;
  std::optional<User> find_by_name(const std::string& username) override;
  std::optional<User> find(std::uint64_t id) override;
  std::uint64_t count() override;
  std::vector<User> list() override;
  void update(const User& user) override;
  bool remove(std::uint64_t id) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
