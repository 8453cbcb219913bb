// Merging profiles and finding the ones to merge: GET
// /api/v1/profiles/{id}/similar (the profiles nearest to one) and POST
// /api/v1/profiles/{id}/merge, whose dry run shows the merged profile and the
// conflicts before the user confirms. What a merge makes of the fields is
// gallery/merge_plan's.
#include <algorithm>
#include <charconv>

#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

constexpr std::size_t kDefaultSimilar = 5;
constexpr std::size_t kMaxSimilar = 20;

std::size_t similar_limit(const HttpRequest& request) {
  const auto text = request.query_param("limit");
  if (!text || text->empty()) return kDefaultSimilar;
  std::size_t limit = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (error != std::errc() || end != text->data() + text->size() || limit < 1 || limit > kMaxSimilar)
    bad_query("limit", "must be an integer from 1 to " + std::to_string(kMaxSimilar));
  return limit;
}

HttpResponse similar_profiles(ApiContext& context, HttpRequest& request) {
  const Uuid id = path_uuid(request, "profile");
  const std::size_t limit = similar_limit(request);
  const Settings settings = context.settings();
  // Out to the stranger threshold: anyone nearer was not a stranger to the
  // pipeline either, so a merge is worth a look.
  std::vector<gallery::Identification> similar;
  try {
    similar = context.gallery.similar(id, limit, settings.recognition.stranger_threshold);
  } catch (const storage::NotFoundError&) {
    not_found("profile", id.to_string());
  }
  json items = similar_json(similar);
  for (std::size_t i = 0; i < similar.size(); ++i)
    items[i]["likely_same"] = similar[i].distance <= settings.recognition.match_threshold;
  return ok({{"items", std::move(items)}});
}

std::vector<Uuid> source_ids(const json& body, const Uuid& into) {
  if (!body.contains("source_ids") || !body["source_ids"].is_array() || body["source_ids"].empty())
    invalid_field("source_ids", "must be a non-empty array of profile ids");
  std::vector<Uuid> sources;
  for (const json& item : body["source_ids"]) {
    if (!item.is_string()) invalid_field("source_ids", "must be an array of profile id strings");
    Uuid source;
    try {
      source = Uuid::parse(item.get<std::string>());
    } catch (const std::invalid_argument& error) {
      invalid_field("source_ids", error.what());
    }
    if (source == into) invalid_field("source_ids", "a profile cannot be merged into itself");
    if (std::find(sources.begin(), sources.end(), source) == sources.end()) sources.push_back(source);
  }
  return sources;
}

json conflicts_json(const std::vector<gallery::MergeConflict>& conflicts) {
  json out = json::array();
  for (const gallery::MergeConflict& c : conflicts)
    out.push_back({{"field", c.field}, {"values", c.values}, {"resolution", c.resolution}});
  return out;
}

HttpResponse merge_profiles(ApiContext& context, HttpRequest& request, const Principal& who) {
  const Uuid into = path_uuid(request, "profile");
  const json body = json_object_body(request);
  reject_unknown_keys(body, {"source_ids", "dry_run"});
  const std::vector<Uuid> sources = source_ids(body, into);
  const bool dry_run = optional_bool(body, "dry_run").value_or(false);
  if (!context.database.profiles().find(into)) not_found("profile", into.to_string());
  for (const Uuid& source : sources)
    if (!context.database.profiles().find(source)) invalid_field("source_ids", "no profile with id " + source.to_string());
  gallery::MergePlan plan;
  try {
    plan = context.gallery.preview_merge(into, sources);
  } catch (const storage::NotFoundError& error) {
    throw ApiError(404, "not_found", error.what());  // deleted meanwhile
  }
  if (dry_run)
    return ok({{"dry_run", true},
               {"profile", to_json(plan.merged)},
               {"conflicts", conflicts_json(plan.conflicts)},
               {"refused", plan.over_limits}});
  if (!plan.over_limits.empty()) invalid_field("source_ids", plan.over_limits.front());
  gallery::MergeResult result;
  try {
    result = context.gallery.merge(into, sources);
  } catch (const storage::NotFoundError& error) {
    throw ApiError(404, "not_found", error.what());  // deleted meanwhile
  } catch (const std::invalid_argument& error) {
    invalid_field("source_ids", error.what());  // a source changed since the check
  }
  json merged_sources = json::array();
  for (const Profile& source : result.sources) merged_sources.push_back({{"id", source.id.to_string()}, {"fields", audit_fields(source)}});
  context.audit.record(AuditActor::of(who, request), "profile.merge", {"profile", into.to_string()},
                       {{"target", audit_fields(result.target)}, {"sources", merged_sources}},
                       {{"target", audit_fields(result.merged)}});
  return ok(to_json(result.merged));
}

}  // namespace

json similar_json(const std::vector<gallery::Identification>& similar) {
  json items = json::array();
  for (const gallery::Identification& s : similar)
    items.push_back({{"profile", summary_json(s.profile)}, {"distance", short_decimal(s.distance)}});
  return items;
}

void add_merge_routes(Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/profiles/{id}/similar", authed(api, Permission::Read, [&api](HttpRequest& request, const Principal&) {
               return similar_profiles(api, request);
             }));
  router.add("POST", "/api/v1/profiles/{id}/merge",
             authed(api, Permission::ManageProfiles, [&api](HttpRequest& request, const Principal& who) {
               return merge_profiles(api, request, who);
             }));
}

}  // namespace safelynx::server::detail
