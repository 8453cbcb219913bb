// The recordings table: create, update, pages, linked sightings, delete, oldest finished.
#include "storage/sqlite_recording_repository.hpp"

#include <string>
#include <vector>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

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

Statement& bind_recording(Statement& statement, const Recording& recording) {
  return statement.bind_uuid(1, recording.id)
      .bind_uuid(2, recording.camera_id)
      .bind_time(3, recording.start)
      .bind_time(4, recording.end)
      .bind_text(5, recording.file)
      .bind_int(6, to_sql_int(recording.size_bytes));
}

}  // namespace

void SqliteRecordingRepository::create(const Recording& recording) {
  pool_.write([&](Connection& connection) {
    auto statement =
        connection.prepare("INSERT INTO recordings (" + kRecordingColumns + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    bind_recording(statement, recording).run();
  });
}

bool SqliteRecordingRepository::update(const Recording& recording) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare(
        "UPDATE recordings SET camera_uuid = ?2, start_at = ?3, end_at = ?4, file = ?5, size_bytes = ?6 "
        "WHERE uuid = ?1");
    bind_recording(statement, recording).run();
    return connection.changes() > 0;
  });
}

std::optional<Recording> SqliteRecordingRepository::find(const Uuid& id) {
  return pool_.read([&](Connection& connection) -> std::optional<Recording> {
    auto statement = connection.prepare("SELECT " + kRecordingColumns + " FROM recordings WHERE uuid = ?1");
    statement.bind_uuid(1, id);
    if (!statement.step()) return std::nullopt;
    return read_recording(statement);
  });
}

PageOf<Recording> SqliteRecordingRepository::list(const RecordingFilter& filter, const Page& page) {
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

std::vector<Uuid> SqliteRecordingRepository::sightings_of(const Uuid& recording_id) {
  return pool_.read([&](Connection& connection) {
    std::vector<Uuid> result;
    auto statement =
        connection.prepare("SELECT uuid FROM sightings WHERE recording_uuid = ?1 ORDER BY time, id");
    statement.bind_uuid(1, recording_id);
    while (statement.step()) result.push_back(statement.column_uuid(0));
    return result;
  });
}

bool SqliteRecordingRepository::remove(const Uuid& id) {
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

std::vector<Recording> SqliteRecordingRepository::oldest_finished(TimePoint ended_before, std::size_t limit) {
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

}  // namespace safelynx::storage::sqlite
