// /api/v1/sightings, /api/v1/recordings and /api/v1/analytics.
#include <algorithm>

#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

constexpr std::chrono::hours kHour{1};
constexpr std::chrono::hours kDay{24};

TimePoint start_of_hour(TimePoint t) {
  const auto ms = to_unix_ms(t);
  return from_unix_ms(ms - ms % 3'600'000);
}

TimePoint start_of_day(TimePoint t) {
  const auto ms = to_unix_ms(t);
  return from_unix_ms(ms - ms % 86'400'000);
}

json profile_summary(ApiContext& context, const Uuid& id) {
  auto profile = context.database.profiles().find(id);
  return profile ? summary_json(*profile) : json(nullptr);
}

// `from`/`to` query parameters with a default window ending now.
std::pair<TimePoint, TimePoint> query_window(const HttpRequest& request, std::chrono::milliseconds default_span,
                                             std::chrono::milliseconds max_span) {
  const TimePoint to = query_time(request, "to").value_or(now_ms());
  const TimePoint from = query_time(request, "from").value_or(to - default_span);
  if (from >= to) bad_query("from", "must be before 'to'");
  if (to - from > max_span) bad_query("from", "the window may span at most " +
                                                  std::to_string(std::chrono::duration_cast<std::chrono::hours>(max_span).count() / 24) + " days");
  return {from, to};
}

}  // namespace

HttpResponse sightings_page(ApiContext& context, storage::SightingFilter filter, const HttpRequest& request) {
  filter.from = query_time(request, "from");
  filter.to = query_time(request, "to");
  const storage::Page page = query_page(request, context.options);
  auto result = context.database.sightings().list(filter, page);
  return ok(page_json(sightings_json(context, result.items), result.total, page));
}

json sightings_json(ApiContext& context, std::span<const Sighting> sightings) {
  // Each with its profile's summary, so a client needs no request per row;
  // a page names few distinct people, each looked up once.
  std::map<Uuid, json> profiles;
  json items = json::array();
  for (const Sighting& s : sightings) {
    json item = to_json(s);
    auto known = profiles.find(s.profile_id);
    if (known == profiles.end()) known = profiles.emplace(s.profile_id, profile_summary(context, s.profile_id)).first;
    item["profile"] = known->second;
    items.push_back(std::move(item));
  }
  return items;
}

void add_sighting_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/v1/sightings", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               storage::SightingFilter filter;
               filter.profile_id = query_uuid(request, "profile_id");
               filter.camera_id = query_uuid(request, "camera_id");
               if (auto c = request.query_param("classification"); c && !c->empty()) {
                 try {
                   filter.classification = parse_classification(*c);
                 } catch (const std::invalid_argument& error) {
                   bad_query("classification", error.what());
                 }
               }
               return sightings_page(context, filter, request);
             }));
  router.add("GET", "/api/v1/sightings/{id}", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const Uuid id = path_uuid(request, "sighting");
               auto sighting = context.database.sightings().find(id);
               if (!sighting) not_found("sighting", id.to_string());
               return ok(sightings_json(context, std::span(&*sighting, 1)).front());
             }));
  router.add("GET", "/api/v1/sightings/{id}/snapshot", authed_media(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const Uuid id = path_uuid(request, "sighting");
               if (!context.database.sightings().find(id)) not_found("sighting", id.to_string());
               const std::string kind = request.query_param("kind").value_or("face");
               if (kind != "face" && kind != "frame") bad_query("kind", "must be face or frame");
               return jpeg_file(context.media.path(kind == "face" ? storage::MediaKind::FaceSnapshot
                                                                  : storage::MediaKind::FrameSnapshot,
                                                   id),
                                "sighting " + id.to_string());
             }));

  router.add("GET", "/api/v1/recordings", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               storage::RecordingFilter filter;
               filter.camera_id = query_uuid(request, "camera_id");
               filter.from = query_time(request, "from");
               filter.to = query_time(request, "to");
               const storage::Page page = query_page(request, context.options);
               auto result = context.database.recordings().list(filter, page);
               json items = json::array();
               for (const Recording& r : result.items) {
                 json item = to_json(r);
                 item["sighting_count"] = context.database.recordings().sightings_of(r.id).size();
                 items.push_back(std::move(item));
               }
               return ok(page_json(std::move(items), result.total, page));
             }));
  router.add("GET", "/api/v1/recordings/{id}", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const Uuid id = path_uuid(request, "recording");
               auto recording = context.database.recordings().find(id);
               if (!recording) not_found("recording", id.to_string());
               json out = to_json(*recording);
               json sightings = json::array();
               for (const Uuid& s : context.database.recordings().sightings_of(id)) sightings.push_back(s.to_string());
               out["sighting_ids"] = std::move(sightings);
               return ok(out);
             }));
  router.add("GET", "/api/v1/recordings/{id}/video", authed_media(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const Uuid id = path_uuid(request, "recording");
               auto recording = context.database.recordings().find(id);
               if (!recording) not_found("recording", id.to_string());
               const auto file = context.media.recording_path(recording->file);
               std::error_code error;
               if (!file || !std::filesystem::is_regular_file(*file, error))
                 throw ApiError(404, "not_found", "the video file of recording " + id.to_string() + " is missing");
               HttpResponse response;
               response.content_type = "video/mp4";
               response.file = *file;
               return response;
             }));
  router.add("DELETE", "/api/v1/recordings/{id}", authed(context, Permission::ManageRecordings, [&context](HttpRequest& request, const Principal& who) {
               const Uuid id = path_uuid(request, "recording");
               auto recording = context.database.recordings().find(id);
               if (!recording) not_found("recording", id.to_string());
               if (!recording->end)
                 throw ApiError(409, "recording_in_progress",
                                "recording " + id.to_string() + " is still being written; delete it once it has ended");
               // The file first: a row without its file is gone for good, a
               // file without its row would be lost track of.
               if (const auto file = context.media.recording_path(recording->file)) {
                 std::error_code error;
                 std::filesystem::remove(*file, error);
                 if (error && error != std::errc::no_such_file_or_directory)
                   throw ApiError(500, "storage_error",
                                  "cannot delete the video file of recording " + id.to_string() + ": " + error.message());
               }
               if (!context.database.recordings().remove(id)) not_found("recording", id.to_string());
               context.audit.record(AuditActor::of(who, request), "recording.delete", {"recording", id.to_string()},
                                    to_json(*recording), nullptr);
               return no_content();
             }));
}

void add_analytics_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/v1/analytics/dashboard", authed(context, Permission::Read, [&context](HttpRequest&, const Principal&) {
               const TimePoint now = now_ms();
               json by_classification = {{"trusted", 0}, {"known", 0}, {"unknown", 0}, {"flagged", 0}};
               std::uint64_t total = 0;
               for (const auto& [c, n] : context.database.profiles().count_by_classification()) {
                 by_classification[std::string(to_string(c))] = n;
                 total += n;
               }
               json most_seen = json::array();
               for (const auto& [id, n] : context.database.sightings().most_seen(now - 7 * kDay, now, 10))
                 most_seen.push_back({{"profile", profile_summary(context, id)}, {"sightings", n}});
               const TimePoint hours_from = start_of_hour(now) - 23 * kHour;
               return ok({{"profiles", {{"total", total}, {"by_classification", by_classification}}},
                          {"new_profiles", {{"today", context.database.profiles().count_created_since(start_of_day(now))},
                                            {"this_week", context.database.profiles().count_created_since(now - 7 * kDay)}}},
                          {"most_seen", most_seen},
                          {"sightings_per_hour",
                           {{"from", to_iso8601(hours_from)},
                            {"counts", context.database.sightings().count_per_hour(hours_from, hours_from + 24 * kHour)}}}});
             }));
  router.add("GET", "/api/v1/analytics/timeline", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               auto [from, to] = query_window(request, kDay, 92 * kDay);
               from = start_of_hour(from);
               const std::string bucket = request.query_param("bucket").value_or("hour");
               if (bucket != "hour" && bucket != "day") bad_query("bucket", "must be hour or day");
               if (bucket == "day") from = start_of_day(from);
               std::vector<std::uint64_t> counts = context.database.sightings().count_per_hour(from, to);
               if (bucket == "day") {
                 std::vector<std::uint64_t> days((counts.size() + 23) / 24, 0);
                 for (std::size_t i = 0; i < counts.size(); ++i) days[i / 24] += counts[i];
                 counts = std::move(days);
               }
               return ok({{"from", to_iso8601(from)}, {"to", to_iso8601(to)}, {"bucket", bucket}, {"counts", counts}});
             }));
  router.add("GET", "/api/v1/analytics/heatmap", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               const auto [from, to] = query_window(request, 28 * kDay, 366 * kDay);
               return ok({{"from", to_iso8601(from)},
                          {"to", to_iso8601(to)},
                          {"days", json::array({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})},
                          {"counts", context.database.sightings().heatmap(from, to)},
                          {"timezone", "UTC"}});
             }));
  router.add("GET", "/api/v1/analytics/storage", authed(context, Permission::Read, [&context](HttpRequest&, const Principal&) {
               json by_kind = json::object();
               std::uint64_t used = context.database.size_bytes();
               by_kind["database"] = used;
               for (const auto& [kind, bytes] : context.media.usage()) {
                 by_kind[kind] = bytes;
                 used += bytes;
               }
               const std::uint64_t quota = context.settings().storage.quota_bytes;
               return ok({{"used_bytes", used},
                          {"quota_bytes", quota},
                          {"used_fraction", quota > 0 ? static_cast<double>(used) / static_cast<double>(quota) : 0.0},
                          {"by_kind", by_kind}});
             }));
}

}  // namespace safelynx::server::detail
