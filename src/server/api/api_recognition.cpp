// GET /api/v1/recognition/report: how well the live gallery tells its named
// people apart (gallery/recognition_report), for choosing the match threshold.
//
// Operators (ManageProfiles), not viewers: the report compares every stored
// embedding with every other, seconds of CPU on a large gallery, and it is
// the operators who enrol people and tune recognition; they may already
// export every embedding. One report at a time: a second asked meanwhile is
// 429 rather than a second core spent.
#include <cmath>
#include <mutex>

#include "gallery/recognition_report.hpp"
#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

// Figures rounded for reading; infinities (no pairs) as null.
json rounded(double value, int decimals) {
  if (!std::isfinite(value)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

json profile_json(const gallery::ReportedProfile& p) { return {{"id", p.id.to_string()}, {"name", p.name}}; }

json pair_json(const std::optional<gallery::ProfilePair>& pair) {
  if (!pair) return nullptr;
  return {{"distance", rounded(pair->distance, 6)}, {"first", profile_json(pair->first)},
          {"second", profile_json(pair->second)}};
}

json report_json(const gallery::GalleryReport& r, const gallery::GalleryReportOptions& limits) {
  json out = {{"profiles",
               {{"named", r.profiles_given},
                {"used", r.profiles_used},
                {"skipped_few_embeddings", r.skipped_few_embeddings},
                {"left_out_over_cap", r.left_out_over_cap}}},
              {"embeddings_used", r.embeddings_used},
              {"limits",
               {{"max_profiles", limits.max_profiles},
                {"max_embeddings_per_profile", limits.max_per_profile},
                {"max_embeddings", limits.max_embeddings},
                {"embeddings_per_profile_used", r.per_profile_cap},
                {"capped", r.capped}}},
              {"match_threshold", rounded(limits.match_threshold, 4)},
              {"rank1", nullptr},
              {"verification", nullptr},
              {"closest_different", nullptr},
              {"recommended_threshold", r.recommended_threshold ? rounded(*r.recommended_threshold, 4) : json(nullptr)},
              {"advice", r.advice}};
  if (r.rank1)
    out["rank1"] = {{"shots", 1}, {"rule", gallery::to_string(r.rank1->options.rule)}, {"splits", r.splits},
                    {"probes", r.rank1->probes}, {"correct", r.rank1->correct}, {"rate", rounded(r.rank1->rank1(), 5)}};
  if (r.verification) {
    json at_far = json::array();
    for (const auto& p : r.verification->points)
      at_far.push_back({{"far", p.target_far}, {"threshold", rounded(p.threshold, 4)}, {"tar", rounded(p.tar, 5)},
                        {"measured_far", rounded(p.far, 6)}});
    out["verification"] = {{"same_pairs", r.verification->genuine.size()},
                           {"different_pairs", r.verification->impostor.size()},
                           {"at_far", at_far},
                           {"at_match_threshold",
                            {{"threshold", rounded(limits.match_threshold, 4)},
                             {"tar", rounded(r.at_match_threshold->tar, 5)},
                             {"far", rounded(r.at_match_threshold->far, 6)}}}};
  }
  if (r.closest_embeddings || r.closest_means)
    out["closest_different"] = {{"embeddings", pair_json(r.closest_embeddings)}, {"means", pair_json(r.closest_means)}};
  return out;
}

// The labelled identities: named profiles that are not `unknown` (a stranger
// given a name is still a guess), in name order so that caps repeat.
std::vector<gallery::ProfileSamples> named_profiles(ApiContext& context, std::size_t max_profiles) {
  std::vector<gallery::ProfileSamples> out;
  storage::ProfileFilter filter;
  filter.sort = storage::ProfileSort::NameAsc;
  storage::Page page{1, 500};
  auto& profiles = context.database.profiles();
  std::size_t measurable = 0;  // with 2+ embeddings: the ones report_gallery uses, up to its cap
  for (;; ++page.page) {
    const auto listed = profiles.list(filter, page);
    for (const Profile& p : listed.items) {
      if (!p.name || p.name->empty() || p.classification == Classification::Unknown) continue;
      gallery::ProfileSamples samples{p.id, *p.name, {}};
      // Beyond the cap a profile is only counted: its embeddings are not read.
      // Counted by what was read, as report_gallery counts: a profile losing
      // embeddings meanwhile must not let a zero-filled one past the cap.
      if (p.embedding_count >= 2 && measurable >= max_profiles) {
        samples.embeddings.resize(static_cast<std::size_t>(p.embedding_count));
      } else if (p.embedding_count >= 2) {
        samples.embeddings = profiles.embeddings_of(p.id);
        measurable += samples.embeddings.size() >= 2 ? 1 : 0;
      }
      out.push_back(std::move(samples));
    }
    if (listed.items.size() < page.per_page || page.page * page.per_page >= listed.total) break;
  }
  return out;
}

}  // namespace

void add_recognition_routes(Router& router, ApiContext& context) {
  router.add("GET", "/api/v1/recognition/report",
             authed(context, Permission::ManageProfiles, [&context](HttpRequest&, const Principal&) {
               static std::mutex running;
               std::unique_lock lock(running, std::try_to_lock);
               if (!lock.owns_lock())
                 throw ApiError(429, "report_in_progress", "a recognition report is being computed; try again shortly");
               gallery::GalleryReportOptions options;
               options.match_threshold = context.settings().recognition.match_threshold;
               const auto profiles = named_profiles(context, options.max_profiles);
               return ok(report_json(gallery::report_gallery(profiles, options), options));
             }));
}

}  // namespace safelynx::server::detail
