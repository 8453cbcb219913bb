// The feedback and negative_examples tables: feedback pages newest first, undo marks, negative examples.
#include "storage/sqlite_feedback_repository.hpp"

#include <string>
#include <vector>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

const std::string kColumns =
    "uuid, sighting_uuid, verdict, profile_uuid, previous_profile_uuid, added_to_gallery, embedding_id, negative_id, "
    "created_profile_uuid, created_at, undone_at";

Feedback read_feedback(const Statement& row) {
  Feedback f;
  f.id = row.column_uuid(0);
  f.sighting_id = row.column_uuid(1);
  // The schema's CHECK allows only the two verdicts.
  f.verdict = parse_feedback_verdict(row.column_text(2)).value_or(FeedbackVerdict::Is);
  f.profile_id = row.column_uuid(3);
  f.previous_profile_id = row.column_uuid(4);
  f.added_to_gallery = row.column_int(5) != 0;
  if (!row.is_null(6)) f.embedding_id = to_count(row.column_int(6));
  if (!row.is_null(7)) f.negative_id = to_count(row.column_int(7));
  if (!row.is_null(8)) f.created_profile_id = row.column_uuid(8);
  f.created_at = row.column_time(9);
  if (!row.is_null(10)) f.undone_at = row.column_time(10);
  return f;
}

}  // namespace

void SqliteFeedbackRepository::create(const Feedback& f) {
  pool_.write([&](Connection& connection) {
    auto insert = connection.prepare("INSERT INTO feedback (" + kColumns +
                                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    insert.bind_uuid(1, f.id)
        .bind_uuid(2, f.sighting_id)
        .bind_text(3, std::string(to_string(f.verdict)))
        .bind_uuid(4, f.profile_id)
        .bind_uuid(5, f.previous_profile_id)
        .bind_bool(6, f.added_to_gallery)
        .bind_time(10, f.created_at);
    if (f.embedding_id) insert.bind_int(7, to_sql_int(*f.embedding_id));
    else insert.bind_null(7);
    if (f.negative_id) insert.bind_int(8, to_sql_int(*f.negative_id));
    else insert.bind_null(8);
    if (f.created_profile_id) insert.bind_uuid(9, *f.created_profile_id);
    else insert.bind_null(9);
    if (f.undone_at) insert.bind_time(11, *f.undone_at);
    else insert.bind_null(11);
    insert.run();
  });
}

std::optional<Feedback> SqliteFeedbackRepository::find(const Uuid& id) {
  return pool_.read([&](Connection& connection) -> std::optional<Feedback> {
    auto statement = connection.prepare("SELECT " + kColumns + " FROM feedback WHERE uuid = ?1");
    statement.bind_uuid(1, id);
    if (!statement.step()) return std::nullopt;
    return read_feedback(statement);
  });
}

PageOf<Feedback> SqliteFeedbackRepository::list(const FeedbackFilter& filter, const Page& page) {
  // The SQL text depends only on which filters are set; values are bound.
  std::string where;
  if (filter.sighting_id) where += " WHERE sighting_uuid = ?1";
  if (filter.profile_id) where += std::string(where.empty() ? " WHERE" : " AND") +
                                  " (profile_uuid = ?2 OR previous_profile_uuid = ?2)";
  auto bind_filters = [&](Statement& statement) {
    if (filter.sighting_id) statement.bind_uuid(1, *filter.sighting_id);
    if (filter.profile_id) statement.bind_uuid(2, *filter.profile_id);
  };
  const Window w = window_of(page);
  return pool_.read([&](Connection& connection) {
    PageOf<Feedback> result;
    auto count = connection.prepare("SELECT COUNT(*) FROM feedback" + where);
    bind_filters(count);
    count.step();
    result.total = to_count(count.column_int(0));
    if (!w.any || result.total == 0) return result;
    auto rows = connection.prepare("SELECT " + kColumns + " FROM feedback" + where +
                                   " ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4");
    bind_filters(rows);
    rows.bind_int(3, w.limit).bind_int(4, w.offset);
    while (rows.step()) result.items.push_back(read_feedback(rows));
    return result;
  });
}

bool SqliteFeedbackRepository::mark_undone(const Uuid& id, TimePoint at) {
  return pool_.write([&](Connection& connection) {
    connection.prepare("UPDATE feedback SET undone_at = ?2 WHERE uuid = ?1 AND undone_at IS NULL")
        .bind_uuid(1, id)
        .bind_time(2, at)
        .run();
    return connection.changes() > 0;
  });
}

void SqliteFeedbackRepository::add_negative(NegativeExample& example) {
  example.id = pool_.write([&](Connection& connection) {
    auto key_exists = connection.prepare("SELECT 1 FROM profiles WHERE key = ?1");
    key_exists.bind_int(1, to_sql_int(example.profile_key));
    if (!key_exists.step())
      throw NotFoundError("cannot add a negative example: no profile with key " + std::to_string(example.profile_key));
    const auto bytes = encode_descriptor(example.descriptor);
    connection.prepare("INSERT INTO negative_examples (profile_key, descriptor, created_at) VALUES (?1, ?2, ?3)")
        .bind_int(1, to_sql_int(example.profile_key))
        .bind_blob(2, bytes.data(), bytes.size())
        .bind_time(3, example.created_at)
        .run();
    return to_count(connection.last_insert_id());
  });
}

bool SqliteFeedbackRepository::remove_negative(std::uint64_t id) {
  return pool_.write([&](Connection& connection) {
    connection.prepare("DELETE FROM negative_examples WHERE id = ?1").bind_int(1, to_sql_int(id)).run();
    return connection.changes() > 0;
  });
}

std::vector<NegativeExample> SqliteFeedbackRepository::negatives() {
  return pool_.read([&](Connection& connection) {
    std::vector<NegativeExample> result;
    auto rows = connection.prepare("SELECT id, profile_key, descriptor, created_at FROM negative_examples ORDER BY id");
    while (rows.step()) {
      NegativeExample example;
      example.id = to_count(rows.column_int(0));
      example.profile_key = to_count(rows.column_int(1));
      example.descriptor = decode_descriptor(rows.column_blob(2), connection.name());
      example.created_at = rows.column_time(3);
      result.push_back(example);
    }
    return result;
  });
}

}  // namespace safelynx::storage::sqlite
