// Internal to the SQLite backend: the recordings table.
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteRecordingRepository final : public RecordingRepository {
 public:
  explicit SqliteRecordingRepository(ConnectionPool& pool) : pool_(pool) {}

  void create(const Recording& recording) override;
  bool update(const Recording& recording) override;
  std::optional<Recording> find(const Uuid& id) override;
  PageOf<Recording> list(const RecordingFilter& filter, const Page& page) override;
  std::vector<Uuid> sightings_of(const Uuid& recording_id) override;
  bool remove(const Uuid& id) override;
  std::vector<Recording> oldest_finished(TimePoint ended_before, std::size_t limit) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
