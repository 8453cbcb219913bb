// Internal to the SQLite backend: applying the numbered schema migrations (latest_sqlite_schema_version is here too).
#pragma once

#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

// The schema version the file is at (PRAGMA user_version; 0: a new file).
int user_version(Connection& connection);

// Applies the migrations after the file's version up to `target`, each in
// its own write transaction with its new user_version.
void migrate(Connection& connection, int target);

}  // namespace safelynx::storage::sqlite
