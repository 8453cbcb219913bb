// POST /api/v1/search/face and feedback on sightings (give, list, undo)
// against a real server. People are enrolled through the API; their
// sightings are written by the storage layer with the enrolled embeddings as
// their faces (as the pipeline writes them), while the server runs.
#include <opencv2/imgcodecs.hpp>

#include "api/api_test_support.hpp"
#include "storage/sqlite_database.hpp"

namespace safelynx::testing {
namespace {

class FeedbackApi : public SharedServerTest<FeedbackApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models()) return;
    const auto data = fresh_dir("feedback") / "data";
    server_ = new RunningServer(data);
    auto& client = server_->client();
    for (const auto& [name, photos] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"obama", {"obama/obama.jpg", "obama/obama2.jpg"}},
             {"biden", {"biden/biden.jpg", "biden/biden2.jpg"}},
             {"kit", {"kit_harington/kit1.jpg", "kit_harington/kit2.jpg"}}}) {
      std::vector<std::filesystem::path> files;
      for (const auto& photo : photos) files.push_back(testdata_dir() / "faces" / photo);
      const HttpResult enrolled = enrol(client, name, files);
      ASSERT_EQ(enrolled.status, 201) << enrolled.body;
      profiles_[name] = Uuid::parse(parse(enrolled)["id"].get<std::string>());
    }
    database_ = storage::open_sqlite_database(data / "safelynx.db").release();
  }
  static void TearDownTestSuite() {
    delete database_;
    database_ = nullptr;
    SharedServerTest<FeedbackApi>::TearDownTestSuite();
  }

  static FaceDescriptor face_of(const std::string& name, std::size_t i) {
    return database_->profiles().embeddings_of(profiles_.at(name)).at(i).descriptor;
  }
  // A sighting `minutes_ago` naming `profile`, with `face` as its face (none: an older sighting).
  static std::string add_sighting(const Uuid& profile, std::optional<FaceDescriptor> face, int minutes_ago) {
    Sighting s;
    s.id = Uuid::random();
    s.profile_id = profile;
    s.camera_id = Uuid::random();
    s.time = now_ms() - std::chrono::minutes(minutes_ago);
    s.box = {10, 20, 100, 120};
    s.detector_score = 0.9f;
    s.descriptor = face;
    s.face_quality = 0.5f;
    database_->sightings().create(s);
    return s.id.to_string();
  }
  // An unknown profile without embeddings, as a wrong attribution to start from.
  static Uuid unknown_profile() {
    Profile p;
    p.id = Uuid::random();
    p.created_at = p.updated_at = now_ms();
    std::vector<StoredEmbedding> none;
    database_->profiles().create(p, none);
    return p.id;
  }
  HttpResult feedback(const std::string& sighting, const json& body) {
    return client().post_json("/api/v1/sightings/" + sighting + "/feedback", body.dump());
  }
  HttpResult search(const std::filesystem::path& photo, const std::string& query = "") {
    return client().request("POST", "/api/v1/search/face" + query, read_file(photo), "image/jpeg");
  }
  std::uint64_t embeddings(const std::string& name) {
    return parse(client().get("/api/v1/profiles/" + profiles_.at(name).to_string()))["embedding_count"];
  }
  std::string id(const std::string& name) { return profiles_.at(name).to_string(); }
  // How many of kit's photos POST /api/v1/identify names as kit.
  std::size_t named_kit() {
    std::size_t named = 0;
    for (const char* photo : {"kit1.jpg", "kit2.jpg"}) {
      const json faces = parse(client().request("POST", "/api/v1/identify",
                                                read_file(testdata_dir() / "faces/kit_harington" / photo),
                                                "image/jpeg"))["faces"];
      for (const json& face : faces) named += !face["profile"].is_null() && face["profile"]["id"] == id("kit");
    }
    return named;
  }

  static inline std::map<std::string, Uuid> profiles_;
  static inline storage::Database* database_ = nullptr;
};

TEST_F(FeedbackApi, SearchByFaceFindsThatPersonsSightingsNewestFirstAndSkipsThoseWithoutAnEmbedding) {
  const std::string older = add_sighting(profiles_["obama"], face_of("obama", 0), 30);
  const std::string newer = add_sighting(profiles_["obama"], face_of("obama", 1), 10);
  add_sighting(profiles_["obama"], std::nullopt, 20);
  const std::string bidens = add_sighting(profiles_["biden"], face_of("biden", 0), 5);
  const std::string other_bidens = add_sighting(profiles_["biden"], face_of("biden", 1), 6);

  const HttpResult found = search(testdata_dir() / "faces/obama/obama3.jpg");
  ASSERT_EQ(found.status, 200) << found.body;
  const json body = parse(found);
  EXPECT_DOUBLE_EQ(body["radius"].get<double>(), 0.5);  // the match threshold
  EXPECT_GE(body["face"]["score"].get<double>(), 0.5);
  EXPECT_EQ(body["face"]["box"].size(), 4u);  // [x, y, width, height]
  EXPECT_EQ(body["total"], 2);
  EXPECT_EQ(body["page"], 1);
  ASSERT_EQ(body["items"].size(), 2u) << body.dump();
  EXPECT_EQ(body["items"][0]["id"], newer);
  EXPECT_EQ(body["items"][1]["id"], older);
  EXPECT_EQ(body["items"][0]["profile"]["name"], "obama");
  EXPECT_LT(body["items"][0]["distance"].get<double>(), 0.5);
  EXPECT_FALSE(body["items"][0].contains("embedding"));
  EXPECT_FALSE(body["items"][0].contains("descriptor"));
  // Every sighting with an embedding was compared, the older one without was not.
  const std::uint64_t searched = body["searched"];
  EXPECT_GE(searched, 4u);

  const json bidens_found = parse(search(testdata_dir() / "faces/biden/biden.jpg", "?per_page=1"));
  EXPECT_EQ(bidens_found["total"], 2);
  ASSERT_EQ(bidens_found["items"].size(), 1u);
  EXPECT_EQ(bidens_found["items"][0]["id"], bidens);
  EXPECT_EQ(parse(search(testdata_dir() / "faces/biden/biden.jpg", "?per_page=1&page=2"))["items"][0]["id"],
            other_bidens);
  // obama3.jpg was not enrolled: no stored face is at distance 0 from it.
  EXPECT_EQ(parse(search(testdata_dir() / "faces/obama/obama3.jpg", "?radius=0"))["total"], 0);
}

TEST_F(FeedbackApi, SearchRefusesAPhotoWithoutAFaceAndABadRadius) {
  const cv::Mat blank(240, 320, CV_8UC3, cv::Scalar(40, 90, 160));
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", blank, jpeg);
  const HttpResult no_face =
      client().request("POST", "/api/v1/search/face", std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
  EXPECT_EQ(no_face.status, 400);
  EXPECT_EQ(error_code(no_face), "no_face");
  EXPECT_NE(error_message(no_face).find("no face"), std::string::npos);
  for (const char* radius : {"?radius=3", "?radius=-0.1", "?radius=abc"}) {
    const HttpResult bad = search(testdata_dir() / "faces/obama/obama3.jpg", radius);
    EXPECT_EQ(bad.status, 400) << radius;
    EXPECT_NE(error_message(bad).find("radius"), std::string::npos) << radius;
  }
}

TEST_F(FeedbackApi, IsMovesTheSightingAddsTheFaceToTheGalleryAndTheUndoTakesBothBack) {
  const Uuid wrong = unknown_profile();
  const std::string sighting = add_sighting(wrong, face_of("obama", 0), 3);
  const std::uint64_t before = embeddings("obama");

  const HttpResult given = feedback(sighting, {{"verdict", "is"}, {"profile_id", id("obama")}});
  ASSERT_EQ(given.status, 201) << given.body;
  const json body = parse(given);
  EXPECT_EQ(body["feedback"]["verdict"], "is");
  EXPECT_EQ(body["feedback"]["sighting_id"], sighting);
  EXPECT_EQ(body["feedback"]["profile_id"], id("obama"));
  EXPECT_EQ(body["feedback"]["previous_profile_id"], wrong.to_string());
  EXPECT_EQ(body["feedback"]["added_to_gallery"], true);
  EXPECT_TRUE(body["feedback"]["undone_at"].is_null());
  EXPECT_TRUE(body["reason"].is_null());
  EXPECT_EQ(body["sighting"]["profile"]["id"], id("obama"));
  EXPECT_EQ(body["sighting"]["corrected_from"], wrong.to_string());
  EXPECT_EQ(embeddings("obama"), before + 1);
  EXPECT_NE(client().get("/metrics").body.find("feedback_total{verdict=\"is\"} "), std::string::npos);
  const json audit = parse(client().get("/api/v1/audit?action=sighting.feedback&object_id=" + sighting));
  EXPECT_EQ(audit["total"], 1);

  const std::string feedback_id = body["feedback"]["id"];
  const HttpResult undone = client().del("/api/v1/feedback/" + feedback_id);
  ASSERT_EQ(undone.status, 200) << undone.body;
  EXPECT_FALSE(parse(undone)["undone_at"].is_null());
  EXPECT_EQ(embeddings("obama"), before);
  EXPECT_EQ(parse(client().get("/api/v1/sightings/" + sighting))["profile"]["id"], wrong.to_string());
  const HttpResult twice = client().del("/api/v1/feedback/" + feedback_id);
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(error_code(twice), "already_undone");
  EXPECT_EQ(parse(client().get("/api/v1/audit?action=feedback.undo&object_id=" + feedback_id))["total"], 1);
}

TEST_F(FeedbackApi, IsWithAnotherPersonsFaceMovesTheSightingButKeepsTheOutlierOutOfTheGallery) {
  const std::string sighting = add_sighting(unknown_profile(), face_of("biden", 0), 3);
  const std::uint64_t before = embeddings("obama");
  const HttpResult given = feedback(sighting, {{"verdict", "is"}, {"profile_id", id("obama")}});
  ASSERT_EQ(given.status, 201) << given.body;
  const json body = parse(given);
  EXPECT_EQ(body["feedback"]["added_to_gallery"], false);
  EXPECT_NE(body["reason"].get<std::string>().find("outlier"), std::string::npos) << body["reason"];
  EXPECT_EQ(body["sighting"]["profile"]["id"], id("obama"));
  EXPECT_EQ(embeddings("obama"), before);
}

TEST_F(FeedbackApi, IsNotStoresANegativeExampleAndGivesTheSightingANewUnknownProfileAllUndoable) {
  const std::string sighting = add_sighting(profiles_["kit"], face_of("kit", 0), 3);
  ASSERT_EQ(named_kit(), 2u);

  const HttpResult given = feedback(sighting, {{"verdict", "is_not"}});
  ASSERT_EQ(given.status, 201) << given.body;
  const json body = parse(given);
  EXPECT_EQ(body["feedback"]["verdict"], "is_not");
  EXPECT_EQ(body["feedback"]["profile_id"], id("kit"));
  EXPECT_EQ(body["feedback"]["previous_profile_id"], id("kit"));
  EXPECT_EQ(body["feedback"]["added_to_gallery"], false);
  const std::string created = body["sighting"]["profile"]["id"];
  EXPECT_NE(created, id("kit"));
  EXPECT_EQ(body["sighting"]["profile"]["classification"], "unknown");
  // The photo the negative example came from is no longer named kit.
  EXPECT_LT(named_kit(), 2u);

  const std::string feedback_id = body["feedback"]["id"];
  const json listed = parse(client().get("/api/v1/feedback?sighting_id=" + sighting));
  ASSERT_EQ(listed["total"], 1);
  EXPECT_EQ(listed["items"][0]["id"], feedback_id);
  EXPECT_GE(parse(client().get("/api/v1/feedback?profile_id=" + id("kit")))["total"].get<int>(), 1);

  ASSERT_EQ(client().del("/api/v1/feedback/" + feedback_id).status, 200);
  EXPECT_EQ(client().get("/api/v1/profiles/" + created).status, 404) << "the unknown profile it made goes";
  EXPECT_EQ(parse(client().get("/api/v1/sightings/" + sighting))["profile"]["id"], id("kit"));
  EXPECT_EQ(named_kit(), 2u);
}

TEST_F(FeedbackApi, FeedbackListsNewestFirstFilteredAndPaged) {
  const std::string sighting = add_sighting(unknown_profile(), face_of("biden", 1), 2);
  const json first = parse(feedback(sighting, {{"verdict", "is"}, {"profile_id", id("biden")}}));
  const json second = parse(feedback(sighting, {{"verdict", "is_not"}, {"profile_id", id("kit")}}));
  const json listed = parse(client().get("/api/v1/feedback?sighting_id=" + sighting + "&per_page=1"));
  EXPECT_EQ(listed["total"], 2);
  EXPECT_EQ(listed["per_page"], 1);
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["id"], second["feedback"]["id"]);
  EXPECT_EQ(parse(client().get("/api/v1/feedback?sighting_id=" + sighting + "&per_page=1&page=2"))["items"][0]["id"],
            first["feedback"]["id"]);
  EXPECT_EQ(client().get("/api/v1/feedback?sighting_id=nonsense").status, 400);
  EXPECT_EQ(parse(client().get("/api/v1/feedback?sighting_id=" + Uuid::random().to_string()))["total"], 0);
  EXPECT_EQ(client().del("/api/v1/feedback/" + second["feedback"]["id"].get<std::string>()).status, 200);
}

TEST_F(FeedbackApi, RefusesBadFeedbackSayingWhatIsWrong) {
  const std::string sighting = add_sighting(profiles_["biden"], face_of("biden", 0), 1);
  const std::string old = add_sighting(profiles_["biden"], std::nullopt, 1);
  const auto expect = [&](const HttpResult& result, int status, const std::string& code, const std::string& words) {
    EXPECT_EQ(result.status, status) << result.body;
    EXPECT_EQ(error_code(result), code) << result.body;
    EXPECT_NE(error_message(result).find(words), std::string::npos) << result.body;
  };
  expect(feedback(sighting, {{"verdict", "maybe"}}), 400, "invalid_feedback", "verdict");
  expect(feedback(sighting, {{"verdict", "is"}}), 400, "invalid_feedback", "profile_id");
  expect(feedback(sighting, {{"verdict", "is"}, {"profile_id", "nope"}}), 400, "invalid_feedback", "UUID");
  expect(client().request("POST", "/api/v1/sightings/" + sighting + "/feedback", "{", "application/json"), 400,
         "malformed_json", "");
  expect(feedback(Uuid::random().to_string(), {{"verdict", "is_not"}}), 404, "not_found", "sighting");
  expect(feedback(sighting, {{"verdict", "is"}, {"profile_id", Uuid::random().to_string()}}), 404, "not_found",
         "profile");
  expect(feedback(old, {{"verdict", "is"}, {"profile_id", id("obama")}}), 409, "no_embedding", "embedding");
  expect(feedback(sighting, {{"verdict", "is"}, {"profile_id", id("biden")}}), 409, "already_named", "already names");
  expect(client().del("/api/v1/feedback/" + Uuid::random().to_string()), 404, "not_found", "feedback");
}

TEST_F(FeedbackApi, AnUndoThatCannotMoveTheSightingBackIsRefused) {
  const Uuid gone = unknown_profile();
  const std::string sighting = add_sighting(gone, face_of("obama", 1), 4);
  const json given = parse(feedback(sighting, {{"verdict", "is"}, {"profile_id", id("obama")}}));
  ASSERT_EQ(client().del("/api/v1/profiles/" + gone.to_string()).status, 204);
  const HttpResult undo = client().del("/api/v1/feedback/" + given["feedback"]["id"].get<std::string>());
  EXPECT_EQ(undo.status, 409);
  EXPECT_EQ(error_code(undo), "profile_gone");
  EXPECT_NE(error_message(undo).find("no longer exists"), std::string::npos);
}

}  // namespace
}  // namespace safelynx::testing
