// The profiles, profile_tags and embeddings tables: profile pages, embeddings, merges.
#include "storage/sqlite_profile_repository.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

using json = nlohmann::json;

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

const std::string kProfileColumns =
    "p.key, p.uuid, p.name, p.classification, p.tags, p.notes, p.has_thumbnail, p.first_seen, p.last_seen, "
    "p.sighting_count, p.created_at, p.updated_at, "
    "(SELECT COUNT(*) FROM embeddings e WHERE e.profile_key = p.key), p.reviewed";

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
  profile.reviewed = row.column_int(13) != 0;
  return profile;
}

std::optional<Profile> select_profile_by_uuid(Connection& connection, const Uuid& id) {
  auto statement = connection.prepare("SELECT " + kProfileColumns + " FROM profiles p WHERE p.uuid = ?1");
  statement.bind_uuid(1, id);
  if (!statement.step()) return std::nullopt;
  return read_profile(statement, connection.name());
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
      "INSERT INTO embeddings (profile_key, descriptor, quality, created_at, has_photo) VALUES (?1, ?2, ?3, ?4, ?5)");
  const auto bytes = encode_descriptor(embedding.descriptor);
  statement.bind_int(1, profile_key)
      .bind_blob(2, bytes.data(), bytes.size())
      .bind_real(3, embedding.quality)
      .bind_time(4, embedding.created_at)
      .bind_bool(5, embedding.has_photo)
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
  embedding.has_photo = row.column_int(5) != 0;
  return embedding;
}

// Parameters 2..9, 11 and 12 of the insert and update statements.
void bind_profile_fields(Statement& statement, const Profile& profile) {
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
      .bind_time(11, profile.updated_at)
      .bind_bool(12, profile.reviewed);
}

}  // namespace

void SqliteProfileRepository::create(Profile& profile, std::vector<StoredEmbedding>& embeddings,
                                     const EmbeddingsInserted& inserted) {
  // Ids reach the caller only once the transaction has committed.
  auto [key, ids] = pool_.write([&](Connection& connection) {
    auto statement = connection.prepare(
        "INSERT INTO profiles (uuid, name, classification, tags, notes, has_thumbnail, first_seen, last_seen, "
        "sighting_count, created_at, updated_at, reviewed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    bind_profile_fields(statement, profile);
    statement.bind_uuid(1, profile.id).bind_time(10, profile.created_at).run();
    const std::int64_t new_key = connection.last_insert_id();
    write_tags(connection, new_key, profile.tags);
    std::vector<std::uint64_t> new_ids;
    for (const auto& embedding : embeddings) new_ids.push_back(insert_embedding(connection, new_key, embedding));
    if (inserted) inserted(new_ids);
    return std::pair{new_key, new_ids};
  });
  profile.key = static_cast<std::uint64_t>(key);
  profile.embedding_count = embeddings.size();
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    embeddings[i].id = ids[i];
    embeddings[i].profile_key = profile.key;
  }
}

std::optional<Profile> SqliteProfileRepository::find(const Uuid& id) {
  return pool_.read([&](Connection& connection) { return select_profile_by_uuid(connection, id); });
}

std::optional<Profile> SqliteProfileRepository::find_by_key(std::uint64_t key) {
  return pool_.read([&](Connection& connection) -> std::optional<Profile> {
    auto statement = connection.prepare("SELECT " + kProfileColumns + " FROM profiles p WHERE p.key = ?1");
    statement.bind_int(1, to_sql_int(key));
    if (!statement.step()) return std::nullopt;
    return read_profile(statement, connection.name());
  });
}

PageOf<Profile> SqliteProfileRepository::list(const ProfileFilter& filter, const Page& page) {
  // The SQL text depends only on which filters are set and the sort (a
  // bounded set, each cached as a prepared statement); values are bound.
  std::string where;
  int next = 1;
  int classification_index = 0, tag_index = 0, query_index = 0, reviewed_index = 0;
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
  if (filter.reviewed) {
    reviewed_index = next++;
    add("p.reviewed = " + placeholder(reviewed_index));
  }
  auto bind_filters = [&](Statement& statement) {
    if (classification_index) statement.bind_text(classification_index, to_string(*filter.classification));
    if (tag_index) statement.bind_text(tag_index, *filter.tag);
    if (query_index) statement.bind_text(query_index, pattern);
    if (reviewed_index) statement.bind_bool(reviewed_index, *filter.reviewed);
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

bool SqliteProfileRepository::update(const Profile& profile) {
  return pool_.write([&](Connection& connection) {
    auto key = profile_key_of(connection, profile.id);
    if (!key) return false;
    auto statement = connection.prepare(
        // Seen times and counts belong to SightingRepository::create: an edit
        // made from an older copy must not roll them back.
        "UPDATE profiles SET name = ?2, classification = ?3, tags = ?4, notes = ?5, has_thumbnail = ?6, "
        "updated_at = ?11, reviewed = ?12 WHERE key = ?1");
    bind_profile_fields(statement, profile);
    statement.bind_int(1, *key).run();
    write_tags(connection, *key, profile.tags);
    return true;
  });
}

bool SqliteProfileRepository::remove(const Uuid& id) {
  // Embeddings, tags and sightings go with it (ON DELETE CASCADE).
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("DELETE FROM profiles WHERE uuid = ?1");
    statement.bind_uuid(1, id).run();
    return connection.changes() > 0;
  });
}

void SqliteProfileRepository::add_embeddings(const Uuid& profile_id, std::vector<StoredEmbedding>& embeddings,
                                             const std::vector<std::uint64_t>& evict,
                                             const EmbeddingsInserted& inserted) {
  auto [key, ids] = pool_.write([&](Connection& connection) {
    const std::int64_t profile_key = require_profile_key(connection, profile_id, "add embeddings");
    for (std::uint64_t id : evict) {
      // Only this profile's own embeddings can be evicted through it.
      auto statement = connection.prepare("DELETE FROM embeddings WHERE id = ?1 AND profile_key = ?2");
      statement.bind_int(1, to_sql_int(id)).bind_int(2, profile_key).run();
    }
    std::vector<std::uint64_t> new_ids;
    for (const auto& embedding : embeddings) new_ids.push_back(insert_embedding(connection, profile_key, embedding));
    if (inserted) inserted(new_ids);
    return std::pair{profile_key, new_ids};
  });
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    embeddings[i].id = ids[i];
    embeddings[i].profile_key = static_cast<std::uint64_t>(key);
  }
}

bool SqliteProfileRepository::remove_embedding(const Uuid& profile_id, std::uint64_t embedding_id) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare(
        "DELETE FROM embeddings WHERE id = ?1 AND profile_key = (SELECT key FROM profiles WHERE uuid = ?2)");
    statement.bind_int(1, to_sql_int(embedding_id)).bind_uuid(2, profile_id).run();
    return connection.changes() > 0;
  });
}

std::vector<StoredEmbedding> SqliteProfileRepository::embeddings_of(const Uuid& profile_id) {
  return pool_.read([&](Connection& connection) {
    std::vector<StoredEmbedding> result;
    auto statement = connection.prepare(
        "SELECT e.id, e.profile_key, e.descriptor, e.quality, e.created_at, e.has_photo FROM embeddings e "
        "JOIN profiles p ON p.key = e.profile_key WHERE p.uuid = ?1 ORDER BY e.id");
    statement.bind_uuid(1, profile_id);
    while (statement.step()) result.push_back(read_embedding(statement, connection.name()));
    return result;
  });
}

void SqliteProfileRepository::for_each_embedding(const std::function<void(const StoredEmbedding&)>& visit,
                                                 const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
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
          "SELECT id, profile_key, descriptor, quality, created_at, has_photo FROM embeddings WHERE id > ?1 ORDER BY id "
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

Profile SqliteProfileRepository::merge(const Uuid& into, const std::vector<Uuid>& sources, const Profile* fields) {
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
      // "Not this person" holds for the merged person too.
      auto move_negatives = connection.prepare("UPDATE negative_examples SET profile_key = ?1 WHERE profile_key = ?2");
      move_negatives.bind_int(1, into_key).bind_int(2, key).run();
      auto remove = connection.prepare("DELETE FROM profiles WHERE key = ?1");
      remove.bind_int(1, key).run();
    }
    if (fields) {
      auto statement = connection.prepare(
          // ?11 makes every parameter bind_profile_fields binds a valid index; the
          // touch below sets the final time.
          "UPDATE profiles SET name = ?2, classification = ?3, tags = ?4, notes = ?5, updated_at = ?11, "
          "reviewed = ?12 WHERE key = ?1");
      bind_profile_fields(statement, *fields);
      statement.bind_int(1, into_key).run();
      write_tags(connection, into_key, fields->tags);
    }
    auto touch = connection.prepare("UPDATE profiles SET updated_at = ?2 WHERE key = ?1");
    touch.bind_int(1, into_key).bind_time(2, now_ms()).run();
    return *select_profile_by_uuid(connection, into);
  });
}

std::uint64_t SqliteProfileRepository::count() {
  return pool_.read([](Connection& connection) {
    auto statement = connection.prepare("SELECT COUNT(*) FROM profiles");
    statement.step();
    return to_count(statement.column_int(0));
  });
}

std::vector<std::pair<Classification, std::uint64_t>> SqliteProfileRepository::count_by_classification() {
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

std::uint64_t SqliteProfileRepository::count_created_since(TimePoint since) {
  return pool_.read([&](Connection& connection) {
    auto statement = connection.prepare("SELECT COUNT(*) FROM profiles WHERE created_at >= ?1");
    statement.bind_time(1, since).step();
    return to_count(statement.column_int(0));
  });
}

std::vector<Profile> SqliteProfileRepository::unseen_since(Classification classification, TimePoint before,
                                                           std::size_t limit) {
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

}  // namespace safelynx::storage::sqlite
