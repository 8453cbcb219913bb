// Internal to the SQLite backend: the sightings table.
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteSightingRepository final : public SightingRepository {
 public:
  explicit SqliteSightingRepository(ConnectionPool& pool) : pool_(pool) {}

  void create(const Sighting& sighting) override;
  std::optional<Sighting> find(const Uuid& id) override;
  PageOf<Sighting> list(const SightingFilter& filter, const Page& page) override;
  std::vector<std::uint64_t> count_per_hour(TimePoint from, TimePoint to) override;
  std::vector<std::vector<std::uint64_t>> heatmap(TimePoint from, TimePoint to) override;
  std::vector<std::pair<Uuid, std::uint64_t>> most_seen(TimePoint from, TimePoint to, std::size_t limit) override;
  std::vector<Sighting> oldest_with_snapshots(TimePoint before, std::size_t limit) override;
  std::size_t reassign(std::span<const Uuid> sightings, const Uuid& to) override;
  bool clear_snapshots(const Uuid& sighting_id) override;
  void for_each_descriptor(const std::function<void(const Uuid&, const FaceDescriptor&)>& visit) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
