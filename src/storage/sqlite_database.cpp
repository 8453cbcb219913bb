// The SQLite backend's wiring: opening the file, its pragmas, the connection pool and the repositories it owns.
#include "storage/sqlite_database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

#include "storage/sqlite_audit_repository.hpp"
#include "storage/sqlite_camera_repository.hpp"
#include "storage/sqlite_connection.hpp"
#include "storage/sqlite_feedback_repository.hpp"
#include "storage/sqlite_profile_repository.hpp"
#include "storage/sqlite_recording_repository.hpp"
#include "storage/sqlite_schema.hpp"
#include "storage/sqlite_settings_repository.hpp"
#include "storage/sqlite_sighting_repository.hpp"
#include "storage/sqlite_token_repository.hpp"
#include "storage/sqlite_user_repository.hpp"

namespace safelynx::storage {

namespace {

using sqlite::Connection;
using sqlite::ConnectionPool;

// Per-connection settings: foreign keys are off by default in SQLite, and
// PRAGMA foreign_keys is ignored inside a transaction, so set it first.
void configure(Connection& connection) { connection.execute("PRAGMA foreign_keys = ON", "enable foreign keys"); }

std::string pragma_text(Connection& connection, const std::string& pragma) {
  auto statement = connection.prepare(pragma);
  return statement.step() ? statement.column_text(0) : std::string();
}

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::filesystem::path file, std::unique_ptr<Connection> writer,
                 std::vector<std::unique_ptr<Connection>> readers)
      : file_(std::move(file)),
        pool_(std::move(writer), std::move(readers)),
        profiles_(pool_),
        cameras_(pool_),
        sightings_(pool_),
        recordings_(pool_),
        settings_(pool_),
        users_(pool_),
        tokens_(pool_),
        audit_(pool_),
        feedback_(pool_) {}

  ProfileRepository& profiles() override { return profiles_; }
  CameraRepository& cameras() override { return cameras_; }
  SightingRepository& sightings() override { return sightings_; }
  RecordingRepository& recordings() override { return recordings_; }
  SettingsRepository& settings() override { return settings_; }
  UserRepository& users() override { return users_; }
  TokenRepository& tokens() override { return tokens_; }
  AuditRepository& audit() override { return audit_; }
  FeedbackRepository& feedback() override { return feedback_; }

  std::uint64_t size_bytes() override {
    std::uint64_t total = 0;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code error;
      const auto size = std::filesystem::file_size(file_.string() + suffix, error);
      if (!error) total += size;
    }
    return total;
  }

  int schema_version() override {
    return pool_.read([](Connection& connection) { return sqlite::user_version(connection); });
  }

 private:
  std::filesystem::path file_;
  ConnectionPool pool_;
  sqlite::SqliteProfileRepository profiles_;
  sqlite::SqliteCameraRepository cameras_;
  sqlite::SqliteSightingRepository sightings_;
  sqlite::SqliteRecordingRepository recordings_;
  sqlite::SqliteSettingsRepository settings_;
  sqlite::SqliteUserRepository users_;
  sqlite::SqliteTokenRepository tokens_;
  sqlite::SqliteAuditRepository audit_;
  sqlite::SqliteFeedbackRepository feedback_;
};

}  // namespace

std::unique_ptr<Database> open_sqlite_database(const std::filesystem::path& file, const SqliteOptions& options) {
  const std::string name = "SQLite database " + file.string();
  if (sqlite3_threadsafe() == 0) throw StorageError(name + ": this SQLite library was built without thread support");
  if (file.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(file.parent_path(), error);
    if (error) throw StorageError(name + ": cannot create folder " + file.parent_path().string() + ": " + error.message());
  }
  const int busy_ms = static_cast<int>(std::clamp<std::int64_t>(options.busy_timeout.count(), 0, 3'600'000));

  auto writer = std::make_unique<Connection>(file, true, busy_ms);
  // The first read of the file: this is where "file is not a database" shows.
  const int version = [&] {
    try {
      return sqlite::user_version(*writer);
    } catch (const StorageError& error) {
      throw StorageError(std::string("cannot open ") + error.what());
    }
  }();
  const int latest = latest_sqlite_schema_version();
  if (version > latest) {
    throw StorageError(name + ": schema version " + std::to_string(version) + " is newer than this build knows (" +
                       std::to_string(latest) + "); use a newer Safelynx");
  }
  // WAL: readers run alongside the writer. synchronous=FULL: a commit is
  // fsynced before it returns, so it survives power loss, not just kill -9.
  const std::string mode = pragma_text(*writer, "PRAGMA journal_mode = WAL");
  if (mode != "wal") throw StorageError(name + ": cannot switch to WAL mode (journal mode is '" + mode + "')");
  writer->execute("PRAGMA synchronous = FULL", "set synchronous");
  configure(*writer);
  sqlite::migrate(*writer, options.migrate_to > 0 ? std::min(options.migrate_to, latest) : latest);

  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < std::max(1, options.reader_connections); ++i) {
    auto reader = std::make_unique<Connection>(file, false, busy_ms);
    configure(*reader);
    reader->execute("PRAGMA query_only = ON", "make a reader read-only");
    readers.push_back(std::move(reader));
  }
  return std::make_unique<SqliteDatabase>(file, std::move(writer), std::move(readers));
}

}  // namespace safelynx::storage
