// The portal's sign-in through an external OpenID Provider (upstream_sign_in.h), with
// `warden server` as the relying party, against a REAL provider: npm oidc-provider 9.13.x
// (tests/interop/oidc_provider_login.mjs) with a confidential client for Warden and two
// accounts, alice in group "warden-admins" and bob in no mapped group. The test plays the
// browser: it loads the sign-in page, posts the "Sign in with" form, follows the provider's
// redirects with the provider's cookies (its interaction route signs the chosen account in
// and grants consent), brings the provider's answer back to /oauth2/callback/<name>, and
// finally completes the portal's own code + PKCE exchange as the SPA does.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/control_plane_harness.h"
#include "support/oauth_browser_harness.h"
#include "support/process_harness.h"
#include "support/test_env.h"

namespace warden::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto kWait = 15s;
const std::string kInterop = interopDir();
const std::string kProvider = "test-idp";

// --- the browser's side of the provider: plain http on loopback, with a cookie jar -------

struct PlainResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, in order
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name)
        return v;
    }
    return {};
  }
};

// One GET over a fresh connection (Connection: close), read to EOF within kWait.
std::optional<PlainResponse> plainGet(std::uint16_t port, const std::string& target,
                                      const std::string& cookie) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nConnection: close\r\n";
  if (!cookie.empty())
    request += "Cookie: " + cookie + "\r\n";
  request += "\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string raw;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  char buf[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos)
    return std::nullopt;
  PlainResponse res;
  res.status = std::stoi(raw.substr(9, 3));
  std::istringstream lines(raw.substr(0, end));
  std::string line;
  std::getline(lines, line);  // status line
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    res.headers.emplace_back(std::move(name), std::move(value));
  }
  res.body = raw.substr(end + 4);
  return res;
}

// The provider's cookies as a browser keeps them (one origin, so paths do not matter to
// which requests succeed; an emptied cookie is deleted).
class Browser {
 public:
  std::optional<PlainResponse> get(std::uint16_t port, const std::string& target) {
    std::string cookie;
    for (const auto& [n, v] : jar_)
      cookie += (cookie.empty() ? "" : "; ") + n + "=" + v;
    auto res = plainGet(port, target, cookie);
    if (!res)
      return res;
    for (const auto& [name, value] : res->headers) {
      if (name != "set-cookie")
        continue;
      const std::string pair = value.substr(0, value.find(';'));
      const std::size_t eq = pair.find('=');
      if (eq == std::string::npos)
        continue;
      const std::string n = pair.substr(0, eq);
      const std::string v = pair.substr(eq + 1);
      if (v.empty()) {
        jar_.erase(n);
      } else {
        jar_[n] = v;
      }
    }
    return res;
  }

 private:
  std::map<std::string, std::string> jar_;
};

// The provider in its own process; SIGTERM (then SIGKILL) on scope exit.
class LoginProvider {
 public:
  LoginProvider(const TempDir& dir, const std::string& node, const std::string& redirect_uri) {
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{node, kInterop + "/oidc_provider_login.mjs", redirect_uri},
        dir.path());
    if (!child_->waitForOutput("READY", kWait))
      return;
    const std::string out = child_->out();
    const std::size_t at = out.find("READY ");
    if (at == std::string::npos)
      return;
    const json ready = json::parse(out.substr(at + 6, out.find('\n', at) - at - 6), nullptr, false);
    if (ready.is_discarded())
      return;
    issuer_ = ready.value("issuer", "");
    port_ = ready.value("port", 0);
  }
  ~LoginProvider() {
    child_->signal(SIGTERM);
    if (!child_->wait(2s))
      child_->signal(SIGKILL);
  }
  LoginProvider(const LoginProvider&) = delete;
  LoginProvider& operator=(const LoginProvider&) = delete;

  bool ready() const { return port_ != 0; }
  const std::string& issuer() const { return issuer_; }
  std::uint16_t port() const { return port_; }
  std::string log() const { return child_->out() + child_->err(); }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string issuer_;
  std::uint16_t port_ = 0;
};

class PortalUpstreamLoginTest : public ::testing::Test {
 protected:
  PortalUpstreamLoginTest() : cp(std::vector<std::string>{}) {}

  void SetUp() override {
    const std::string node = findOnPath("node");
    ASSERT_FALSE(node.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(kInterop + "/node_modules/oidc-provider"))
        << kInterop << "/node_modules/oidc-provider is missing; run scripts/setup.sh";
    // The provider registers Warden's callback exactly; the harness keeps the API's port
    // across the restart. Stopped first, so the child does not inherit its listener.
    cp.stop();
    provider = std::make_unique<LoginProvider>(cp.dir, node, callbackUrl());
    ASSERT_TRUE(provider->ready()) << provider->log();
    const std::string portal_dir = cp.dir.file("portal");
    std::filesystem::create_directories(portal_dir);
    writeFile(portal_dir, "index.html", "<!doctype html><title>portal</title>");
    const std::string secret = writeFile(cp.dir.path(), "idp-secret", "warden-secret\n");
    ::chmod(secret.c_str(), 0600);
    controlplane::SignInProviderConfig idp;
    idp.name = kProvider;
    idp.display_name = "Test IdP";
    idp.issuer = provider->issuer();
    idp.discovery = provider->issuer() + "/.well-known/openid-configuration";
    idp.client_id = "warden";
    idp.client_secret_file = secret;
    idp.scopes = {"openid", "profile", "groups"};
    idp.role_claim = "groups";
    idp.admin_values = {"warden-admins"};
    idp.developer_values = {"warden-developers"};
    cp.portal = controlplane::PortalConfig{portal_dir, {}, {idp}};
    cp.start();
  }

  std::string callbackUrl() const { return cp.baseUrl() + "/oauth2/callback/" + kProvider; }
  std::string redirectUri() const { return cp.baseUrl() + "/callback"; }

  // The SPA's authorization request (its own PKCE pair and state).
  std::map<std::string, std::string> portalRequest() const {
    return {{"response_type", "code"},
            {"client_id", "warden-portal"},
            {"redirect_uri", redirectUri()},
            {"state", "spa-state-1"},
            {"code_challenge", pkceChallenge(kVerifier)},
            {"code_challenge_method", "S256"},
            {"scope", "openid"},
            {"nonce", "spa-nonce"}};
  }

  // The sign-in page, then its "Sign in with Test IdP" form: Warden's redirect to the
  // provider's authorization endpoint.
  std::string startUpstream() {
    auto page = cp.call(std::nullopt, "GET", "/oauth2/authorize?" + formBody(portalRequest()));
    EXPECT_EQ(page.status, 200) << page.body;
    EXPECT_NE(page.body.find("action=\"/oauth2/authorize/upstream\""), std::string::npos);
    EXPECT_NE(page.body.find("Sign in with Test IdP"), std::string::npos) << page.body;
    EXPECT_NE(page.body.find("name=\"provider\" value=\"test-idp\""), std::string::npos);
    // CSP form-action governs the redirect after the post: the provider's origin is allowed.
    EXPECT_NE(
        page.header("content-security-policy").find("form-action 'self' " + provider->issuer()),
        std::string::npos)
        << page.header("content-security-policy");
    auto params = portalRequest();
    params["provider"] = kProvider;
    auto res = cp.call(std::nullopt, "POST", "/oauth2/authorize/upstream", formBody(params), kFormContentType);
    EXPECT_EQ(res.status, 302) << res.body;
    return res.header("location");
  }

  // Follows the provider as a browser would, signing `account` in at its interaction
  // route, until it sends the browser back to Warden; returns that callback URL.
  std::string atProvider(Browser& browser, std::string url, const std::string& account) {
    for (int step = 0; step < 10; ++step) {
      if (url.rfind(cp.baseUrl() + "/", 0) == 0)
        return url;
      if (url.rfind(provider->issuer() + "/", 0) != 0) {
        ADD_FAILURE() << "redirected elsewhere: " << url;
        return {};
      }
      std::string target = url.substr(provider->issuer().size());
      if (target.rfind("/interaction/", 0) == 0)
        target += "?account=" + account;
      auto res = browser.get(provider->port(), target);
      if (!res || res->status / 100 != 3) {
        ADD_FAILURE() << target << ": "
                      << (res ? std::to_string(res->status) + " " + res->body : "no answer") << "\n"
                      << provider->log();
        return {};
      }
      url = res->header("location");
      if (url.rfind("/", 0) == 0)
        url = provider->issuer() + url;
    }
    ADD_FAILURE() << "too many redirects at the provider";
    return {};
  }

  // Warden's answer to the browser coming back from the provider.
  HttpResponse callback(const std::string& url) {
    EXPECT_EQ(url.rfind(callbackUrl() + "?", 0), 0u) << url;
    return cp.call(std::nullopt, "GET", url.substr(cp.baseUrl().size()));
  }

  HttpResponse portalToken(const std::string& code) {
    return cp.call(std::nullopt, "POST", "/oauth2/token",
                   formBody({{"grant_type", "authorization_code"},
                         {"code", code},
                         {"redirect_uri", redirectUri()},
                         {"client_id", "warden-portal"},
                         {"code_verifier", kVerifier}}),
                   kFormContentType);
  }

  static void expectNoCode(const HttpResponse& res, const std::string& what) {
    EXPECT_TRUE(res.header("location").empty()) << what << ": " << res.header("location");
    EXPECT_EQ(res.body.find("code="), std::string::npos) << what;
    EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8") << what;
  }

  const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";  // RFC 7636 App. B
  ControlPlane cp;
  std::unique_ptr<LoginProvider> provider;
};

TEST_F(PortalUpstreamLoginTest, AdminGroupSignsInAsAdminThroughTheProvider) {
  const std::string to_provider = startUpstream();
  // OIDC Core §3.1.2.1 and RFC 7636 §4.3: Warden's own request as a relying party.
  ASSERT_EQ(to_provider.rfind(provider->issuer() + "/auth?", 0), 0u) << to_provider;
  auto q = queryParams(to_provider);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], "warden");
  EXPECT_EQ(q["redirect_uri"], callbackUrl());
  EXPECT_EQ(q["scope"], "openid profile groups");
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["code_challenge"].size(), 43u);
  EXPECT_GE(q["state"].size(), 22u) << "at least 128 random bits";
  EXPECT_GE(q["nonce"].size(), 22u);
  EXPECT_NE(q["state"], "spa-state-1") << "the SPA's state stays with Warden";
  EXPECT_EQ(q.count("code_verifier"), 0u);

  Browser browser;
  const std::string back = atProvider(browser, to_provider, "alice");
  ASSERT_FALSE(back.empty());
  // RFC 9207: the provider names itself in its answer; Warden checks it.
  EXPECT_EQ(queryParams(back)["iss"], provider->issuer());
  auto res = callback(back);
  ASSERT_EQ(res.status, 302) << res.body;
  // The portal's own code for the SPA's original request (RFC 6749 §4.1.2), with its state.
  const std::string location = res.header("location");
  ASSERT_EQ(location.rfind(redirectUri() + "?", 0), 0u) << location;
  auto answer = queryParams(location);
  EXPECT_EQ(answer["state"], "spa-state-1");
  EXPECT_EQ(answer["iss"], cp.baseUrl());
  EXPECT_EQ(answer.size(), 3u) << "code, state and iss: no token in a URL";

  // RFC 7636 §4.5/§4.6: the SPA's PKCE exchange completes the sign-in.
  auto token = portalToken(answer["code"]);
  ASSERT_EQ(token.status, 200) << token.body;
  const std::string access = ControlPlane::json(token).value("access_token", "");
  const std::string auth = "Authorization: Bearer " + access + "\r\n";
  auto who = cp.call(std::nullopt, "GET", "/api/v1/whoami", "", auth);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(ControlPlane::json(who)["role"], "admin");
  EXPECT_EQ(ControlPlane::json(who)["subject"], "test-idp:alice");
  EXPECT_EQ(jwtPayload(ControlPlane::json(token).value("id_token", ""))["sub"], "test-idp:alice");
  EXPECT_EQ(jwtPayload(ControlPlane::json(token).value("id_token", ""))["nonce"], "spa-nonce");

  // The change log names the person as the provider vouched for them.
  auto created =
      cp.call(std::nullopt, "POST", "/api/v1/agents",
              R"({"name":"by-alice","spiffe_id":"spiffe://example.org/by-alice"})", auth);
  ASSERT_EQ(created.status, 201) << created.body;
  auto changes = cp.admin("GET", "/api/v1/changes?kind=agent&id=by-alice");
  ASSERT_EQ(changes.status, 200) << changes.body;
  EXPECT_EQ(ControlPlane::json(changes)["changes"][0]["actor"]["subject"], "test-idp:alice")
      << changes.body;

  // RFC 6749 §10.12 / OIDC Core §3.1.2.7: the state is single use; the same answer again
  // is an error page, never a redirect.
  auto replay = callback(back);
  EXPECT_EQ(replay.status, 400) << replay.body;
  expectNoCode(replay, "replayed state");
  EXPECT_NE(replay.body.find("expired or was already used"), std::string::npos) << replay.body;
}

TEST_F(PortalUpstreamLoginTest, AccountWithoutAMappedGroupGetsNoRoleAndNoCode) {
  Browser browser;
  const std::string back = atProvider(browser, startUpstream(), "bob");
  ASSERT_FALSE(back.empty());
  auto res = callback(back);
  EXPECT_EQ(res.status, 403) << res.body;
  expectNoCode(res, "unmapped account");
  EXPECT_NE(res.body.find("Your account at Test IdP has no Warden role."), std::string::npos)
      << res.body;
  // The sign-in page again, with the SPA's request still in it.
  EXPECT_NE(res.body.find("Sign in with Test IdP"), std::string::npos);
  EXPECT_NE(res.body.find("value=\"spa-state-1\""), std::string::npos);
}

TEST_F(PortalUpstreamLoginTest, WrongForeignOrMissingStateIsAnErrorPage) {
  // RFC 6749 §10.12: a callback whose state Warden never issued is refused; with no
  // checked authorization request to answer, never a redirect.
  for (const std::string target :
       {"/oauth2/callback/test-idp?code=abc&state=not-issued-by-warden",
        "/oauth2/callback/test-idp?code=abc",
        "/oauth2/callback/test-idp?error=access_denied&state=not-issued-by-warden",
        "/oauth2/callback/test-idp?code=a&state=b&state=c"}) {
    auto res = cp.call(std::nullopt, "GET", target);
    EXPECT_EQ(res.status, 400) << target << ": " << res.body;
    expectNoCode(res, target);
  }
  auto unknown = cp.call(std::nullopt, "GET", "/oauth2/callback/other-idp?code=a&state=b");
  EXPECT_EQ(unknown.status, 404);
  expectNoCode(unknown, "unknown provider");
  EXPECT_EQ(cp.call(std::nullopt, "POST", "/oauth2/callback/test-idp", "x", kFormContentType).status, 405);
  EXPECT_EQ(cp.call(std::nullopt, "GET", "/oauth2/authorize/upstream").status, 405);

  // RFC 9207 §2.4: an answer naming another issuer is refused (and its state is spent).
  const std::string state = queryParams(startUpstream())["state"];
  auto mixed = cp.call(std::nullopt, "GET",
                       "/oauth2/callback/test-idp?code=abc&state=" + percentEncode(state) +
                           "&iss=" + percentEncode("https://attacker.example"));
  EXPECT_EQ(mixed.status, 400) << mixed.body;
  expectNoCode(mixed, "foreign iss");
}

// OIDC Core §3.1.3.7 item 11: the ID token's nonce must be the one Warden sent. A browser
// that rewrites the nonce on its way to the provider gets an ID token bound to another
// nonce, which Warden refuses although signature, issuer and audience are fine.
TEST_F(PortalUpstreamLoginTest, TamperedNonceIsRefused) {
  std::string to_provider = startUpstream();
  const std::string nonce = queryParams(to_provider)["nonce"];
  ASSERT_FALSE(nonce.empty());
  const std::size_t at = to_provider.find("nonce=" + percentEncode(nonce));
  ASSERT_NE(at, std::string::npos) << to_provider;
  to_provider.replace(at, 6 + percentEncode(nonce).size(), "nonce=chosen-by-the-attacker");
  Browser browser;
  const std::string back = atProvider(browser, to_provider, "alice");
  ASSERT_FALSE(back.empty());
  auto res = callback(back);
  EXPECT_EQ(res.status, 401) << res.body;
  expectNoCode(res, "tampered nonce");
  EXPECT_NE(res.body.find("could not be verified"), std::string::npos) << res.body;
}

// RFC 6749 §4.1.2.1: the provider's error answer goes back to the SPA's (checked) redirect
// URI as access_denied with the SPA's state, and no code.
TEST_F(PortalUpstreamLoginTest, ProviderErrorReturnsAccessDeniedToThePortal) {
  const std::string state = queryParams(startUpstream())["state"];
  auto res = cp.call(std::nullopt, "GET",
                     "/oauth2/callback/test-idp?error=access_denied&error_description=nope&state=" +
                         percentEncode(state) + "&iss=" + percentEncode(provider->issuer()));
  ASSERT_EQ(res.status, 302) << res.body;
  const std::string location = res.header("location");
  ASSERT_EQ(location.rfind(redirectUri() + "?", 0), 0u) << location;
  auto q = queryParams(location);
  EXPECT_EQ(q["error"], "access_denied");
  EXPECT_EQ(q["state"], "spa-state-1");
  EXPECT_EQ(q.count("code"), 0u);
}

// A provider that cannot be reached gives a page saying so, not a crash or a redirect.
TEST_F(PortalUpstreamLoginTest, UnreachableProviderGivesAClearPage) {
  const std::string issuer = provider->issuer();
  provider.reset();  // the provider stops; Warden still holds its metadata
  auto params = portalRequest();
  params["provider"] = kProvider;
  auto started =
      cp.call(std::nullopt, "POST", "/oauth2/authorize/upstream", formBody(params), kFormContentType);
  ASSERT_EQ(started.status, 302) << "metadata is cached: " << started.body;
  // The provider is gone, so nobody completes the sign-in; a made-up code for the real
  // state reaches a token endpoint that does not answer.
  const std::string state = queryParams(started.header("location"))["state"];
  auto res =
      cp.call(std::nullopt, "GET",
              "/oauth2/callback/test-idp?code=abc&state=" + percentEncode(state) + "&iss=" + percentEncode(issuer));
  EXPECT_EQ(res.status, 502) << res.body;
  expectNoCode(res, "provider down");
  EXPECT_NE(res.body.find("Test IdP cannot be reached right now."), std::string::npos) << res.body;
}

}  // namespace
}  // namespace warden::testing
