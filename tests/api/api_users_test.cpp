// Least privilege: roles (viewer, operator, admin) on every route, users
// managed in the API, the password policy, and tokens that never carry more
// rights than whoever made them.
#include "api/api_test_support.hpp"
#include "domain/roles.hpp"
#include "support/run_command.hpp"

namespace safelynx::testing {
namespace {

class UsersApi : public SharedServerTest<UsersApi> {
 protected:
  static void SetUpTestSuite() {
    if (!have_models()) return;
    server_ = new RunningServer(fresh_dir("users"));
  }

  // Creates a user (as admin) and returns their id.
  std::uint64_t create_user(const std::string& name, const std::string& role,
                            const std::string& password = "a-long-enough-secret") {
    const HttpResult created = client().post_json(
        "/api/v1/users", json{{"username", name}, {"password", password}, {"role", role}}.dump());
    EXPECT_EQ(created.status, 201) << created.body;
    return parse(created).value("id", std::uint64_t{0});
  }

  // A session token of `name`.
  std::string login_token(const std::string& name, const std::string& password = "a-long-enough-secret") {
    const HttpResult result = server_->anonymous().post_json(
        "/api/v1/auth/login", json{{"username", name}, {"password", password}}.dump());
    EXPECT_EQ(result.status, 200) << result.body;
    return parse(result).value("token", "");
  }
  // A client logged in as `name`.
  HttpClient login(const std::string& name, const std::string& password = "a-long-enough-secret") {
    return with_token(login_token(name, password));
  }

  // An API token made by `owner`'s client; its secret.
  static std::string api_token(HttpClient& owner, const json& body) {
    const HttpResult created = owner.post_json("/api/v1/auth/tokens", body.dump());
    EXPECT_EQ(created.status, 201) << created.body;
    return parse(created).value("token", "");
  }

  HttpClient with_token(const std::string& secret) {
    HttpClient client = server_->anonymous();
    client.set_token(secret);
    return client;
  }

  static void expect_forbidden(const HttpResult& result, const std::string& needed, const std::string& what) {
    EXPECT_EQ(result.status, 403) << what << ": " << result.body;
    EXPECT_EQ(error_code(result), "forbidden") << what;
    EXPECT_NE(error_message(result).find(needed), std::string::npos) << what << ": " << error_message(result);
  }

  static std::string camera_body(const std::string& name) {
    return json{{"name", name}, {"kind", "rtsp"}, {"source", "rtsp://10.0.0.5/stream"}}.dump();
  }
};

TEST_F(UsersApi, AViewerReadsEverythingButChangesNothing) {
  create_user("vera", "viewer");
  HttpClient viewer = login("vera");
  for (const char* path : {"/api/v1/profiles", "/api/v1/cameras", "/api/v1/sightings", "/api/v1/recordings",
                           "/api/v1/settings", "/api/v1/analytics/dashboard", "/api/v1/analytics/storage",
                           "/api/v1/auth/tokens", "/api/v1/users/me", "/api/v1/feedback", "/metrics"})
    EXPECT_EQ(viewer.get(path).status, 200) << path;
  const json me = parse(viewer.get("/api/v1/users/me"));
  EXPECT_EQ(me["username"], "vera");
  EXPECT_EQ(me["role"], "viewer");
  EXPECT_EQ(me["effective_role"], "viewer");

  const std::vector<std::pair<std::string, std::string>> operator_only = {
      {"POST", "/api/v1/profiles"},        {"POST", "/api/v1/profiles/import"}, {"GET", "/api/v1/profiles/export"},
      {"POST", "/api/v1/identify"},        {"POST", "/api/v1/cameras"},
      {"DELETE", "/api/v1/cameras/00000000-0000-4000-8000-000000000000"},
      {"PUT", "/api/v1/profiles/00000000-0000-4000-8000-000000000000"},
      {"DELETE", "/api/v1/profiles/00000000-0000-4000-8000-000000000000/faces/1"},
      {"POST", "/api/v1/sightings/00000000-0000-4000-8000-000000000000/feedback"},
      {"DELETE", "/api/v1/feedback/00000000-0000-4000-8000-000000000000"},
  };
  for (const auto& [method, path] : operator_only)
    expect_forbidden(viewer.request(method, path, "{}", "application/json"), "operator", method + " " + path);
  expect_forbidden(viewer.put_json("/api/v1/settings", R"({"detection": {"min_score": 0.6}})"), "admin", "PUT settings");
  expect_forbidden(viewer.get("/api/v1/users"), "admin", "GET users");
  EXPECT_EQ(client().get("/api/v1/settings").status, 200);
}

TEST_F(UsersApi, AnOperatorManagesCamerasButNotSettingsOrUsers) {
  create_user("otto", "operator");
  HttpClient op = login("otto");
  const HttpResult camera = op.post_json("/api/v1/cameras", camera_body("Otto's door"));
  ASSERT_EQ(camera.status, 201) << camera.body;
  const std::string id = parse(camera)["id"];
  EXPECT_EQ(op.put_json("/api/v1/cameras/" + id, R"({"location": "porch"})").status, 200);
  EXPECT_EQ(op.del("/api/v1/cameras/" + id).status, 204);

  expect_forbidden(op.put_json("/api/v1/settings", R"({"detection": {"min_score": 0.6}})"), "admin", "PUT settings");
  expect_forbidden(op.post_json("/api/v1/users", R"({"username": "x", "password": "a-long-enough-secret"})"), "admin",
                   "POST users");
  expect_forbidden(op.get("/api/v1/users/1/tokens"), "admin", "GET someone's tokens");
  EXPECT_EQ(op.get("/api/v1/profiles/export").status, 200);
}

TEST_F(UsersApi, AdminsManageUsersWithoutSeeingPasswordHashes) {
  const std::uint64_t id = create_user("ada", "operator");
  const json listed = parse(client().get("/api/v1/users"));
  bool found = false;
  for (const json& user : listed["items"]) {
    EXPECT_FALSE(user.contains("password_hash")) << user.dump();
    EXPECT_FALSE(user.contains("password")) << user.dump();
    if (user["username"] == "ada") {
      found = true;
      EXPECT_EQ(user["role"], "operator");
      EXPECT_TRUE(user.contains("created_at"));
    }
  }
  EXPECT_TRUE(found) << listed.dump();
  const std::string path = "/api/v1/users/" + std::to_string(id);
  EXPECT_EQ(parse(client().get(path))["username"], "ada");

  const HttpResult renamed = client().put_json(path, R"({"username": "ada.l", "role": "viewer"})");
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(parse(renamed)["role"], "viewer");
  EXPECT_EQ(parse(renamed)["username"], "ada.l");

  const HttpResult taken = client().post_json("/api/v1/users", R"({"username": "ada.l", "password": "another-long-one"})");
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(error_code(taken), "username_taken");
  const HttpResult bad_role =
      client().post_json("/api/v1/users", R"({"username": "bob", "password": "another-long-one", "role": "root"})");
  EXPECT_EQ(bad_role.status, 422);
  EXPECT_NE(error_message(bad_role).find("role"), std::string::npos) << bad_role.body;
  const HttpResult bad_name =
      client().post_json("/api/v1/users", json{{"username", "bo\u202eb"}, {"password", "another-long-one"}}.dump());
  EXPECT_EQ(bad_name.status, 422);
  EXPECT_NE(error_message(bad_name).find("username"), std::string::npos) << bad_name.body;
  // Without a role, a new user is a viewer (least privilege).
  const HttpResult plain = client().post_json("/api/v1/users", R"({"username": "pat", "password": "another-long-one"})");
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_EQ(parse(plain)["role"], "viewer");

  EXPECT_EQ(client().get("/api/v1/users/999999").status, 404);
  EXPECT_EQ(client().get("/api/v1/users/abc").status, 404);
}

TEST_F(UsersApi, ThePasswordPolicyRefusesShortAndCommonPasswords) {
  const auto refused = [&](const std::string& password, const std::string& why) {
    const HttpResult result =
        client().post_json("/api/v1/users", json{{"username", "polly"}, {"password", password}}.dump());
    EXPECT_EQ(result.status, 422) << why << ": " << result.body;
    EXPECT_EQ(error_code(result), "invalid_field") << why;
    EXPECT_TRUE(error_message(result).starts_with("password:")) << why << ": " << error_message(result);
  };
  refused("short-pw", "8 characters");
  refused("ÄÖÜäöüßéè", "9 characters in 18 bytes");
  refused("Password123", "common, other case");
  refused("qwertyuiop", "common");
  refused("POLLY", "short");
  EXPECT_EQ(client().post_json("/api/v1/users", json{{"username", "pollypolly"}, {"password", "PollyPolly"}}.dump()).status, 422);
  EXPECT_EQ(client().post_json("/api/v1/users", json{{"username", "polly"}, {"password", "ÄÖÜäöüßéèx"}}.dump()).status, 201);

  const std::uint64_t id = create_user("quinn", "viewer");
  const HttpResult reset = client().put_json("/api/v1/users/" + std::to_string(id), R"({"password": "letmein123"})");
  EXPECT_EQ(reset.status, 422) << reset.body;
  EXPECT_TRUE(error_message(reset).starts_with("password:")) << reset.body;
}

TEST_F(UsersApi, ChangingOnesOwnPasswordNeedsTheCurrentOne) {
  create_user("carol", "viewer", "carols-first-secret");
  HttpClient carol = login("carol", "carols-first-secret");
  const HttpResult wrong = carol.put_json("/api/v1/users/me/password",
                                          R"({"current_password": "not-my-password", "new_password": "carols-second-secret"})");
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  EXPECT_EQ(error_code(wrong), "wrong_password");
  const HttpResult weak = carol.put_json("/api/v1/users/me/password",
                                         R"({"current_password": "carols-first-secret", "new_password": "short"})");
  EXPECT_EQ(weak.status, 422);
  EXPECT_TRUE(error_message(weak).starts_with("new_password:")) << weak.body;
  const HttpResult missing = carol.put_json("/api/v1/users/me/password", R"({"new_password": "carols-second-secret"})");
  EXPECT_EQ(missing.status, 422);

  const HttpResult changed = carol.put_json(
      "/api/v1/users/me/password", R"({"current_password": "carols-first-secret", "new_password": "carols-second-secret"})");
  EXPECT_EQ(changed.status, 204) << changed.body;
  HttpClient anonymous = server_->anonymous();
  EXPECT_EQ(anonymous.post_json("/api/v1/auth/login", R"({"username": "carol", "password": "carols-first-secret"})").status, 401);
  login("carol", "carols-second-secret");
  EXPECT_EQ(carol.get("/api/v1/users/me").status, 200);  // her own session goes on
}

TEST_F(UsersApi, AnAdminResetEndsTheUsersSessions) {
  const std::uint64_t id = create_user("dave", "viewer", "daves-own-secret");
  HttpClient dave = login("dave", "daves-own-secret");
  EXPECT_EQ(dave.get("/api/v1/profiles").status, 200);
  const HttpResult reset = client().put_json("/api/v1/users/" + std::to_string(id), R"({"password": "reset-by-the-admin"})");
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_FALSE(parse(reset).contains("password"));
  EXPECT_EQ(dave.get("/api/v1/profiles").status, 401);
  login("dave", "reset-by-the-admin");
}

TEST_F(UsersApi, ATokenCannotMintMoreRightsThanItsOwn) {
  create_user("olga", "operator");
  HttpClient olga = login("olga");
  const std::string viewer_secret = api_token(olga, {{"name", "dashboard"}, {"role", "viewer"}});
  HttpClient viewer_token = with_token(viewer_secret);
  EXPECT_EQ(viewer_token.get("/api/v1/cameras").status, 200);
  // Olga may create cameras; her viewer token may not.
  expect_forbidden(viewer_token.post_json("/api/v1/cameras", camera_body("x")), "operator", "viewer token");
  expect_forbidden(viewer_token.post_json("/api/v1/auth/tokens", R"({"name": "escalate", "role": "operator"})"), "viewer",
                   "a viewer token minting an operator token");
  // Without a role it gets its own, never more.
  const HttpResult minted = viewer_token.post_json("/api/v1/auth/tokens", R"({"name": "child"})");
  ASSERT_EQ(minted.status, 201) << minted.body;
  EXPECT_EQ(parse(minted)["role"], "viewer");
  expect_forbidden(olga.post_json("/api/v1/auth/tokens", R"({"name": "too much", "role": "admin"})"), "operator",
                   "an operator minting an admin token");
  EXPECT_EQ(olga.post_json("/api/v1/auth/tokens", R"({"name": "typo", "role": "owner"})").status, 422);

  const HttpResult own = olga.post_json("/api/v1/auth/tokens", R"({"name": "ci"})");
  ASSERT_EQ(own.status, 201);
  EXPECT_EQ(parse(own)["role"], "operator");
  EXPECT_EQ(parse(with_token(parse(own)["token"]).get("/api/v1/users/me"))["effective_role"], "operator");
}

TEST_F(UsersApi, AnApiTokenCannotMintATokenThatOutlivesIt) {
  create_user("paul", "operator");
  HttpClient paul = login("paul");
  const std::string parent_expiry = "2099-01-01T00:00:00.000Z";
  HttpClient parent = with_token(api_token(paul, {{"name", "parent"}, {"expires_at", parent_expiry}}));

  const HttpResult later = parent.post_json("/api/v1/auth/tokens", R"({"name": "later", "expires_at": "2099-06-01T00:00:00Z"})");
  EXPECT_EQ(later.status, 422) << later.body;
  EXPECT_NE(later.body.find("expires_at"), std::string::npos) << later.body;
  // Asking for nothing gets the parent's expiry, not "never".
  const HttpResult unasked = parent.post_json("/api/v1/auth/tokens", R"({"name": "unasked"})");
  ASSERT_EQ(unasked.status, 201) << unasked.body;
  EXPECT_EQ(parse(unasked)["expires_at"], parent_expiry);
  const HttpResult sooner = parent.post_json("/api/v1/auth/tokens", R"({"name": "sooner", "expires_at": "2098-01-01T00:00:00Z"})");
  ASSERT_EQ(sooner.status, 201) << sooner.body;
  EXPECT_EQ(parse(sooner)["expires_at"], "2098-01-01T00:00:00.000Z");

  // A login session makes the long-lived tokens people hand to integrations.
  const HttpResult from_session = paul.post_json("/api/v1/auth/tokens", R"({"name": "integration"})");
  ASSERT_EQ(from_session.status, 201) << from_session.body;
  EXPECT_TRUE(parse(from_session)["expires_at"].is_null()) << from_session.body;
}

TEST_F(UsersApi, DemotingAUserLowersTheRightsOfTheirTokens) {
  const std::uint64_t id = create_user("eve", "operator");
  HttpClient eve = login("eve");
  HttpClient token = with_token(api_token(eve, {{"name", "automation"}}));
  const HttpResult before = token.post_json("/api/v1/cameras", camera_body("Eve's camera"));
  ASSERT_EQ(before.status, 201) << before.body;

  ASSERT_EQ(client().put_json("/api/v1/users/" + std::to_string(id), R"({"role": "viewer"})").status, 200);
  expect_forbidden(token.post_json("/api/v1/cameras", camera_body("again")), "operator", "demoted token");
  expect_forbidden(eve.post_json("/api/v1/cameras", camera_body("again")), "operator", "demoted session");
  EXPECT_EQ(token.get("/api/v1/cameras").status, 200);
  EXPECT_EQ(parse(token.get("/api/v1/users/me"))["effective_role"], "viewer");
}

TEST_F(UsersApi, TheLastAdminCannotBeDeletedOrDemoted) {
  const json me = parse(client().get("/api/v1/users/me"));
  const std::string self = "/api/v1/users/" + std::to_string(me["id"].get<std::uint64_t>());
  // Another admin first: then the first may be demoted, and back.
  const std::uint64_t other = create_user("frank", "admin");
  const std::string other_path = "/api/v1/users/" + std::to_string(other);
  HttpClient frank = login("frank");
  ASSERT_EQ(frank.put_json(self, R"({"role": "operator"})").status, 200);
  ASSERT_EQ(frank.put_json(self, R"({"role": "admin"})").status, 200);
  // Leave the suite's admin as the only one (other tests may have made more).
  const json users = parse(client().get("/api/v1/users"));  // kept: the loop must not walk a temporary
  for (const json& user : users["items"]) {
    if (user["role"] != "admin" || user["id"] == me["id"]) continue;
    const std::string path = "/api/v1/users/" + std::to_string(user["id"].get<std::uint64_t>());
    ASSERT_EQ(client().put_json(path, R"({"role": "viewer"})").status, 200);
  }

  const HttpResult demote = client().put_json(self, R"({"role": "operator"})");
  EXPECT_EQ(demote.status, 409) << demote.body;
  EXPECT_EQ(error_code(demote), "last_admin");
  const HttpResult remove = client().del(self);
  EXPECT_EQ(remove.status, 409) << remove.body;
  EXPECT_EQ(error_code(remove), "last_admin");
  EXPECT_EQ(parse(client().get("/api/v1/users/me"))["role"], "admin");
  EXPECT_EQ(client().del(other_path).status, 204);
}

TEST_F(UsersApi, ADeletedUsersTokensStopWorking) {
  const std::uint64_t id = create_user("gina", "operator");
  HttpClient gina = login("gina");
  HttpClient token = with_token(api_token(gina, {{"name", "script"}}));
  EXPECT_EQ(token.get("/api/v1/profiles").status, 200);
  ASSERT_EQ(client().del("/api/v1/users/" + std::to_string(id)).status, 204);
  EXPECT_EQ(gina.get("/api/v1/profiles").status, 401);
  EXPECT_EQ(token.get("/api/v1/profiles").status, 401);
  EXPECT_EQ(client().get("/api/v1/users/" + std::to_string(id)).status, 404);
  EXPECT_EQ(client().del("/api/v1/users/" + std::to_string(id)).status, 404);
  EXPECT_EQ(server_->anonymous().post_json("/api/v1/auth/login", R"({"username": "gina", "password": "a-long-enough-secret"})").status, 401);
}

TEST_F(UsersApi, AdminsListAndRevokeAnyonesTokens) {
  const std::uint64_t id = create_user("hugo", "operator");
  HttpClient hugo = login("hugo");
  const std::string secret = api_token(hugo, {{"name", "nas backup"}, {"role", "viewer"}});
  const std::string tokens = "/api/v1/users/" + std::to_string(id) + "/tokens";
  const json listed = parse(client().get(tokens));
  ASSERT_EQ(listed["items"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["items"][0]["name"], "nas backup");
  EXPECT_EQ(listed["items"][0]["role"], "viewer");
  EXPECT_FALSE(listed["items"][0].contains("token"));
  const std::string token_id = listed["items"][0]["id"];
  // Hugo cannot reach the admin's view of his own tokens.
  expect_forbidden(hugo.get(tokens), "admin", "operator listing via the admin route");
  EXPECT_EQ(client().del(tokens + "/" + token_id).status, 204);
  EXPECT_EQ(with_token(secret).get("/api/v1/profiles").status, 401);
  EXPECT_EQ(client().del(tokens + "/" + token_id).status, 404);
  EXPECT_EQ(client().del(tokens + "/not-a-uuid").status, 404);
}

TEST_F(UsersApi, TheBrowserCameraSocketNeedsAnOperator) {
  const HttpResult camera = client().post_json("/api/v1/cameras", json{{"name", "laptop"}, {"kind", "browser"}}.dump());
  ASSERT_EQ(camera.status, 201) << camera.body;
  const std::string id = parse(camera)["id"];
  ASSERT_EQ(client().request("POST", "/api/v1/cameras/" + id + "/stream/start").status, 200);
  create_user("ivan", "viewer");
  const std::string ivan = login_token("ivan");
  const std::string path = "/api/v1/cameras/" + id + "/browser?token=";
  EXPECT_THROW(WebSocketClient(server_->process().port(), path + ivan), boost::system::system_error);
  EXPECT_NO_THROW(WebSocketClient(server_->process().port(), path + server_->token()));
  // The event stream is reading: a viewer may follow it.
  EXPECT_NO_THROW(WebSocketClient(server_->process().port(), "/ws?token=" + ivan));

  // A socket holds the rights it was opened with: demoting its user closes
  // it (they may connect again, with what the lower role allows).
  const std::uint64_t judy = create_user("judy", "operator");
  const std::string judys = login_token("judy");
  WebSocketClient feeding(server_->process().port(), path + judys);
  WebSocketClient following(server_->process().port(), "/ws?token=" + server_->token());
  ASSERT_EQ(client().put_json("/api/v1/users/" + std::to_string(judy), R"({"role": "viewer"})").status, 200);
  EXPECT_EQ(feeding.read(std::chrono::seconds(10)), std::nullopt);
  EXPECT_EQ(feeding.close_reason().code, 1008);
  EXPECT_EQ(feeding.close_reason().reason, "the user's role was lowered; connect again");
  EXPECT_THROW(WebSocketClient(server_->process().port(), path + judys), boost::system::system_error);
  EXPECT_NO_THROW(WebSocketClient(server_->process().port(), "/ws?token=" + judys));
  EXPECT_EQ(client().request("POST", "/api/v1/cameras/" + id + "/stream/stop").status, 200);
  EXPECT_NE(following.read(std::chrono::seconds(10)), std::nullopt) << "another user's socket stays open";
}

TEST_F(UsersApi, TheOpenApiDocumentNamesTheRoleOfEveryOperation) {
  const json spec = parse(server_->anonymous().get("/api/v1/openapi.json"));
  for (const char* path : {"/api/v1/users", "/api/v1/users/me", "/api/v1/users/me/password", "/api/v1/users/{id}",
                           "/api/v1/users/{id}/tokens", "/api/v1/users/{id}/tokens/{token_id}"})
    EXPECT_TRUE(spec["paths"].contains(path)) << path;
  const std::set<std::string> open = {"/api/v1/health", "/api/v1/openapi.json", "/api/v1/auth/login"};
  for (const auto& [path, item] : spec["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters" || open.contains(path)) continue;
      ASSERT_TRUE(operation.contains("x-safelynx-role")) << method << " " << path;
      EXPECT_TRUE(parse_role(operation["x-safelynx-role"].get<std::string>())) << method << " " << path;
    }
  }
  EXPECT_EQ(spec["paths"]["/api/v1/settings"]["put"]["x-safelynx-role"], "admin");
  EXPECT_EQ(spec["paths"]["/api/v1/cameras"]["post"]["x-safelynx-role"], "operator");
  EXPECT_EQ(spec["paths"]["/api/v1/cameras"]["get"]["x-safelynx-role"], "viewer");
  EXPECT_EQ(spec["paths"]["/api/v1/recordings/{id}"]["delete"]["x-safelynx-role"], "operator");
  EXPECT_EQ(spec["paths"]["/api/v1/profiles/{id}/similar"]["get"]["x-safelynx-role"], "viewer");
  EXPECT_EQ(spec["paths"]["/api/v1/profiles/{id}/merge"]["post"]["x-safelynx-role"], "operator");
}

// SAFELYNX_ADMIN_PASSWORD follows the password policy, but only when it is
// used: on a data dir that has users it is ignored (and the log says so).
TEST(AdminPassword, IsCheckedOnlyWhenTheFirstAdminIsCreated) {
  if (!have_models()) GTEST_SKIP() << "models not found at " << models_dir();
  const auto dir = fresh_dir("admin-password");
  const std::string models = "SAFELYNX_MODELS=" + shell_quote(models_dir().string());
  const CommandResult weak = run_command(SAFELYNX_CLI_PATH, {"serve", "--data-dir", (dir / "data").string(), "--port", "0"},
                                         "SAFELYNX_ADMIN_PASSWORD=password123 " + models + " timeout 120");
  EXPECT_EQ(weak.exit_code, 2) << weak.err;
  EXPECT_NE(weak.err.find("SAFELYNX_ADMIN_PASSWORD is one of the most common passwords"), std::string::npos) << weak.err;

  { RunningServer first(dir / "data"); }  // creates the admin with the suite's password
  RunningServer again(dir / "data", {{"SAFELYNX_ADMIN_PASSWORD", "short"}});
  EXPECT_EQ(again.client().get("/api/v1/users/me").status, 200);
  EXPECT_NE(again.process().log().find("SAFELYNX_ADMIN_PASSWORD ignored"), std::string::npos) << again.process().log();
}

}  // namespace
}  // namespace safelynx::testing
