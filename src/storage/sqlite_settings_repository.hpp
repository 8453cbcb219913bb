// Internal to the SQLite backend: the settings table (one row of JSON).
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteSettingsRepository final : public SettingsRepository {
 public:
  explicit SqliteSettingsRepository(ConnectionPool& pool) : pool_(pool) {}

  Settings load() override;
  void save(const Settings& settings) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
