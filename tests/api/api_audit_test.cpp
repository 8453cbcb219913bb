// The audit log through a real server: each kind of change leaves an entry
// naming who, what, which object, from where, with the old and new values;
// GET /api/v1/audit filters and pages; nothing writes or deletes entries
// through the API.
#include "api/api_test_support.hpp"

namespace safelynx::testing {
namespace {

class AuditApi : public SharedServerTest<AuditApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models()) return;
    server_ = new RunningServer(fresh_dir("audit"));
  }

  // The newest entry matching `query` (e.g. "action=profile.update").
  json newest(const std::string& query) {
    const HttpResult result = client().get("/api/v1/audit?per_page=1&" + query);
    EXPECT_EQ(result.status, 200) << result.body;
    const json body = parse(result);
    if (body["items"].empty()) {
      ADD_FAILURE() << "no audit entry for " << query;
      return json::object();
    }
    return body["items"][0];
  }

  // A profile created through the import (no face analysis needed).
  std::string import_profile(const std::string& id, const std::string& name) {
    const json body = {{"format", "safelynx-profiles"},
                       {"version", 1},
                       {"profiles",
                        {{{"id", id},
                          {"name", name},
                          {"classification", "known"},
                          {"created_at", "2025-01-01T00:00:00Z"},
                          {"updated_at", "2025-01-01T00:00:00Z"},
                          {"embeddings", json::array()}}}}};
    const HttpResult result = client().post_json("/api/v1/profiles/import", body.dump());
    EXPECT_EQ(result.status, 201) << result.body;
    return id;
  }
};

void expect_admin_from_loopback(const json& entry) {
  EXPECT_EQ(entry["actor"], "admin");
  EXPECT_EQ(entry["user_id"], 1);
  EXPECT_EQ(entry["address"], "127.0.0.1");
  EXPECT_TRUE(entry["token_id"].is_null());  // a session token, not an API token
}

TEST_F(AuditApi, AProfileEditRecordsWhoWhatAndTheChangedFields) {
  const std::string id = import_profile("0b7e3c1a-1111-4a2b-8c3d-0123456789ab", "Ada");
  const json imported = newest("action=profile.import");
  expect_admin_from_loopback(imported);
  EXPECT_EQ(imported["new_value"]["imported"], 1);

  const HttpResult edited =
      client().put_json("/api/v1/profiles/" + id, R"({"name": "Ada Lovelace", "tags": ["staff"], "notes": ""})");
  ASSERT_EQ(edited.status, 200) << edited.body;
  const json entry = newest("action=profile.update&object_id=" + id);
  expect_admin_from_loopback(entry);
  EXPECT_EQ(entry["object_type"], "profile");
  EXPECT_EQ(entry["object_id"], id);
  // Only what changed: the notes were "" before and after.
  EXPECT_EQ(entry["old_value"], (json{{"name", "Ada"}, {"tags", json::array()}}));
  EXPECT_EQ(entry["new_value"], (json{{"name", "Ada Lovelace"}, {"tags", {"staff"}}}));
  EXPECT_FALSE(entry["time"].get<std::string>().empty());

  const HttpResult removed = client().del("/api/v1/profiles/" + id);
  ASSERT_EQ(removed.status, 204) << removed.body << server_->process().log();
  const json deleted = newest("action=profile.delete&object_id=" + id);
  expect_admin_from_loopback(deleted);
  EXPECT_EQ(deleted["old_value"]["name"], "Ada Lovelace");
  EXPECT_TRUE(deleted["new_value"].is_null());
}

TEST_F(AuditApi, SettingsChangesRecordTheOldAndNewValues) {
  const HttpResult changed =
      client().put_json("/api/v1/settings", R"({"recognition": {"sighting_cooldown_s": 45}, "audit": {"retention_days": 90}})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(parse(changed)["audit"]["retention_days"], 90);
  EXPECT_EQ(parse(changed)["retention"]["unknown_profiles_days"], 30);
  const json entry = newest("action=settings.update");
  expect_admin_from_loopback(entry);
  EXPECT_EQ(entry["object_type"], "settings");
  EXPECT_EQ(entry["old_value"], (json{{"recognition", {{"sighting_cooldown_s", 30}}}, {"audit", {{"retention_days", 365}}}}));
  EXPECT_EQ(entry["new_value"], (json{{"recognition", {{"sighting_cooldown_s", 45}}}, {"audit", {{"retention_days", 90}}}}));
  EXPECT_EQ(client().put_json("/api/v1/settings", R"({"retention": {"unknown_profiles_days": -1}})").status, 422);
}

TEST_F(AuditApi, CameraChangesRecordTheSourceWithoutItsPassword) {
  const HttpResult created = client().post_json(
      "/api/v1/cameras",
      json{{"name", "Gate"}, {"kind", "rtsp"}, {"source", "rtsp://viewer:hunter2@10.0.0.5/stream"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = parse(created)["id"];
  const json entry = newest("action=camera.create&object_id=" + id);
  expect_admin_from_loopback(entry);
  EXPECT_EQ(entry["object_type"], "camera");
  EXPECT_TRUE(entry["old_value"].is_null());
  EXPECT_EQ(entry["new_value"]["name"], "Gate");
  EXPECT_EQ(entry["new_value"]["source"], "rtsp://***@10.0.0.5/stream");

  ASSERT_EQ(client().put_json("/api/v1/cameras/" + id, R"({"location": "north"})").status, 200);
  const json updated = newest("action=camera.update&object_id=" + id);
  EXPECT_EQ(updated["old_value"], (json{{"location", ""}}));
  EXPECT_EQ(updated["new_value"], (json{{"location", "north"}}));
  ASSERT_EQ(client().del("/api/v1/cameras/" + id).status, 204);
  EXPECT_EQ(newest("action=camera.delete&object_id=" + id)["old_value"]["name"], "Gate");

  const json all = parse(client().get("/api/v1/audit?object_type=camera&object_id=" + id));
  EXPECT_EQ(all["total"], 3);
  EXPECT_EQ(all.dump().find("hunter2"), std::string::npos);
}

TEST_F(AuditApi, LoginsFailedLoginsLogoutsAndTokensAreRecorded) {
  HttpClient anonymous = server_->anonymous();
  const HttpResult failed = anonymous.post_json("/api/v1/auth/login", R"({"username": "admin", "password": "wrong-password"})");
  ASSERT_EQ(failed.status, 401);
  const json failure = newest("action=auth.login_failed");
  EXPECT_EQ(failure["actor"], "admin");
  EXPECT_TRUE(failure["user_id"].is_null());
  EXPECT_EQ(failure["address"], "127.0.0.1");
  EXPECT_EQ(failure.dump().find("wrong-password"), std::string::npos);

  const HttpResult login = anonymous.post_json("/api/v1/auth/login", json{{"username", "admin"}, {"password", kAdminPassword}}.dump());
  ASSERT_EQ(login.status, 200);
  const json success = newest("action=auth.login");
  EXPECT_EQ(success["actor"], "admin");
  EXPECT_EQ(success["user_id"], 1);
  EXPECT_EQ(success["object_type"], "user");
  EXPECT_EQ(success["object_id"], "1");
  EXPECT_EQ(success["address"], "127.0.0.1");
  EXPECT_EQ(success.dump().find(kAdminPassword), std::string::npos);

  const HttpResult created = client().post_json("/api/v1/auth/tokens", R"({"name": "backup script"})");
  ASSERT_EQ(created.status, 201);
  const std::string token_id = parse(created)["id"];
  const std::string secret = parse(created)["token"];
  const json token_entry = newest("action=token.create");
  EXPECT_EQ(token_entry["object_id"], token_id);
  EXPECT_EQ(token_entry["new_value"]["name"], "backup script");
  EXPECT_EQ(token_entry.dump().find(secret), std::string::npos);

  // A change made with the API token names the token.
  HttpClient with_token = server_->anonymous();
  with_token.set_token(secret);
  ASSERT_EQ(with_token.put_json("/api/v1/settings", R"({"recognition": {"sighting_cooldown_s": 31}})").status, 200);
  const json by_token = newest("action=settings.update");
  EXPECT_EQ(by_token["actor"], "admin");
  EXPECT_EQ(by_token["token_id"], token_id);
  EXPECT_EQ(by_token["token_name"], "backup script");

  ASSERT_EQ(client().del("/api/v1/auth/tokens/" + token_id).status, 204);
  EXPECT_EQ(newest("action=token.revoke")["object_id"], token_id);

  HttpClient session = server_->anonymous();
  session.set_token(parse(login)["token"]);
  ASSERT_EQ(session.request("POST", "/api/v1/auth/logout").status, 204);
  EXPECT_EQ(newest("action=auth.logout")["actor"], "admin");
}

TEST_F(AuditApi, TheListFiltersAndPagesNewestFirst) {
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(client().put_json("/api/v1/settings", json{{"recognition", {{"sighting_cooldown_s", 100 + i}}}}.dump()).status, 200);
  const json first = parse(client().get("/api/v1/audit?action=settings.update&per_page=2"));
  const json second = parse(client().get("/api/v1/audit?action=settings.update&per_page=2&page=2"));
  ASSERT_EQ(first["items"].size(), 2u);
  ASSERT_EQ(second["items"].size(), 2u);
  EXPECT_GE(first["total"], 5);
  EXPECT_EQ(first["page"], 1);
  EXPECT_EQ(first["per_page"], 2);
  EXPECT_EQ(first["items"][0]["new_value"]["recognition"]["sighting_cooldown_s"], 104);
  EXPECT_EQ(first["items"][1]["new_value"]["recognition"]["sighting_cooldown_s"], 103);
  EXPECT_EQ(second["items"][0]["new_value"]["recognition"]["sighting_cooldown_s"], 102);
  EXPECT_GT(first["items"][0]["id"].get<int>(), first["items"][1]["id"].get<int>());

  // A family of actions, an actor, a time window.
  const json auth = parse(client().get("/api/v1/audit?action=auth.&per_page=200"));
  for (const json& item : auth["items"]) EXPECT_TRUE(item["action"].get<std::string>().starts_with("auth.")) << item;
  EXPECT_GE(auth["total"], 1);
  EXPECT_EQ(parse(client().get("/api/v1/audit?actor=nobody"))["total"], 0);
  EXPECT_EQ(parse(client().get("/api/v1/audit?since=2999-01-01T00:00:00Z"))["total"], 0);
  EXPECT_EQ(parse(client().get("/api/v1/audit?until=2000-01-01T00:00:00Z"))["total"], 0);
  EXPECT_GE(parse(client().get("/api/v1/audit?since=2000-01-01T00:00:00Z&user_id=1"))["total"], 5);

  EXPECT_EQ(client().get("/api/v1/audit?since=yesterday").status, 400);
  EXPECT_EQ(client().get("/api/v1/audit?user_id=admin").status, 400);
  EXPECT_EQ(client().get("/api/v1/audit?per_page=100000").status, 400);
}

TEST_F(AuditApi, TheLogIsReadOnlyThroughTheApiAndNeedsAToken) {
  const std::size_t before = parse(client().get("/api/v1/audit"))["total"];
  EXPECT_EQ(client().del("/api/v1/audit").status, 405);
  EXPECT_EQ(client().post_json("/api/v1/audit", R"({"action": "forged"})").status, 405);
  EXPECT_EQ(client().put_json("/api/v1/audit", R"({})").status, 405);
  EXPECT_EQ(client().del("/api/v1/audit/1").status, 404);
  EXPECT_EQ(server_->anonymous().get("/api/v1/audit").status, 401);
  EXPECT_EQ(parse(client().get("/api/v1/audit"))["total"], before);
}

TEST_F(AuditApi, TheOpenApiDocumentDescribesTheRouteAndTheSettings) {
  const json spec = parse(server_->anonymous().get("/api/v1/openapi.json"));
  ASSERT_TRUE(spec["paths"].contains("/api/v1/audit"));
  EXPECT_TRUE(spec["paths"]["/api/v1/audit"].contains("get"));
  EXPECT_FALSE(spec["paths"]["/api/v1/audit"].contains("delete"));
  const json settings = spec["components"]["schemas"]["Settings"]["properties"];
  EXPECT_TRUE(settings["retention"]["properties"].contains("unknown_profiles_days"));
  EXPECT_TRUE(settings["audit"]["properties"].contains("retention_days"));
}

}  // namespace
}  // namespace safelynx::testing
