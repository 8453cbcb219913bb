// The audit_log table: append, filtered pages newest first, deletion of old entries.
#include "storage/sqlite_audit_repository.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "storage/sqlite_rows.hpp"

namespace safelynx::storage::sqlite {
namespace {

const std::string kColumns =
    "id, time, user_id, actor, token_id, token_name, action, object_type, object_id, address, old_value, new_value";

AuditEntry read_entry(const Statement& row) {
  AuditEntry entry;
  entry.id = to_count(row.column_int(0));
  entry.time = row.column_time(1);
  if (!row.is_null(2)) entry.user_id = to_count(row.column_int(2));
  entry.actor = row.column_text(3);
  if (!row.is_null(4)) entry.token_id = row.column_uuid(4);
  entry.token_name = row.column_text(5);
  entry.action = row.column_text(6);
  entry.object_type = row.column_text(7);
  entry.object_id = row.column_text(8);
  entry.address = row.column_text(9);
  entry.old_value = row.column_text(10);
  entry.new_value = row.column_text(11);
  return entry;
}

}  // namespace

void SqliteAuditRepository::append(AuditEntry& entry) {
  const std::int64_t id = pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("INSERT INTO audit_log (" + kColumns.substr(4) +
                                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    statement.bind_time(1, entry.time);
    if (entry.user_id) statement.bind_int(2, to_sql_int(*entry.user_id));
    else statement.bind_null(2);
    statement.bind_text(3, entry.actor);
    if (entry.token_id) statement.bind_uuid(4, *entry.token_id);
    else statement.bind_null(4);
    statement.bind_text(5, entry.token_name)
        .bind_text(6, entry.action)
        .bind_text(7, entry.object_type)
        .bind_text(8, entry.object_id)
        .bind_text(9, entry.address)
        .bind_text(10, entry.old_value)
        .bind_text(11, entry.new_value)
        .run();
    return connection.last_insert_id();
  });
  entry.id = to_count(id);
}

PageOf<AuditEntry> SqliteAuditRepository::list(const AuditFilter& filter, const Page& page) {
  // The SQL text depends only on which filters are set (a bounded set of
  // cached statements); the values are bound.
  std::string where;
  std::vector<std::function<void(Statement&)>> binders;
  auto add = [&](const std::string& condition_prefix, std::function<void(Statement&, int)> bind) {
    const int index = static_cast<int>(binders.size()) + 1;
    where += (where.empty() ? " WHERE " : " AND ") + condition_prefix + placeholder(index);
    binders.push_back([bind = std::move(bind), index](Statement& s) { bind(s, index); });
  };
  if (filter.actor) add("actor = ", [&](Statement& s, int i) { s.bind_text(i, *filter.actor); });
  if (filter.user_id) add("user_id = ", [&](Statement& s, int i) { s.bind_int(i, to_sql_int(*filter.user_id)); });
  std::string action_prefix;
  if (filter.action && !filter.action->empty() && filter.action->back() == '.') {
    // A family of actions ("profile."): a range on the text, not LIKE, so
    // '_' and '%' in the value mean nothing. '/' is the character after '.'.
    action_prefix = filter.action->substr(0, filter.action->size() - 1) + "/";
    add("action >= ", [&](Statement& s, int i) { s.bind_text(i, *filter.action); });
    add("action < ", [&](Statement& s, int i) { s.bind_text(i, action_prefix); });
  } else if (filter.action) {
    add("action = ", [&](Statement& s, int i) { s.bind_text(i, *filter.action); });
  }
  if (filter.object_type) add("object_type = ", [&](Statement& s, int i) { s.bind_text(i, *filter.object_type); });
  if (filter.object_id) add("object_id = ", [&](Statement& s, int i) { s.bind_text(i, *filter.object_id); });
  if (filter.since) add("time >= ", [&](Statement& s, int i) { s.bind_time(i, *filter.since); });
  if (filter.until) add("time < ", [&](Statement& s, int i) { s.bind_time(i, *filter.until); });

  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t index = std::max<std::uint64_t>(page.page, 1) - 1;
  const bool any = page.per_page > 0 && index <= kMax / page.per_page;
  const int limit_index = static_cast<int>(binders.size()) + 1;

  return pool_.read([&](Connection& connection) {
    PageOf<AuditEntry> result;
    auto count = connection.prepare("SELECT COUNT(*) FROM audit_log" + where);
    for (const auto& bind : binders) bind(count);
    count.step();
    result.total = to_count(count.column_int(0));
    if (!any || result.total == 0) return result;
    // The id breaks ties between entries of the same millisecond.
    auto rows = connection.prepare("SELECT " + kColumns + " FROM audit_log" + where + " ORDER BY time DESC, id DESC" +
                                   " LIMIT " + placeholder(limit_index) + " OFFSET " + placeholder(limit_index + 1));
    for (const auto& bind : binders) bind(rows);
    rows.bind_int(limit_index, to_sql_int(page.per_page)).bind_int(limit_index + 1, to_sql_int(index * page.per_page));
    while (rows.step()) result.items.push_back(read_entry(rows));
    return result;
  });
}

std::size_t SqliteAuditRepository::remove_before(TimePoint before) {
  return pool_.write([&](Connection& connection) {
    auto statement = connection.prepare("DELETE FROM audit_log WHERE time < ?1");
    statement.bind_time(1, before).run();
    return static_cast<std::size_t>(connection.changes());
  });
}

}  // namespace safelynx::storage::sqlite
