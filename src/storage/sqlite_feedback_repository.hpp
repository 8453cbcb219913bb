// Internal to the SQLite backend: feedback on sightings and the negative
// examples it stores (migration 7 in sqlite_schema.cpp).
#pragma once

#include "storage/repositories.hpp"
#include "storage/sqlite_connection.hpp"

namespace safelynx::storage::sqlite {

class SqliteFeedbackRepository final : public FeedbackRepository {
 public:
  explicit SqliteFeedbackRepository(ConnectionPool& pool) : pool_(pool) {}

  void create(const Feedback& feedback) override;
  std::optional<Feedback> find(const Uuid& id) override;
  PageOf<Feedback> list(const FeedbackFilter& filter, const Page& page) override;
  bool mark_undone(const Uuid& id, TimePoint at) override;
  void add_negative(NegativeExample& example) override;
  bool remove_negative(std::uint64_t id) override;
  std::vector<NegativeExample> negatives() override;

 private:
  ConnectionPool& pool_;
};

}  // namespace safelynx::storage::sqlite
