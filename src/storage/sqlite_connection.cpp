#include "storage/sqlite_connection.hpp"

#include <sqlite3.h>

#include <climits>
#include <stdexcept>

#include "storage/repositories.hpp"

namespace safelynx::storage::sqlite {

// --- Statement ---------------------------------------------------------------

Statement::~Statement() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

Statement& Statement::bind_int(int index, std::int64_t value) {
  if (int rc = sqlite3_bind_int64(statement_, index, value); rc != SQLITE_OK) connection_->fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_real(int index, double value) {
  if (int rc = sqlite3_bind_double(statement_, index, value); rc != SQLITE_OK) connection_->fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
  if (value.size() > static_cast<std::size_t>(INT_MAX)) throw StorageError(connection_->name() + ": text too long");
  int rc = sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) connection_->fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_blob(int index, const void* data, std::size_t size) {
  if (size > static_cast<std::size_t>(INT_MAX)) throw StorageError(connection_->name() + ": blob too long");
  int rc = sqlite3_bind_blob(statement_, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) connection_->fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (int rc = sqlite3_bind_null(statement_, index); rc != SQLITE_OK) connection_->fail(rc, "bind");
  return *this;
}

Statement& Statement::bind_time(int index, const std::optional<TimePoint>& value) {
  return value ? bind_time(index, *value) : bind_null(index);
}

bool Statement::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // The start of the SQL says which statement failed (values are bound, so
  // no user data leaks into the message).
  connection_->fail(rc, std::string_view(sqlite3_sql(statement_)).substr(0, 60));
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
std::int64_t Statement::column_int(int column) const { return sqlite3_column_int64(statement_, column); }
double Statement::column_real(int column) const { return sqlite3_column_double(statement_, column); }

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);  // after _text, as SQLite documents
  return text ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)) : std::string();
}

std::vector<unsigned char> Statement::column_blob(int column) const {
  const auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  return data ? std::vector<unsigned char>(data, data + size) : std::vector<unsigned char>();
}

std::optional<TimePoint> Statement::column_optional_time(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_time(column);
}

Uuid Statement::column_uuid(int column) const {
  try {
    return Uuid::parse(column_text(column));
  } catch (const std::invalid_argument& error) {
    throw StorageError(connection_->name() + ": corrupt id in the database: " + error.what());
  }
}

// --- Connection --------------------------------------------------------------

Connection::Connection(const std::filesystem::path& file, bool create, int busy_timeout_ms)
    : name_("SQLite database " + file.string()) {
  // NOMUTEX: the pool guarantees one thread per connection at a time.
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StorageError(name_ + ": cannot open: " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Connection::~Connection() {
  for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

Statement Connection::prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &statement, nullptr);
    if (rc != SQLITE_OK) fail(rc, "prepare " + sql);
    it = statements_.emplace(sql, statement).first;
  }
  return Statement(*this, it->second);
}

void Connection::execute(const char* sql, std::string_view context) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw StorageError(name_ + ": " + std::string(context) + ": " + text);
  }
}

std::int64_t Connection::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
int Connection::changes() const { return sqlite3_changes(db_); }

void Connection::fail(int code, std::string_view context) const {
  std::string message = name_ + ": " + std::string(context) + ": " + sqlite3_errmsg(db_);
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) throw ConflictError(message);
  // A reference to a row that is not there (e.g. a token of an unknown user).
  if (code == SQLITE_CONSTRAINT_FOREIGNKEY) throw NotFoundError(message);
  throw StorageError(message);
}

// --- Transaction -------------------------------------------------------------

Transaction::Transaction(Connection& connection, bool write) : connection_(connection) {
  // IMMEDIATE takes the write lock up front (waiting out another process via
  // the busy timeout) instead of failing with SQLITE_BUSY on upgrade.
  connection_.prepare(write ? "BEGIN IMMEDIATE" : "BEGIN").run();
}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    connection_.prepare("ROLLBACK").run();
  } catch (const StorageError&) {
    // SQLite may already have rolled back (e.g. after an I/O error).
  }
}

void Transaction::commit() {
  connection_.prepare("COMMIT").run();
  open_ = false;
}

// --- ConnectionPool ----------------------------------------------------------

ConnectionPool::ConnectionPool(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers)
    : writer_(std::move(writer)), readers_(std::move(readers)) {
  for (auto& reader : readers_) free_readers_.push_back(reader.get());
}

ConnectionPool::Lease::Lease(ConnectionPool& owner) : pool(owner) {
  std::unique_lock lock(pool.readers_mutex_);
  pool.reader_free_.wait(lock, [&] { return !pool.free_readers_.empty(); });
  connection = pool.free_readers_.back();
  pool.free_readers_.pop_back();
}

ConnectionPool::Lease::~Lease() {
  {
    std::lock_guard lock(pool.readers_mutex_);
    pool.free_readers_.push_back(connection);
  }
  pool.reader_free_.notify_one();
}

}  // namespace safelynx::storage::sqlite
