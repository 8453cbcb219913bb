// The SQLite backend of the storage interfaces: one database file in WAL
// mode, one writer connection (writes are serialised by a mutex) and a few
// reader connections that run alongside it. Every write is committed with
// synchronous=FULL, so it is on disk when the call returns.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "storage/repositories.hpp"

namespace safelynx::storage {

struct SqliteOptions {
  // Concurrent readers (at least 1); more threads than this wait for a free one.
  int reader_connections = 4;
  // How long a connection waits for a lock held by another process (another
  // Safelynx command on the same file) before failing with StorageError.
  std::chrono::milliseconds busy_timeout{5000};
  // Migrate only up to this schema version (0: the latest). For tests of
  // migrations, which need a database as an older build left it.
  int migrate_to = 0;
};

// The schema version this build creates and understands.
int latest_sqlite_schema_version();

// Opens or creates `file` (and its parent folders) and applies pending schema
// migrations. Throws StorageError naming the file and the cause: not a
// database, cannot create or open it, or a schema newer than this build.
std::unique_ptr<Database> open_sqlite_database(const std::filesystem::path& file, const SqliteOptions& options = {});

}  // namespace safelynx::storage
