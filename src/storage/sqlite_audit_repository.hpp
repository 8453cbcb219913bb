// Internal to the SQLite backend: the audit log's table (migration 4 in sqlite_schema.cpp).
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteAuditRepository final : public AuditRepository {
 public:
  explicit SqliteAuditRepository(ConnectionPool& pool) : pool_(pool) {}

  void append(AuditEntry& entry) override;
  PageOf<AuditEntry> list(const AuditFilter& filter, const Page& page) override;
  std::size_t remove_before(TimePoint before) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
