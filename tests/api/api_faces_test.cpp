// A profile's face gallery through a real server: the faces listed best
// first with their photos (enrolment keeps each photo's face crop), one face
// removed (the last one with a warning), roles and the audit log; the review
// queue's reviewed flag: edited, filtered, exported and imported.
#include <opencv2/imgcodecs.hpp>

#include "api/api_test_support.hpp"

namespace safelynx::testing {
namespace {

class FacesApi : public SharedServerTest<FacesApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_testdata() || !have_models()) return;
    server_ = new RunningServer(fresh_dir("faces"));
  }
  void SetUp() override {
    SAFELYNX_REQUIRE_TESTDATA_AND_MODELS();
    SharedServerTest::SetUp();
  }
  std::string enrol_photos(const std::string& name, const std::vector<std::filesystem::path>& photos,
                           const std::string& classification = "known") {
    const HttpResult result = enrol(client(), name, photos, classification);
    EXPECT_EQ(result.status, 201) << result.body;
    return parse(result).value("id", "");
  }
  json faces_of(const std::string& id) {
    const HttpResult result = client().get("/api/v1/profiles/" + id + "/faces");
    EXPECT_EQ(result.status, 200) << result.body;
    return parse(result);
  }
  std::string audit_action(const std::string& id) {
    const json page = parse(client().get("/api/v1/audit?per_page=1&object_type=profile&object_id=" + id));
    return page["items"].empty() ? "" : page["items"][0].value("action", "");
  }
};

TEST_F(FacesApi, EnrolledFacesAreListedBestFirstEachWithItsPhoto) {
  std::vector<std::filesystem::path> photos = photos_of("obama");
  const std::filesystem::path later = photos.back();
  photos.pop_back();
  const std::string id = enrol_photos("obama", photos);
  const json faces = faces_of(id);
  ASSERT_EQ(faces["total"].get<std::size_t>(), photos.size());
  EXPECT_EQ(faces["capacity"], 20);
  ASSERT_EQ(faces["items"].size(), faces["total"].get<std::size_t>());
  double previous = 2;
  for (const json& face : faces["items"]) {
    EXPECT_LE(face["quality"].get<double>(), previous);
    previous = face["quality"].get<double>();
    EXPECT_TRUE(face["has_photo"].get<bool>());
    EXPECT_TRUE(face["created_at"].is_string());
    const std::string path = "/api/v1/profiles/" + id + "/faces/" + std::to_string(face["id"].get<std::uint64_t>()) + "/photo";
    const HttpResult photo = client().get(path);
    ASSERT_EQ(photo.status, 200) << path;
    EXPECT_EQ(photo.header("content-type"), "image/jpeg");
    EXPECT_EQ(photo.header("cache-control"), "private, max-age=60");
    const cv::Mat image = cv::imdecode(std::vector<std::uint8_t>(photo.body.begin(), photo.body.end()), cv::IMREAD_COLOR);
    EXPECT_EQ(image.cols, 160);
    // A browser's <img> carries the token in the URL, as for thumbnails.
    EXPECT_EQ(server_->anonymous().get(path).status, 401);
    EXPECT_EQ(server_->anonymous().get(path + "?token=" + server_->token()).status, 200);
  }
  // Photos added later come with their crops too.
  Multipart more;
  more.file("photo", later.filename().string(), "image/jpeg", read_file(later));
  ASSERT_EQ(client().request("POST", "/api/v1/profiles/" + id + "/photos", more.body(), more.content_type()).status, 200);
  const json after = faces_of(id);
  EXPECT_EQ(after["total"], faces["total"].get<std::size_t>() + 1);
  for (const json& face : after["items"]) EXPECT_TRUE(face["has_photo"].get<bool>());
}

TEST_F(FacesApi, FacesOfAnotherProfileOrNoneAreNotFound) {
  const std::string kit = enrol_photos("kit", photos_of("kit_harington"));
  const std::string rose = enrol_photos("rose", photos_of("rose_leslie"));
  const std::string roses_face = std::to_string(faces_of(rose)["items"][0]["id"].get<std::uint64_t>());
  const std::string nobody = "00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(client().get("/api/v1/profiles/" + nobody + "/faces").status, 404);
  EXPECT_EQ(client().get("/api/v1/profiles/not-a-uuid/faces").status, 404);
  for (const std::string& face : {roses_face, std::string("999999"), std::string("x1"), std::string("-1")}) {
    const HttpResult photo = client().get("/api/v1/profiles/" + kit + "/faces/" + face + "/photo");
    EXPECT_EQ(photo.status, 404) << face;
    EXPECT_EQ(error_code(photo), "not_found");
    EXPECT_EQ(client().del("/api/v1/profiles/" + kit + "/faces/" + face).status, 404) << face;
  }
  EXPECT_EQ(client().get("/api/v1/profiles/" + nobody + "/faces/" + roses_face + "/photo").status, 404);
  EXPECT_EQ(client().del("/api/v1/profiles/" + nobody + "/faces/" + roses_face).status, 404);
  EXPECT_EQ(faces_of(rose)["total"], photos_of("rose_leslie").size());  // nothing removed
}

TEST_F(FacesApi, RemovingFacesDeletesThemAndTheirPhotosAndWarnsAtTheLast) {
  const std::vector<std::filesystem::path> photos{testdata_dir() / "faces/alex_lacamoire/alex1.jpg",
                                                  testdata_dir() / "faces/alex_lacamoire/alex3.jpg"};
  const std::string id = enrol_photos("alex", photos);
  const json faces = faces_of(id);
  ASSERT_EQ(faces["total"], 2);
  const std::string first = std::to_string(faces["items"][0]["id"].get<std::uint64_t>());
  const std::string second = std::to_string(faces["items"][1]["id"].get<std::uint64_t>());
  const auto photo_file = server_->data_dir() / "faces" / (first + ".jpg");
  EXPECT_TRUE(std::filesystem::exists(photo_file));

  const HttpResult removed = client().del("/api/v1/profiles/" + id + "/faces/" + first);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(parse(removed), (json{{"remaining", 1}}));
  EXPECT_FALSE(std::filesystem::exists(photo_file));
  EXPECT_EQ(client().get("/api/v1/profiles/" + id + "/faces/" + first + "/photo").status, 404);
  EXPECT_EQ(client().del("/api/v1/profiles/" + id + "/faces/" + first).status, 404);
  EXPECT_EQ(parse(client().get("/api/v1/profiles/" + id))["embedding_count"], 1);
  EXPECT_EQ(audit_action(id), "profile.face_remove");

  const HttpResult last = client().del("/api/v1/profiles/" + id + "/faces/" + second);
  ASSERT_EQ(last.status, 200) << last.body;
  EXPECT_EQ(parse(last)["remaining"], 0);
  EXPECT_EQ(parse(last)["warning"],
            "this profile has no faces left and will not be recognised until a photo is added");
  EXPECT_EQ(faces_of(id)["total"], 0);
  // The profile stays, and is recognised no more.
  EXPECT_EQ(client().get("/api/v1/profiles/" + id).status, 200);
  EXPECT_EQ(identify_names(client(), photos[0]), std::multiset<std::string>{"?"});
  EXPECT_EQ(client().del("/api/v1/profiles/" + id).status, 204);
}

TEST_F(FacesApi, AViewerSeesFacesButCannotRemoveThem) {
  const std::string id = enrol_photos("lin", {testdata_dir() / "faces/lin_manuel_miranda/lin1.png"});
  const std::string face = std::to_string(faces_of(id)["items"][0]["id"].get<std::uint64_t>());
  ASSERT_EQ(client().post_json("/api/v1/users", R"({"username": "vic", "password": "a-long-enough-secret", "role": "viewer"})").status, 201);
  HttpClient viewer = server_->anonymous();
  const HttpResult login = viewer.post_json("/api/v1/auth/login", R"({"username": "vic", "password": "a-long-enough-secret"})");
  ASSERT_EQ(login.status, 200);
  viewer.set_token(parse(login)["token"]);
  EXPECT_EQ(viewer.get("/api/v1/profiles/" + id + "/faces").status, 200);
  EXPECT_EQ(viewer.get("/api/v1/profiles/" + id + "/faces/" + face + "/photo").status, 200);
  const HttpResult refused = viewer.del("/api/v1/profiles/" + id + "/faces/" + face);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(error_code(refused), "forbidden");
  EXPECT_EQ(faces_of(id)["total"], 1);
}

TEST_F(FacesApi, ReviewedIsEditedFilteredExportedAndImported) {
  const std::string id = enrol_photos("", {testdata_dir() / "faces/biden/biden.jpg"}, "unknown");
  const json created = parse(client().get("/api/v1/profiles/" + id));
  EXPECT_EQ(created["reviewed"], false);
  auto queue = [&](const std::string& reviewed) {
    std::set<std::string> ids;
    const HttpResult page = client().get("/api/v1/profiles?classification=unknown&reviewed=" + reviewed);
    EXPECT_EQ(page.status, 200) << page.body;
    const json body = parse(page);
    for (const json& item : body["items"]) ids.insert(item["id"].get<std::string>());
    return ids;
  };
  EXPECT_TRUE(queue("false").contains(id));
  EXPECT_FALSE(queue("true").contains(id));

  const HttpResult updated = client().put_json("/api/v1/profiles/" + id, R"({"reviewed": true})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(parse(updated)["reviewed"], true);
  EXPECT_EQ(parse(updated)["classification"], "unknown");  // nothing else changed
  EXPECT_TRUE(queue("true").contains(id));
  EXPECT_FALSE(queue("false").contains(id));
  EXPECT_EQ(audit_action(id), "profile.update");
  EXPECT_EQ(client().put_json("/api/v1/profiles/" + id, R"({"reviewed": "yes"})").status, 422);
  EXPECT_EQ(client().get("/api/v1/profiles?reviewed=maybe").status, 400);

  // An export carries the flag, not the photos; an import restores it.
  json item;
  const json exported = parse(client().get("/api/v1/profiles/export"));
  for (const json& p : exported["profiles"])
    if (p["id"] == id) item = p;
  ASSERT_EQ(item["reviewed"], true);
  ASSERT_EQ(client().del("/api/v1/profiles/" + id).status, 204);
  const json one = {{"format", "safelynx-profiles"}, {"version", 1}, {"profiles", json::array({item})}};
  ASSERT_EQ(client().post_json("/api/v1/profiles/import", one.dump()).status, 201);
  EXPECT_EQ(parse(client().get("/api/v1/profiles/" + id))["reviewed"], true);
  const json faces = faces_of(id);
  ASSERT_EQ(faces["total"], 1);
  EXPECT_EQ(faces["items"][0]["has_photo"], false);
  const std::string face = std::to_string(faces["items"][0]["id"].get<std::uint64_t>());
  EXPECT_EQ(client().get("/api/v1/profiles/" + id + "/faces/" + face + "/photo").status, 404);
}

TEST_F(FacesApi, AMergedProfileIsReviewedWhenItsTargetIs) {
  const std::string target = enrol_photos("", {testdata_dir() / "faces/kit_harington/kit1.jpg"}, "unknown");
  const std::string source = enrol_photos("", {testdata_dir() / "faces/kit_harington/kit2.jpg"}, "unknown");
  ASSERT_EQ(client().put_json("/api/v1/profiles/" + target, R"({"reviewed": true})").status, 200);
  const HttpResult merged = client().post_json("/api/v1/profiles/" + target + "/merge", json{{"source_ids", {source}}}.dump());
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(parse(merged)["reviewed"], true);
  // The moved face keeps its photo.
  const json faces = faces_of(target);
  ASSERT_EQ(faces["total"], 2);
  for (const json& face : faces["items"]) {
    EXPECT_TRUE(face["has_photo"].get<bool>());
    EXPECT_EQ(client().get("/api/v1/profiles/" + target + "/faces/" + std::to_string(face["id"].get<std::uint64_t>()) + "/photo").status, 200);
  }
}

}  // namespace
}  // namespace safelynx::testing
