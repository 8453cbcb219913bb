// The retention of personal data (server/api/retention.*): which profiles a
// pass deletes, that everything of theirs goes (rows, files, index entries),
// and that the audit log records it; the pruning of the audit log itself.
// run_once(now) stands in for the periodic thread, so nothing sleeps.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <variant>

#include "index/tiered_index.hpp"
#include "server/api/retention.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::server {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kDayMs = 86'400'000;

Uuid make_uuid() {
  static std::mt19937_64 random(99);
  std::array<std::uint8_t, 16> bytes{};
  for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
  return Uuid::from_random_bytes(bytes);
}

class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest() {
    std::string pattern = (fs::temp_directory_path() / "safelynx-retention-unit-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    db_ = storage::open_sqlite_database(dir_ / "safelynx.db");
    media_ = std::make_unique<storage::MediaStore>(dir_);
    audit_ = std::make_unique<AuditLog>(db_->audit());
    subscription_ = events_.subscribe([this](const DomainEvent& event) {
      if (const auto* deleted = std::get_if<ProfileDeleted>(&event.payload)) deleted_events_.push_back(deleted->profile_id);
    });
    gallery_ = std::make_unique<gallery::Gallery>(*db_, *media_, index_, events_);
    service_ = std::make_unique<RetentionService>(*db_, *gallery_, *audit_,
                                                  [this] { return settings_; }, nullptr);
  }
  ~RetentionTest() override {
    service_.reset();
    db_.reset();
    std::error_code error;
    fs::remove_all(dir_, error);
  }

  // A profile with two embeddings in the database and the index, a
  // thumbnail, and (when `last_seen_days_ago` is set) one sighting with
  // both snapshots, that many days before now_.
  struct Made {
    Profile profile;
    Uuid sighting;
  };
  Made make_profile(Classification classification, int created_days_ago, std::optional<int> last_seen_days_ago) {
    Made made;
    Profile& profile = made.profile;
    profile.id = make_uuid();
    profile.classification = classification;
    profile.created_at = profile.updated_at = now_ - std::chrono::milliseconds(kDayMs * created_days_ago);
    std::vector<StoredEmbedding> embeddings(2);
    for (std::size_t i = 0; i < embeddings.size(); ++i) {
      embeddings[i].descriptor.fill(0.01f * static_cast<float>(i + 1));
      embeddings[i].quality = 0.9f;
      embeddings[i].created_at = profile.created_at;
    }
    media_->write(storage::MediaKind::Thumbnail, profile.id, "thumbnail");
    profile.has_thumbnail = true;
    db_->profiles().create(profile, embeddings);
    index::EmbeddingBatch batch;
    for (const auto& e : embeddings) batch.push_back(e.profile_key, e.id, e.descriptor);
    index_.add_batch(batch);
    if (last_seen_days_ago) {
      Sighting sighting;
      sighting.id = made.sighting = make_uuid();
      sighting.profile_id = profile.id;
      sighting.camera_id = make_uuid();
      sighting.time = now_ - std::chrono::milliseconds(kDayMs * *last_seen_days_ago);
      sighting.box = {1, 2, 3, 4};
      sighting.has_face_snapshot = sighting.has_frame_snapshot = true;
      media_->write(storage::MediaKind::FaceSnapshot, sighting.id, "face");
      media_->write(storage::MediaKind::FrameSnapshot, sighting.id, "frame");
      db_->sightings().create(sighting);
    }
    return made;
  }

  bool all_gone(const Made& made) {
    std::error_code error;
    return !db_->profiles().find(made.profile.id) &&
           !fs::exists(media_->path(storage::MediaKind::Thumbnail, made.profile.id), error) &&
           !fs::exists(media_->path(storage::MediaKind::FaceSnapshot, made.sighting), error) &&
           !fs::exists(media_->path(storage::MediaKind::FrameSnapshot, made.sighting), error) &&
           !db_->sightings().find(made.sighting);
  }
  bool all_there(const Made& made) {
    return db_->profiles().find(made.profile.id) &&
           fs::exists(media_->path(storage::MediaKind::Thumbnail, made.profile.id)) &&
           db_->profiles().embeddings_of(made.profile.id).size() == 2;
  }

  fs::path dir_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::MediaStore> media_;
  index::TieredIndex index_;
  EventBus events_;
  std::unique_ptr<AuditLog> audit_;
  Settings settings_;
  std::vector<Uuid> deleted_events_;
  EventBus::Subscription subscription_;
  std::unique_ptr<gallery::Gallery> gallery_;
  std::unique_ptr<RetentionService> service_;
  const TimePoint now_ = now_ms();
};

TEST_F(RetentionTest, DeletesOnlyUnknownProfilesUnseenForLongerThanTheSettingWithEverythingOfTheirs) {
  settings_.retention.unknown_profiles_days = 30;  // the defaults
  settings_.retention.known_profiles_days = 0;
  const Made stale = make_profile(Classification::Unknown, 100, 40);
  const Made never_seen = make_profile(Classification::Unknown, 31, std::nullopt);
  const Made recent = make_profile(Classification::Unknown, 100, 5);
  const Made known = make_profile(Classification::Known, 400, 300);
  const Made flagged = make_profile(Classification::Flagged, 400, 300);
  ASSERT_EQ(index_.size(), 10u);

  const RetentionPass pass = service_->run_once(now_);
  EXPECT_EQ(pass.profiles_deleted, 2u);
  EXPECT_TRUE(all_gone(stale));
  EXPECT_TRUE(all_gone(never_seen));
  EXPECT_TRUE(all_there(recent));
  EXPECT_TRUE(all_there(known));
  EXPECT_TRUE(all_there(flagged));
  // The embeddings left the index with the profiles.
  EXPECT_EQ(index_.size(), 6u);
  EXPECT_EQ(index_.profile_count(), 3u);
  EXPECT_EQ(deleted_events_.size(), 2u);

  storage::AuditFilter filter;
  filter.action = "retention.delete";
  const auto entries = db_->audit().list(filter, {1, 50});
  ASSERT_EQ(entries.total, 2u);
  for (const auto& entry : entries.items) {
    EXPECT_EQ(entry.actor, "system");
    EXPECT_EQ(entry.user_id, std::nullopt);
    EXPECT_EQ(entry.address, "");
    EXPECT_EQ(entry.object_type, "profile");
    EXPECT_TRUE(entry.object_id == stale.profile.id.to_string() || entry.object_id == never_seen.profile.id.to_string())
        << entry.object_id;
    const auto old_value = nlohmann::json::parse(entry.old_value);
    EXPECT_EQ(old_value["classification"], "unknown");
    EXPECT_EQ(old_value["retention_days"], 30);
  }
  // A second pass has nothing left to do.
  EXPECT_EQ(service_->run_once(now_).profiles_deleted, 0u);
}

TEST_F(RetentionTest, KnownProfilesFollowTheirOwnSettingAndZeroKeepsForever) {
  settings_.retention.unknown_profiles_days = 0;
  settings_.retention.known_profiles_days = 365;
  const Made old_unknown = make_profile(Classification::Unknown, 1000, 900);
  const Made old_known = make_profile(Classification::Known, 1000, 400);
  const Made old_trusted = make_profile(Classification::Trusted, 1000, 400);
  const Made young_known = make_profile(Classification::Known, 1000, 100);
  EXPECT_EQ(service_->run_once(now_).profiles_deleted, 2u);
  EXPECT_TRUE(all_there(old_unknown));
  EXPECT_TRUE(all_gone(old_known));
  EXPECT_TRUE(all_gone(old_trusted));
  EXPECT_TRUE(all_there(young_known));
}

TEST_F(RetentionTest, DeletesInBatchesUntilNoneIsLeft) {
  settings_.retention.unknown_profiles_days = 1;
  for (int i = 0; i < 250; ++i) make_profile(Classification::Unknown, 10, std::nullopt);
  EXPECT_EQ(service_->run_once(now_).profiles_deleted, 250u);
  EXPECT_EQ(db_->profiles().count(), 0u);
  EXPECT_EQ(index_.size(), 0u);
}

TEST_F(RetentionTest, PrunesTheAuditLogAndRecordsThatItDid) {
  settings_.audit.retention_days = 10;
  auto add = [&](int days_ago) {
    storage::AuditEntry entry;
    entry.time = now_ - std::chrono::milliseconds(kDayMs * days_ago);
    entry.actor = "admin";
    entry.action = "auth.login";
    db_->audit().append(entry);
  };
  add(20);
  add(11);
  add(9);
  const RetentionPass pass = service_->run_once(now_);
  EXPECT_EQ(pass.audit_entries_deleted, 2u);
  const auto left = db_->audit().list({}, {1, 50});
  ASSERT_EQ(left.total, 2u);
  EXPECT_EQ(left.items[0].action, "retention.delete");
  EXPECT_EQ(left.items[0].object_type, "audit");
  EXPECT_EQ(nlohmann::json::parse(left.items[0].old_value)["entries"], 2);

  settings_.audit.retention_days = 0;  // keep forever
  add(5000);
  EXPECT_EQ(service_->run_once(now_).audit_entries_deleted, 0u);
}

TEST_F(RetentionTest, TheThreadRunsAPassAtStartAndStopsPromptly) {
  settings_.retention.unknown_profiles_days = 30;
  const Made stale = make_profile(Classification::Unknown, 100, 40);
  service_->start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db_->profiles().find(stale.profile.id) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto stop_started = std::chrono::steady_clock::now();
  service_->stop();  // the interval is an hour: stop must not wait for it
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, std::chrono::seconds(2));
  EXPECT_TRUE(all_gone(stale));
}

TEST(AuditLogTest, KeepsOnlyWhatChangedAndNeverSecrets) {
  std::string pattern = (fs::temp_directory_path() / "safelynx-auditlog-unit-XXXXXX").string();
  ASSERT_TRUE(mkdtemp(pattern.data()));
  {
    auto db = storage::open_sqlite_database(fs::path(pattern) / "safelynx.db");
    AuditLog log(db->audit());
    HttpRequest request;
    request.client_address = "198.51.100.4";
    Principal who;
    who.user.id = 3;
    who.user.username = "carol";
    who.token.kind = TokenKind::Api;
    who.token.id = make_uuid();
    who.token.name = "script";
    const nlohmann::json before = {{"name", "A"}, {"source", "rtsp://cam:hunter2@10.0.0.9/stream"}, {"fps", 10},
                                   {"nested", {{"same", 1}, {"changed", 1}}}};
    const nlohmann::json after = {{"name", "A"}, {"source", "rtsp://cam:swordfish@10.0.0.9/stream"}, {"fps", 12},
                                  {"password", "secret!"}, {"nested", {{"same", 1}, {"changed", 2}}}};
    const auto entry = log.record(AuditActor::of(who, request), "camera.update", {"camera", "c1"}, before, after);
    EXPECT_EQ(entry.actor, "carol");
    EXPECT_EQ(entry.user_id, std::optional<std::uint64_t>(3));
    EXPECT_EQ(entry.token_id, who.token.id);
    EXPECT_EQ(entry.token_name, "script");
    EXPECT_EQ(entry.address, "198.51.100.4");
    EXPECT_EQ(nlohmann::json::parse(entry.old_value),
              (nlohmann::json{{"source", "rtsp://***@10.0.0.9/stream"}, {"fps", 10}, {"nested", {{"changed", 1}}}}));
    EXPECT_EQ(nlohmann::json::parse(entry.new_value),
              (nlohmann::json{{"source", "rtsp://***@10.0.0.9/stream"}, {"fps", 12}, {"nested", {{"changed", 2}}}}));
    EXPECT_EQ(entry.new_value.find("swordfish"), std::string::npos);
    EXPECT_EQ(entry.new_value.find("secret!"), std::string::npos);

    // A session token is the login itself: not named.
    who.token.kind = TokenKind::Session;
    EXPECT_EQ(log.record(AuditActor::of(who, request), "auth.logout", {"user", "3"}).token_id, std::nullopt);
    // Values are bounded.
    const auto big = log.record(AuditActor::system(), "profile.update", {"profile", "p"}, nullptr,
                                {{"notes", std::string(10'000, 'x')}});
    EXPECT_LE(big.new_value.size(), AuditLog::kMaxValueBytes);
    EXPECT_EQ(nlohmann::json::parse(big.new_value)["omitted"], "too large");
    // A claimed username (failed login) is cut to a bound.
    EXPECT_EQ(AuditActor::claimed(std::string(1000, 'u'), request).username.size(), AuditLog::kMaxNameBytes);
  }
  std::error_code error;
  fs::remove_all(pattern, error);
}

}  // namespace
}  // namespace safelynx::server
