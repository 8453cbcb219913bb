#include "storage/sqlite_database.hpp"
#include "storage/settings_json.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <bit>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <system_error>

#include "storage/sqlite_audit_repository.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage {

namespace {

using sqlite::Connection;
using sqlite::ConnectionPool;
using sqlite::Statement;
using sqlite::Transaction;
using json = nlohmann::json;

// --- Schema ------------------------------------------------------------------

// Migration N (1-based) takes the schema from version N-1 to N. Append new
// migrations; never edit one that has shipped. PRAGMA user_version records
// the version, in the same transaction as the migration.
//
// Times are unix milliseconds (INTEGER), ids canonical lowercase UUID text.
// Sightings and recordings keep the camera's id as plain text, without a
// foreign key: deleting a camera must not delete its history. A sighting's
// recording link is plain text too (a sighting may be written before its
// recording row); removing a recording clears the links.
const char* const kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE profiles (
  key INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: the index's ids are never reused
  uuid TEXT NOT NULL UNIQUE,
  name TEXT,
  classification TEXT NOT NULL CHECK (classification IN ('trusted', 'known', 'unknown', 'flagged')),
  tags TEXT NOT NULL DEFAULT '[]',  -- JSON array, for reading; profile_tags is for filtering
  notes TEXT NOT NULL DEFAULT '',
  has_thumbnail INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER,
  last_seen INTEGER,
  sighting_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX profiles_created ON profiles (created_at);
CREATE INDEX profiles_classification_created ON profiles (classification, created_at);
CREATE INDEX profiles_last_seen ON profiles (last_seen);
CREATE INDEX profiles_sighting_count ON profiles (sighting_count);
-- Matches the name sort exactly (unnamed last, then case-insensitive, key
-- breaking ties), so a page by name reads 50 index entries instead of sorting.
CREATE INDEX profiles_name_order ON profiles ((name IS NULL), name COLLATE NOCASE, key);

CREATE TABLE profile_tags (
  tag TEXT NOT NULL,
  profile_key INTEGER NOT NULL REFERENCES profiles (key) ON DELETE CASCADE,
  PRIMARY KEY (tag, profile_key)
) WITHOUT ROWID;
CREATE INDEX profile_tags_profile ON profile_tags (profile_key);

CREATE TABLE embeddings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  profile_key INTEGER NOT NULL REFERENCES profiles (key) ON DELETE CASCADE,
  descriptor BLOB NOT NULL CHECK (length(descriptor) = 512),  -- 128 float32, little-endian
  quality REAL NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX embeddings_profile ON embeddings (profile_key);

CREATE TABLE cameras (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  fps REAL NOT NULL,
  location TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  status TEXT NOT NULL,
  status_message TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE recordings (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  camera_uuid TEXT NOT NULL,
  start_at INTEGER NOT NULL,
  end_at INTEGER,
  file TEXT NOT NULL,
  size_bytes INTEGER NOT NULL
);
CREATE INDEX recordings_start ON recordings (start_at);
CREATE INDEX recordings_camera_start ON recordings (camera_uuid, start_at);

CREATE TABLE sightings (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  profile_key INTEGER NOT NULL REFERENCES profiles (key) ON DELETE CASCADE,
  camera_uuid TEXT NOT NULL,
  time INTEGER NOT NULL,
  box_x REAL NOT NULL,
  box_y REAL NOT NULL,
  box_width REAL NOT NULL,
  box_height REAL NOT NULL,
  detector_score REAL NOT NULL,
  match_distance REAL NOT NULL,
  has_face_snapshot INTEGER NOT NULL,
  has_frame_snapshot INTEGER NOT NULL,
  recording_uuid TEXT,
  recording_offset_s REAL NOT NULL
);
CREATE INDEX sightings_time ON sightings (time);
CREATE INDEX sightings_profile_time ON sightings (profile_key, time);
CREATE INDEX sightings_camera_time ON sightings (camera_uuid, time);
CREATE INDEX sightings_recording ON sightings (recording_uuid);

CREATE TABLE settings (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  json TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('session', 'api')),
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER
);
CREATE INDEX api_tokens_user_kind ON api_tokens (user_id, kind);
CREATE INDEX api_tokens_expires ON api_tokens (expires_at);
)sql",
    // 2: the storage cleanup finds the oldest sightings that still have
    // snapshot files without walking the ones already cleaned (partial
    // index: the query repeats its WHERE term exactly), and the oldest
    // finished recordings without walking unfinished ones.
    R"sql(
CREATE INDEX sightings_snapshot_time ON sightings (time) WHERE (has_face_snapshot <> 0 OR has_frame_snapshot <> 0);
CREATE INDEX recordings_finished_start ON recordings (start_at) WHERE end_at IS NOT NULL;
)sql",
    // 3: roles (least privilege). Before roles every user could do
    // everything, so existing users and their tokens keep admin; a token's
    // role caps what it may do below its user's current role.
    R"sql(
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE users SET role = 'admin';
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'operator', 'admin'));
UPDATE api_tokens SET role = 'admin';
)sql",
    // 4: the audit log (append-only: no UPDATE; DELETE only for its
    // retention), and the retention's search for profiles unseen for long
    // (the expression matches ProfileRepository::unseen_since exactly).
    // user_id has no foreign key: entries outlive the users they name. IF NOT
    // EXISTS: a database rewound to an older version re-runs it unharmed.
    R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  user_id INTEGER,
  actor TEXT NOT NULL,
  token_id TEXT,
  token_name TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  object_type TEXT NOT NULL DEFAULT '',
  object_id TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  old_value TEXT NOT NULL DEFAULT '',
  new_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (time, id);
CREATE INDEX IF NOT EXISTS audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor);
CREATE TRIGGER IF NOT EXISTS audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE INDEX IF NOT EXISTS profiles_classification_unseen ON profiles (classification, coalesce(last_seen, created_at));
)sql",
};

constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

int user_version(Connection& connection) {
  auto statement = connection.prepare("PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.column_int(0));
}

void migrate(Connection& connection, int target) {
  for (int version = user_version(connection) + 1; version <= target; ++version) {
    Transaction transaction(connection, true);
    // Another process may have migrated between our check and the lock.
    if (user_version(connection) >= version) continue;
    const std::string step = "migration " + std::to_string(version);
    connection.execute(kMigrations[version - 1], "schema " + step);
    // PRAGMA takes no bound parameters; the version is our own integer.
    connection.execute(("PRAGMA user_version = " + std::to_string(version)).c_str(), step);
    transaction.commit();
  }
}

// --- Conversions -------------------------------------------------------------

constexpr std::size_t kDescriptorBytes = kDescriptorSize * sizeof(float);

// Little-endian float32 whatever the host, so a database file is portable.
std::array<unsigned char, kDescriptorBytes> encode_descriptor(const FaceDescriptor& descriptor) {
  std::array<unsigned char, kDescriptorBytes> bytes{};
  for (std::size_t i = 0; i < kDescriptorSize; ++i) {
    const auto bits = std::bit_cast<std::uint32_t>(descriptor[i]);
    for (std::size_t b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<unsigned char>(bits >> (8 * b));
  }
  return bytes;
}

FaceDescriptor decode_descriptor(const std::vector<unsigned char>& bytes, const std::string& database) {
  if (bytes.size() != kDescriptorBytes) {
    throw StorageError(database + ": corrupt embedding: " + std::to_string(bytes.size()) + " bytes, expected " +
                       std::to_string(kDescriptorBytes));
  }
  FaceDescriptor descriptor{};
  for (std::size_t i = 0; i < kDescriptorSize; ++i) {
    std::uint32_t bits = 0;
    for (std::size_t b = 0; b < 4; ++b) bits |= static_cast<std::uint32_t>(bytes[i * 4 + b]) << (8 * b);
    descriptor[i] = std::bit_cast<float>(bits);
  }
  return descriptor;
}

std::int64_t to_sql_int(std::uint64_t value) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
}

std::uint64_t to_count(std::int64_t value) { return value < 0 ? 0 : static_cast<std::uint64_t>(value); }

// A LIKE pattern matching `text` anywhere, with the user's own '%', '_' and
// backslash taken literally (the statements say ESCAPE with a backslash).
std::string like_substring(std::string_view text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

struct Window {
  bool any = false;
  std::int64_t limit = 0;
  std::int64_t offset = 0;
};

// LIMIT/OFFSET for a 1-based page (page 0 reads as 1); no rows when the
// offset would not fit SQLite's integers.
Window window_of(const Page& page) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t index = std::max<std::uint64_t>(page.page, 1) - 1;
  if (page.per_page == 0 || index > kMax / page.per_page) return {};
  return {true, static_cast<std::int64_t>(std::min(page.per_page, kMax)),
          static_cast<std::int64_t>(index * page.per_page)};
}

std::string placeholder(int index) { return "?" + std::to_string(index); }

// --- Profiles ----------------------------------------------------------------

const std::string kProfileColumns =
    "p.key, p.uuid, p.name, p.classification, p.tags, p.notes, p.has_thumbnail, p.first_seen, p.last_seen, "
    "p.sighting_count, p.created_at, p.updated_at, "
    "(SELECT COUNT(*) FROM embeddings e WHERE e.profile_key = p.key)";

Profile read_profile(const Statement& row, const std::string& database) {
  Profile profile;
  profile.key = to_count(row.column_int(0));
  profile.id = row.column_uuid(1);
  if (!row.is_null(2)) profile.name = row.column_text(2);
  try {
    profile.classification = parse_classification(row.column_text(3));
    profile.tags = json::parse(row.column_text(4)).get<std::vector<std::string>>();
  } catch (const std::exception& error) {
    throw StorageError(database + ": corrupt profile " + profile.id.to_string() + ": " + error.what());
  }
  profile.notes = row.column_text(5);
  profile.has_thumbnail = row.column_int(6) != 0;
  profile.first_seen = row.column_optional_time(7);
  profile.last_seen = row.column_optional_time(8);
  profile.sighting_count = to_count(row.column_int(9));
  profile.created_at = row.column_time(10);
  profile.updated_at = row.column_time(11);
  profile.embedding_count = to_count(row.column_int(12));
  return profile;
}

std::optional<Profile> select_profile_by_uuid(Connection& connection, const Uuid& id) {
  auto statement = connection.prepare("SELECT " + kProfileColumns + " FROM profiles p WHERE p.uuid = ?1");
  statement.bind_uuid(1, id);
  if (!statement.step()) return std::nullopt;
  return read_profile(statement, connection.name());
}

std::optional<std::int64_t> profile_key_of(Connection& connection, const Uuid& id) {
  auto statement = connection.prepare("SELECT key FROM profiles WHERE uuid = ?1");
  statement.bind_uuid(1, id);
  if (!statement.step()) return std::nullopt;
  return statement.column_int(0);
}

std::int64_t require_profile_key(Connection& connection, const Uuid& id, std::string_view what) {
  auto key = profile_key_of(connection, id);
  if (!key) throw NotFoundError(connection.name() + ": " + std::string(what) + ": no profile " + id.to_string());
  return *key;
}

void write_tags(Connection& connection, std::int64_t key, const std::vector<std::string>& tags) {
  auto remove = connection.prepare("DELETE FROM profile_tags WHERE profile_key = ?1");
  remove.bind_int(1, key).run();
  for (const auto& tag : tags) {
    auto insert = connection.prepare("INSERT OR IGNORE INTO profile_tags (tag, profile_key) VALUES (?1, ?2)");
    insert.bind_text(1, tag).bind_int(2, key).run();
  }
}

std::uint64_t insert_embedding(Connection& connection, std::int64_t profile_key, const StoredEmbedding& embedding) {
  auto statement = connection.prepare(
      "INSERT INTO embeddings (profile_key, descriptor, quality, created_at) VALUES (?1, ?2, ?3, ?4)");
  const auto bytes = encode_descriptor(embedding.descriptor);
  statement.bind_int(1, profile_key)
      .bind_blob(2, bytes.data(), bytes.size())
      .bind_real(3, embedding.quality)
      .bind_time(4, embedding.created_at)
      .run();
  return static_cast<std::uint64_t>(connection.last_insert_id());
}

StoredEmbedding read_embedding(const Statement& row, const std::string& database) {
  StoredEmbedding embedding;
  embedding.id = to_count(row.column_int(0));
  embedding.profile_key = to_count(row.column_int(1));
  embedding.descriptor = decode_descriptor(row.column_blob(2), database);
  embedding.quality = static_cast<float>(row.column_real(3));
  embedding.created_at = row.column_time(4);
  return embedding;
}

class SqliteProfiles final : public ProfileRepository {
 public:
  explicit SqliteProfiles(ConnectionPool& pool) : pool_(pool) {}

  void create(Profile& profile, std::vector<StoredEmbedding>& embeddings) override {
    // Ids reach the caller only once the transaction has committed.
    auto [key, ids] = pool_.write([&](Connection& connection) {
      auto statement = connection.prepare(
          "INSERT INTO profiles (uuid, name, classification, tags, notes, has_thumbnail, first_seen, last_seen, "
          "sighting_count, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
      bind_profile_fields(statement, profile);
      statement.bind_uuid(1, profile.id).bind_time(10, profile.created_at).run();
      const std::int64_t new_key = connection.last_insert_id();
      write_tags(connection, new_key, profile.tags);
      std::vector<std::uint64_t> new_ids;
      for (const auto& embedding : embeddings) new_ids.push_back(insert_embedding(connection, new_key, embedding));
      return std::pair{new_key, new_ids};
    });
    profile.key = static_cast<std::uint64_t>(key);
    profile.embedding_count = embeddings.size();
    for (std::size_t i = 0; i < embeddings.size(); ++i) {
      embeddings[i].id = ids[i];
      embeddings[i].profile_key = profile.key;
    }
  }

  std::optional<Profile> find(const Uuid& id) override {
    return pool_.read([&](Connection& connection) { return select_profile_by_uuid(connection, id); });
  }

  std::optional<Profile> find_by_key(std::uint64_t key) override {
    return pool_.read([&](Connection& connection) -> std::optional<Profile> {
      auto statement = connection.prepare("SELECT " + kProfileColumns + " FROM profiles p WHERE p.key = ?1");
      statement.bind_int(1, to_sql_int(key));
      if (!statement.step()) return std::nullopt;
      return read_profile(statement, connection.name());
    });
  }

  PageOf<Profile> list(const ProfileFilter& filter, const Page& page) override {
    // The SQL text depends only on which filters are set and the sort (a
    // bounded set, each cached as a prepared statement); values are bound.
    std::string where;
    int next = 1;
    int classification_index = 0, tag_index = 0, query_index = 0;
    auto add = [&](const std::string& condition) { where += (where.empty() ? " WHERE " : " AND ") + condition; };
    if (filter.classification) {
      classification_index = next++;
      add("p.classification = " + placeholder(classification_index));
    }
    if (filter.tag) {
      tag_index = next++;
      add("p.key IN (SELECT t.profile_key FROM profile_tags t WHERE t.tag = " + placeholder(tag_index) + ")");
    }
    std::string pattern;
    if (filter.query) {
      query_index = next++;
      pattern = like_substring(*filter.query);
      const auto q = placeholder(query_index);
      add("(p.name LIKE " + q + " ESCAPE '\\' OR p.notes LIKE " + q + " ESCAPE '\\')");
    }
    auto bind_filters = [&](Statement& statement) {
      if (classification_index) statement.bind_text(classification_index, to_string(*filter.classification));
      if (tag_index) statement.bind_text(tag_index, *filter.tag);
      if (query_index) statement.bind_text(query_index, pattern);
    };

    // The key breaks ties so pages never overlap or skip rows.
    std::string order;
    switch (filter.sort) {
      case ProfileSort::CreatedDesc: order = "p.created_at DESC, p.key DESC"; break;
      case ProfileSort::CreatedAsc: order = "p.created_at ASC, p.key ASC"; break;
      case ProfileSort::LastSeenDesc: order = "p.last_seen DESC, p.key DESC"; break;  // never seen: last
      case ProfileSort::NameAsc: order = "p.name IS NULL, p.name COLLATE NOCASE ASC, p.key ASC"; break;
      case ProfileSort::SightingsDesc: order = "p.sighting_count DESC, p.key DESC"; break;
    }
    const Window w = window_of(page);
    const int limit_index = next, offset_index = next + 1;

    return pool_.read([&](Connection& connection) {
      PageOf<Profile> result;
      auto count = connection.prepare("SELECT COUNT(*) FROM profiles p" + where);
      bind_filters(count);
      count.step();
      result.total = to_count(count.column_int(0));
      if (!w.any || result.total == 0) return result;
      auto rows = connection.prepare("SELECT " + kProfileColumns + " FROM profiles p" + where + " ORDER BY " + order +
                                     " LIMIT " + placeholder(limit_index) + " OFFSET " + placeholder(offset_index));
      bind_filters(rows);
      rows.bind_int(limit_index, w.limit).bind_int(offset_index, w.offset);
      while (rows.step()) result.items.push_back(read_profile(rows, connection.name()));
      return result;
    });
  }

  bool update(const Profile& profile) override {
    return pool_.write([&](Connection& connection) {
      auto key = profile_key_of(connection, profile.id);
      if (!key) return false;
      auto statement = connection.prepare(
          // Seen times and counts belong to SightingRepository::create: an edit
          // made from an older copy must not roll them back.
          "UPDATE profiles SET name = ?2, classification = ?3, tags = ?4, notes = ?5, has_thumbnail = ?6, "
          "updated_at = ?11 WHERE key = ?1");
      bind_profile_fields(statement, profile);
      statement.bind_int(1, *key).run();
      write_tags(connection, *key, profile.tags);
      return true;
    });
  }

  bool remove(const Uuid& id) override {
    // Embeddings, tags and sightings go with it (ON DELETE CASCADE).
    return pool_.write([&](Connection& connection) {
      auto statement = connection.prepare("DELETE FROM profiles WHERE uuid = ?1");
      statement.bind_uuid(1, id).run();
      return connection.changes() > 0;
    });
  }

  void add_embeddings(const Uuid& profile_id, std::vector<StoredEmbedding>& embeddings,
                      const std::vector<std::uint64_t>& evict) override {
    auto [key, ids] = pool_.write([&](Connection& connection) {
      const std::int64_t profile_key = require_profile_key(connection, profile_id, "add embeddings");
      for (std::uint64_t id : evict) {
        // Only this profile's own embeddings can be evicted through it.
        auto statement = connection.prepare("DELETE FROM embeddings WHERE id = ?1 AND profile_key = ?2");
        statement.bind_int(1, to_sql_int(id)).bind_int(2, profile_key).run();
      }
      std::vector<std::uint64_t> new_ids;
      for (const auto& embedding : embeddings) new_ids.push_back(insert_embedding(connection, profile_key, embedding));
      return std::pair{profile_key, new_ids};
    });
    for (std::size_t i = 0; i < embeddings.size(); ++i) {
      embeddings[i].id = ids[i];
      embeddings[i].profile_key = static_cast<std::uint64_t>(key);
    }
  }

  std::vector<StoredEmbedding> embeddings_of(const Uuid& profile_id) override {
    return pool_.read([&](Connection& connection) {
      std::vector<StoredEmbedding> result;
      auto statement = connection.prepare(
          "SELECT e.id, e.profile_key, e.descriptor, e.quality, e.created_at FROM embeddings e "
          "JOIN profiles p ON p.key = e.profile_key WHERE p.uuid = ?1 ORDER BY e.id");
      statement.bind_uuid(1, profile_id);
      while (statement.step()) result.push_back(read_embedding(statement, connection.name()));
      return result;
    });
  }

  void for_each_embedding(const std::function<void(const StoredEmbedding&)>& visit,
                          const std::function<void(std::uint64_t, std::uint64_t)>& progress) override {
    constexpr std::int64_t kChunk = 1024;  // 0.5 MiB of descriptors at a time
    std::uint64_t total = pool_.read([](Connection& connection) {
      auto statement = connection.prepare("SELECT COUNT(*) FROM embeddings");
      statement.step();
      return to_count(statement.column_int(0));
    });
    std::uint64_t done = 0;
    std::int64_t after = 0;
    while (true) {
      // Keyset paging on the id: each chunk is its own short read, and
      // `visit` runs with no connection held (it may call back into storage).
      auto chunk = pool_.read([&](Connection& connection) {
        std::vector<StoredEmbedding> rows;
        auto statement = connection.prepare(
            "SELECT id, profile_key, descriptor, quality, created_at FROM embeddings WHERE id > ?1 ORDER BY id "
            "LIMIT ?2");
        statement.bind_int(1, after).bind_int(2, kChunk);
        while (statement.step()) rows.push_back(read_embedding(statement, connection.name()));
        return rows;
      });
      if (chunk.empty()) break;
      for (const auto& embedding : chunk) visit(embedding);
      done += chunk.size();
      after = static_cast<std::int64_t>(chunk.back().id);
      total = std::max(total, done);  // rows added while we read
      if (progress) progress(done, total);
    }
    if (progress && done == 0) progress(0, 0);
  }

  Profile merge(const Uuid& into, const std::vector<Uuid>& sources) override {
    return pool_.write([&](Connection& connection) {
      const std::int64_t into_key = require_profile_key(connection, into, "merge");
      std::set<std::int64_t> source_keys;
      for (const auto& source : sources) {
        const std::int64_t key = require_profile_key(connection, source, "merge");
        if (key != into_key) source_keys.insert(key);
      }
      for (std::int64_t key : source_keys) {
        auto widen = connection.prepare(
            "UPDATE profiles SET "
            "sighting_count = profiles.sighting_count + s.sighting_count, "
            "first_seen = CASE WHEN profiles.first_seen IS NULL THEN s.first_seen WHEN s.first_seen IS NULL "
            "THEN profiles.first_seen ELSE min(profiles.first_seen, s.first_seen) END, "
            "last_seen = CASE WHEN profiles.last_seen IS NULL THEN s.last_seen WHEN s.last_seen IS NULL "
            "THEN profiles.last_seen ELSE max(profiles.last_seen, s.last_seen) END "
            "FROM (SELECT sighting_count, first_seen, last_seen FROM profiles WHERE key = ?2) AS s "
            "WHERE profiles.key = ?1");
        widen.bind_int(1, into_key).bind_int(2, key).run();
        auto move_embeddings = connection.prepare("UPDATE embeddings SET profile_key = ?1 WHERE profile_key = ?2");
        move_embeddings.bind_int(1, into_key).bind_int(2, key).run();
        auto move_sightings = connection.prepare("UPDATE sightings SET profile_key = ?1 WHERE profile_key = ?2");
        move_sightings.bind_int(1, into_key).bind_int(2, key).run();
        auto remove = connection.prepare("DELETE FROM profiles WHERE key = ?1");
        remove.bind_int(1, key).run();
      }
      auto touch = connection.prepare("UPDATE profiles SET updated_at = ?2 WHERE key = ?1");
      touch.bind_int(1, into_key).bind_time(2, now_ms()).run();
      return *select_profile_by_uuid(connection, into);
    });
  }

  std::uint64_t count() override {
    return pool_.read([](Connection& connection) {
      auto statement = connection.prepare("SELECT COUNT(*) FROM profiles");
      statement.step();
      return to_count(statement.column_int(0));
    });
  }

  std::vector<std::pair<Classification, std::uint64_t>> count_by_classification() override {
    // Every classification, zeros included, in declaration order.
    std::vector<std::pair<Classification, std::uint64_t>> result = {
        {Classification::Trusted, 0}, {Classification::Known, 0}, {Classification::Unknown, 0},
        {Classification::Flagged, 0}};
    pool_.read([&](Connection& connection) {
      auto statement = connection.prepare("SELECT classification, COUNT(*) FROM profiles GROUP BY classification");
      while (statement.step()) {
        const std::string name = statement.column_text(0);
        for (auto& [classification, n] : result)
          if (name == to_string(classification)) n = to_count(statement.column_int(1));
      }
    });
    return result;
  }

  std::uint64_t count_created_since(TimePoint since) override {
    return pool_.read([&](Connection& connection) {
      auto statement = connection.prepare("SELECT COUNT(*) FROM profiles WHERE created_at >= ?1");
      statement.bind_time(1, since).step();
      return to_count(statement.column_int(0));
    });
  }

  std::vector<Profile> unseen_since(Classification classification, TimePoint before, std::size_t limit) override {
    return pool_.read([&](Connection& connection) {
      std::vector<Profile> result;
      auto statement = connection.prepare(
          "SELECT " + kProfileColumns +
          " FROM profiles p WHERE p.classification = ?1 AND coalesce(p.last_seen, p.created_at) < ?2"
          " ORDER BY coalesce(p.last_seen, p.created_at), p.key LIMIT ?3");
      statement.bind_text(1, to_string(classification)).bind_time(2, before).bind_int(3, to_sql_int(limit));
      while (statement.step()) result.push_back(read_profile(statement, connection.name()));
      return result;
    });
  }

 private:
  // Parameters 2..9 and 11 of the insert and update statements.
  static void bind_profile_fields(Statement& statement, const Profile& profile) {
    if (profile.name) {
      statement.bind_text(2, *profile.name);
    } else {
      statement.bind_null(2);
    }
    std::string tags;
    try {
      tags = json(profile.tags).dump();
    } catch (const json::exception&) {
      // SQLite would store any bytes; JSON (and the API) needs UTF-8.
      throw std::invalid_argument("profile tags must be valid UTF-8");
    }
    statement.bind_text(3, to_string(profile.classification))
        .bind_text(4, tags)
        .bind_text(5, profile.notes)
        .bind_bool(6, profile.has_thumbnail)
        .bind_time(7, profile.first_seen)
        .bind_time(8, profile.last_seen)
        .bind_int(9, to_sql_int(profile.sighting_count))
        .bind_time(11, profile.updated_at);
  }

  ConnectionPool& pool_;
};

// --- Cameras -----------------------------------------------------------------

const std::string kCameraColumns =
    "uuid, name, kind, source, width, height, fps, location, enabled, status, status_message, created_at, updated_at";

Camera read_camera(const Statement& row, const std::string& database) {
  Camera camera;
  camera.id = row.column_uuid(0);
  camera.name = row.column_text(1);
  try {
    camera.kind = parse_camera_kind(row.column_text(2));
    camera.status = parse_camera_status(row.column_text(9));
  } catch (const std::invalid_argument& error) {
    throw StorageError(database + ": corrupt camera " + camera.id.to_string() + ": " + error.what());
  }
  camera.source = row.column_text(3);
  camera.width = static_cast<int>(row.column_int(4));
  camera.height = static_cast<int>(row.column_int(5));
  camera.fps = row.column_real(6);
  camera.location = row.column_text(7);
  camera.enabled = row.column_int(8) != 0;
  camera.status_message = row.column_text(10);
  camera.created_at = row.column_time(11);
  camera.updated_at = row.column_time(12);
  return camera;
}

class SqliteCameras final : public CameraRepository {
 public:
  explicit SqliteCameras(ConnectionPool& pool) : pool_(pool) {}

  void create(const Camera& camera) override {
    pool_.write([&](Connection& connection) {
      auto statement = connection.prepare("INSERT INTO cameras (" + kCameraColumns +
                                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
      bind(statement, camera).bind_time(12, camera.created_at).run();
    });
  }

  std::optional<Camera> find(const Uuid& id) override {
    return pool_.read([&](Connection& connection) -> std::optional<Camera> {
      auto statement = connection.prepare("SELECT " + kCameraColumns + " FROM cameras WHERE uuid = ?1");
      statement.bind_uuid(1, id);
      if (!statement.step()) return std::nullopt;
      return read_camera(statement, connection.name());
    });
  }

  PageOf<Camera> list(const Page& page) override {
    const Window w = window_of(page);
    return pool_.read([&](Connection& connection) {
      PageOf<Camera> result;
      auto count = connection.prepare("SELECT COUNT(*) FROM cameras");
      count.step();
      result.total = to_count(count.column_int(0));
      if (!w.any) return result;
      auto rows = connection.prepare("SELECT " + kCameraColumns +
                                     " FROM cameras ORDER BY created_at, id LIMIT ?1 OFFSET ?2");
      rows.bind_int(1, w.limit).bind_int(2, w.offset);
      while (rows.step()) result.items.push_back(read_camera(rows, connection.name()));
      return result;
    });
  }

  bool update(const Camera& camera) override {
    return pool_.write([&](Connection& connection) {
      auto statement = connection.prepare(
          "UPDATE cameras SET name = ?2, kind = ?3, source = ?4, width = ?5, height = ?6, fps = ?7, location = ?8, "
          "enabled = ?9, updated_at = ?13 WHERE uuid = ?1");
      bind(statement, camera).run();
      return connection.changes() > 0;
    });
  }

  bool set_status(const Uuid& id, CameraStatus status, const std::string& message, TimePoint at) override {
    return pool_.write([&](Connection& connection) {
      auto statement =
          connection.prepare("UPDATE cameras SET status = ?2, status_message = ?3, updated_at = ?4 WHERE uuid = ?1");
      statement.bind_uuid(1, id).bind_text(2, to_string(status)).bind_text(3, message).bind_time(4, at).run();
      return connection.changes() > 0;
    });
  }

  bool remove(const Uuid& id) override {
    return pool_.write([&](Connection& connection) {
      auto statement = connection.prepare("DELETE FROM cameras WHERE uuid = ?1");
      statement.bind_uuid(1, id).run();
      return connection.changes() > 0;
    });
  }

 private:
  // Every column but created_at (?12), which only the insert sets.
  static Statement& bind(Statement& statement, const Camera& camera) {
    return statement.bind_uuid(1, camera.id)
        .bind_text(2, camera.name)
        .bind_text(3, to_string(camera.kind))
        .bind_text(4, camera.source)
        .bind_int(5, camera.width)
        .bind_int(6, camera.height)
        .bind_real(7, camera.fps)
        .bind_text(8, camera.location)
        .bind_bool(9, camera.enabled)
        .bind_text(10, to_string(camera.status))
        .bind_text(11, camera.status_message)
        .bind_time(13, camera.updated_at);
  }

  ConnectionPool& pool_;
};

// --- Sightings ---------------------------------------------------------------

const std::string kSightingColumns =
    "s.uuid, p.uuid, s.camera_uuid, s.time, s.box_x, s.box_y, s.box_width, s.box_height, s.detector_score, "
    "s.match_distance, s.has_face_snapshot, s.has_frame_snapshot, s.recording_uuid, s.recording_offset_s";

Sighting read_sighting(const Statement& row) {
  Sighting sighting;
  sighting.id = row.column_uuid(0);
  sighting.profile_id = row.column_uuid(1);
  sighting.camera_id = row.column_uuid(2);
  sighting.time = row.column_time(3);
  sighting.box = {static_cast<float>(row.column_real(4)), static_cast<float>(row.column_real(5)),
                  static_cast<float>(row.column_real(6)), static_cast<float>(row.column_real(7))};
  sighting.detector_score = static_cast<float>(row.column_real(8));
  sighting.match_distance = static_cast<float>(row.column_real(9));
  sighting.has_face_snapshot = row.column_int(10) != 0;
  sighting.has_frame_snapshot = row.column_int(11) != 0;
  if (!row.is_null(12)) sighting.recording_id = row.column_uuid(12);
  sighting.recording_offset_s = row.column_real(13);
  return sighting;
}

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 24 * kHourMs;

class SqliteSightings final : public SightingRepository {
 public:
  explicit SqliteSightings(ConnectionPool& pool) : pool_(pool) {}

  void create(const Sighting& sighting) override {
    pool_.write([&](Connection& connection) {
      const std::int64_t key = require_profile_key(connection, sighting.profile_id, "create sighting");
      auto insert = connection.prepare(
          "INSERT INTO sightings (uuid, profile_key, camera_uuid, time, box_x, box_y, box_width, box_height, "
          "detector_score, match_distance, has_face_snapshot, has_frame_snapshot, recording_uuid, "
          "recording_offset_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
      insert.bind_uuid(1, sighting.id)
          .bind_int(2, key)
          .bind_uuid(3, sighting.camera_id)
          .bind_time(4, sighting.time)
          .bind_real(5, sighting.box.x)
          .bind_real(6, sighting.box.y)
          .bind_real(7, sighting.box.width)
          .bind_real(8, sighting.box.height)
          .bind_real(9, sighting.detector_score)
          .bind_real(10, sighting.match_distance)
          .bind_bool(11, sighting.has_face_snapshot)
          .bind_bool(12, sighting.has_frame_snapshot)
          .bind_real(14, sighting.recording_offset_s);
      if (sighting.recording_id) {
        insert.bind_uuid(13, *sighting.recording_id);
      } else {
        insert.bind_null(13);
      }
      insert.run();
      auto bump = connection.prepare(
          "UPDATE profiles SET sighting_count = sighting_count + 1, "
          "first_seen = min(coalesce(first_seen, ?2), ?2), last_seen = max(coalesce(last_seen, ?2), ?2) "
          "WHERE key = ?1");
      bump.bind_int(1, key).bind_time(2, sighting.time).run();
    });
  }

  std::optional<Sighting> find(const Uuid& id) override {
    return pool_.read([&](Connection& connection) -> std::optional<Sighting> {
      auto statement = connection.prepare("SELECT " + kSightingColumns +
                                          " FROM sightings s JOIN profiles p ON p.key = s.profile_key "
                                          "WHERE s.uuid = ?1");
      statement.bind_uuid(1, id);
      if (!statement.step()) return std::nullopt;
      return read_sighting(statement);
    });
  }

  PageOf<Sighting> list(const SightingFilter& filter, const Page& page) override {
    std::string where;
    int next = 1;
    int profile_index = 0, camera_index = 0, classification_index = 0, from_index = 0, to_index = 0;
    auto add = [&](int& index, const std::string& condition_prefix) {
      index = next++;
      where += (where.empty() ? " WHERE " : " AND ") + condition_prefix + placeholder(index);
    };
    if (filter.profile_id) add(profile_index, "p.uuid = ");
    if (filter.camera_id) add(camera_index, "s.camera_uuid = ");
    if (filter.classification) add(classification_index, "p.classification = ");
    if (filter.from) add(from_index, "s.time >= ");
    if (filter.to) add(to_index, "s.time < ");
    auto bind_filters = [&](Statement& statement) {
      if (profile_index) statement.bind_uuid(profile_index, *filter.profile_id);
      if (camera_index) statement.bind_uuid(camera_index, *filter.camera_id);
      if (classification_index) statement.bind_text(classification_index, to_string(*filter.classification));
      if (from_index) statement.bind_time(from_index, *filter.from);
      if (to_index) statement.bind_time(to_index, *filter.to);
    };
    const std::string from = " FROM sightings s JOIN profiles p ON p.key = s.profile_key";
    const Window w = window_of(page);
    const int limit_index = next, offset_index = next + 1;
    return pool_.read([&](Connection& connection) {
      PageOf<Sighting> result;
      auto count = connection.prepare("SELECT COUNT(*)" + from + where);
      bind_filters(count);
      count.step();
      result.total = to_count(count.column_int(0));
      if (!w.any || result.total == 0) return result;
      auto rows = connection.prepare("SELECT " + kSightingColumns + from + where + " ORDER BY s.time DESC, s.id DESC" +
                                     " LIMIT " + placeholder(limit_index) + " OFFSET " + placeholder(offset_index));
      bind_filters(rows);
      rows.bind_int(limit_index, w.limit).bind_int(offset_index, w.offset);
      while (rows.step()) result.items.push_back(read_sighting(rows));
      return result;
    });
  }

  std::vector<std::uint64_t> count_per_hour(TimePoint from, TimePoint to) override {
    if (to <= from) return {};
    const std::int64_t span = to_unix_ms(to) - to_unix_ms(from);
    std::vector<std::uint64_t> buckets(static_cast<std::size_t>((span + kHourMs - 1) / kHourMs), 0);
    pool_.read([&](Connection& connection) {
      auto statement = connection.prepare(
          "SELECT (time - ?1) / 3600000 AS bucket, COUNT(*) FROM sightings WHERE time >= ?1 AND time < ?2 "
          "GROUP BY bucket");
      statement.bind_time(1, from).bind_time(2, to);
      while (statement.step()) {
        const auto bucket = static_cast<std::size_t>(statement.column_int(0));
        if (bucket < buckets.size()) buckets[bucket] = to_count(statement.column_int(1));
      }
    });
    return buckets;
  }

  std::vector<std::vector<std::uint64_t>> heatmap(TimePoint from, TimePoint to) override {
    std::vector<std::vector<std::uint64_t>> grid(7, std::vector<std::uint64_t>(24, 0));
    if (to <= from) return grid;
    pool_.read([&](Connection& connection) {
      // Grouped by hour since the epoch (few groups); the day of week and
      // hour of day are worked out here, with floor division for times
      // before 1970.
      auto statement = connection.prepare(
          "SELECT CASE WHEN time >= 0 THEN time / 3600000 ELSE (time - 3599999) / 3600000 END AS hour, COUNT(*) "
          "FROM sightings WHERE time >= ?1 AND time < ?2 GROUP BY hour");
      statement.bind_time(1, from).bind_time(2, to);
      while (statement.step()) {
        const std::int64_t hour = statement.column_int(0);
        const std::int64_t day = hour >= 0 ? hour / 24 : (hour - 23) / 24;
        const auto hour_of_day = static_cast<std::size_t>(hour - day * 24);
        // 1970-01-01 was a Thursday (3 with Monday = 0).
        const auto weekday = static_cast<std::size_t>(((day % 7) + 7 + 3) % 7);
        grid[weekday][hour_of_day] += to_count(statement.column_int(1));
      }
    });
    return grid;
  }

  std::vector<std::pair<Uuid, std::uint64_t>> most_seen(TimePoint from, TimePoint to, std::size_t limit) override {
    return pool_.read([&](Connection& connection) {
      std::vector<std::pair<Uuid, std::uint64_t>> result;
      auto statement = connection.prepare(
          "SELECT p.uuid, COUNT(*) AS n FROM sightings s JOIN profiles p ON p.key = s.profile_key "
          "WHERE s.time >= ?1 AND s.time < ?2 GROUP BY s.profile_key ORDER BY n DESC, s.profile_key LIMIT ?3");
      statement.bind_time(1, from).bind_time(2, to).bind_int(3, to_sql_int(limit));
      while (statement.step()) result.emplace_back(statement.column_uuid(0), to_count(statement.column_int(1)));
      return result;
    });
  }

  std::vector<Sighting> oldest_with_snapshots(TimePoint before, std::size_t limit) override {
    if (limit == 0) return {};
    return pool_.read([&](Connection& connection) {
      std::vector<Sighting> result;
      // The snapshot condition is written exactly as in the partial index
      // sightings_snapshot_time, so SQLite can use it.
      auto statement = connection.prepare("SELECT " + kSightingColumns +
                                          " FROM sightings s JOIN profiles p ON p.key = s.profile_key "
                                          "WHERE (s.has_face_snapshot <> 0 OR s.has_frame_snapshot <> 0) "
                                          "AND s.time < ?1 ORDER BY s.time, s.id LIMIT ?2");
      statement.bind_time(1, before).bind_int(2, to_sql_int(limit));
      while (statement.step()) result.push_back(read_sighting(statement));
      return result;
    });
  }

  bool clear_snapshots(const Uuid& sighting_id) override {
    return pool_.write([&](Connection& connection) {
      auto statement =
          connection.prepare("UPDATE sightings SET has_face_snapshot = 0, has_frame_snapshot = 0 WHERE uuid = ?1");
      statement.bind_uuid(1, sighting_id).run();
      return connection.changes() > 0;
    });
  }

 private:
  ConnectionPool& pool_;
};

// --- Recordings --------------------------------------------------------------

const std::string kRecordingColumns = "uuid, camera_uuid, start_at, end_at, file, size_bytes";

Recording read_recording(const Statement& row) {
  Recording recording;
  recording.id = row.column_uuid(0);
  recording.camera_id = row.column_uuid(1);
  recording.start = row.column_time(2);
  recording.end = row.column_optional_time(3);
  recording.file = row.column_text(4);
  recording.size_bytes = to_count(row.column_int(5));
  return recording;
}

class SqliteRecordings final : public RecordingRepository {
 public:
  explicit SqliteRecordings(ConnectionPool& pool) : pool_(pool) {}

  void create(const Recording& recording) override {
    pool_.write([&](Connection& connection) {
      auto statement =
          connection.prepare("INSERT INTO recordings (" + kRecordingColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      bind(statement, recording).run();
    });
  }

  bool update(const Recording& recording) override {
    return pool_.write([&](Connection& connection) {
      auto statement = connection.prepare(
          "UPDATE recordings SET camera_uuid = ?2, start_at = ?3, end_at = ?4, file = ?5, size_bytes = ?6 "
          "WHERE uuid = ?1");
      bind(statement, recording).run();
      return connection.changes() > 0;
    });
  }

  std::optional<Recording> find(const Uuid& id) override {
    return pool_.read([&](Connection& connection) -> std::optional<Recording> {
      auto statement = connection.prepare("SELECT " + kRecordingColumns + " FROM recordings WHERE uuid = ?1");
      statement.bind_uuid(1, id);
      if (!statement.step()) return std::nullopt;
      return read_recording(statement);
    });
  }

  PageOf<Recording> list(const RecordingFilter& filter, const Page& page) override {
    std::string where;
    int next = 1;
    int camera_index = 0, from_index = 0, to_index = 0;
    auto add = [&](int& index, const std::string& before, const std::string& after = "") {
      index = next++;
      where += (where.empty() ? " WHERE " : " AND ") + before + placeholder(index) + after;
    };
    // An unfinished recording (no end) overlaps any `from`.
    if (filter.camera_id) add(camera_index, "camera_uuid = ");
    if (filter.from) add(from_index, "(end_at IS NULL OR end_at >= ", ")");
    if (filter.to) add(to_index, "start_at < ");
    auto bind_filters = [&](Statement& statement) {
      if (camera_index) statement.bind_uuid(camera_index, *filter.camera_id);
      if (from_index) statement.bind_time(from_index, *filter.from);
      if (to_index) statement.bind_time(to_index, *filter.to);
    };
    const Window w = window_of(page);
    const int limit_index = next, offset_index = next + 1;
    return pool_.read([&](Connection& connection) {
      PageOf<Recording> result;
      auto count = connection.prepare("SELECT COUNT(*) FROM recordings" + where);
      bind_filters(count);
      count.step();
      result.total = to_count(count.column_int(0));
      if (!w.any || result.total == 0) return result;
      auto rows = connection.prepare("SELECT " + kRecordingColumns + " FROM recordings" + where +
                                     " ORDER BY start_at DESC, id DESC LIMIT " + placeholder(limit_index) +
                                     " OFFSET " + placeholder(offset_index));
      bind_filters(rows);
      rows.bind_int(limit_index, w.limit).bind_int(offset_index, w.offset);
      while (rows.step()) result.items.push_back(read_recording(rows));
      return result;
    });
  }

  std::vector<Uuid> sightings_of(const Uuid& recording_id) override {
    return pool_.read([&](Connection& connection) {
      std::vector<Uuid> result;
      auto statement =
          connection.prepare("SELECT uuid FROM sightings WHERE recording_uuid = ?1 ORDER BY time, id");
      statement.bind_uuid(1, recording_id);
      while (statement.step()) result.push_back(statement.column_uuid(0));
      return result;
    });
  }

  bool remove(const Uuid& id) override {
    // The sightings stay; they just lose their link to the video.
    return pool_.write([&](Connection& connection) {
      auto remove_row = connection.prepare("DELETE FROM recordings WHERE uuid = ?1");
      remove_row.bind_uuid(1, id).run();
      if (connection.changes() == 0) return false;
      auto unlink = connection.prepare(
          "UPDATE sightings SET recording_uuid = NULL, recording_offset_s = 0 WHERE recording_uuid = ?1");
      unlink.bind_uuid(1, id).run();
      return true;
    });
  }

  std::vector<Recording> oldest_finished(TimePoint ended_before, std::size_t limit) override {
    if (limit == 0) return {};
    return pool_.read([&](Connection& connection) {
      std::vector<Recording> result;
      auto statement = connection.prepare("SELECT " + kRecordingColumns +
                                          " FROM recordings WHERE end_at IS NOT NULL AND end_at < ?1 "
                                          "ORDER BY start_at, id LIMIT ?2");
      statement.bind_time(1, ended_before).bind_int(2, to_sql_int(limit));
      while (statement.step()) result.push_back(read_recording(statement));
      return result;
    });
  }

 private:
  static Statement& bind(Statement& statement, const Recording& recording) {
    return statement.bind_uuid(1, recording.id)
        .bind_uuid(2, recording.camera_id)
        .bind_time(3, recording.start)
        .bind_time(4, recording.end)
        .bind_text(5, recording.file)
        .bind_int(6, to_sql_int(recording.size_bytes));
  }

  ConnectionPool& pool_;
};

// --- Settings ----------------------------------------------------------------

// Takes `key` from `object` when it is there with a usable type and range;
// otherwise the field keeps its default (settings saved by an older or newer
// build still load).
template <typename T>
void read_setting(const json& object, const char* key, T& field) {
  if (!object.is_object()) return;
  const auto it = object.find(key);
  if (it == object.end()) return;
  if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) field = it->template get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    if (it->is_number()) field = static_cast<T>(it->template get<double>());
  } else if constexpr (std::is_unsigned_v<T>) {
    if (it->is_number_unsigned()) field = static_cast<T>(it->template get<std::uint64_t>());
  } else {
    if (!it->is_number_integer()) return;
    const auto value = it->template get<std::int64_t>();
    if (value >= std::numeric_limits<T>::min() && value <= std::numeric_limits<T>::max()) {
      field = static_cast<T>(value);
    }
  }
}

Settings settings_from_json(const json& j) {
  Settings s;
  auto section = [&](const char* name) -> const json& {
    static const json kEmpty = json::object();
    const auto it = j.is_object() ? j.find(name) : j.end();
    return it != j.end() ? *it : kEmpty;
  };
  read_setting(section("detection"), "min_score", s.detection.min_score);
  read_setting(section("detection"), "min_face_size", s.detection.min_face_size);
  read_setting(section("recognition"), "match_threshold", s.recognition.match_threshold);
  read_setting(section("recognition"), "sighting_cooldown_s", s.recognition.sighting_cooldown_s);
  read_setting(section("recording"), "pre_buffer_s", s.recording.pre_buffer_s);
  read_setting(section("recording"), "post_buffer_s", s.recording.post_buffer_s);
  read_setting(section("recording"), "max_segment_s", s.recording.max_segment_s);
  read_setting(section("storage"), "quota_bytes", s.storage.quota_bytes);
  read_setting(section("storage"), "auto_cleanup", s.storage.auto_cleanup);
  read_setting(section("storage"), "min_retention_days", s.storage.min_retention_days);
  read_setting(section("notifications"), "on_flagged", s.notifications.on_flagged);
  read_setting(section("notifications"), "on_unknown", s.notifications.on_unknown);
  read_setting(section("retention"), "unknown_profiles_days", s.retention.unknown_profiles_days);
  read_setting(section("retention"), "known_profiles_days", s.retention.known_profiles_days);
  read_setting(section("audit"), "retention_days", s.audit.retention_days);
  return s;
}

class SqliteSettings final : public SettingsRepository {
 public:
  explicit SqliteSettings(ConnectionPool& pool) : pool_(pool) {}

  Settings load() override {
    return pool_.read([](Connection& connection) {
      auto statement = connection.prepare("SELECT json FROM settings WHERE id = 1");
      if (!statement.step()) return Settings{};
      // A row that is not JSON at all is corruption, not an old format: say so
      // rather than silently reverting to the defaults.
      json parsed = json::parse(statement.column_text(0), nullptr, false);
      if (parsed.is_discarded()) throw StorageError(connection.name() + ": the stored settings are not valid JSON");
      return settings_from_json(parsed);
    });
  }

  void save(const Settings& settings) override {
    pool_.write([&](Connection& connection) {
      auto statement = connection.prepare(
          "INSERT INTO settings (id, json, updated_at) VALUES (1, ?1, ?2) "
          "ON CONFLICT (id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at");
      statement.bind_text(1, settings_to_json(settings).dump()).bind_time(2, now_ms()).run();
    });
  }

 private:
  ConnectionPool& pool_;
};

// --- Users and tokens --------------------------------------------------------

const std::string kUserColumns = "id, username, password_hash, created_at, role";

Role read_role(const Statement& row, int column) {
  // The schema's CHECK allows only these three.
  return parse_role(row.column_text(column)).value_or(Role::Viewer);
}

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

class SqliteUsers final : public UserRepository {
 public:
  explicit SqliteUsers(ConnectionPool& pool) : pool_(pool) {}

  void create(User& user) override {
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

  std::optional<User> find_by_name(const std::string& username) override {
    return pool_.read([&](Connection& connection) -> std::optional<User> {
      auto statement = connection.prepare("SELECT " + kUserColumns + " FROM users WHERE username = ?1");
      statement.bind_text(1, username);
      if (!statement.step()) return std::nullopt;
      return read_user(statement);
    });
  }

  std::optional<User> find(std::uint64_t id) override {
    return pool_.read([&](Connection& connection) -> std::optional<User> {
      auto statement = connection.prepare("SELECT " + kUserColumns + " FROM users WHERE id = ?1");
      statement.bind_int(1, to_sql_int(id));
      if (!statement.step()) return std::nullopt;
      return read_user(statement);
    });
  }

  std::uint64_t count() override {
    return pool_.read([](Connection& connection) {
      auto statement = connection.prepare("SELECT COUNT(*) FROM users");
      statement.step();
      return to_count(statement.column_int(0));
    });
  }

  std::vector<User> list() override {
    return pool_.read([](Connection& connection) {
      std::vector<User> users;
      auto statement = connection.prepare("SELECT " + kUserColumns + " FROM users ORDER BY id");
      while (statement.step()) users.push_back(read_user(statement));
      return users;
    });
  }

  // The admin count is checked in the same write transaction, so two admins
  // demoting each other at once cannot leave none.
  void update(const User& user) override {
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

  bool remove(std::uint64_t id) override {
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

 private:
  ConnectionPool& pool_;
};

const std::string kTokenColumns = "uuid, user_id, kind, name, secret_hash, created_at, expires_at, last_used_at, role";

std::string_view token_kind_name(TokenKind kind) { return kind == TokenKind::Api ? "api" : "session"; }

ApiToken read_token(const Statement& row) {
  ApiToken token;
  token.id = row.column_uuid(0);
  token.user_id = to_count(row.column_int(1));
  token.kind = row.column_text(2) == "api" ? TokenKind::Api : TokenKind::Session;
  token.name = row.column_text(3);
  token.secret_hash = row.column_text(4);
  token.created_at = row.column_time(5);
  token.expires_at = row.column_optional_time(6);
  token.last_used_at = row.column_optional_time(7);
  token.role = read_role(row, 8);
  return token;
}

class SqliteTokens final : public TokenRepository {
 public:
  explicit SqliteTokens(ConnectionPool& pool) : pool_(pool) {}

  void create(const ApiToken& token) override {
    pool_.write([&](Connection& connection) {
      auto statement =
          connection.prepare("INSERT INTO api_tokens (" + kTokenColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
      statement.bind_uuid(1, token.id)
          .bind_int(2, to_sql_int(token.user_id))
          .bind_text(3, token_kind_name(token.kind))
          .bind_text(4, token.name)
          .bind_text(5, token.secret_hash)
          .bind_time(6, token.created_at)
          .bind_time(7, token.expires_at)
          .bind_time(8, token.last_used_at)
          .bind_text(9, to_string(token.role))
          .run();
    });
  }

  std::optional<ApiToken> find_by_hash(const std::string& secret_hash) override {
    // Expired tokens are returned too: the caller decides (and can say why).
    return pool_.read([&](Connection& connection) -> std::optional<ApiToken> {
      auto statement = connection.prepare("SELECT " + kTokenColumns + " FROM api_tokens WHERE secret_hash = ?1");
      statement.bind_text(1, secret_hash);
      if (!statement.step()) return std::nullopt;
      return read_token(statement);
    });
  }

  std::vector<ApiToken> list(std::uint64_t user_id, TokenKind kind) override {
    return pool_.read([&](Connection& connection) {
      std::vector<ApiToken> result;
      auto statement = connection.prepare("SELECT " + kTokenColumns +
                                          " FROM api_tokens WHERE user_id = ?1 AND kind = ?2 ORDER BY created_at, id");
      statement.bind_int(1, to_sql_int(user_id)).bind_text(2, token_kind_name(kind));
      while (statement.step()) result.push_back(read_token(statement));
      return result;
    });
  }

  bool remove(const Uuid& id) override {
    return pool_.write([&](Connection& connection) {
      auto statement = connection.prepare("DELETE FROM api_tokens WHERE uuid = ?1");
      statement.bind_uuid(1, id).run();
      return connection.changes() > 0;
    });
  }

  void touch(const Uuid& id, TimePoint used_at) override {
    pool_.write([&](Connection& connection) {
      auto statement = connection.prepare("UPDATE api_tokens SET last_used_at = ?2 WHERE uuid = ?1");
      statement.bind_uuid(1, id).bind_time(2, used_at).run();
    });
  }

  std::size_t remove_expired(TimePoint now) override {
    return pool_.write([&](Connection& connection) {
      auto statement = connection.prepare("DELETE FROM api_tokens WHERE expires_at < ?1");
      statement.bind_time(1, now).run();
      return static_cast<std::size_t>(connection.changes());
    });
  }

  std::size_t remove_for_user(std::uint64_t user_id, std::optional<TokenKind> kind) override {
    return pool_.write([&](Connection& connection) {
      auto statement = connection.prepare("DELETE FROM api_tokens WHERE user_id = ?1 AND (?2 IS NULL OR kind = ?2)");
      statement.bind_int(1, to_sql_int(user_id));
      if (kind) statement.bind_text(2, token_kind_name(*kind));
      statement.run();
      return static_cast<std::size_t>(connection.changes());
    });
  }

 private:
  ConnectionPool& pool_;
};

// --- Database ----------------------------------------------------------------

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
        audit_(pool_) {}

  ProfileRepository& profiles() override { return profiles_; }
  CameraRepository& cameras() override { return cameras_; }
  SightingRepository& sightings() override { return sightings_; }
  RecordingRepository& recordings() override { return recordings_; }
  SettingsRepository& settings() override { return settings_; }
  UserRepository& users() override { return users_; }
  TokenRepository& tokens() override { return tokens_; }
  AuditRepository& audit() override { return audit_; }

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
    return pool_.read([](Connection& connection) { return user_version(connection); });
  }

 private:
  std::filesystem::path file_;
  ConnectionPool pool_;
  SqliteProfiles profiles_;
  SqliteCameras cameras_;
  SqliteSightings sightings_;
  SqliteRecordings recordings_;
  SqliteSettings settings_;
  SqliteUsers users_;
  SqliteTokens tokens_;
  sqlite::SqliteAuditRepository audit_;
};

}  // namespace

int latest_sqlite_schema_version() { return kLatestVersion; }

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
      return user_version(*writer);
    } catch (const StorageError& error) {
      throw StorageError(std::string("cannot open ") + error.what());
    }
  }();
  if (version > kLatestVersion) {
    throw StorageError(name + ": schema version " + std::to_string(version) + " is newer than this build knows (" +
                       std::to_string(kLatestVersion) + "); use a newer Safelynx");
  }
  // WAL: readers run alongside the writer. synchronous=FULL: a commit is
  // fsynced before it returns, so it survives power loss, not just kill -9.
  const std::string mode = pragma_text(*writer, "PRAGMA journal_mode = WAL");
  if (mode != "wal") throw StorageError(name + ": cannot switch to WAL mode (journal mode is '" + mode + "')");
  writer->execute("PRAGMA synchronous = FULL", "set synchronous");
  configure(*writer);
  migrate(*writer, options.migrate_to > 0 ? std::min(options.migrate_to, kLatestVersion) : kLatestVersion);

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
