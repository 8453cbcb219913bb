// Internal to the SQLite backend: the cameras table.
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteCameraRepository final : public CameraRepository {
 public:
  explicit SqliteCameraRepository(ConnectionPool& pool) : pool_(pool) {}

  void create(const Camera& camera) override;
  std::optional<Camera> find(const Uuid& id) override;
  PageOf<Camera> list(const Page& page) override;
  bool update(const Camera& camera) override;
  bool set_status(const Uuid& id, CameraStatus status, const std::string& message, TimePoint at) override;
  bool remove(const Uuid& id) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
