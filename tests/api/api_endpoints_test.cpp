// Every endpoint other than enrolment: authentication and tokens, cameras,
// settings, sightings, recordings, analytics, the WebSocket, the OpenAPI
// document, and the answers to malformed requests.
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "api/api_test_support.hpp"
#include "domain/settings.hpp"
#include "support/run_command.hpp"

namespace safelynx::testing {
namespace {

class EndpointsApi : public SharedServerTest<EndpointsApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models()) return;
    // A low pixel limit, to see it answered without a huge test image.
    server_ = new RunningServer(fresh_dir("endpoints"), {{"SAFELYNX_DETECTION_MAX_IMAGE_PIXELS", "3000000"}});
  }
};

TEST_F(EndpointsApi, HealthNeedsNoToken) {
  const HttpResult health = server_->anonymous().get("/api/v1/health");
  ASSERT_EQ(health.status, 200);
  const json body = parse(health);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_FALSE(body["version"].get<std::string>().empty());
}

TEST_F(EndpointsApi, EverythingElseNeedsAValidToken) {
  const std::vector<std::pair<std::string, std::string>> endpoints = {
      {"GET", "/api/v1/profiles"},           {"POST", "/api/v1/profiles"},
      {"GET", "/api/v1/profiles/export"},    {"POST", "/api/v1/profiles/import"},
      {"POST", "/api/v1/identify"},          {"GET", "/api/v1/cameras"},
      {"POST", "/api/v1/cameras"},           {"GET", "/api/v1/sightings"},
      {"GET", "/api/v1/recordings"},         {"GET", "/api/v1/settings"},
      {"PUT", "/api/v1/settings"},           {"GET", "/api/v1/analytics/dashboard"},
      {"GET", "/api/v1/analytics/storage"},  {"GET", "/api/v1/auth/tokens"},
      {"GET", "/api/v1/profiles/00000000-0000-4000-8000-000000000000"},
  };
  HttpClient anonymous = server_->anonymous();
  HttpClient forged = server_->anonymous();
  forged.set_token("slx_forged");
  for (const auto& [method, path] : endpoints) {
    const HttpResult none = anonymous.request(method, path, "{}", "application/json");
    EXPECT_EQ(none.status, 401) << method << " " << path;
    EXPECT_EQ(error_code(none), "unauthorized") << method << " " << path;
    EXPECT_EQ(forged.request(method, path, "{}", "application/json").status, 401) << method << " " << path;
  }
  // ?token= is only for <img>, <video> and WebSocket clients (api_security_test).
  EXPECT_EQ(anonymous.get("/api/v1/profiles?token=" + server_->token()).status, 401);
}

TEST_F(EndpointsApi, LoginRefusesWrongPasswordsAndBadRequests) {
  HttpClient anonymous = server_->anonymous();
  const HttpResult wrong = anonymous.post_json("/api/v1/auth/login", R"({"username": "admin", "password": "nope"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(error_code(wrong), "invalid_credentials");
  EXPECT_EQ(anonymous.post_json("/api/v1/auth/login", R"({"username": "root", "password": "nope"})").status, 401);
  EXPECT_EQ(anonymous.post_json("/api/v1/auth/login", R"({"username": "admin"})").status, 422);
  EXPECT_EQ(anonymous.post_json("/api/v1/auth/login", R"({"username": "admin", "password": 5})").status, 422);
  EXPECT_EQ(anonymous.post_json("/api/v1/auth/login", R"({"username": )").status, 400);
  EXPECT_EQ(anonymous.request("POST", "/api/v1/auth/login", "username=admin", "application/x-www-form-urlencoded").status, 415);
}

TEST_F(EndpointsApi, ApiTokensCanBeCreatedListedUsedAndRevoked) {
  const HttpResult created = client().post_json("/api/v1/auth/tokens", R"({"name": "home assistant"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const json token = parse(created);
  const std::string secret = token["token"];
  EXPECT_TRUE(secret.starts_with("slx_"));

  HttpClient integration = server_->anonymous();
  integration.set_token(secret);
  EXPECT_EQ(integration.get("/api/v1/profiles").status, 200);

  const json listed = parse(client().get("/api/v1/auth/tokens"));
  bool found = false;
  for (const json& item : listed["items"]) {
    found = found || item["id"] == token["id"];
    EXPECT_FALSE(item.contains("token"));  // the secret is shown once only
  }
  EXPECT_TRUE(found);

  EXPECT_EQ(client().del("/api/v1/auth/tokens/" + token["id"].get<std::string>()).status, 204);
  EXPECT_EQ(integration.get("/api/v1/profiles").status, 401);
  EXPECT_EQ(client().del("/api/v1/auth/tokens/" + token["id"].get<std::string>()).status, 404);
  EXPECT_EQ(client().post_json("/api/v1/auth/tokens", R"({"name": ""})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/auth/tokens", R"({"name": "x", "expires_at": "2001-01-01T00:00:00Z"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/auth/tokens", R"({"name": "x", "expires_at": "soon"})").status, 422);
}

TEST_F(EndpointsApi, LogoutEndsTheSessionAndQueryTokensAreOnlyForReading) {
  HttpClient anonymous = server_->anonymous();
  const HttpResult login =
      anonymous.post_json("/api/v1/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
  ASSERT_EQ(login.status, 200);
  const std::string token = parse(login)["token"];
  EXPECT_EQ(anonymous.request("POST", "/api/v1/cameras?token=" + token, R"({"name": "x", "kind": "usb", "source": "0"})",
                              "application/json")
                .status,
            401);
  HttpClient session = server_->anonymous();
  session.set_token(token);
  EXPECT_EQ(session.get("/api/v1/settings").status, 200);
  EXPECT_EQ(session.request("POST", "/api/v1/auth/logout").status, 204);
  EXPECT_EQ(session.get("/api/v1/settings").status, 401);
  EXPECT_EQ(client().get("/api/v1/settings").status, 200);  // other sessions live on
}

TEST_F(EndpointsApi, CamerasCrudAndStreamState) {
  const std::string video = (testdata_dir() / "video/short_hamilton_clip.mp4").string();
  const HttpResult created = client().post_json(
      "/api/v1/cameras",
      json{{"name", "Front door"}, {"kind", "rtsp"}, {"source", "rtsp://10.0.0.5/stream"}, {"location", "porch"},
           {"resolution", {1280, 720}}, {"fps", 15}}
          .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const json camera = parse(created);
  const std::string id = camera["id"];
  EXPECT_EQ(camera["status"], "stopped");
  EXPECT_EQ(camera["resolution"], json({1280, 720}));

  const HttpResult updated = client().put_json("/api/v1/cameras/" + id, R"json({"name": "Front door (new)", "fps": 10})json");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(parse(updated)["name"], "Front door (new)");
  EXPECT_EQ(parse(updated)["location"], "porch");

  const HttpResult started = client().request("POST", "/api/v1/cameras/" + id + "/stream/start");
  ASSERT_EQ(started.status, 200);
  EXPECT_EQ(parse(started)["status"], "connecting");
  EXPECT_EQ(parse(client().get("/api/v1/cameras/" + id))["status"], "connecting");
  EXPECT_EQ(parse(client().request("POST", "/api/v1/cameras/" + id + "/stream/stop"))["status"], "stopped");

  const json list = parse(client().get("/api/v1/cameras"));
  EXPECT_GE(list["total"].get<int>(), 1);

  EXPECT_EQ(client().post_json("/api/v1/cameras", R"({"name": "x", "kind": "webcam", "source": "0"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/cameras", R"({"kind": "usb", "source": "0"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/cameras", R"({"name": "x", "kind": "rtsp", "source": "http://x"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/cameras", R"({"name": "x", "kind": "file", "source": "/no/such.mp4"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/cameras", R"({"name": "x", "kind": "usb", "source": "0", "fps": "fast"})").status, 422);
  EXPECT_EQ(client().post_json("/api/v1/cameras", R"({"name": "x", "kind": "usb", "source": "0", "resolution": [1]})").status, 422);
  if (have_testdata()) {
    const HttpResult file_camera =
        client().post_json("/api/v1/cameras", json{{"name", "clip"}, {"kind", "file"}, {"source", video}}.dump());
    EXPECT_EQ(file_camera.status, 201) << file_camera.body;
  }

  EXPECT_EQ(client().del("/api/v1/cameras/" + id).status, 204);
  EXPECT_EQ(client().get("/api/v1/cameras/" + id).status, 404);
  EXPECT_EQ(client().request("POST", "/api/v1/cameras/" + id + "/stream/start").status, 404);
}

TEST_F(EndpointsApi, SettingsValidateAndPersist) {
  const json defaults = parse(client().get("/api/v1/settings"));
  EXPECT_FLOAT_EQ(defaults["recognition"]["match_threshold"].get<float>(), Settings{}.recognition.match_threshold);

  const HttpResult changed = client().put_json("/api/v1/settings", R"({"recognition": {"sighting_cooldown_s": 90}})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(parse(changed)["recognition"]["sighting_cooldown_s"], 90);
  EXPECT_FLOAT_EQ(parse(changed)["recognition"]["match_threshold"].get<float>(), Settings{}.recognition.match_threshold);

  const HttpResult out_of_range = client().put_json("/api/v1/settings", R"({"detection": {"min_score": 1.5}, "recording": {"max_segment_s": 1}})");
  EXPECT_EQ(out_of_range.status, 422);
  EXPECT_NE(error_message(out_of_range).find("detection.min_score"), std::string::npos);
  EXPECT_NE(error_message(out_of_range).find("recording.max_segment_s"), std::string::npos);
  const HttpResult wrong_type = client().put_json("/api/v1/settings", R"({"storage": {"auto_cleanup": "yes"}})");
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_NE(error_message(wrong_type).find("storage.auto_cleanup"), std::string::npos);
  const HttpResult unknown = client().put_json("/api/v1/settings", R"({"detection": {"min_scor": 0.4}})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_NE(error_message(unknown).find("detection.min_scor"), std::string::npos);
  EXPECT_EQ(client().put_json("/api/v1/settings", R"({"detection": )").status, 400);
  // Nothing of the refused requests was applied, and the change survives a restart.
  server_->restart();
  const json after = parse(client().get("/api/v1/settings"));
  EXPECT_EQ(after["recognition"]["sighting_cooldown_s"], 90);
  EXPECT_FLOAT_EQ(after["detection"]["min_score"].get<float>(), defaults["detection"]["min_score"].get<float>());
}

TEST_F(EndpointsApi, SettingsSchemaDescribesEverySettingServed) {
  EXPECT_EQ(server_->anonymous().get("/api/v1/settings/schema").status, 401);
  const HttpResult schema = client().get("/api/v1/settings/schema");
  ASSERT_EQ(schema.status, 200) << schema.body;
  std::set<std::string> described;
  const json described_settings = parse(schema);
  for (const json& item : described_settings["settings"]) {
    described.insert(item["key"].get<std::string>());
    if (item["key"] == "detection.min_face_size") {
      EXPECT_EQ(item["minimum"], 16);
      EXPECT_EQ(item["maximum"], 4096);
    }
  }
  std::set<std::string> served;
  const json settings = parse(client().get("/api/v1/settings"));
  for (const auto& [section, values] : settings.items())
    for (const auto& [name, value] : values.items()) served.insert(section + "." + name);
  EXPECT_EQ(described, served);
  EXPECT_TRUE(parse(server_->anonymous().get("/api/v1/openapi.json"))["paths"].contains("/api/v1/settings/schema"));
}

TEST_F(EndpointsApi, SightingsAndRecordingsListsAndErrors) {
  for (const std::string path : {"/api/v1/sightings", "/api/v1/recordings"}) {
    const HttpResult list = client().get(path);
    ASSERT_EQ(list.status, 200);
    const json body = parse(list);
    EXPECT_TRUE(body["items"].is_array());
    EXPECT_EQ(body["page"], 1);
    EXPECT_EQ(body["per_page"], 50);
    EXPECT_TRUE(body.contains("total"));
  }
  EXPECT_EQ(client().get("/api/v1/sightings?from=yesterday").status, 400);
  EXPECT_EQ(client().get("/api/v1/sightings?profile_id=123").status, 400);
  EXPECT_EQ(client().get("/api/v1/sightings?classification=vip").status, 400);
  EXPECT_EQ(client().get("/api/v1/sightings?from=2026-01-01T00:00:00Z&to=2026-02-01").status, 200);
  EXPECT_EQ(client().get("/api/v1/sightings/00000000-0000-4000-8000-000000000000/snapshot").status, 404);
  EXPECT_EQ(client().get("/api/v1/recordings/00000000-0000-4000-8000-000000000000").status, 404);
  EXPECT_EQ(client().get("/api/v1/recordings/00000000-0000-4000-8000-000000000000/video").status, 404);
}

TEST_F(EndpointsApi, AnalyticsHaveTheirShapes) {
  const json dashboard = parse(client().get("/api/v1/analytics/dashboard"));
  for (const char* c : {"trusted", "known", "unknown", "flagged"})
    EXPECT_TRUE(dashboard["profiles"]["by_classification"].contains(c)) << c;
  EXPECT_EQ(dashboard["sightings_per_hour"]["counts"].size(), 24u);
  EXPECT_TRUE(dashboard["most_seen"].is_array());
  const json heatmap = parse(client().get("/api/v1/analytics/heatmap"));
  ASSERT_EQ(heatmap["counts"].size(), 7u);
  for (const json& day : heatmap["counts"]) EXPECT_EQ(day.size(), 24u);
  const json timeline = parse(client().get("/api/v1/analytics/timeline?from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z&bucket=day"));
  EXPECT_EQ(timeline["counts"].size(), 2u);
  EXPECT_EQ(client().get("/api/v1/analytics/timeline?bucket=week").status, 400);
  EXPECT_EQ(client().get("/api/v1/analytics/timeline?from=2026-01-03T00:00:00Z&to=2026-01-01T00:00:00Z").status, 400);
  const json storage = parse(client().get("/api/v1/analytics/storage"));
  EXPECT_GT(storage["by_kind"]["database"].get<std::uint64_t>(), 0u);
  EXPECT_GE(storage["used_bytes"].get<std::uint64_t>(), storage["by_kind"]["database"].get<std::uint64_t>());
  EXPECT_GT(storage["quota_bytes"].get<std::uint64_t>(), 0u);
}

TEST_F(EndpointsApi, MalformedRequestsGetClientErrorsAndTheServerStaysUp) {
  EXPECT_EQ(client().get("/api/v1/nothing-here").status, 404);
  EXPECT_EQ(error_code(client().get("/api/v1/nothing-here")), "not_found");
  const HttpResult wrong_method = client().request("PATCH", "/api/v1/settings", "{}", "application/json");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_FALSE(wrong_method.header("allow").empty());
  EXPECT_EQ(client().post_json("/api/v1/cameras", "[]").status, 400);
  EXPECT_EQ(client().post_json("/api/v1/cameras", "\xFF\xFE").status, 400);
  EXPECT_EQ(client().post_json("/api/v1/cameras", R"({"name": ["a"], "kind": "usb", "source": "0"})").status, 422);
  // Over the body limit (32 MiB by default).
  const HttpResult huge = client().request("POST", "/api/v1/identify", std::string(33u << 20, 'x'), "image/jpeg");
  EXPECT_EQ(huge.status, 413);
  // Over the pixel limit (set to 3,000,000 for this server): refused before decoding.
  std::vector<std::uint8_t> big;
  cv::imencode(".jpg", cv::Mat(1500, 2100, CV_8UC3, cv::Scalar(1, 2, 3)), big);
  const HttpResult too_many_pixels =
      client().request("POST", "/api/v1/identify", std::string(big.begin(), big.end()), "image/jpeg");
  EXPECT_EQ(too_many_pixels.status, 413);
  EXPECT_EQ(error_code(too_many_pixels), "image_too_large");
  EXPECT_NE(error_message(too_many_pixels).find("3150000 pixels"), std::string::npos) << too_many_pixels.body;
  // Corrupt multipart.
  EXPECT_EQ(client().request("POST", "/api/v1/profiles", "--x\r\nnonsense", "multipart/form-data; boundary=x").status, 400);
  EXPECT_EQ(client().request("POST", "/api/v1/profiles", "abc", "multipart/form-data").status, 400);
  EXPECT_EQ(server_->anonymous().get("/api/v1/health").status, 200);
  EXPECT_TRUE(server_->process().running());
}

TEST_F(EndpointsApi, WebSocketClientsGetEventsAndNeedAToken) {
  EXPECT_THROW(WebSocketClient(server_->process().port(), "/ws"), boost::system::system_error);
  EXPECT_THROW(WebSocketClient(server_->process().port(), "/ws?token=slx_forged"), boost::system::system_error);
  WebSocketClient events(server_->process().port(), "/ws?token=" + server_->token());
  const HttpResult created = client().post_json("/api/v1/cameras", R"({"name": "ws", "kind": "usb", "source": "0"})");
  ASSERT_EQ(created.status, 201);
  const std::string id = parse(created)["id"];
  ASSERT_EQ(client().request("POST", "/api/v1/cameras/" + id + "/stream/start").status, 200);
  std::optional<std::string> message = events.read(std::chrono::seconds(20));
  ASSERT_TRUE(message.has_value());
  const json event = json::parse(*message);
  EXPECT_EQ(event["type"], "CameraStatusChanged");
  EXPECT_EQ(event["payload"]["camera_id"], id);
  EXPECT_EQ(event["payload"]["status"], "connecting");
  EXPECT_TRUE(event["timestamp"].get<std::string>().ends_with("Z"));
}

TEST_F(EndpointsApi, WebSocketReceivesProfileCreatedAfterAnEnrolment) {
  SAFELYNX_REQUIRE_TESTDATA_AND_MODELS();
  WebSocketClient events(server_->process().port(), "/ws?token=" + server_->token());
  const HttpResult created = enrol(client(), "rose_leslie", {testdata_dir() / "faces/rose_leslie/rose2.jpg"});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = parse(created)["id"];
  for (int i = 0; i < 10; ++i) {
    auto message = events.read(std::chrono::seconds(20));
    ASSERT_TRUE(message.has_value()) << "no ProfileCreated event";
    const json event = json::parse(*message);
    if (event["type"] != "ProfileCreated") continue;
    EXPECT_EQ(event["payload"]["profile"]["id"], id);
    EXPECT_EQ(event["payload"]["profile"]["name"], "rose_leslie");
    return;
  }
  FAIL() << "no ProfileCreated among the first 10 events";
}

TEST_F(EndpointsApi, OpenApiDocumentCoversTheRoutes) {
  const HttpResult document = server_->anonymous().get("/api/v1/openapi.json");
  ASSERT_EQ(document.status, 200);
  const json spec = parse(document);
  EXPECT_TRUE(spec["openapi"].get<std::string>().starts_with("3."));
  for (const char* path : {"/api/v1/health", "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/tokens", "/api/v1/auth/tokens/{id}",
                           "/api/v1/profiles", "/api/v1/profiles/{id}", "/api/v1/profiles/{id}/photos",
                           "/api/v1/profiles/{id}/merge", "/api/v1/profiles/{id}/similar", "/api/v1/profiles/{id}/sightings",
                           "/api/v1/profiles/{id}/thumbnail", "/api/v1/profiles/{id}/faces",
                           "/api/v1/profiles/{id}/faces/{face_id}", "/api/v1/profiles/{id}/faces/{face_id}/photo",
                           "/api/v1/profiles/export", "/api/v1/profiles/import",
                           "/api/v1/identify", "/api/v1/cameras", "/api/v1/cameras/{id}",
                           "/api/v1/cameras/{id}/stream/start", "/api/v1/cameras/{id}/stream/stop",
                           "/api/v1/sightings", "/api/v1/sightings/{id}", "/api/v1/sightings/{id}/snapshot",
                           "/api/v1/recordings", "/api/v1/recordings/{id}", "/api/v1/recordings/{id}/video",
                           "/api/v1/settings", "/api/v1/analytics/dashboard", "/api/v1/analytics/timeline",
                           "/api/v1/analytics/heatmap", "/api/v1/analytics/storage",
                           "/api/v1/recognition/report"})
    EXPECT_TRUE(spec["paths"].contains(path)) << path;
}

TEST(ServeConfiguration, BadConfigurationStopsStartUpNamingTheKey) {
  const auto dir = fresh_dir("config");
  std::ofstream(dir / "bad.toml") << "[server]\nprot = 80\n";
  const CommandResult file = run_command(SAFELYNX_CLI_PATH, {"serve", "--config", (dir / "bad.toml").string(),
                                                             "--data-dir", (dir / "data").string()});
  EXPECT_EQ(file.exit_code, 2);
  EXPECT_NE(file.err.find("server.prot: unknown key"), std::string::npos) << file.err;

  const CommandResult env = run_command(SAFELYNX_CLI_PATH, {"serve", "--data-dir", (dir / "data").string()},
                                        "SAFELYNX_RECOGNITION_MATCH_THRESHOLD=3");
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_NE(env.err.find("recognition.match_threshold"), std::string::npos) << env.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "data" / "safelynx.db"));
}

TEST(ServeConfiguration, AnUnusableDataDirIsNamed) {
  const auto dir = fresh_dir("datadir");
  std::ofstream(dir / "file") << "not a folder";
  const CommandResult result = run_command(SAFELYNX_CLI_PATH, {"serve", "--data-dir", (dir / "file").string(), "--port", "0"},
                                           "SAFELYNX_ADMIN_PASSWORD=long-enough-pw SAFELYNX_MODELS=" +
                                               shell_quote(models_dir().string()));
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_NE(result.err.find((dir / "file").string()), std::string::npos) << result.err;
}

}  // namespace
}  // namespace safelynx::testing
