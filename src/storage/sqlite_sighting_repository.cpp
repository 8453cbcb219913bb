// The sightings table: create (with the profile's seen times and count), pages, statistics, snapshot cleanup.
#include "storage/sqlite_sighting_repository.hpp"

#include <set>
#include <string>
#include <vector>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

const std::string kSightingColumns =
    "s.uuid, p.uuid, s.camera_uuid, s.time, s.box_x, s.box_y, s.box_width, s.box_height, s.detector_score, "
    "s.match_distance, s.has_face_snapshot, s.has_frame_snapshot, s.recording_uuid, s.recording_offset_s, "
    "s.match_margin, s.corrected_from, s.embedding, s.face_quality";

Sighting read_sighting(const Statement& row, const std::string& database) {
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
  sighting.match_margin = static_cast<float>(row.column_real(14));
  if (!row.is_null(15)) sighting.corrected_from = row.column_uuid(15);
  if (!row.is_null(16)) sighting.descriptor = decode_descriptor(row.column_blob(16), database);
  sighting.face_quality = static_cast<float>(row.column_real(17));
  return sighting;
}

constexpr std::int64_t kHourMs = 3'600'000;

}  // namespace

void SqliteSightingRepository::create(const Sighting& sighting) {
  pool_.write([&](Connection& connection) {
    const std::int64_t key = require_profile_key(connection, sighting.profile_id, "create sighting");
    auto insert = connection.prepare(
        "INSERT INTO sightings (uuid, profile_key, camera_uuid, time, box_x, box_y, box_width, box_height, "
        "detector_score, match_distance, has_face_snapshot, has_frame_snapshot, recording_uuid, "
        "recording_offset_s, match_margin, corrected_from, embedding, face_quality) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
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
        .bind_real(14, sighting.recording_offset_s)
        .bind_real(15, sighting.match_margin)
        .bind_real(18, sighting.face_quality);
    if (sighting.recording_id) {
      insert.bind_uuid(13, *sighting.recording_id);
    } else {
      insert.bind_null(13);
    }
    if (sighting.corrected_from) {
      insert.bind_uuid(16, *sighting.corrected_from);
    } else {
      insert.bind_null(16);
    }
    if (sighting.descriptor) {
      const auto bytes = encode_descriptor(*sighting.descriptor);
      insert.bind_blob(17, bytes.data(), bytes.size());
    } else {
      insert.bind_null(17);
    }
    insert.run();
    auto bump = connection.prepare(
        "UPDATE profiles SET sighting_count = sighting_count + 1, "
        "first_seen = min(coalesce(first_seen, ?2), ?2), last_seen = max(coalesce(last_seen, ?2), ?2) "
        "WHERE key = ?1");
    bump.bind_int(1, key).bind_time(2, sighting.time).run();
  });
}

std::optional<Sighting> SqliteSightingRepository::find(const Uuid& id) {
  return pool_.read([&](Connection& connection) -> std::optional<Sighting> {
    auto statement = connection.prepare("SELECT " + kSightingColumns +
                                        " FROM sightings s JOIN profiles p ON p.key = s.profile_key "
                                        "WHERE s.uuid = ?1");
    statement.bind_uuid(1, id);
    if (!statement.step()) return std::nullopt;
    return read_sighting(statement, connection.name());
  });
}

PageOf<Sighting> SqliteSightingRepository::list(const SightingFilter& filter, const Page& page) {
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
    while (rows.step()) result.items.push_back(read_sighting(rows, connection.name()));
    return result;
  });
}

std::vector<std::uint64_t> SqliteSightingRepository::count_per_hour(TimePoint from, TimePoint to) {
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

std::vector<std::vector<std::uint64_t>> SqliteSightingRepository::heatmap(TimePoint from, TimePoint to) {
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

std::vector<std::pair<Uuid, std::uint64_t>> SqliteSightingRepository::most_seen(TimePoint from, TimePoint to,
                                                                               std::size_t limit) {
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

std::vector<Sighting> SqliteSightingRepository::oldest_with_snapshots(TimePoint before, std::size_t limit) {
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
    while (statement.step()) result.push_back(read_sighting(statement, connection.name()));
    return result;
  });
}

std::size_t SqliteSightingRepository::reassign(std::span<const Uuid> sightings, const Uuid& to) {
  return pool_.write([&](Connection& connection) {
    const std::int64_t to_key = require_profile_key(connection, to, "reassign sightings");
    std::set<std::int64_t> touched{to_key};
    std::size_t moved = 0;
    for (const Uuid& id : sightings) {
      auto from_of = connection.prepare("SELECT profile_key FROM sightings WHERE uuid = ?1");
      from_of.bind_uuid(1, id);
      if (!from_of.step()) continue;
      touched.insert(from_of.column_int(0));
      connection
          .prepare(
              "UPDATE sightings SET corrected_from = coalesce(corrected_from, "
              "(SELECT uuid FROM profiles WHERE key = sightings.profile_key)), profile_key = ?2 "
              "WHERE uuid = ?1 AND profile_key <> ?2")
          .bind_uuid(1, id)
          .bind_int(2, to_key)
          .run();
      moved += static_cast<std::size_t>(connection.changes());
    }
    // Counts and seen times from what each profile has now.
    for (const std::int64_t key : touched)
      connection
          .prepare(
              "UPDATE profiles SET sighting_count = (SELECT count(*) FROM sightings WHERE profile_key = ?1), "
              "first_seen = (SELECT min(time) FROM sightings WHERE profile_key = ?1), "
              "last_seen = (SELECT max(time) FROM sightings WHERE profile_key = ?1) WHERE key = ?1")
          .bind_int(1, key)
          .run();
    return moved;
  });
}

void SqliteSightingRepository::for_each_descriptor(
    const std::function<void(const Uuid&, const FaceDescriptor&)>& visit) {
  // In chunks by (time, id), newest first: the reader is held for one chunk
  // at a time, not for the whole scan, and memory stays one chunk.
  constexpr std::int64_t kChunk = 1024;
  std::optional<std::pair<std::int64_t, std::int64_t>> after;
  for (;;) {
    std::vector<std::pair<Uuid, FaceDescriptor>> chunk;
    pool_.read([&](Connection& connection) {
      // "embedding IS NOT NULL" as in the partial index sightings_embedding_time.
      auto rows = connection.prepare(
          after ? "SELECT uuid, embedding, time, id FROM sightings WHERE embedding IS NOT NULL "
                  "AND (time < ?1 OR (time = ?1 AND id < ?2)) ORDER BY time DESC, id DESC LIMIT ?3"
                : "SELECT uuid, embedding, time, id FROM sightings WHERE embedding IS NOT NULL "
                  "ORDER BY time DESC, id DESC LIMIT ?3");
      if (after) rows.bind_int(1, after->first).bind_int(2, after->second);
      rows.bind_int(3, kChunk);
      while (rows.step()) {
        chunk.emplace_back(rows.column_uuid(0), decode_descriptor(rows.column_blob(1), connection.name()));
        after = std::pair(rows.column_int(2), rows.column_int(3));
      }
    });
    for (const auto& [id, descriptor] : chunk) visit(id, descriptor);
    if (static_cast<std::int64_t>(chunk.size()) < kChunk) return;
  }
}

bool SqliteSightingRepository::clear_snapshots(const Uuid& sighting_id) {
  return pool_.write([&](Connection& connection) {
    auto statement =
        connection.prepare("UPDATE sightings SET has_face_snapshot = 0, has_frame_snapshot = 0 WHERE uuid = ?1");
    statement.bind_uuid(1, sighting_id).run();
    return connection.changes() > 0;
  });
}

}  // namespace safelynx::storage::sqlite
