// A profile's face gallery: GET /api/v1/profiles/{id}/faces (its stored
// embeddings, best first), the photo of one, and DELETE of one (a wrong face
// that would name the wrong person). What a removal changes is the gallery's.
#include <algorithm>
#include <charconv>

#include "server/api/api_internal.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

struct FaceRef {
  Profile profile;
  std::uint64_t face_id = 0;
};

// The profile and {face_id} of the path; 404 for a profile that does not
// exist or a face id that is not a number.
FaceRef face_ref(ApiContext& context, const HttpRequest& request) {
  const Uuid id = path_uuid(request, "profile");
  auto profile = context.database.profiles().find(id);
  if (!profile) not_found("profile", id.to_string());
  const std::string& text = request.path_param("face_id");
  std::uint64_t face_id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), face_id);
  if (error != std::errc() || end != text.data() + text.size()) not_found("face", text);
  return {std::move(*profile), face_id};
}

[[noreturn]] void no_such_face(const FaceRef& ref) {
  throw ApiError(404, "not_found",
                 "profile " + ref.profile.id.to_string() + " has no face with id " + std::to_string(ref.face_id));
}

HttpResponse list_faces(ApiContext& context, HttpRequest& request) {
  const Uuid id = path_uuid(request, "profile");
  if (!context.database.profiles().find(id)) not_found("profile", id.to_string());
  std::vector<StoredEmbedding> faces = context.database.profiles().embeddings_of(id);
  std::stable_sort(faces.begin(), faces.end(),
                   [](const StoredEmbedding& a, const StoredEmbedding& b) { return a.quality > b.quality; });
  json items = json::array();
  for (const StoredEmbedding& e : faces)
    items.push_back({{"id", e.id},
                     {"quality", short_decimal(e.quality)},
                     {"created_at", to_iso8601(e.created_at)},
                     {"has_photo", e.has_photo}});
  return ok({{"items", std::move(items)}, {"total", faces.size()}, {"capacity", context.gallery.capacity()}});
}

HttpResponse face_photo(ApiContext& context, HttpRequest& request) {
  const FaceRef ref = face_ref(context, request);
  const std::vector<StoredEmbedding> faces = context.database.profiles().embeddings_of(ref.profile.id);
  const auto face = std::find_if(faces.begin(), faces.end(), [&](const StoredEmbedding& e) { return e.id == ref.face_id; });
  if (face == faces.end()) no_such_face(ref);
  if (!face->has_photo) throw ApiError(404, "not_found", "face " + std::to_string(ref.face_id) + " has no photo");
  return jpeg_file(context.media.face_photo_path(ref.face_id), "face " + std::to_string(ref.face_id));
}

HttpResponse remove_face(ApiContext& context, HttpRequest& request, const Principal& who) {
  const FaceRef ref = face_ref(context, request);
  const std::optional<Profile> profile = context.gallery.remove_face(ref.profile.id, ref.face_id);
  if (!profile) no_such_face(ref);
  context.audit.record(AuditActor::of(who, request), "profile.face_remove", {"profile", ref.profile.id.to_string()},
                       {{"face_id", ref.face_id}}, {{"remaining", profile->embedding_count}});
  json body = {{"remaining", profile->embedding_count}};
  if (profile->embedding_count == 0)
    body["warning"] = "this profile has no faces left and will not be recognised until a photo is added";
  return ok(body);
}

}  // namespace

void add_face_routes(Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/profiles/{id}/faces", authed(api, Permission::Read, [&api](HttpRequest& request, const Principal&) {
               return list_faces(api, request);
             }));
  router.add("GET", "/api/v1/profiles/{id}/faces/{face_id}/photo",
             authed_media(api, Permission::Read, [&api](HttpRequest& request, const Principal&) {
               return face_photo(api, request);
             }));
  router.add("DELETE", "/api/v1/profiles/{id}/faces/{face_id}",
             authed(api, Permission::ManageProfiles, [&api](HttpRequest& request, const Principal& who) {
               return remove_face(api, request, who);
             }));
}

}  // namespace safelynx::server::detail
