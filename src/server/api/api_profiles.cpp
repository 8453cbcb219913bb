// /api/v1/profiles and /api/v1/identify: enrolment, editing, export and
// import of profiles, and stateless identification (merging and look-alikes:
// api_merge.cpp). The routes and their request readers; what they do is the
// gallery's.
#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "server/api/api_internal.hpp"
#include "server/multipart.hpp"
#include "vision/face_crops.hpp"
#include "vision/image_header.hpp"
#include "vision/image_io.hpp"

namespace safelynx::server::detail {

using nlohmann::json;

namespace {

struct Photo {
  std::string label;  // "photo 2 (lin.jpg)": how errors name it
  std::string bytes;
};

// A photo's one face: what enrolment keeps of it.
struct EnrolledFace {
  Face face;
  cv::Mat image;
  float quality = 0;
};

struct ProfileFields {
  std::optional<std::optional<std::string>> name;  // set: change; inner nullopt: clear
  std::optional<Classification> classification;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::string> notes;
  std::optional<bool> reviewed;
};

std::string clean_name(const std::string& name) { return display_text("name", name, kMaxProfileNameLength); }

std::vector<std::string> clean_tags(const std::vector<std::string>& tags) {
  std::set<std::string> unique;
  for (const std::string& given : tags) {
    const std::string tag = display_text("tags", given, kMaxTagLength);
    if (tag.empty()) continue;
    if (tag.find(',') != std::string::npos) invalid_field("tags", "a tag may not contain a comma");
    unique.insert(tag);
  }
  if (unique.size() > kMaxTags) invalid_field("tags", "more than " + std::to_string(kMaxTags) + " tags");
  return {unique.begin(), unique.end()};
}

Classification classification_field(const std::string& text) {
  try {
    return parse_classification(text);
  } catch (const std::invalid_argument& error) {
    invalid_field("classification", error.what());
  }
}

std::vector<std::string> split_tags(const std::string& text) {
  std::vector<std::string> tags;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    tags.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return tags;
}

std::string base64_decode(const std::string& text, const std::string& field) {
  std::string_view data = text;
  // Accept data URLs, as a browser's FileReader produces them.
  if (data.starts_with("data:")) {
    const auto comma = data.find(',');
    if (comma == std::string_view::npos || data.substr(0, comma).find(";base64") == std::string_view::npos)
      invalid_field(field, "is a data URL without ;base64");
    data.remove_prefix(comma + 1);
  }
  std::string bytes(data.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), data.data(), data.size(),
                        " \r\n", &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != data.data() + data.size())
    invalid_field(field, "is not valid base64");
  bytes.resize(length);
  return bytes;
}

std::string base64_encode(std::string_view bytes) {
  std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  text.resize(std::strlen(text.c_str()));
  return text;
}

std::vector<std::string> string_array(const json& value, const char* field) {
  if (!value.is_array()) invalid_field(field, "must be an array of strings");
  std::vector<std::string> items;
  for (const json& item : value) {
    if (!item.is_string()) invalid_field(field, "must be an array of strings");
    items.push_back(item.get<std::string>());
  }
  return items;
}

// The profile fields of a JSON object, as enrolment, editing and import send
// them: a name that is null or blank clears it; null tags change nothing;
// null notes are empty notes; reviewed is true or false. Unknown keys are the
// caller's to refuse.
ProfileFields read_profile_fields(const json& object) {
  ProfileFields fields;
  if (object.contains("name")) {
    const auto name = optional_string(object, "name");
    const std::string cleaned = name ? clean_name(*name) : "";
    fields.name = cleaned.empty() ? std::nullopt : std::optional<std::string>(cleaned);
  }
  if (auto c = optional_string(object, "classification")) fields.classification = classification_field(*c);
  if (object.contains("tags") && !object["tags"].is_null()) fields.tags = clean_tags(string_array(object["tags"], "tags"));
  if (object.contains("notes")) {
    const auto notes = optional_string(object, "notes");
    if (notes && notes->size() > kMaxNotesLength) invalid_field("notes", "is too long");
    fields.notes = notes.value_or("");
  }
  fields.reviewed = optional_bool(object, "reviewed");
  return fields;
}

// Reads the profile fields and photos of an enrolment or photo upload,
// multipart/form-data or JSON.
void read_form(const HttpRequest& request, ProfileFields& fields, std::vector<Photo>& photos, bool photos_only) {
  const std::string type = media_type(request.header("content-type"));
  if (type == "multipart/form-data") {
    std::size_t index = 0;
    for (MultipartPart& part : parse_multipart(request.header("content-type"), request.body)) {
      if (part.name == "photo" || part.name == "photos") {
        ++index;
        photos.push_back({"photo " + std::to_string(index) + (part.filename ? " (" + *part.filename + ")" : ""),
                          std::move(part.body)});
        continue;
      }
      if (photos_only) invalid_field(part.name, "is not a known field (expected photo)");
      require_utf8(part.name, part.body);
      if (part.name == "name") {
        const std::string name = clean_name(part.body);
        fields.name = name.empty() ? std::optional<std::string>() : name;
      } else if (part.name == "classification") {
        fields.classification = classification_field(part.body);
      } else if (part.name == "tags") {
        if (!fields.tags) fields.tags.emplace();
        for (auto& tag : split_tags(part.body)) fields.tags->push_back(std::move(tag));
      } else if (part.name == "notes") {
        if (part.body.size() > kMaxNotesLength) invalid_field("notes", "is too long");
        fields.notes = part.body;
      } else {
        invalid_field(part.name, "is not a known field (expected name, classification, tags, notes, photo)");
      }
    }
    if (fields.tags) fields.tags = clean_tags(*fields.tags);
  } else if (type == "application/json") {
    const json body = json_object_body(request);
    if (photos_only) reject_unknown_keys(body, {"photos"});
    else reject_unknown_keys(body, {"name", "classification", "tags", "notes", "photos"});
    if (!photos_only) fields = read_profile_fields(body);
    if (body.contains("photos")) {
      if (!body["photos"].is_array()) invalid_field("photos", "must be an array of base64 strings");
      std::size_t index = 0;
      for (const json& photo : body["photos"]) {
        ++index;
        const std::string field = "photos[" + std::to_string(index - 1) + "]";
        if (!photo.is_string()) invalid_field(field, "must be a base64 string");
        photos.push_back({field, base64_decode(photo.get<std::string>(), field)});
      }
    }
  } else {
    throw ApiError(415, "unsupported_media_type",
                   "expected multipart/form-data or application/json, got '" + request.header("content-type") + "'");
  }
}

cv::Mat decode_photo(const ApiContext& context, const Photo& photo) {
  try {
    return vision::decode_image(
        std::span(reinterpret_cast<const std::uint8_t*>(photo.bytes.data()), photo.bytes.size()), photo.label,
        vision::ImageReadOptions{context.options.max_image_pixels});
  } catch (const vision::ImageTooLargeError& error) {
    throw ApiError(413, "image_too_large", error.what());
  } catch (const vision::UnsupportedImageFormatError& error) {
    throw ApiError(415, "unsupported_image_format", error.what());
  } catch (const vision::ImageError& error) {
    throw ApiError(422, "invalid_photo", error.what());
  }
}

std::vector<EnrolledFace> analyse_photos(ApiContext& context, const std::vector<Photo>& photos) {
  if (photos.empty()) invalid_field("photo", "at least one photo with a face is required");
  if (photos.size() > context.options.max_photos_per_request)
    invalid_field("photo", "at most " + std::to_string(context.options.max_photos_per_request) + " photos per request");
  const Settings settings = context.settings();
  std::vector<EnrolledFace> faces;
  for (const Photo& photo : photos) {
    cv::Mat image = decode_photo(context, photo);
    std::vector<Face> found = context.engines.analyse(image, settings.detection.min_score);
    if (found.empty())
      throw ApiError(422, "no_face", photo.label + ": no face found (detector threshold " +
                                         std::to_string(settings.detection.min_score).substr(0, 4) + ")");
    if (found.size() > 1)
      throw ApiError(422, "multiple_faces", photo.label + ": " + std::to_string(found.size()) +
                                                " faces found; enrolment needs a photo of one person");
    if (!found.front().descriptor) throw std::runtime_error("the face could not be read");
    const float quality = face_quality(found.front().detection);
    faces.push_back({std::move(found.front()), std::move(image), quality});
  }
  return faces;
}

std::string thumbnail_jpeg(const EnrolledFace& face) { return vision::face_thumbnail_jpeg(face.image, face.face.detection.box); }

const EnrolledFace& best_face(const std::vector<EnrolledFace>& faces) {
  return *std::max_element(faces.begin(), faces.end(),
                           [](const EnrolledFace& a, const EnrolledFace& b) { return a.quality < b.quality; });
}

std::vector<gallery::FaceSample> samples_of(const std::vector<EnrolledFace>& faces) {
  std::vector<gallery::FaceSample> samples;
  // Each face keeps the crop of its photo: the gallery's face photos.
  for (const EnrolledFace& face : faces) samples.push_back({*face.face.descriptor, face.quality, thumbnail_jpeg(face)});
  return samples;
}

Profile find_profile(ApiContext& context, const Uuid& id) {
  auto profile = context.database.profiles().find(id);
  if (!profile) not_found("profile", id.to_string());
  return *profile;
}

storage::ProfileSort parse_sort(const std::string& text) {
  if (text == "-created" || text == "-created_at") return storage::ProfileSort::CreatedDesc;
  if (text == "created" || text == "created_at") return storage::ProfileSort::CreatedAsc;
  if (text == "-last_seen") return storage::ProfileSort::LastSeenDesc;
  if (text == "name") return storage::ProfileSort::NameAsc;
  if (text == "-sighting_count") return storage::ProfileSort::SightingsDesc;
  bad_query("sort", "'" + text.substr(0, 40) + "' is not one of -created, created, -last_seen, name, -sighting_count");
}

HttpResponse enrol(ApiContext& context, HttpRequest& request, const Principal& who) {
  ProfileFields fields;
  std::vector<Photo> photos;
  read_form(request, fields, photos, false);
  const std::vector<EnrolledFace> faces = analyse_photos(context, photos);

  Profile profile;
  profile.name = fields.name.value_or(std::nullopt);
  profile.classification = fields.classification.value_or(profile.name ? Classification::Known : Classification::Unknown);
  profile.tags = fields.tags.value_or(std::vector<std::string>{});
  profile.notes = fields.notes.value_or("");
  profile = context.gallery.create(profile, samples_of(faces), thumbnail_jpeg(best_face(faces)));
  context.audit.record(AuditActor::of(who, request), "profile.create", {"profile", profile.id.to_string()}, nullptr, audit_fields(profile));
  // A duplicate is enrolled all the same (the user may mean two profiles);
  // the answer says whom it looks like, so the UI can offer a merge.
  json body = to_json(profile);
  body["looks_like"] = similar_json(context.gallery.similar(profile.id, kLooksLikeLimit, context.settings().recognition.match_threshold));
  HttpResponse response = ok(body, 201);
  response.headers.emplace_back("Location", "/api/v1/profiles/" + profile.id.to_string());
  return response;
}

HttpResponse add_photos(ApiContext& context, HttpRequest& request, const Principal& who) {
  const Uuid id = path_uuid(request, "profile");
  find_profile(context, id);
  ProfileFields ignored;
  std::vector<Photo> photos;
  read_form(request, ignored, photos, true);
  const std::vector<EnrolledFace> faces = analyse_photos(context, photos);
  gallery::FacesAdded result;
  try {
    result = context.gallery.add_faces(id, samples_of(faces), [&] { return thumbnail_jpeg(best_face(faces)); });
  } catch (const storage::NotFoundError&) {
    not_found("profile", id.to_string());
  }
  context.audit.record(AuditActor::of(who, request), "profile.photos_add", {"profile", id.to_string()}, nullptr,
                       {{"added", result.added}, {"evicted", result.evicted}});
  return ok({{"profile", to_json(result.profile)}, {"added", result.added}, {"evicted", result.evicted}});
}

HttpResponse update_profile(ApiContext& context, HttpRequest& request, const Principal& who) {
  const Uuid id = path_uuid(request, "profile");
  const json body = json_object_body(request);
  reject_unknown_keys(body, {"name", "classification", "tags", "notes", "reviewed"});
  const Profile before = find_profile(context, id);
  const ProfileFields fields = read_profile_fields(body);
  Profile profile = before;
  if (fields.name) profile.name = *fields.name;
  if (fields.classification) profile.classification = *fields.classification;
  if (fields.tags) profile.tags = *fields.tags;
  if (fields.notes) profile.notes = *fields.notes;
  if (fields.reviewed) profile.reviewed = *fields.reviewed;
  const auto updated = context.gallery.update(profile);
  if (!updated) not_found("profile", id.to_string());
  profile = *updated;
  context.audit.record(AuditActor::of(who, request), "profile.update", {"profile", id.to_string()}, audit_fields(before), audit_fields(profile));
  return ok(to_json(profile));
}

// Export format 1: every profile with its embeddings (128 float32,
// little-endian, base64: exact and a quarter of the size of decimal text)
// and its thumbnail (base64 JPEG).
json export_profiles(ApiContext& context) {
  json profiles = json::array();
  for (std::uint64_t page = 1;; ++page) {
    storage::ProfileFilter oldest_first;
    oldest_first.sort = storage::ProfileSort::CreatedAsc;
    auto result = context.database.profiles().list(oldest_first, {page, 500});
    for (const Profile& profile : result.items) {
      json item = to_json(profile);
      item.erase("thumbnail_url");
      json embeddings = json::array();
      for (const StoredEmbedding& e : context.database.profiles().embeddings_of(profile.id)) {
        embeddings.push_back({{"descriptor", base64_encode(std::string_view(reinterpret_cast<const char*>(e.descriptor.data()),
                                                                            sizeof(float) * kDescriptorSize))},
                              {"quality", e.quality},
                              {"created_at", to_iso8601(e.created_at)}});
      }
      item["embeddings"] = std::move(embeddings);
      const std::string thumbnail = profile.has_thumbnail ? context.media.read(storage::MediaKind::Thumbnail, profile.id) : "";
      item["thumbnail"] = thumbnail.empty() ? json(nullptr) : json(base64_encode(thumbnail));
      profiles.push_back(std::move(item));
    }
    if (result.items.size() < 500) break;
  }
  return {{"format", "safelynx-profiles"}, {"version", 1}, {"exported_at", to_iso8601(now_ms())},
          {"profiles", std::move(profiles)}};
}

TimePoint time_field(const json& object, const char* name, const std::string& where) {
  const auto text = optional_string(object, name);
  if (!text) invalid_field(where + "." + name, "is required");
  try {
    return parse_iso8601(*text);
  } catch (const std::invalid_argument& error) {
    invalid_field(where + "." + name, error.what());
  }
}

std::optional<TimePoint> optional_time_field(const json& object, const char* name, const std::string& where) {
  if (!object.contains(name) || object[name].is_null()) return std::nullopt;
  return time_field(object, name, where);
}

struct ImportedProfile {
  Profile profile;
  std::vector<StoredEmbedding> embeddings;
  std::string thumbnail;
};

ImportedProfile read_imported_profile(ApiContext& context, const json& item, const std::string& where,
                                      std::set<Uuid>& seen) {
  if (!item.is_object()) invalid_field(where, "must be an object");
  ImportedProfile in;
  try {
    in.profile.id = Uuid::parse(required_string(item, "id"));
  } catch (const std::invalid_argument& error) {
    invalid_field(where + ".id", error.what());
  }
  if (!seen.insert(in.profile.id).second) invalid_field(where + ".id", "appears twice");
  if (context.database.profiles().find(in.profile.id))
    throw ApiError(409, "conflict", where + ": profile " + in.profile.id.to_string() + " already exists");
  // Field errors name the field only; import_profiles says which profile.
  const ProfileFields fields = read_profile_fields(item);
  in.profile.name = fields.name.value_or(std::nullopt);
  in.profile.classification = fields.classification.value_or(Classification::Unknown);
  in.profile.tags = fields.tags.value_or(std::vector<std::string>{});
  in.profile.notes = fields.notes.value_or("");
  in.profile.reviewed = fields.reviewed.value_or(false);
  in.profile.first_seen = optional_time_field(item, "first_seen", where);
  in.profile.last_seen = optional_time_field(item, "last_seen", where);
  if (auto count = optional_integer(item, "sighting_count"); count && *count > 0)
    in.profile.sighting_count = static_cast<std::uint64_t>(*count);
  in.profile.created_at = time_field(item, "created_at", where);
  in.profile.updated_at = time_field(item, "updated_at", where);
  if (!item.contains("embeddings") || !item["embeddings"].is_array())
    invalid_field(where + ".embeddings", "must be an array");
  for (std::size_t j = 0; j < item["embeddings"].size(); ++j) {
    const json& e = item["embeddings"][j];
    const std::string ewhere = where + ".embeddings[" + std::to_string(j) + "]";
    if (!e.is_object()) invalid_field(ewhere, "must be an object");
    const std::string bytes = base64_decode(required_string(e, "descriptor"), ewhere + ".descriptor");
    if (bytes.size() != sizeof(float) * kDescriptorSize)
      invalid_field(ewhere + ".descriptor", "must hold 128 float32 values (512 bytes)");
    StoredEmbedding embedding;
    std::memcpy(embedding.descriptor.data(), bytes.data(), bytes.size());
    if (!std::all_of(embedding.descriptor.begin(), embedding.descriptor.end(), [](float v) { return std::isfinite(v); }))
      invalid_field(ewhere + ".descriptor", "holds a value that is not finite");
    const double quality = optional_number(e, "quality").value_or(0);
    if (!(quality >= 0 && quality <= 1)) invalid_field(ewhere + ".quality", "must be in [0, 1]");
    embedding.quality = static_cast<float>(quality);
    embedding.created_at = time_field(e, "created_at", ewhere);
    in.embeddings.push_back(embedding);
  }
  if (in.embeddings.size() > context.gallery.capacity())
    invalid_field(where + ".embeddings", "more than gallery_capacity (" +
                                            std::to_string(context.gallery.capacity()) + ") embeddings");
  if (auto thumbnail = optional_string(item, "thumbnail")) {
    in.thumbnail = base64_decode(*thumbnail, where + ".thumbnail");
    // Served to every browser that shows the profile: a complete JPEG of a
    // sane size, checked from its header (it is never decoded here).
    const vision::ImageHeader header = vision::read_image_header(
        std::span(reinterpret_cast<const std::uint8_t*>(in.thumbnail.data()), in.thumbnail.size()));
    if (header.format != vision::ImageFormat::jpeg || header.structure != vision::HeaderStructure::complete)
      invalid_field(where + ".thumbnail", "is not a complete JPEG");
    if (header.width == 0 || header.height == 0 || header.width * header.height > context.options.max_image_pixels)
      invalid_field(where + ".thumbnail", "is " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                                              ", not a thumbnail size");
  }
  return in;
}

HttpResponse import_profiles(ApiContext& context, HttpRequest& request, const Principal& who) {
  const json body = json_object_body(request);
  const auto format = body.find("format");
  const auto version = body.find("version");
  if (format == body.end() || *format != "safelynx-profiles" || version == body.end() || !version->is_number_integer() ||
      *version != 1)
    invalid_field("format", "expected an export of format safelynx-profiles, version 1");
  if (!body.contains("profiles") || !body["profiles"].is_array()) invalid_field("profiles", "must be an array");

  std::vector<ImportedProfile> imported;
  std::set<Uuid> seen;
  // Check everything first: an import either lands whole or not at all.
  for (std::size_t i = 0; i < body["profiles"].size(); ++i) {
    const std::string where = "profiles[" + std::to_string(i) + "]";
    try {
      imported.push_back(read_imported_profile(context, body["profiles"][i], where, seen));
    } catch (const ApiError& error) {
      // Field errors from shared helpers name the field only: say which profile.
      const std::string message = error.what();
      if (error.status() != 422 || message.starts_with(where)) throw;
      throw ApiError(error.status(), error.code(), where + "." + message);
    }
  }
  for (ImportedProfile& in : imported)
    in.profile = context.gallery.restore(in.profile, std::move(in.embeddings), in.thumbnail);
  // One entry for the whole import (a large one would otherwise flood the
  // log), naming the first profiles.
  json ids = json::array();
  for (std::size_t i = 0; i < imported.size() && i < 50; ++i) ids.push_back(imported[i].profile.id.to_string());
  context.audit.record(AuditActor::of(who, request), "profile.import", {"profile", ""}, nullptr,
                       {{"imported", imported.size()}, {"ids", ids}});
  return ok({{"imported", imported.size()}}, 201);
}

json candidate_json(const gallery::Identification& c) {
  return {{"profile",
           {{"id", c.profile.id.to_string()},
            {"name", c.profile.name ? json(*c.profile.name) : json(nullptr)},
            {"classification", std::string(to_string(c.profile.classification))}}},
          {"distance", short_decimal(c.distance)}};
}

// Each face's verdict: named (profile, distance, margin), uncertain (the
// candidates, no name) or stranger.
HttpResponse identify(ApiContext& context, HttpRequest& request) {
  const cv::Mat image = request_image(context, request);
  const Settings settings = context.settings();
  json faces = json::array();
  const gallery::MatchRule rule = gallery::MatchRule::from(settings);
  for (const Face& face : context.engines.analyse(image, settings.detection.min_score)) {
    if (!face.descriptor) throw std::runtime_error("the face could not be read");
    const gallery::GalleryMatch match = context.gallery.match(*face.descriptor, rule);
    json candidates = json::array();
    for (const gallery::Identification& c : match.candidates) candidates.push_back(candidate_json(c));
    const gallery::Identification* named = match.named() ? &match.candidates.front() : nullptr;
    faces.push_back({{"box", box_json(face.detection.box)},
                     {"score", short_decimal(face.detection.score)},
                     {"verdict", gallery::to_string(match.decision.verdict)},
                     {"profile", named ? candidate_json(*named)["profile"] : json(nullptr)},
                     {"distance", named ? json(short_decimal(named->distance)) : json(nullptr)},
                     {"margin", named ? json(short_decimal(match.decision.margin)) : json(nullptr)},
                     {"candidates", std::move(candidates)}});
  }
  return ok({{"faces", std::move(faces)}, {"width", image.cols}, {"height", image.rows}});
}

}  // namespace

cv::Mat request_image(const ApiContext& context, HttpRequest& request) {
  Photo photo{"image", {}};
  const std::string type = media_type(request.header("content-type"));
  if (type == "multipart/form-data") {
    bool found = false;
    for (MultipartPart& part : parse_multipart(request.header("content-type"), request.body))
      if (part.name == "photo") {
        photo.label = part.filename ? "photo (" + *part.filename + ")" : "photo";
        photo.bytes = std::move(part.body);
        found = true;
        break;
      }
    if (!found) invalid_field("photo", "a multipart field 'photo' with an image is required");
  } else if (type.starts_with("image/") || type == "application/octet-stream") {
    photo.bytes = std::move(request.body);
  } else {
    throw ApiError(415, "unsupported_media_type",
                   "send the image as the body with its content type (image/jpeg, image/png) or as multipart field "
                   "'photo'; got '" + request.header("content-type") + "'");
  }
  if (photo.bytes.empty()) throw ApiError(422, "invalid_photo", "the image is empty");
  return decode_photo(context, photo);
}

void add_profile_routes(Router& router, ApiContext& api) {
  // Reads need Read; everything else, and export (every embedding in one
  // file) and identify (uploads decoded on the server), ManageProfiles.
  auto route = [&](const char* method, const char* pattern, HttpResponse (*handler)(ApiContext&, HttpRequest&),
                   Permission permission) {
    router.add(method, pattern, authed(api, permission, [&api, handler](HttpRequest& request, const Principal&) {
                 return handler(api, request);
               }));
  };
  constexpr Permission kRead = Permission::Read;
  constexpr Permission kManage = Permission::ManageProfiles;
  // Handlers that change data name their caller in the audit log.
  auto audited = [&](const char* method, const char* pattern,
                     HttpResponse (*handler)(ApiContext&, HttpRequest&, const Principal&), Permission permission) {
    router.add(method, pattern, authed(api, permission, [&api, handler](HttpRequest& request, const Principal& who) {
                 return handler(api, request, who);
               }));
  };
  audited("POST", "/api/v1/profiles", enrol, kManage);
  route("GET", "/api/v1/profiles", [](ApiContext& context, HttpRequest& request) {
    storage::ProfileFilter filter;
    if (auto c = request.query_param("classification"); c && !c->empty()) {
      try {
        filter.classification = parse_classification(*c);
      } catch (const std::invalid_argument& error) {
        bad_query("classification", error.what());
      }
    }
    if (auto tag = request.query_param("tag"); tag && !tag->empty()) filter.tag = *tag;
    if (auto q = request.query_param("q"); q && !q->empty()) filter.query = q->substr(0, 200);
    filter.reviewed = query_bool(request, "reviewed");
    if (auto sort = request.query_param("sort"); sort && !sort->empty()) filter.sort = parse_sort(*sort);
    const storage::Page page = query_page(request, context.options);
    auto result = context.database.profiles().list(filter, page);
    json items = json::array();
    for (const Profile& p : result.items) items.push_back(to_json(p));
    return ok(page_json(std::move(items), result.total, page));
  }, kRead);
  // An export hands out the whole gallery: audited although it changes nothing.
  audited("GET", "/api/v1/profiles/export", [](ApiContext& context, HttpRequest& request, const Principal& who) {
    HttpResponse response = ok(export_profiles(context));
    context.audit.record(AuditActor::of(who, request), "profile.export", {"profile", ""});
    response.headers.emplace_back("Content-Disposition", "attachment; filename=\"safelynx-profiles.json\"");
    return response;
  }, kManage);
  audited("POST", "/api/v1/profiles/import", import_profiles, kManage);
  route("GET", "/api/v1/profiles/{id}", [](ApiContext& context, HttpRequest& request) {
    return ok(to_json(find_profile(context, path_uuid(request, "profile"))));
  }, kRead);
  audited("PUT", "/api/v1/profiles/{id}", update_profile, kManage);
  audited("DELETE", "/api/v1/profiles/{id}", [](ApiContext& context, HttpRequest& request, const Principal& who) {
    const Uuid id = path_uuid(request, "profile");
    const auto profile = context.gallery.remove(id);
    if (!profile) not_found("profile", id.to_string());
    context.audit.record(AuditActor::of(who, request), "profile.delete", {"profile", id.to_string()}, audit_fields(*profile));
    return no_content();
  }, kManage);
  audited("POST", "/api/v1/profiles/{id}/photos", add_photos, kManage);
  route("GET", "/api/v1/profiles/{id}/sightings", [](ApiContext& context, HttpRequest& request) {
    const Uuid id = path_uuid(request, "profile");
    find_profile(context, id);
    storage::SightingFilter filter;
    filter.profile_id = id;
    return sightings_page(context, filter, request);
  }, kRead);
  router.add("GET", "/api/v1/profiles/{id}/thumbnail", authed_media(api, kRead, [&api](HttpRequest& request, const Principal&) {
               const Uuid id = path_uuid(request, "profile");
               find_profile(api, id);
               return jpeg_file(api.media.path(storage::MediaKind::Thumbnail, id), "profile " + id.to_string());
             }));
  route("POST", "/api/v1/identify", identify, kManage);
}

}  // namespace safelynx::server::detail
