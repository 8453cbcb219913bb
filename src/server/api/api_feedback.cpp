// POST /api/v1/search/face (every sighting of the person in a photo) and
// feedback on sightings: POST /api/v1/sightings/{id}/feedback, GET
// /api/v1/feedback, DELETE /api/v1/feedback/{id} (undo). The routes parse and
// answer; what feedback does is gallery/feedback's.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "index/distance_kernels.hpp"
#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

struct Hit {
  Uuid sighting;
  float distance = 0;
};

float query_radius(const HttpRequest& request, float fallback) {
  const auto text = request.query_param("radius");
  if (!text || text->empty()) return fallback;
  try {
    std::size_t used = 0;
    const double radius = std::stod(*text, &used);
    if (used == text->size() && std::isfinite(radius) && radius >= 0 && radius <= 2) return static_cast<float>(radius);
  } catch (const std::exception&) {
  }
  bad_query("radius", "must be a number from 0 to 2");
}

// The largest face of the photo: whom the search is about.
Face largest_face(ApiContext& context, const cv::Mat& image) {
  const Settings settings = context.settings();
  std::vector<Face> faces = context.engines.analyse(image, settings.detection.min_score);
  if (faces.empty())
    throw ApiError(400, "no_face", "no face found in the photo (detector threshold " +
                                       std::to_string(settings.detection.min_score).substr(0, 4) + ")");
  const auto largest = std::max_element(faces.begin(), faces.end(), [](const Face& a, const Face& b) {
    return a.detection.box.width * a.detection.box.height < b.detection.box.width * b.detection.box.height;
  });
  if (!largest->descriptor) throw std::runtime_error("the face could not be read");
  return *largest;
}

HttpResponse search_face(ApiContext& context, HttpRequest& request) {
  const float radius = query_radius(request, context.settings().recognition.match_threshold);
  const storage::Page page = query_page(request, context.options);
  const cv::Mat image = request_image(context, request);
  const Face face = largest_face(context, image);
  // Newest first, as the repository streams them; only ids and distances
  // are kept, the page's sightings are read afterwards.
  const auto squared_l2 = index::best_kernels().squared_l2;
  const float squared_radius = radius * radius;
  std::uint64_t searched = 0;
  std::vector<Hit> hits;
  context.database.sightings().for_each_descriptor([&](const Uuid& id, const FaceDescriptor& descriptor) {
    ++searched;
    const float squared = squared_l2(descriptor.data(), face.descriptor->data(), kDescriptorSize);
    if (squared <= squared_radius) hits.push_back({id, std::sqrt(squared)});
  });
  std::vector<Sighting> sightings;
  std::vector<float> distances;
  const std::uint64_t first = (page.page - 1) * page.per_page;
  for (std::uint64_t i = first; i < hits.size() && i < first + page.per_page; ++i) {
    // One deleted since the scan is left out of the page.
    if (auto sighting = context.database.sightings().find(hits[i].sighting)) {
      sightings.push_back(std::move(*sighting));
      distances.push_back(hits[i].distance);
    }
  }
  json items = sightings_json(context, sightings);
  for (std::size_t i = 0; i < items.size(); ++i) items[i]["distance"] = short_decimal(distances[i]);
  json out = page_json(std::move(items), hits.size(), page);
  out["face"] = {{"box", box_json(face.detection.box)}, {"score", short_decimal(face.detection.score)}};
  out["radius"] = short_decimal(radius);
  out["searched"] = searched;
  return ok(out);
}

[[noreturn]] void feedback_error(const gallery::FeedbackError& error) {
  throw ApiError(error.kind() == gallery::FeedbackError::Kind::NotFound ? 404 : 409, error.code(), error.what());
}

Uuid body_uuid(const json& body, const char* field) {
  const std::string text = required_string(body, field);
  try {
    return Uuid::parse(text);
  } catch (const std::invalid_argument&) {
    throw ApiError(400, "invalid_feedback", std::string(field) + " must be a UUID, got '" + text.substr(0, 64) + "'");
  }
}

HttpResponse give_feedback(ApiContext& context, HttpRequest& request, const Principal& who) {
  const Uuid sighting_id = path_uuid(request, "sighting");
  const json body = json_object_body(request);
  reject_unknown_keys(body, {"verdict", "profile_id"});
  const auto verdict_text = optional_string(body, "verdict");
  const auto verdict = verdict_text ? parse_feedback_verdict(*verdict_text) : std::nullopt;
  if (!verdict) throw ApiError(400, "invalid_feedback", "verdict must be \"is\" or \"is_not\"");
  std::optional<Uuid> profile_id;
  if (body.contains("profile_id") && !body["profile_id"].is_null()) profile_id = body_uuid(body, "profile_id");
  if (*verdict == FeedbackVerdict::Is && !profile_id)
    throw ApiError(400, "invalid_feedback", "verdict \"is\" needs the profile_id of the person it is");
  gallery::FeedbackOutcome outcome;
  try {
    outcome = context.feedback.give(sighting_id, *verdict, profile_id, gallery::MatchRule::from(context.settings()));
  } catch (const gallery::FeedbackError& error) {
    feedback_error(error);
  }
  const json feedback = to_json(outcome.feedback);
  context.audit.record(AuditActor::of(who, request), "sighting.feedback", {"sighting", sighting_id.to_string()},
                       {{"profile_id", outcome.feedback.previous_profile_id.to_string()}},
                       {{"profile_id", outcome.sighting.profile_id.to_string()}, {"feedback", feedback}});
  if (context.count_feedback) context.count_feedback(*verdict);
  return ok({{"feedback", feedback},
             {"sighting", sightings_json(context, std::span(&outcome.sighting, 1)).front()},
             {"reason", outcome.reason ? json(*outcome.reason) : json(nullptr)}},
            201);
}

}  // namespace

void add_feedback_routes(Router& router, ApiContext& context) {
  router.add("POST", "/api/v1/search/face", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               return search_face(context, request);
             }));
  router.add("POST", "/api/v1/sightings/{id}/feedback",
             authed(context, Permission::ManageProfiles, [&context](HttpRequest& request, const Principal& who) {
               return give_feedback(context, request, who);
             }));
  router.add("GET", "/api/v1/feedback", authed(context, Permission::Read, [&context](HttpRequest& request, const Principal&) {
               storage::FeedbackFilter filter;
               filter.sighting_id = query_uuid(request, "sighting_id");
               filter.profile_id = query_uuid(request, "profile_id");
               const storage::Page page = query_page(request, context.options);
               const auto result = context.database.feedback().list(filter, page);
               json items = json::array();
               for (const Feedback& f : result.items) items.push_back(to_json(f));
               return ok(page_json(std::move(items), result.total, page));
             }));
  router.add("DELETE", "/api/v1/feedback/{id}",
             authed(context, Permission::ManageProfiles, [&context](HttpRequest& request, const Principal& who) {
               const Uuid id = path_uuid(request, "feedback");
               Feedback undone;
               try {
                 undone = context.feedback.undo(id);
               } catch (const gallery::FeedbackError& error) {
                 feedback_error(error);
               }
               const json out = to_json(undone);
               context.audit.record(AuditActor::of(who, request), "feedback.undo", {"feedback", id.to_string()}, nullptr,
                                    out);
               return ok(out);
             }));
}

}  // namespace safelynx::server::detail
