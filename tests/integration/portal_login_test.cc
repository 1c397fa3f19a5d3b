// The portal served by the control plane: its files with strict headers (PortalStaticTest)
// and its OpenID Connect sign-in, authorization code + PKCE (PortalLoginTest), against a
// real API server over TLS on 127.0.0.1.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/control_plane_harness.h"
#include "support/hook_gate.h"
#include "support/oauth_browser_harness.h"

namespace warden::testing {
namespace {

using nlohmann::json;

const std::string kIndex = "<!doctype html><title>portal index</title>";
const std::string kAppJs = "console.log('app-123');";

void expectSecurityHeaders(const HttpResponse& res, const std::string& what) {
  EXPECT_EQ(res.header("content-security-policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'")
      << what;
  EXPECT_EQ(res.header("x-content-type-options"), "nosniff") << what;
  EXPECT_EQ(res.header("referrer-policy"), "no-referrer") << what;
  EXPECT_EQ(res.header("x-frame-options"), "DENY") << what;
  EXPECT_EQ(res.header("cross-origin-opener-policy"), "same-origin") << what;
  EXPECT_EQ(res.header("permissions-policy"), "camera=(), microphone=(), geolocation=()") << what;
  EXPECT_EQ(res.header("strict-transport-security"), "max-age=31536000") << what;
}


class PortalFixture : public ::testing::Test {
 protected:
  PortalFixture() : cp(std::vector<std::string>{}) {
    namespace fs = std::filesystem;
    portal_dir = cp.dir.file("portal");
    fs::create_directories(portal_dir + "/assets");
    writeFile(portal_dir, "index.html", kIndex);
    writeFile(portal_dir + "/assets", "app-123.js", kAppJs);
    writeFile(portal_dir + "/assets", "app-123.css", "body{}");
    // Outside the portal directory: what a traversal would reach.
    writeFile(cp.dir.path(), "x", "SECRET-OUTSIDE");
    fs::create_symlink(cp.dir.file("x"), portal_dir + "/leak.txt");
    cp.stop();
    cp.portal = controlplane::PortalConfig{portal_dir, {}, {}};
    cp.start();
  }

  HttpResponse get(const std::string& target, const std::string& headers = "") {
    return cp.call(std::nullopt, "GET", target, "", headers);
  }

  ControlPlane cp;
  std::string portal_dir;
};

// --- static files ---------------------------------------------------------------------------

class PortalStaticTest : public PortalFixture {};

TEST_F(PortalStaticTest, IndexAtRootAndForAppRoutes) {
  for (const std::string target :
       {"/", "/agents/x", "/agents/budget-backend/policy", "/index.html"}) {
    auto res = get(target);
    ASSERT_EQ(res.status, 200) << target << ": " << res.body;
    EXPECT_EQ(res.body, kIndex) << target;
    EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8") << target;
    EXPECT_EQ(res.header("cache-control"), "no-cache") << target;
    expectSecurityHeaders(res, target);
  }
  // A missing file with an extension is not an app route.
  auto missing = get("/assets/missing-1.js");
  EXPECT_EQ(missing.status, 404);
  expectSecurityHeaders(missing, "404");
  // The API keeps its own answers.
  EXPECT_EQ(get("/api/v1/nonsense").status, 401);
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/api/v1/openapi.json").header("content-type"), "application/json");
}

TEST_F(PortalStaticTest, AssetsHaveTheirTypeAndImmutableCaching) {
  auto js = get("/assets/app-123.js");
  ASSERT_EQ(js.status, 200) << js.body;
  EXPECT_EQ(js.body, kAppJs);
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.header("cache-control"), "public, max-age=31536000, immutable");
  expectSecurityHeaders(js, "js");
  auto css = get("/assets/app-123.css");
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");
  auto head = cp.call(std::nullopt, "HEAD", "/assets/app-123.js");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(cp.call(std::nullopt, "POST", "/assets/app-123.js", "x").status, 405);
}

TEST_F(PortalStaticTest, TraversalAndEscapingSymlinksAre404) {
  for (const std::string target :
       {"/../x", "/%2e%2e/x", "/%2E%2E/x", "/assets/%2f..", "/assets/%2f../x", "/assets/..%2fx",
        "/assets/../../x", "/.%2e/x", "/leak.txt", "/assets/%00.js", "/%5c..%5cx", "/.hidden"}) {
    auto res = get(target);
    EXPECT_EQ(res.status, 404) << target << ": " << res.body;
    EXPECT_EQ(res.body.find("SECRET-OUTSIDE"), std::string::npos) << target;
    EXPECT_EQ(res.body.find(kIndex), std::string::npos) << target;
  }
}

TEST_F(PortalStaticTest, NoPortalDirectoryMeansNoPortal) {
  cp.stop();
  cp.portal.reset();
  cp.start();
  auto res = get("/");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(ControlPlane::json(res).value("error", ""), "not_found");
  EXPECT_EQ(get("/assets/app-123.js").status, 404);
  EXPECT_EQ(get("/.well-known/openid-configuration").status, 404);
  EXPECT_EQ(get("/oauth2/authorize").status, 404);
}

// --- sign-in ----------------------------------------------------------------------------------

class PortalLoginTest : public PortalFixture {
 protected:
  std::string redirectUri() const { return cp.baseUrl() + "/callback"; }
  std::map<std::string, std::string> authParams(const std::string& pkce_verifier,
                                                const std::string& state = "st-1") {
    return {{"response_type", "code"},
            {"client_id", "warden-portal"},
            {"redirect_uri", redirectUri()},
            {"state", state},
            {"code_challenge", pkceChallenge(pkce_verifier)},
            {"code_challenge_method", "S256"},
            {"scope", "openid"}};
  }
  // Signs in through the form; the code from the redirect (empty on failure).
  std::string code(const std::string& user, const std::string& password,
                   const std::string& pkce_verifier, const std::string& redirect_uri = "") {
    auto params = authParams(pkce_verifier);
    if (!redirect_uri.empty())
      params["redirect_uri"] = redirect_uri;
    auto page = get("/oauth2/authorize?" + formBody(params));
    EXPECT_EQ(page.status, 200) << page.body;
    params["username"] = user;
    params["password"] = password;
    auto res = cp.call(std::nullopt, "POST", "/oauth2/authorize", formBody(params), kFormContentType);
    EXPECT_EQ(res.status, 302) << res.body;
    const std::string location = res.header("location");
    EXPECT_EQ(location.rfind(params["redirect_uri"] + "?", 0), 0u) << location;
    auto q = queryParams(location);
    EXPECT_EQ(q["state"], "st-1");
    EXPECT_EQ(q["iss"], cp.baseUrl());
    // Tokens never travel in URLs: the redirect carries the code only.
    EXPECT_EQ(q.size(), 3u) << location;
    return q["code"];
  }
  HttpResponse token(const std::string& code, const std::string& pkce_verifier,
                     const std::string& redirect_uri = "") {
    return cp.call(std::nullopt, "POST", "/oauth2/token",
                   formBody({{"grant_type", "authorization_code"},
                         {"code", code},
                         {"redirect_uri", redirect_uri.empty() ? redirectUri() : redirect_uri},
                         {"client_id", "warden-portal"},
                         {"code_verifier", pkce_verifier}}),
                   kFormContentType);
  }
  HttpResponse withToken(const std::string& t, const std::string& method, const std::string& target,
                         const std::string& body = "") {
    return cp.call(std::nullopt, method, target, body, "Authorization: Bearer " + t + "\r\n");
  }

  const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";  // RFC 7636 App. B
};

TEST_F(PortalLoginTest, DiscoveryDescribesCodeWithS256Only) {
  auto res = get("/.well-known/openid-configuration");
  ASSERT_EQ(res.status, 200) << res.body;
  const json d = ControlPlane::json(res);
  const std::string base = cp.baseUrl();
  EXPECT_EQ(d["issuer"], base);
  EXPECT_EQ(d["authorization_endpoint"], base + "/oauth2/authorize");
  EXPECT_EQ(d["token_endpoint"], base + "/oauth2/token");
  EXPECT_EQ(d["jwks_uri"], base + "/oauth2/jwks");
  EXPECT_EQ(d["response_types_supported"], json::array({"code"}));
  EXPECT_EQ(d["grant_types_supported"], json::array({"authorization_code"}));
  EXPECT_EQ(d["code_challenge_methods_supported"], json::array({"S256"}));
  EXPECT_EQ(d["token_endpoint_auth_methods_supported"], json::array({"none"}));
  EXPECT_EQ(d["scopes_supported"], json::array({"openid"}));
  EXPECT_EQ(d["subject_types_supported"], json::array({"public"}));
  EXPECT_EQ(d["id_token_signing_alg_values_supported"], json::array({"ES256"}));
  const json keys = ControlPlane::json(get("/oauth2/jwks"));
  ASSERT_TRUE(keys.contains("keys") && !keys["keys"].empty()) << keys.dump();
  EXPECT_EQ(keys["keys"][0]["kty"], "EC");
  EXPECT_FALSE(keys["keys"][0].contains("d"));
}

TEST_F(PortalLoginTest, AdminSignsInWithCodeAndPkce) {
  // The sign-in page: strict headers, never cached.
  auto page = get("/oauth2/authorize?" + formBody(authParams(verifier)));
  ASSERT_EQ(page.status, 200) << page.body;
  expectSecurityHeaders(page, "sign-in page");
  EXPECT_EQ(page.header("cache-control"), "no-store");
  EXPECT_EQ(page.body.find("<script"), std::string::npos);
  EXPECT_EQ(page.body.find("style="), std::string::npos);
  auto css = get("/oauth2/login.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");

  const std::string c = code("admin", cp.adminPassword(), verifier);
  ASSERT_EQ(c.size(), 43u) << "a 256-bit code, base64url";
  // RFC 7636 §4.6: the server recomputes BASE64URL(SHA256(code_verifier)) and compares it
  // with the code_challenge it bound to the code.
  auto res = token(c, verifier);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("cache-control"), "no-store");
  const json t = ControlPlane::json(res);
  EXPECT_EQ(t["token_type"], "Bearer");
  EXPECT_EQ(t["scope"], "openid");
  EXPECT_GT(t["expires_in"].get<int>(), 0);
  const std::string access = t.value("access_token", "");
  auto who = withToken(access, "GET", "/api/v1/whoami");
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(ControlPlane::json(who)["role"], "admin");
  EXPECT_EQ(ControlPlane::json(who)["subject"], "admin");
  const json id = jwtPayload(t.value("id_token", ""));
  EXPECT_EQ(id["iss"], cp.baseUrl());
  EXPECT_EQ(id["aud"], "warden-portal");
  EXPECT_EQ(id["sub"], "admin");
  EXPECT_EQ(id["warden_role"], "admin");
  EXPECT_GT(id["exp"].get<std::int64_t>(), id["iat"].get<std::int64_t>());
  // The ID token is not a login token.
  EXPECT_EQ(withToken(t.value("id_token", ""), "GET", "/api/v1/whoami").status, 401);
}

TEST_F(PortalLoginTest, ViewerUserSignsInAsViewerAndCannotChangeThings) {
  auto created = cp.admin("POST", "/api/v1/users", R"({"username":"vera","role":"viewer"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const json u = ControlPlane::json(created);
  EXPECT_EQ(u["role"], "viewer");
  const std::string password = u.value("password", "");
  ASSERT_GE(password.size(), 20u);
  EXPECT_EQ(cp.admin("POST", "/api/v1/users", R"({"username":"vera","role":"admin"})").status, 409);
  EXPECT_EQ(cp.admin("POST", "/api/v1/users", R"({"username":"Vera!","role":"viewer"})").status,
            400);
  EXPECT_EQ(cp.admin("POST", "/api/v1/users", R"({"username":"x","role":"sidecar"})").status, 400);
  auto list = cp.admin("GET", "/api/v1/users");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find("scrypt"), std::string::npos);
  EXPECT_NE(list.body.find("\"vera\""), std::string::npos);
  // Only admins manage users.
  EXPECT_EQ(cp.call(cp.credential("viewer"), "GET", "/api/v1/users").status, 403);

  const std::string c = code("vera", password, verifier);
  auto res = token(c, verifier);
  ASSERT_EQ(res.status, 200) << res.body;
  const std::string access = ControlPlane::json(res).value("access_token", "");
  EXPECT_EQ(ControlPlane::json(withToken(access, "GET", "/api/v1/whoami"))["role"], "viewer");
  EXPECT_EQ(jwtPayload(ControlPlane::json(res).value("id_token", ""))["warden_role"], "viewer");
  auto write = withToken(access, "POST", "/api/v1/agents",
                         R"({"name":"by-viewer","spiffe_id":"spiffe://example.org/by-viewer"})");
  EXPECT_EQ(write.status, 403) << write.body;
  // The password login gives the same role.
  auto login = cp.call(std::nullopt, "POST", "/api/v1/login",
                       json{{"username", "vera"}, {"password", password}}.dump());
  EXPECT_EQ(ControlPlane::json(login)["role"], "viewer");

  // The last admin stays; others can be deleted, and then cannot sign in.
  EXPECT_EQ(cp.admin("DELETE", "/api/v1/users/admin").status, 409);
  EXPECT_EQ(cp.admin("DELETE", "/api/v1/users/vera").status, 204);
  EXPECT_EQ(cp.admin("DELETE", "/api/v1/users/vera").status, 404);
  auto after = cp.call(std::nullopt, "POST", "/api/v1/login",
                       json{{"username", "vera"}, {"password", password}}.dump());
  EXPECT_EQ(after.status, 401);
}

TEST_F(PortalLoginTest, WrongPasswordRendersTheFormAgainWithoutEnumeration) {
  auto params = authParams(verifier);
  params["username"] = "admin";
  params["password"] = "wrong";
  auto bad = cp.call(std::nullopt, "POST", "/oauth2/authorize", formBody(params), kFormContentType);
  EXPECT_EQ(bad.status, 401);
  EXPECT_TRUE(bad.header("location").empty());
  EXPECT_NE(bad.body.find("Invalid user name or password"), std::string::npos);
  params["username"] = "nobody";
  auto unknown = cp.call(std::nullopt, "POST", "/oauth2/authorize", formBody(params), kFormContentType);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(unknown.body.find("Invalid user name or password"), std::string::npos);
  expectSecurityHeaders(unknown, "form again");
}

// Password guessing (login_throttle.h): after 5 failures for a user name, both sign-ins
// answer 429 with Retry-After without checking the password, so even the right one waits;
// the throttle is shared, so the API cannot be used to go around the form.
TEST_F(PortalLoginTest, RepeatedFailuresAreThrottledOnBothSignInsWithRetryAfter) {
  auto params = authParams(verifier);
  params["username"] = "admin";
  params["password"] = "wrong";
  for (int i = 0; i < 5; ++i) {
    auto bad = cp.call(std::nullopt, "POST", "/oauth2/authorize", formBody(params), kFormContentType);
    ASSERT_EQ(bad.status, 401) << "failure " << i + 1 << " is still checked: " << bad.body;
  }
  params["password"] = cp.adminPassword();
  auto waited = cp.call(std::nullopt, "POST", "/oauth2/authorize", formBody(params), kFormContentType);
  EXPECT_EQ(waited.status, 429);
  EXPECT_TRUE(waited.header("location").empty()) << "no code while throttled, even for the right password";
  const std::string retry = waited.header("retry-after");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1);
  EXPECT_NE(waited.body.find("Too many failed sign-ins"), std::string::npos);
  expectSecurityHeaders(waited, "throttled form");

  const json creds{{"username", "admin"}, {"password", cp.adminPassword()}};
  auto api = cp.call(std::nullopt, "POST", "/api/v1/login", creds.dump(), "Content-Type: application/json\r\n");
  EXPECT_EQ(api.status, 429) << api.body;
  EXPECT_EQ(ControlPlane::json(api).value("error", ""), "too_many_attempts");
  EXPECT_FALSE(api.header("retry-after").empty());

  // Another user name from the same address is not affected (the address has 20 free).
  const json other{{"username", "someone-else"}, {"password", "wrong"}};
  EXPECT_EQ(cp.call(std::nullopt, "POST", "/api/v1/login", other.dump(), "Content-Type: application/json\r\n").status, 401);

  // The delay is 1 s after the fifth failure: then the right password works again.
  std::this_thread::sleep_for(std::chrono::seconds(std::stoi(retry)) + std::chrono::milliseconds(200));
  EXPECT_FALSE(code("admin", cp.adminPassword(), verifier).empty());
}

// The form's password is checked on the API's password thread: while it is held there,
// the portal's files and the API's probes are served at once.
TEST_F(PortalLoginTest, TheFormsPasswordIsCheckedOffTheIoThread) {
  auto gate = HookGate::create();
  cp.stop();
  cp.before_password_work = gate->hook();
  cp.start();
  std::future<HttpResponse> submitted;  // joined after the gate opens
  HookGate::OpenOnExit opener{gate};
  auto params = authParams(verifier);
  params["username"] = "admin";
  params["password"] = cp.adminPassword();
  submitted = std::async(std::launch::async, [this, params] {
    return cp.call(std::nullopt, "POST", "/oauth2/authorize", formBody(params), kFormContentType);
  });
  ASSERT_TRUE(gate->waitForArrivals(1, std::chrono::seconds(10)));
  // Each answer must come while the form is still held (hook_gate.h: one that had to wait
  // for the check comes only after the gate let it go).
  for (const std::string target :
       {"/healthz", "/", "/assets/app-123.js", "/.well-known/openid-configuration"}) {
    auto c = TestConnection::tls(cp.api().port(), std::nullopt);
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->send(makeRequest("GET", target)));
    auto res = c->read(false, std::chrono::seconds(3));
    ASSERT_TRUE(res) << target << ": " << c->lastError();
    EXPECT_EQ(res->status, 200) << target;
    EXPECT_EQ(gate->held(), 1) << target << " was answered only after the password check";
  }
  gate->open();
  const auto res = submitted.get();
  EXPECT_EQ(res.status, 302) << res.body;
  EXPECT_NE(queryParams(res.header("location"))["code"], "") << res.header("location");
}

TEST_F(PortalLoginTest, BadVerifierReusedOrExpiredCodeAndOtherRedirectAreInvalidGrant) {
  auto expectInvalidGrant = [](const HttpResponse& res, const std::string& what) {
    EXPECT_EQ(res.status, 400) << what << ": " << res.body;
    EXPECT_EQ(ControlPlane::json(res).value("error", ""), "invalid_grant")
        << what << ": " << res.body;
    EXPECT_EQ(res.body.find("access_token"), std::string::npos) << what;
  };
  // Wrong verifier; and the code is spent by the attempt.
  std::string c = code("admin", cp.adminPassword(), verifier);
  expectInvalidGrant(token(c, std::string(43, 'a')), "wrong verifier");
  expectInvalidGrant(token(c, verifier), "code spent by the wrong verifier");
  // Reused: the first exchange works, the second is refused.
  c = code("admin", cp.adminPassword(), verifier);
  ASSERT_EQ(token(c, verifier).status, 200);
  expectInvalidGrant(token(c, verifier), "reused code");
  // Another redirect URI than the one the code was issued for.
  c = code("admin", cp.adminPassword(), verifier);
  expectInvalidGrant(token(c, verifier, cp.baseUrl() + "/other"), "other redirect_uri");
  // Expired: 60 s later.
  c = code("admin", cp.adminPassword(), verifier);
  cp.api_clock_offset = 61;
  expectInvalidGrant(token(c, verifier), "expired code");
  cp.api_clock_offset = 0;
  // And the other RFC 6749 §5.2 errors.
  auto post = [&](const std::map<std::string, std::string>& p) {
    return cp.call(std::nullopt, "POST", "/oauth2/token", formBody(p), kFormContentType);
  };
  EXPECT_EQ(ControlPlane::json(
                post({{"grant_type", "password"}, {"client_id", "warden-portal"}}))["error"],
            "unsupported_grant_type");
  auto client = post({{"grant_type", "authorization_code"},
                      {"client_id", "other"},
                      {"code", "x"},
                      {"redirect_uri", redirectUri()},
                      {"code_verifier", verifier}});
  EXPECT_EQ(client.status, 401);
  EXPECT_EQ(ControlPlane::json(client)["error"], "invalid_client");
  EXPECT_EQ(ControlPlane::json(post(
                {{"grant_type", "authorization_code"}, {"client_id", "warden-portal"}}))["error"],
            "invalid_request");
}

TEST_F(PortalLoginTest, UnregisteredRedirectIsAnErrorPageNeverARedirect) {
  for (const std::string& uri :
       {std::string("https://evil.example/callback"), cp.baseUrl() + "/callback/",
        cp.baseUrl() + "/callback?x=1", std::string()}) {
    auto params = authParams(verifier);
    params["redirect_uri"] = uri;
    if (uri.empty())
      params.erase("redirect_uri");
    auto res = get("/oauth2/authorize?" + formBody(params));
    EXPECT_EQ(res.status, 400) << uri;
    EXPECT_TRUE(res.header("location").empty()) << uri;
    EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8") << uri;
    expectSecurityHeaders(res, uri);
  }
  auto params = authParams(verifier);
  params["client_id"] = "someone-else";
  auto res = get("/oauth2/authorize?" + formBody(params));
  EXPECT_EQ(res.status, 400);
  EXPECT_TRUE(res.header("location").empty());
  // A second redirect_uri cannot be smuggled past the check.
  res = get("/oauth2/authorize?" + formBody(authParams(verifier)) +
            "&redirect_uri=" + percentEncode("https://evil.example/"));
  EXPECT_EQ(res.status, 400);
  EXPECT_TRUE(res.header("location").empty());
}

TEST_F(PortalLoginTest, PlainMethodAndBadRequestsRedirectWithErrors) {
  auto check = [&](std::map<std::string, std::string> params, const std::string& error) {
    auto res = get("/oauth2/authorize?" + formBody(params));
    EXPECT_EQ(res.status, 302) << res.body;
    auto q = queryParams(res.header("location"));
    EXPECT_EQ(res.header("location").rfind(redirectUri() + "?", 0), 0u);
    EXPECT_EQ(q["error"], error);
    EXPECT_EQ(q["state"], "st-1");
    EXPECT_EQ(q.count("code"), 0u);
  };
  auto plain = authParams(verifier);
  plain["code_challenge_method"] = "plain";
  plain["code_challenge"] = verifier;
  check(plain, "invalid_request");
  auto none = authParams(verifier);
  none.erase("code_challenge_method");
  check(none, "invalid_request");
  auto missing = authParams(verifier);
  missing.erase("code_challenge");
  check(missing, "invalid_request");
  auto short_challenge = authParams(verifier);
  short_challenge["code_challenge"] = "abc";
  check(short_challenge, "invalid_request");
  auto token_type = authParams(verifier);
  token_type["response_type"] = "token";
  check(token_type, "unsupported_response_type");
  // The plain method is refused on the form post too: no code is issued.
  plain["username"] = "admin";
  plain["password"] = cp.adminPassword();
  auto res = cp.call(std::nullopt, "POST", "/oauth2/authorize", formBody(plain), kFormContentType);
  EXPECT_EQ(res.status, 302);
  EXPECT_EQ(queryParams(res.header("location")).count("code"), 0u);
  EXPECT_EQ(queryParams(res.header("location"))["error"], "invalid_request");
}

TEST_F(PortalLoginTest, StateIsHtmlEscapedOnTheSignInPage) {
  const std::string state = "\"><script>alert(1)</script>";
  auto res = get("/oauth2/authorize?" + formBody(authParams(verifier, state)));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.body.find("<script>"), std::string::npos);
  EXPECT_NE(res.body.find("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  expectSecurityHeaders(res, "escaped page");
}

}  // namespace
}  // namespace warden::testing
