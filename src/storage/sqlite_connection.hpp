// Internal to the SQLite backend: RAII over the SQLite C API (a connection
// with its cache of prepared statements, a statement in use) and the
// connection pool (one writer, a few readers). Not part of the storage API.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "domain/entities.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace safelynx::storage::sqlite {

class Connection;

// A prepared statement borrowed from a connection's cache. Destruction resets
// it and clears its bindings so the next user starts clean; the statement
// itself stays cached. Parameter and column indices are those of SQLite
// (parameters from 1, columns from 0).
class Statement {
 public:
  Statement(Connection& connection, sqlite3_stmt* statement) : connection_(&connection), statement_(statement) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind_int(int index, std::int64_t value);
  Statement& bind_real(int index, double value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, const void* data, std::size_t size);
  Statement& bind_null(int index);
  Statement& bind_bool(int index, bool value) { return bind_int(index, value ? 1 : 0); }
  Statement& bind_time(int index, TimePoint value) { return bind_int(index, to_unix_ms(value)); }
  Statement& bind_time(int index, const std::optional<TimePoint>& value);
  Statement& bind_uuid(int index, const Uuid& value) { return bind_text(index, value.to_string()); }

  // Advances: true while there is a row to read, false when done. Throws
  // StorageError (ConflictError for a uniqueness violation).
  bool step();
  // Runs a statement that returns no rows.
  void run();

  bool is_null(int column) const;
  std::int64_t column_int(int column) const;
  double column_real(int column) const;
  std::string column_text(int column) const;
  std::vector<unsigned char> column_blob(int column) const;
  TimePoint column_time(int column) const { return from_unix_ms(column_int(column)); }
  std::optional<TimePoint> column_optional_time(int column) const;
  Uuid column_uuid(int column) const;

 private:
  Connection* connection_;
  sqlite3_stmt* statement_;
};

// One SQLite connection. Not thread-safe: the pool hands it to one thread at
// a time.
class Connection {
 public:
  // Opens (creating the file if `create`), sets the busy timeout; throws
  // StorageError naming the file.
  Connection(const std::filesystem::path& file, bool create, int busy_timeout_ms);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // A cached prepared statement for this SQL text. SQL passed here is always
  // built from fixed fragments, never from user input (that is bound), so the
  // cache stays small.
  Statement prepare(const std::string& sql);
  // Runs SQL without parameters (may hold several statements).
  void execute(const char* sql, std::string_view context);
  std::int64_t last_insert_id() const;
  int changes() const;

  // Throws StorageError (ConflictError for uniqueness violations) naming the
  // file, `context` and SQLite's message for `code`.
  [[noreturn]] void fail(int code, std::string_view context) const;
  const std::string& name() const { return name_; }

 private:
  sqlite3* db_ = nullptr;
  std::string name_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// A write transaction (BEGIN IMMEDIATE) or a read snapshot (BEGIN) that rolls
// back unless committed.
class Transaction {
 public:
  Transaction(Connection& connection, bool write);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Connection& connection_;
  bool open_ = true;
};

// One writer connection behind a mutex (SQLite allows one writer at a time,
// and waiting on our own mutex is cheaper and fairer than SQLITE_BUSY
// retries) and a few reader connections that WAL lets run alongside it.
class ConnectionPool {
 public:
  ConnectionPool(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers);

  // Runs fn(Connection&) in a write transaction, committed when fn returns.
  template <typename Fn>
  auto write(Fn&& fn) {
    std::lock_guard lock(writer_mutex_);
    Transaction transaction(*writer_, true);
    if constexpr (std::is_void_v<decltype(fn(*writer_))>) {
      fn(*writer_);
      transaction.commit();
    } else {
      auto result = fn(*writer_);
      transaction.commit();
      return result;
    }
  }

  // Runs fn(Connection&) on a reader inside one read snapshot, so e.g. a page
  // and its total agree.
  template <typename Fn>
  auto read(Fn&& fn) {
    Lease lease(*this);
    Transaction transaction(*lease.connection, false);
    if constexpr (std::is_void_v<decltype(fn(*lease.connection))>) {
      fn(*lease.connection);
      transaction.commit();
    } else {
      auto result = fn(*lease.connection);
      transaction.commit();
      return result;
    }
  }

 private:
  struct Lease {
    explicit Lease(ConnectionPool& pool);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ConnectionPool& pool;
    Connection* connection;
  };

  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::mutex readers_mutex_;
  std::condition_variable reader_free_;
  std::vector<Connection*> free_readers_;
};

}  // namespace safelynx::storage::sqlite
