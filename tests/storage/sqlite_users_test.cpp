// Users and tokens with roles: the roles migration of an existing database,
// and the rule that the last admin stays.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "storage/sqlite_database.hpp"
#include "../support/sqlite_raw.hpp"

namespace safelynx::storage {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "safelynx-users-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

constexpr std::int64_t kMonday = 1'704'067'200'000;
TimePoint at(std::int64_t ms) { return from_unix_ms(ms); }

using safelynx::testing::raw_exec;

User make_user(const std::string& name, Role role) {
  User user;
  user.username = name;
  user.password_hash = "$argon2id$" + name;
  user.created_at = at(kMonday);
  user.role = role;
  return user;
}

ApiToken make_token(std::uint64_t user_id, const std::string& hash, Role role) {
  ApiToken token;
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < hash.size() && i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(hash[i]);
  token.id = Uuid::from_random_bytes(bytes);
  token.user_id = user_id;
  token.kind = TokenKind::Api;
  token.name = "token " + hash;
  token.secret_hash = hash;
  token.created_at = at(kMonday);
  token.role = role;
  return token;
}

// Schema 2 is what builds before roles left: its users could do everything,
// so they (and their tokens) must come out of the migration as admins.
TEST(SqliteRoles, TheMigrationMakesExistingUsersAndTheirTokensAdmins) {
  TempDir dir;
  const fs::path file = dir.path() / "safelynx.db";
  open_sqlite_database(file, SqliteOptions{.migrate_to = 2}).reset();
  raw_exec(file,
           "INSERT INTO users (username, password_hash, created_at) VALUES ('admin', '$argon2id$old', 1);"
           "INSERT INTO api_tokens (uuid, user_id, kind, name, secret_hash, created_at)"
           " VALUES ('00000000-0000-4000-8000-000000000001', 1, 'api', 'ha', 'ab12', 1);");

  auto db = open_sqlite_database(file);
  EXPECT_EQ(db->schema_version(), latest_sqlite_schema_version());
  const auto admin = db->users().find_by_name("admin");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->role, Role::Admin);
  EXPECT_EQ(admin->password_hash, "$argon2id$old");
  const auto token = db->tokens().find_by_hash("ab12");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->role, Role::Admin);

  // New rows keep the role they are given.
  User viewer = make_user("vera", Role::Viewer);
  db->users().create(viewer);
  EXPECT_EQ(db->users().find(viewer.id)->role, Role::Viewer);
  db->tokens().create(make_token(viewer.id, "cd34", Role::Viewer));
  EXPECT_EQ(db->tokens().find_by_hash("cd34")->role, Role::Viewer);
}

TEST(SqliteRoles, TheLastAdminCannotBeDemotedOrDeleted) {
  TempDir dir;
  auto db = open_sqlite_database(dir.path() / "safelynx.db");
  User first = make_user("admin", Role::Admin);
  db->users().create(first);
  User second = make_user("olga", Role::Operator);
  db->users().create(second);

  first.role = Role::Operator;
  EXPECT_THROW(db->users().update(first), LastAdminError);
  EXPECT_EQ(db->users().find(first.id)->role, Role::Admin);  // rolled back
  EXPECT_THROW(db->users().remove(first.id), LastAdminError);
  EXPECT_TRUE(db->users().find(first.id));

  second.role = Role::Admin;
  db->users().update(second);
  db->users().update(first);  // now another admin remains
  EXPECT_EQ(db->users().find(first.id)->role, Role::Operator);
  EXPECT_THROW(db->users().remove(second.id), LastAdminError);
  EXPECT_TRUE(db->users().remove(first.id));
  EXPECT_FALSE(db->users().remove(first.id));

  User missing = make_user("ghost", Role::Viewer);
  missing.id = 999;
  EXPECT_THROW(db->users().update(missing), NotFoundError);
  User clash = *db->users().find(second.id);
  User other = make_user("pat", Role::Viewer);
  db->users().create(other);
  clash.username = "pat";
  EXPECT_THROW(db->users().update(clash), ConflictError);
  const auto users = db->users().list();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].username, "olga");
  EXPECT_EQ(users[1].username, "pat");
}

TEST(SqliteRoles, DeletingAUserDeletesTheirTokens) {
  TempDir dir;
  auto db = open_sqlite_database(dir.path() / "safelynx.db");
  User admin = make_user("admin", Role::Admin);
  db->users().create(admin);
  User user = make_user("gina", Role::Operator);
  db->users().create(user);
  db->tokens().create(make_token(user.id, "aa11", Role::Operator));
  ApiToken session = make_token(user.id, "bb22", Role::Operator);
  session.kind = TokenKind::Session;
  db->tokens().create(session);
  db->tokens().create(make_token(admin.id, "cc33", Role::Admin));

  EXPECT_EQ(db->tokens().remove_for_user(user.id, TokenKind::Session), 1u);
  EXPECT_FALSE(db->tokens().find_by_hash("bb22"));
  EXPECT_TRUE(db->tokens().find_by_hash("aa11"));

  EXPECT_TRUE(db->users().remove(user.id));
  EXPECT_FALSE(db->tokens().find_by_hash("aa11"));
  EXPECT_TRUE(db->tokens().find_by_hash("cc33"));
  EXPECT_EQ(db->tokens().remove_for_user(admin.id, std::nullopt), 1u);
}

}  // namespace
}  // namespace safelynx::storage
