// The cameras table: create, find, pages in creation order, update, status, delete.
#include "storage/sqlite_camera_repository.hpp"

#include <stdexcept>
#include <string>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

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

// Every column but created_at (?12), which only the insert sets.
Statement& bind_camera(Statement& statement, const Camera& camera) {
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

}  // namespace

void SqliteCameraRepository::create(const Camera& camera) {
  pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("INSERT INTO cameras (" + kCameraColumns +
                                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    bind_camera(statement, camera).bind_time(12, camera.created_at).run();
  });
}

std::optional<Camera> SqliteCameraRepository::find(const Uuid& id) {
  return pool_.read([&](Connection& connection) -> std::optional<Camera> {
    auto statement = connection.prepare("SELECT " + kCameraColumns + " FROM cameras WHERE uuid = ?1");
    statement.bind_uuid(1, id);
    if (!statement.step()) return std::nullopt;
    return read_camera(statement, connection.name());
  });
}

PageOf<Camera> SqliteCameraRepository::list(const Page& page) {
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

bool SqliteCameraRepository::update(const Camera& camera) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare(
        "UPDATE cameras SET name = ?2, kind = ?3, source = ?4, width = ?5, height = ?6, fps = ?7, location = ?8, "
        "enabled = ?9, updated_at = ?13 WHERE uuid = ?1");
    bind_camera(statement, camera).run();
    return connection.changes() > 0;
  });
}

bool SqliteCameraRepository::set_status(const Uuid& id, CameraStatus status, const std::string& message, TimePoint at) {
  return pool_.write([&](Connection& connection) {
    auto statement =
        connection.prepare("UPDATE cameras SET status = ?2, status_message = ?3, updated_at = ?4 WHERE uuid = ?1");
    statement.bind_uuid(1, id).bind_text(2, to_string(status)).bind_text(3, message).bind_time(4, at).run();
    return connection.changes() > 0;
  });
}

bool SqliteCameraRepository::remove(const Uuid& id) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("DELETE FROM cameras WHERE uuid = ?1");
    statement.bind_uuid(1, id).run();
    return connection.changes() > 0;
  });
}

}  // namespace safelynx::storage::sqlite
