// GET /api/v1/recognition/report on a real server: the gallery's named
// profiles with 2+ photos measured against each other; who may ask.
#include "api/api_test_support.hpp"

namespace safelynx::testing {
namespace {

class RecognitionApi : public SharedServerTest<RecognitionApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_testdata() || !have_models()) return;
    server_ = new RunningServer(fresh_dir("recognition"));
  }
  void SetUp() override {
    SAFELYNX_REQUIRE_TESTDATA_AND_MODELS();
    SharedServerTest::SetUp();
  }
  std::size_t enrol_counted(const std::string& name, const std::string& classification = "known") {
    const HttpResult result = enrol(client(), name, photos_of(name), classification);
    EXPECT_EQ(result.status, 201) << name << ": " << result.body;
    return parse(result).value("embedding_count", std::size_t{0});
  }
};

TEST_F(RecognitionApi, ReportsTheNamedProfilesWithSeveralPhotos) {
  const json empty = parse(client().get("/api/v1/recognition/report"));
  EXPECT_EQ(empty["profiles"]["used"], 0);
  EXPECT_TRUE(empty["rank1"].is_null());
  EXPECT_TRUE(empty["recommended_threshold"].is_null());
  EXPECT_NE(empty["advice"].get<std::string>().find("too few people"), std::string::npos) << empty.dump();

  std::size_t embeddings = 0;
  for (const char* name : {"obama", "biden", "kit_harington"}) {
    const std::size_t n = enrol_counted(name);
    ASSERT_GE(n, 2u) << name;
    embeddings += n;
  }
  ASSERT_EQ(enrol_counted("lin_manuel_miranda"), 1u);  // one photo: nothing to probe with
  (void)enrol_counted("alex_lacamoire", "unknown");     // a stranger's profile is no labelled identity

  const HttpResult result = client().get("/api/v1/recognition/report");
  ASSERT_EQ(result.status, 200) << result.body;
  const json r = parse(result);
  EXPECT_EQ(r["profiles"]["named"], 4);
  EXPECT_EQ(r["profiles"]["used"], 3);
  EXPECT_EQ(r["profiles"]["skipped_few_embeddings"], 1);
  EXPECT_EQ(r["embeddings_used"].get<std::size_t>(), embeddings);
  EXPECT_FALSE(r["limits"]["capped"].get<bool>());
  EXPECT_EQ(r["limits"]["max_embeddings_per_profile"], 20);
  EXPECT_DOUBLE_EQ(r["match_threshold"].get<double>(), 0.5);
  // Different people in the test data are far apart.
  EXPECT_EQ(r["rank1"]["shots"], 1);
  EXPECT_GT(r["rank1"]["probes"].get<int>(), 0);
  EXPECT_DOUBLE_EQ(r["rank1"]["rate"].get<double>(), 1.0) << r.dump();
  const json& v = r["verification"];
  ASSERT_EQ(v["at_far"].size(), 2u);
  EXPECT_DOUBLE_EQ(v["at_far"][0]["far"].get<double>(), 1e-2);
  EXPECT_DOUBLE_EQ(v["at_far"][1]["far"].get<double>(), 1e-3);
  EXPECT_GT(v["at_far"][1]["threshold"].get<double>(), 0.5);
  EXPECT_GT(v["same_pairs"].get<int>(), 0);
  EXPECT_EQ(v["same_pairs"].get<std::size_t>() + v["different_pairs"].get<std::size_t>(),
            embeddings * (embeddings - 1) / 2);
  EXPECT_DOUBLE_EQ(v["at_match_threshold"]["far"].get<double>(), 0.0);
  const json& closest = r["closest_different"]["embeddings"];
  EXPECT_NE(closest["first"]["name"], closest["second"]["name"]);
  EXPECT_EQ(closest["first"]["id"].get<std::string>().size(), 36u);
  EXPECT_GT(closest["distance"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(r["recommended_threshold"].get<double>(), v["at_far"][1]["threshold"].get<double>());
  EXPECT_NE(r["advice"].get<std::string>().find("configured match threshold 0.500"), std::string::npos) << r.dump();
}

TEST_F(RecognitionApi, ViewersMayNotAsk) {
  const HttpResult token = client().post_json("/api/v1/auth/tokens", R"({"name": "wall screen", "role": "viewer"})");
  ASSERT_EQ(token.status, 201) << token.body;
  HttpClient viewer = server_->anonymous();
  viewer.set_token(parse(token)["token"].get<std::string>());
  const HttpResult refused = viewer.get("/api/v1/recognition/report");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(error_message(refused).find("operator"), std::string::npos) << refused.body;
  EXPECT_EQ(server_->anonymous().get("/api/v1/recognition/report").status, 401);
}

}  // namespace
}  // namespace safelynx::testing
