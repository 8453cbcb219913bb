// GET /api/v1/audit: the audit log, newest first, filtered and paged. There
// is deliberately no route that writes or deletes entries (405).
#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

json stored_value(const std::string& text) {
  if (text.empty()) return nullptr;
  json value = json::parse(text, nullptr, false);
  return value.is_discarded() ? json(text) : value;
}

json to_json(const storage::AuditEntry& e) {
  return {{"id", e.id},
          {"time", to_iso8601(e.time)},
          {"user_id", e.user_id ? json(*e.user_id) : json(nullptr)},
          {"actor", e.actor},
          {"token_id", e.token_id ? json(e.token_id->to_string()) : json(nullptr)},
          {"token_name", e.token_name.empty() ? json(nullptr) : json(e.token_name)},
          {"action", e.action},
          {"object_type", e.object_type.empty() ? json(nullptr) : json(e.object_type)},
          {"object_id", e.object_id.empty() ? json(nullptr) : json(e.object_id)},
          {"address", e.address.empty() ? json(nullptr) : json(e.address)},
          {"old_value", stored_value(e.old_value)},
          {"new_value", stored_value(e.new_value)}};
}

std::optional<std::string> text_param(const HttpRequest& request, const char* name) {
  auto value = request.query_param(name);
  if (!value || value->empty()) return std::nullopt;
  if (value->size() > 200) bad_query(name, "is longer than 200 characters");
  return value;
}

}  // namespace

void add_audit_routes(Router& router, ApiContext& context) {
  // Only administrators may read the audit log.
  router.add("GET", "/api/v1/audit", authed(context, Permission::ReadAudit, [&context](HttpRequest& request, const Principal&) {
               storage::AuditFilter filter;
               filter.actor = text_param(request, "actor");
               if (auto id = text_param(request, "user_id")) {
                 std::uint64_t value = 0;
                 for (char c : *id) {
                   if (c < '0' || c > '9' || value > 1'000'000'000'000ull) bad_query("user_id", "must be a user id (an integer)");
                   value = value * 10 + static_cast<std::uint64_t>(c - '0');
                 }
                 filter.user_id = value;
               }
               filter.action = text_param(request, "action");
               filter.object_type = text_param(request, "object_type");
               filter.object_id = text_param(request, "object_id");
               filter.since = query_time(request, "since");
               filter.until = query_time(request, "until");
               const storage::Page page = query_page(request, context.options);
               auto result = context.audit.repository().list(filter, page);
               json items = json::array();
               for (const auto& entry : result.items) items.push_back(to_json(entry));
               return ok(page_json(std::move(items), result.total, page));
             }));
}

}  // namespace safelynx::server::detail
