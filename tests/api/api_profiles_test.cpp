// Enrolment and identification through the API of a real server process:
// the six identities of the shared test data, every scene named correctly,
// across a restart and a kill -9; editing, look-alikes, merging, export
// and import.
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "api/api_test_support.hpp"

namespace safelynx::testing {
namespace {

class ProfilesApi : public SharedServerTest<ProfilesApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_testdata() || !have_models()) return;
    server_ = new RunningServer(fresh_dir("profiles"));
    for (const std::string& name : identities()) {
      const HttpResult result = enrol(server_->client(), name, photos_of(name));
      ASSERT_EQ(result.status, 201) << name << ": " << result.body;
      ids_[name] = parse(result)["id"].get<std::string>();
    }
  }
  void SetUp() override {
    SAFELYNX_REQUIRE_TESTDATA_AND_MODELS();
    SharedServerTest::SetUp();
  }
  std::uint64_t profile_total(const std::string& query = "") {
    return parse(client().get("/api/v1/profiles" + query))["total"].get<std::uint64_t>();
  }

  static std::map<std::string, std::string> ids_;
};

std::map<std::string, std::string> ProfilesApi::ids_;

TEST_F(ProfilesApi, EnrolledProfilesHaveTheirPhotosAndAThumbnail) {
  for (const std::string& name : identities()) {
    const json profile = parse(client().get("/api/v1/profiles/" + ids_[name]));
    EXPECT_EQ(profile["name"], name);
    EXPECT_EQ(profile["classification"], "known");
    EXPECT_EQ(profile["embedding_count"].get<std::size_t>(), photos_of(name).size()) << name;
    const HttpResult thumbnail = client().get(profile["thumbnail_url"].get<std::string>());
    ASSERT_EQ(thumbnail.status, 200);
    EXPECT_EQ(thumbnail.header("content-type"), "image/jpeg");
    const cv::Mat image = cv::imdecode(std::vector<std::uint8_t>(thumbnail.body.begin(), thumbnail.body.end()),
                                       cv::IMREAD_COLOR);
    EXPECT_EQ(image.cols, 160);
  }
}

TEST_F(ProfilesApi, IdentifiesEverySceneThenAgainAfterARestart) {
  for (int round = 0; round < 2; ++round) {
    for (const auto& [file, people] : scene_people())
      EXPECT_EQ(identify_names(client(), testdata_dir() / "scenes" / file), people) << file << " round " << round;
    if (round == 0) server_->restart();
  }
}

TEST_F(ProfilesApi, IdentifyAcceptsMultipartAndRefusesBadImages) {
  Multipart form;
  form.file("photo", "kit_test.jpg", "image/jpeg", read_file(testdata_dir() / "scenes/kit_test.jpg"));
  const HttpResult ok = client().request("POST", "/api/v1/identify", form.body(), form.content_type());
  ASSERT_EQ(ok.status, 200) << ok.body;
  const json faces = parse(ok)["faces"];
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_EQ(faces[0]["profile"]["id"], ids_["kit_harington"]);
  EXPECT_LT(faces[0]["distance"].get<double>(), 0.6);
  EXPECT_EQ(faces[0]["box"].size(), 4u);

  const HttpResult corrupt = client().request("POST", "/api/v1/identify", "\xFF\xD8\xFF\xE0garbage", "image/jpeg");
  EXPECT_EQ(corrupt.status, 422);
  EXPECT_EQ(error_code(corrupt), "invalid_photo");
  const HttpResult empty = client().request("POST", "/api/v1/identify", "", "image/jpeg");
  EXPECT_EQ(empty.status, 422);
  const HttpResult text = client().request("POST", "/api/v1/identify", "hello", "text/plain");
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(error_code(text), "unsupported_media_type");
  EXPECT_EQ(client().get("/api/v1/health").status, 200);
}

TEST_F(ProfilesApi, APhotoWithNoFaceOrManyFacesIsNamedAndNothingIsStored) {
  const std::uint64_t before = profile_total();
  const cv::Mat blank(240, 320, CV_8UC3, cv::Scalar(200, 180, 160));
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", blank, jpeg);

  Multipart no_face;
  no_face.field("name", "nobody")
      .file("photo", "rose1.jpg", "image/jpeg", read_file(testdata_dir() / "faces/rose_leslie/rose1.jpg"))
      .file("photo", "wall.jpg", "image/jpeg", std::string(jpeg.begin(), jpeg.end()));
  const HttpResult r1 = client().request("POST", "/api/v1/profiles", no_face.body(), no_face.content_type());
  EXPECT_EQ(r1.status, 422);
  EXPECT_EQ(error_code(r1), "no_face");
  EXPECT_NE(error_message(r1).find("photo 2 (wall.jpg)"), std::string::npos) << r1.body;

  Multipart crowd;
  crowd.field("name", "crowd").file("photo", "kit_rose.jpg", "image/jpeg", read_file(testdata_dir() / "scenes/kit_rose.jpg"));
  const HttpResult r2 = client().request("POST", "/api/v1/profiles", crowd.body(), crowd.content_type());
  EXPECT_EQ(r2.status, 422);
  EXPECT_EQ(error_code(r2), "multiple_faces");
  EXPECT_NE(error_message(r2).find("kit_rose.jpg"), std::string::npos) << r2.body;

  Multipart corrupt;
  corrupt.field("name", "x").file("photo", "broken.jpg", "image/jpeg", "\xFF\xD8\xFF not really a jpeg");
  const HttpResult r3 = client().request("POST", "/api/v1/profiles", corrupt.body(), corrupt.content_type());
  EXPECT_EQ(r3.status, 422);
  EXPECT_EQ(error_code(r3), "invalid_photo");
  EXPECT_NE(error_message(r3).find("broken.jpg"), std::string::npos) << r3.body;

  Multipart none;
  none.field("name", "no photos");
  EXPECT_EQ(client().request("POST", "/api/v1/profiles", none.body(), none.content_type()).status, 422);
  Multipart bad_class;
  bad_class.field("classification", "vip").file("photo", "rose1.jpg", "image/jpeg",
                                                read_file(testdata_dir() / "faces/rose_leslie/rose1.jpg"));
  const HttpResult r4 = client().request("POST", "/api/v1/profiles", bad_class.body(), bad_class.content_type());
  EXPECT_EQ(r4.status, 422);
  EXPECT_NE(error_message(r4).find("classification"), std::string::npos);

  EXPECT_EQ(profile_total(), before);
  // No thumbnail was left behind either.
  std::size_t thumbnails = 0;
  for (const auto& entry : std::filesystem::directory_iterator(server_->data_dir() / "thumbnails")) {
    (void)entry;
    ++thumbnails;
  }
  EXPECT_EQ(thumbnails, before);
}

TEST_F(ProfilesApi, EnrolsFromJsonWithBase64Photos) {
  const std::string photo = read_file(testdata_dir() / "faces/obama/obama2.jpg");
  std::string b64;
  {
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::size_t i = 0;
    for (; i + 2 < photo.size(); i += 3) {
      const unsigned v = (static_cast<unsigned char>(photo[i]) << 16) | (static_cast<unsigned char>(photo[i + 1]) << 8) |
                         static_cast<unsigned char>(photo[i + 2]);
      for (int s = 18; s >= 0; s -= 6) b64 += kAlphabet[(v >> s) & 63];
    }
    if (i < photo.size()) {
      unsigned v = static_cast<unsigned char>(photo[i]) << 16;
      if (i + 1 < photo.size()) v |= static_cast<unsigned char>(photo[i + 1]) << 8;
      b64 += kAlphabet[(v >> 18) & 63];
      b64 += kAlphabet[(v >> 12) & 63];
      b64 += i + 1 < photo.size() ? kAlphabet[(v >> 6) & 63] : '=';
      b64 += '=';
    }
  }
  const HttpResult created = client().post_json(
      "/api/v1/profiles", json{{"name", "json obama"}, {"tags", {"vip", "json"}}, {"photos", {b64}}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const json profile = parse(created);
  EXPECT_EQ(profile["tags"], json({"json", "vip"}));
  EXPECT_EQ(created.header("location"), "/api/v1/profiles/" + profile["id"].get<std::string>());
  EXPECT_EQ(client().del("/api/v1/profiles/" + profile["id"].get<std::string>()).status, 204);

  EXPECT_EQ(client().post_json("/api/v1/profiles", R"({"name": "x", "photos": ["%%%"]})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/profiles", R"({"name": 5, "photos": []})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/profiles", R"({"name": "x", "photos": "abc"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/profiles", R"({"nmae": "x"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/profiles", R"({"name": )").status, 400);
}

TEST_F(ProfilesApi, EditListFilterAndDelete) {
  const std::string id = ids_["rose_leslie"];
  const HttpResult updated = client().put_json(
      "/api/v1/profiles/" + id,
      json{{"name", "Rose Leslie"}, {"classification", "flagged"}, {"tags", {"actor", "got"}}, {"notes", "50% off"}}.dump());
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(parse(updated)["classification"], "flagged");

  auto ids_of = [&](const std::string& query) {
    std::set<std::string> out;
    const HttpResult result = client().get("/api/v1/profiles" + query);
    EXPECT_EQ(result.status, 200) << query << ": " << result.body;
    const json body = parse(result);
    for (const json& item : body["items"]) out.insert(item["id"].get<std::string>());
    return out;
  };
  EXPECT_EQ(ids_of("?classification=flagged"), std::set<std::string>{id});
  EXPECT_EQ(ids_of("?tag=got"), std::set<std::string>{id});
  EXPECT_EQ(ids_of("?tag=go"), std::set<std::string>{});
  EXPECT_EQ(ids_of("?q=rose%20LES"), std::set<std::string>{id});
  EXPECT_EQ(ids_of("?q=50%25"), std::set<std::string>{id});  // % is literal, not a wildcard

  const json page = parse(client().get("/api/v1/profiles?per_page=2&page=2&sort=name"));
  EXPECT_EQ(page["page"], 2);
  EXPECT_EQ(page["per_page"], 2);
  EXPECT_EQ(page["items"].size(), 2u);
  EXPECT_GE(page["total"].get<int>(), 6);

  EXPECT_EQ(client().get("/api/v1/profiles?sort=shoe_size").status, 400);
  EXPECT_EQ(client().get("/api/v1/profiles?per_page=0").status, 400);
  EXPECT_EQ(client().get("/api/v1/profiles?per_page=100000").status, 400);
  EXPECT_EQ(client().get("/api/v1/profiles?classification=vip").status, 400);
  EXPECT_EQ(client().put_json("/api/v1/profiles/" + id, R"({"classification": "vip"})").status, 422);
  EXPECT_EQ(client().put_json("/api/v1/profiles/" + id, R"({"tags": "a,b"})").status, 422);
  EXPECT_EQ(client().put_json("/api/v1/profiles/" + id, R"([1, 2])").status, 400);
  EXPECT_EQ(client().request("PUT", "/api/v1/profiles/" + id, "name=x", "application/x-www-form-urlencoded").status, 415);
  EXPECT_EQ(client().get("/api/v1/profiles/00000000-0000-4000-8000-000000000000").status, 404);
  EXPECT_EQ(client().get("/api/v1/profiles/not-a-uuid").status, 404);

  // Back as it was, for the other tests.
  ASSERT_EQ(client().put_json("/api/v1/profiles/" + id,
                              json{{"name", "rose_leslie"}, {"classification", "known"}, {"tags", json::array()}, {"notes", ""}}.dump())
                .status,
            200);

  // Delete a fresh profile: its thumbnail file goes with it.
  const HttpResult created = enrol(client(), "temporary", {testdata_dir() / "faces/biden/biden2.jpg"});
  ASSERT_EQ(created.status, 201);
  const std::string temp_id = parse(created)["id"];
  const auto thumbnail = server_->data_dir() / "thumbnails" / (temp_id + ".jpg");
  EXPECT_TRUE(std::filesystem::exists(thumbnail));
  EXPECT_EQ(client().del("/api/v1/profiles/" + temp_id).status, 204);
  EXPECT_EQ(client().get("/api/v1/profiles/" + temp_id).status, 404);
  EXPECT_EQ(client().del("/api/v1/profiles/" + temp_id).status, 404);
  EXPECT_FALSE(std::filesystem::exists(thumbnail));
  // Biden is still Biden, not the deleted profile.
  EXPECT_EQ(identify_names(client(), testdata_dir() / "faces/biden/biden2.jpg"), std::multiset<std::string>{"biden"});
}

TEST_F(ProfilesApi, AddPhotosAndMerge) {
  const HttpResult a = enrol(client(), "alex part a", {testdata_dir() / "faces/alex_lacamoire/alex1.jpg"}, "unknown");
  const HttpResult b = enrol(client(), "alex part b", {testdata_dir() / "faces/alex_lacamoire/alex3.jpg"}, "unknown");
  ASSERT_EQ(a.status, 201);
  ASSERT_EQ(b.status, 201);
  const std::string id_a = parse(a)["id"], id_b = parse(b)["id"];

  Multipart more;
  more.file("photo", "alex2.png", "image/png", read_file(testdata_dir() / "faces/alex_lacamoire/alex2.png"));
  const HttpResult added = client().request("POST", "/api/v1/profiles/" + id_a + "/photos", more.body(), more.content_type());
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(parse(added)["profile"]["embedding_count"], 2);

  const HttpResult merged = client().post_json("/api/v1/profiles/" + id_a + "/merge", json{{"source_ids", {id_b}}}.dump());
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(parse(merged)["embedding_count"], 3);
  EXPECT_EQ(client().get("/api/v1/profiles/" + id_b).status, 404);
  EXPECT_EQ(client().post_json("/api/v1/profiles/" + id_a + "/merge", json{{"source_ids", {id_b}}}.dump()).status, 422);
  EXPECT_EQ(client().post_json("/api/v1/profiles/" + id_a + "/merge", json{{"source_ids", {id_a}}}.dump()).status, 422);
  EXPECT_EQ(client().post_json("/api/v1/profiles/" + id_a + "/merge", R"({"source_ids": []})").status, 422);

  // The merged embeddings answer for the profile they moved into. The same
  // photo is also in the fixture's alex profile: two profiles equally near
  // are a close call, so the face is uncertain, with both as candidates.
  const HttpResult who = client().request("POST", "/api/v1/identify",
                                          read_file(testdata_dir() / "faces/alex_lacamoire/alex3.jpg"), "image/jpeg");
  const json faces = parse(who)["faces"];
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_EQ(faces[0]["verdict"], "uncertain") << faces[0].dump();
  EXPECT_TRUE(faces[0]["profile"].is_null());
  ASSERT_EQ(faces[0]["candidates"].size(), 2u) << faces[0].dump();
  const std::set<std::string> candidates{faces[0]["candidates"][0]["profile"]["id"].get<std::string>(),
                                         faces[0]["candidates"][1]["profile"]["id"].get<std::string>()};
  EXPECT_EQ(candidates, (std::set<std::string>{id_a, ids_["alex_lacamoire"]}));
  EXPECT_EQ(client().del("/api/v1/profiles/" + id_a).status, 204);
}

TEST_F(ProfilesApi, ADuplicateIsEnrolledAndSaysWhomItLooksLikeAndSimilarNamesThem) {
  const HttpResult again = enrol(client(), "alex again", {testdata_dir() / "faces/alex_lacamoire/alex1.jpg"});
  ASSERT_EQ(again.status, 201) << again.body;
  const json created = parse(again);
  const std::string id = created["id"];
  ASSERT_GE(created["looks_like"].size(), 1u) << created.dump();
  EXPECT_EQ(created["looks_like"][0]["profile"]["id"], ids_["alex_lacamoire"]);
  EXPECT_EQ(created["looks_like"][0]["profile"]["name"], "alex_lacamoire");
  EXPECT_LT(created["looks_like"][0]["distance"].get<double>(), 0.6);

  const HttpResult similar = client().get("/api/v1/profiles/" + id + "/similar");
  ASSERT_EQ(similar.status, 200) << similar.body;
  const json items = parse(similar)["items"];
  ASSERT_GE(items.size(), 1u);
  EXPECT_EQ(items[0]["profile"]["id"], ids_["alex_lacamoire"]);
  EXPECT_EQ(items[0]["likely_same"], true);
  for (const json& item : items) {
    EXPECT_NE(item["profile"]["id"], id) << "a profile is not similar to itself";
    EXPECT_EQ(item["likely_same"], item["distance"].get<double>() <= 0.6) << item.dump();
  }
  EXPECT_EQ(parse(client().get("/api/v1/profiles/" + id + "/similar?limit=1"))["items"].size(), 1u);
  for (const char* bad : {"0", "21", "abc", "-1", "5x"}) {
    const HttpResult refused = client().get("/api/v1/profiles/" + id + "/similar?limit=" + bad);
    EXPECT_EQ(refused.status, 400) << bad;
    EXPECT_EQ(error_code(refused), "invalid_query") << bad;
  }
  EXPECT_EQ(client().get("/api/v1/profiles/00000000-0000-4000-8000-000000000000/similar").status, 404);
  EXPECT_EQ(server_->anonymous().get("/api/v1/profiles/" + id + "/similar").status, 401);
  EXPECT_EQ(client().del("/api/v1/profiles/" + id).status, 204);
}

TEST_F(ProfilesApi, MergingKeepsFlaggedAndTheDryRunShowsTheConflictsChangingNothing) {
  const auto lin = testdata_dir() / "faces/lin_manuel_miranda/lin1.png";
  const HttpResult a = enrol(client(), "neighbour", {lin}, "known");
  const HttpResult b = enrol(client(), "intruder", {lin}, "flagged");
  ASSERT_EQ(a.status, 201);
  ASSERT_EQ(b.status, 201);
  const std::string id_a = parse(a)["id"], id_b = parse(b)["id"];
  ASSERT_EQ(client().put_json("/api/v1/profiles/" + id_a, R"({"notes": "lives next door", "tags": ["street"]})").status, 200);
  ASSERT_EQ(client().put_json("/api/v1/profiles/" + id_b, R"({"notes": "tried the gate", "tags": ["banned"]})").status, 200);
  const std::string path = "/api/v1/profiles/" + id_a + "/merge";

  const HttpResult preview = client().post_json(path, json{{"source_ids", {id_b}}, {"dry_run", true}}.dump());
  ASSERT_EQ(preview.status, 200) << preview.body;
  const json plan = parse(preview);
  EXPECT_EQ(plan["dry_run"], true);
  EXPECT_EQ(plan["profile"]["id"], id_a);
  EXPECT_EQ(plan["profile"]["classification"], "flagged");
  EXPECT_EQ(plan["profile"]["name"], "neighbour");
  EXPECT_EQ(plan["profile"]["tags"], json({"banned", "street"}));
  EXPECT_TRUE(plan["refused"].empty());
  std::set<std::string> fields;
  for (const json& c : plan["conflicts"]) fields.insert(c["field"].get<std::string>());
  EXPECT_EQ(fields, (std::set<std::string>{"name", "classification", "notes"}));
  EXPECT_EQ(parse(client().get("/api/v1/profiles/" + id_a))["classification"], "known");
  EXPECT_EQ(client().get("/api/v1/profiles/" + id_b).status, 200);
  EXPECT_EQ(client().post_json(path, json{{"source_ids", {id_b}}, {"dry_run", "yes"}}.dump()).status, 422);

  const HttpResult merged = client().post_json(path, json{{"source_ids", {id_b}}}.dump());
  ASSERT_EQ(merged.status, 200) << merged.body;
  const json profile = parse(client().get("/api/v1/profiles/" + id_a));
  EXPECT_EQ(profile["classification"], "flagged");
  EXPECT_EQ(profile["tags"], json({"banned", "street"}));
  EXPECT_EQ(profile["notes"], "lives next door\n\nFrom intruder:\ntried the gate");
  EXPECT_EQ(client().get("/api/v1/profiles/" + id_b).status, 404);
  EXPECT_EQ(client().del("/api/v1/profiles/" + id_a).status, 204);
}

TEST_F(ProfilesApi, ExportImportRoundTripsExactly) {
  const HttpResult exported = client().get("/api/v1/profiles/export");
  ASSERT_EQ(exported.status, 200);
  json first = parse(exported);
  ASSERT_GE(first["profiles"].size(), 6u);

  RunningServer other(fresh_dir("import"));
  const HttpResult imported = other.client().post_json("/api/v1/profiles/import", exported.body);
  ASSERT_EQ(imported.status, 201) << imported.body;
  EXPECT_EQ(parse(imported)["imported"], first["profiles"].size());
  json second = parse(other.client().get("/api/v1/profiles/export"));
  first.erase("exported_at");
  second.erase("exported_at");
  EXPECT_EQ(first, second);
  // The imported gallery identifies as well as the original.
  EXPECT_EQ(identify_names(other.client(), testdata_dir() / "scenes/kit_rose.jpg"),
            (std::multiset<std::string>{"kit_harington", "rose_leslie"}));
  // Importing the same profiles again conflicts and changes nothing.
  const HttpResult again = other.client().post_json("/api/v1/profiles/import", exported.body);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(parse(other.client().get("/api/v1/profiles"))["total"], first["profiles"].size());
  EXPECT_EQ(other.client().post_json("/api/v1/profiles/import", R"({"format": "other"})").status, 422);
}

TEST(ProfilesDurability, AnEnrolmentSurvivesKillNine) {
  SAFELYNX_REQUIRE_TESTDATA_AND_MODELS();
  RunningServer server(fresh_dir("kill9"));
  const HttpResult created = enrol(server.client(), "kit_harington", photos_of("kit_harington"));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = parse(created)["id"];
  server.kill_and_restart();  // SIGKILL right after the 201
  const HttpResult found = server.client().get("/api/v1/profiles/" + id);
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(parse(found)["embedding_count"], 2);
  EXPECT_EQ(identify_names(server.client(), testdata_dir() / "scenes/kit_test.jpg"),
            std::multiset<std::string>{"kit_harington"});
}

}  // namespace
}  // namespace safelynx::testing
