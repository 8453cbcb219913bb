// The audit log's table (append, filters, pages, retention, append-only) and
// the profile query the retention of personal data uses (migration 3).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <array>
#include <filesystem>
#include <random>
#include <string>

#include "storage/settings_json.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::storage {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "safelynx-audit-XXXXXX").string();
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

Uuid make_uuid() {
  static std::mt19937_64 random(4242);
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  return Uuid::from_random_bytes(bytes);
}

TimePoint at(std::int64_t ms) { return from_unix_ms(ms); }

constexpr std::int64_t kT0 = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
constexpr std::int64_t kDay = 86'400'000;

// Runs `sql` on its own connection: SQLITE_OK or the error message.
std::string raw_exec(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) return "cannot open";
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string text = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  return rc == SQLITE_OK ? "ok" : text;
}

class AuditRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = open_sqlite_database(file()); }
  fs::path file() const { return dir_.path() / "safelynx.db"; }

  AuditEntry append(std::int64_t ms, const std::string& actor, const std::string& action, const std::string& type,
                    const std::string& id) {
    AuditEntry entry;
    entry.time = at(ms);
    entry.actor = actor;
    if (actor != "system") entry.user_id = actor == "admin" ? 1 : 2;
    entry.action = action;
    entry.object_type = type;
    entry.object_id = id;
    entry.address = actor == "system" ? "" : "10.0.0.7";
    db_->audit().append(entry);
    return entry;
  }

  std::vector<std::uint64_t> ids(const AuditFilter& filter, Page page = {1, 50}) {
    std::vector<std::uint64_t> out;
    for (const auto& e : db_->audit().list(filter, page).items) out.push_back(e.id);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(AuditRepositoryTest, AppendAssignsIncreasingIdsAndReadsEveryFieldBack) {
  AuditEntry entry;
  entry.time = at(kT0);
  entry.user_id = 7;
  entry.actor = "alice";
  entry.token_id = make_uuid();
  entry.token_name = "ci";
  entry.action = "profile.update";
  entry.object_type = "profile";
  entry.object_id = "abc";
  entry.address = "192.0.2.1";
  entry.old_value = R"({"name":"A"})";
  entry.new_value = R"({"name":"B"})";
  db_->audit().append(entry);
  const AuditEntry second = append(kT0, "system", "retention.delete", "profile", "x");
  EXPECT_GT(entry.id, 0u);
  EXPECT_GT(second.id, entry.id);

  db_.reset();  // durable: read back by a fresh connection
  db_ = open_sqlite_database(file());
  const auto page = db_->audit().list({}, {1, 50});
  ASSERT_EQ(page.total, 2u);
  const AuditEntry& read = page.items[1];
  EXPECT_EQ(read.id, entry.id);
  EXPECT_EQ(read.time, entry.time);
  EXPECT_EQ(read.user_id, std::optional<std::uint64_t>(7));
  EXPECT_EQ(read.actor, "alice");
  EXPECT_EQ(read.token_id, entry.token_id);
  EXPECT_EQ(read.token_name, "ci");
  EXPECT_EQ(read.action, "profile.update");
  EXPECT_EQ(read.object_type, "profile");
  EXPECT_EQ(read.object_id, "abc");
  EXPECT_EQ(read.address, "192.0.2.1");
  EXPECT_EQ(read.old_value, R"({"name":"A"})");
  EXPECT_EQ(read.new_value, R"({"name":"B"})");
  EXPECT_EQ(page.items[0].user_id, std::nullopt);
  EXPECT_EQ(page.items[0].token_id, std::nullopt);
}

TEST_F(AuditRepositoryTest, ListsNewestFirstWithTiesInAppendOrderReversed) {
  const auto a = append(kT0 + 2, "admin", "camera.create", "camera", "c1");
  const auto b = append(kT0 + 1, "admin", "camera.update", "camera", "c1");
  const auto c = append(kT0 + 2, "admin", "camera.delete", "camera", "c1");
  EXPECT_EQ(ids({}), (std::vector<std::uint64_t>{c.id, a.id, b.id}));
}

TEST_F(AuditRepositoryTest, FiltersCombineAndPagesNeverOverlap) {
  const auto e1 = append(kT0, "admin", "profile.update", "profile", "p1");
  const auto e2 = append(kT0 + 1000, "bob", "profile.delete", "profile", "p2");
  const auto e3 = append(kT0 + 2000, "admin", "profiles.other", "profile", "p1");
  const auto e4 = append(kT0 + 3000, "system", "retention.delete", "profile", "p1");
  const auto e5 = append(kT0 + 4000, "admin", "settings.update", "settings", "");

  AuditFilter by_actor;
  by_actor.actor = "admin";
  EXPECT_EQ(ids(by_actor), (std::vector<std::uint64_t>{e5.id, e3.id, e1.id}));
  AuditFilter by_user;
  by_user.user_id = 2;
  EXPECT_EQ(ids(by_user), (std::vector<std::uint64_t>{e2.id}));
  AuditFilter exact;
  exact.action = "profile.delete";
  EXPECT_EQ(ids(exact), (std::vector<std::uint64_t>{e2.id}));
  // A family of actions: "profile." takes profile.* and not "profiles.other".
  AuditFilter family;
  family.action = "profile.";
  EXPECT_EQ(ids(family), (std::vector<std::uint64_t>{e2.id, e1.id}));
  AuditFilter object;
  object.object_type = "profile";
  object.object_id = "p1";
  EXPECT_EQ(ids(object), (std::vector<std::uint64_t>{e4.id, e3.id, e1.id}));
  AuditFilter window;
  window.since = at(kT0 + 1000);  // inclusive
  window.until = at(kT0 + 3000);  // exclusive
  EXPECT_EQ(ids(window), (std::vector<std::uint64_t>{e3.id, e2.id}));
  AuditFilter none;
  none.actor = "nobody";
  EXPECT_EQ(db_->audit().list(none, {1, 50}).total, 0u);

  const auto first = db_->audit().list({}, {1, 2});
  const auto second = db_->audit().list({}, {2, 2});
  const auto third = db_->audit().list({}, {3, 2});
  EXPECT_EQ(first.total, 5u);
  ASSERT_EQ(first.items.size(), 2u);
  ASSERT_EQ(second.items.size(), 2u);
  ASSERT_EQ(third.items.size(), 1u);
  EXPECT_EQ(first.items[0].id, e5.id);
  EXPECT_EQ(second.items[0].id, e3.id);
  EXPECT_EQ(third.items[0].id, e1.id);
  EXPECT_TRUE(db_->audit().list({}, {1'000'000'000, 200}).items.empty());
}

TEST_F(AuditRepositoryTest, RemoveBeforeDeletesOnlyOlderEntriesAndIdsAreNotReused) {
  const auto old = append(kT0, "admin", "auth.login", "user", "1");
  const auto boundary = append(kT0 + kDay, "admin", "auth.login", "user", "1");
  const auto recent = append(kT0 + 2 * kDay, "admin", "auth.login", "user", "1");
  EXPECT_EQ(db_->audit().remove_before(at(kT0 + kDay)), 1u);
  EXPECT_EQ(ids({}), (std::vector<std::uint64_t>{recent.id, boundary.id}));
  EXPECT_EQ(db_->audit().remove_before(at(kT0 + 3 * kDay)), 2u);
  const auto next = append(kT0, "admin", "auth.login", "user", "1");
  EXPECT_GT(next.id, recent.id);
  (void)old;
}

TEST_F(AuditRepositoryTest, TheTableRefusesUpdatesEvenOutsideTheApi) {
  append(kT0, "admin", "profile.update", "profile", "p1");
  db_.reset();
  const std::string result = raw_exec(file(), "UPDATE audit_log SET actor = 'someone else'");
  EXPECT_NE(result.find("append-only"), std::string::npos) << result;
  db_ = open_sqlite_database(file());
  EXPECT_EQ(db_->audit().list({}, {1, 50}).items.at(0).actor, "admin");
}

TEST_F(AuditRepositoryTest, ADatabaseFromBeforeTheAuditLogIsUpgraded) {
  db_.reset();
  std::filesystem::remove(file());
  open_sqlite_database(file(), SqliteOptions{.migrate_to = 3}).reset();  // roles, no audit log yet
  ASSERT_NE(raw_exec(file(), "SELECT count(*) FROM audit_log"), "ok");
  db_ = open_sqlite_database(file());
  EXPECT_EQ(db_->schema_version(), latest_sqlite_schema_version());
  EXPECT_GT(append(kT0, "admin", "auth.login", "user", "1").id, 0u);
}

Profile add_profile(Database& db, Classification classification, std::int64_t created_ms,
                    std::optional<std::int64_t> seen_ms) {
  Profile profile;
  profile.id = make_uuid();
  profile.classification = classification;
  profile.created_at = profile.updated_at = at(created_ms);
  std::vector<StoredEmbedding> none;
  db.profiles().create(profile, none);
  if (seen_ms) {
    Sighting sighting;
    sighting.id = make_uuid();
    sighting.profile_id = profile.id;
    sighting.camera_id = make_uuid();
    sighting.time = at(*seen_ms);
    sighting.box = {1, 2, 3, 4};
    db.sightings().create(sighting);
  }
  return profile;
}

TEST_F(AuditRepositoryTest, UnseenSinceTakesTheLastSightingOrElseTheCreationLongestUnseenFirst) {
  const Profile seen_long_ago = add_profile(*db_, Classification::Unknown, kT0, kT0 + kDay);
  const Profile never_seen_old = add_profile(*db_, Classification::Unknown, kT0 + 2 * kDay, std::nullopt);
  add_profile(*db_, Classification::Unknown, kT0, kT0 + 20 * kDay);  // created long ago, seen recently
  add_profile(*db_, Classification::Unknown, kT0 + 20 * kDay, std::nullopt);  // new
  add_profile(*db_, Classification::Known, kT0, kT0 + kDay);  // another classification
  const TimePoint cutoff = at(kT0 + 10 * kDay);

  auto ids = [](const std::vector<Profile>& profiles) {
    std::vector<Uuid> out;
    for (const auto& p : profiles) out.push_back(p.id);
    return out;
  };
  EXPECT_EQ(ids(db_->profiles().unseen_since(Classification::Unknown, cutoff, 10)),
            (std::vector<Uuid>{seen_long_ago.id, never_seen_old.id}));
  EXPECT_EQ(ids(db_->profiles().unseen_since(Classification::Unknown, cutoff, 1)), (std::vector<Uuid>{seen_long_ago.id}));
  EXPECT_EQ(db_->profiles().unseen_since(Classification::Flagged, cutoff, 10).size(), 0u);
  EXPECT_EQ(db_->profiles().unseen_since(Classification::Known, cutoff, 10).size(), 1u);
}

TEST(RetentionSettingsTest, StoredSettingsWithoutTheNewKeysReadAsTheDefaultsAndNewValuesRoundTrip) {
  TempDir dir;
  auto db = open_sqlite_database(dir.path() / "safelynx.db");
  Settings settings;
  EXPECT_EQ(settings.retention.unknown_profiles_days, 30);
  EXPECT_EQ(settings.retention.known_profiles_days, 0);
  EXPECT_EQ(settings.audit.retention_days, 365);
  settings.retention.unknown_profiles_days = 7;
  settings.retention.known_profiles_days = 400;
  settings.audit.retention_days = 0;
  db->settings().save(settings);
  const Settings read = db->settings().load();
  EXPECT_EQ(read.retention.unknown_profiles_days, 7);
  EXPECT_EQ(read.retention.known_profiles_days, 400);
  EXPECT_EQ(read.audit.retention_days, 0);
  const auto json = settings_to_json(read);
  EXPECT_EQ(json["retention"]["unknown_profiles_days"], 7);
  EXPECT_EQ(json["audit"]["retention_days"], 0);
  // Settings saved by an older build have no such sections: the defaults.
  db.reset();
  ASSERT_EQ(raw_exec(dir.path() / "safelynx.db", R"(UPDATE settings SET json = '{"detection": {"min_score": 0.7}}')"), "ok");
  db = open_sqlite_database(dir.path() / "safelynx.db");
  EXPECT_EQ(db->settings().load().retention.unknown_profiles_days, 30);
  EXPECT_EQ(db->settings().load().audit.retention_days, 365);

  Settings bad;
  bad.audit.retention_days = -1;
  bad.retention.unknown_profiles_days = 40'000;
  const auto problems = validate(bad);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].key, "retention.unknown_profiles_days");
  EXPECT_EQ(problems[1].key, "audit.retention_days");
}

}  // namespace
}  // namespace safelynx::storage
