// The users table: create, find, list, update and delete, never leaving no admin.
#include "storage/sqlite_user_repository.hpp"

#include <string>
#include <vector>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

const std::string kUserColumns = "id, username, password_hash, created_at, role";

User read_user(const Statement& row) {
  User user;
  user.id = to_count(row.column_int(0));
  user.username = row.column_text(1);
  user.password_hash = row.column_text(2);
  user.created_at = row.column_time(3);
  user.role = read_role(row, 4);
  return user;
}

std::uint64_t admin_count(Connection& connection) {
  auto statement = connection.prepare("SELECT COUNT(*) FROM users WHERE role = 'admin'");
  statement.step();
  return to_count(statement.column_int(0));
}

}  // namespace

void SqliteUserRepository::create(User& user) {
  const std::int64_t id = pool_.write([&](Connection& connection) {
    auto statement = connection.prepare(
        "INSERT INTO users (username, password_hash, created_at, role) VALUES (?1, ?2, ?3, ?4)");
    try {
      statement.bind_text(1, user.username)
          .bind_text(2, user.password_hash)
          .bind_time(3, user.created_at)
          .bind_text(4, to_string(user.role))
          .run();
    } catch (const ConflictError&) {
      throw ConflictError(connection.name() + ": the username '" + user.username + "' is taken");
    }
    return connection.last_insert_id();
  });
  user.id = static_cast<std::uint64_t>(id);
}

std::optional<User> SqliteUserRepository::find_by_name(const std::string& username) {
  return pool_.read([&](Connection& connection) -> std::optional<User> {
    auto statement = connection.prepare("SELECT " + kUserColumns + " FROM users WHERE username = ?1");
    statement.bind_text(1, username);
    if (!statement.step()) return std::nullopt;
    return read_user(statement);
  });
}

std::optional<User> SqliteUserRepository::find(std::uint64_t id) {
  return pool_.read([&](Connection& connection) -> std::optional<User> {
    auto statement = connection.prepare("SELECT " + kUserColumns + " FROM users WHERE id = ?1");
    statement.bind_int(1, to_sql_int(id));
    if (!statement.step()) return std::nullopt;
    return read_user(statement);
  });
}

std::uint64_t SqliteUserRepository::count() {
  return pool_.read([](Connection& connection) {
    auto statement = connection.prepare("SELECT COUNT(*) FROM users");
    statement.step();
    return to_count(statement.column_int(0));
  });
}

std::vector<User> SqliteUserRepository::list() {
  return pool_.read([](Connection& connection) {
    std::vector<User> users;
    auto statement = connection.prepare("SELECT " + kUserColumns + " FROM users ORDER BY id");
    while (statement.step()) users.push_back(read_user(statement));
    return users;
  });
}

// The admin count is checked in the same write transaction, so two admins
// demoting each other at once cannot leave none.
void SqliteUserRepository::update(const User& user) {
  pool_.write([&](Connection& connection) {
    auto statement =
        connection.prepare("UPDATE users SET username = ?2, password_hash = ?3, role = ?4 WHERE id = ?1");
    try {
      statement.bind_int(1, to_sql_int(user.id))
          .bind_text(2, user.username)
          .bind_text(3, user.password_hash)
          .bind_text(4, to_string(user.role))
          .run();
    } catch (const ConflictError&) {
      throw ConflictError(connection.name() + ": the username '" + user.username + "' is taken");
    }
    if (connection.changes() == 0)
      throw NotFoundError(connection.name() + ": no user with id " + std::to_string(user.id));
    if (admin_count(connection) == 0)
      throw LastAdminError("user '" + user.username + "' is the last admin; make another user admin first");
  });
}

bool SqliteUserRepository::remove(std::uint64_t id) {
  return pool_.write([&](Connection& connection) {
    // Tokens go with their user (also ON DELETE CASCADE; explicit so it
    // does not depend on PRAGMA foreign_keys).
    connection.prepare("DELETE FROM api_tokens WHERE user_id = ?1").bind_int(1, to_sql_int(id)).run();
    auto statement = connection.prepare("DELETE FROM users WHERE id = ?1");
    statement.bind_int(1, to_sql_int(id)).run();
    if (connection.changes() == 0) return false;
    if (admin_count(connection) == 0)
      throw LastAdminError("user " + std::to_string(id) + " is the last admin; make another user admin first");
    return true;
  });
}

}  // namespace safelynx::storage::sqlite
