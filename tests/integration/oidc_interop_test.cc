// Layer 3 against a real OpenID Provider (identity-standards §10.5 O1): npm oidc-provider
// 9.13.x (tests/interop/oidc_provider_issuer.mjs) issues RFC 9068 at+jwt access tokens by
// client_credentials with RFC 8707 resource indicators, ES256 for budget-report and RS256
// for budget-approval, roles in a `roles` claim. The ingress sidecar finds the provider's
// keys through its discovery document (plain http, loopback only) and enforces the token
// after layers 1 and 2. The test fetches tokens from the provider's token endpoint itself,
// as an OAuth client would (client_secret_basic).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/mesh_harness.h"
#include "support/process_harness.h"

namespace warden::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr auto kWait = 15s;  // bounded; generous for a loaded 2-core machine
const std::string kInterop = std::string(WARDEN_SOURCE_DIR) + "/tests/interop";
const std::string kAudience = "api://budget-backend";

std::string findOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path == nullptr ? "" : path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The provider in its own process; SIGTERM (then SIGKILL) on scope exit.
class OidcProvider {
 public:
  OidcProvider(const TempDir& dir, const std::string& node) {
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{node, kInterop + "/oidc_provider_issuer.mjs"}, dir.path());
    if (!child_->waitForOutput("READY", kWait)) return;
    const std::string out = child_->out();
    const std::size_t at = out.find("READY ");
    if (at == std::string::npos) return;
    const json ready = json::parse(out.substr(at + 6, out.find('\n', at) - at - 6), nullptr, false);
    if (ready.is_discarded()) return;
    issuer_ = ready.value("issuer", "");
    port_ = ready.value("port", 0);
  }
  ~OidcProvider() {
    child_->signal(SIGTERM);
    if (!child_->wait(2s)) child_->signal(SIGKILL);
  }
  OidcProvider(const OidcProvider&) = delete;
  OidcProvider& operator=(const OidcProvider&) = delete;

  bool ready() const { return port_ != 0; }
  const std::string& issuer() const { return issuer_; }
  std::string log() const { return child_->out() + child_->err(); }

  // client_credentials with a resource indicator (RFC 8707); "" on failure (test fails).
  std::string token(const std::string& client, const std::string& resource) const {
    auto conn = TestConnection::plain(port_);
    if (!conn) {
      ADD_FAILURE() << "cannot connect to the provider";
      return {};
    }
    const std::string body = "grant_type=client_credentials&scope=budget&resource=" + resource;
    conn->send(makeRequest("POST", "/token",
                           "Authorization: Basic " + base64(client + ":" + client + "-secret") +
                               "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                               "Connection: close\r\n",
                           body));
    auto res = conn->read(false, kWait);
    if (!res || res->status != 200) {
      ADD_FAILURE() << "token for " << client << " (" << resource << "): "
                    << (res ? std::to_string(res->status) + " " + res->body : conn->lastError())
                    << "\n" << log();
      return {};
    }
    const json out = json::parse(res->body, nullptr, false);
    return out.is_discarded() ? std::string() : out.value("access_token", "");
  }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string issuer_;
  std::uint16_t port_ = 0;
};

std::string policyFor(const std::string& issuer) {
  return R"(version: "oauth-1"
target: spiffe://example.org/budget-backend
allow:
  - id: spiffe://example.org/budget-report
  - id: spiffe://example.org/budget-approval
token:
  issuers:
    - issuer: )" + issuer + R"(
      discovery_url: )" + issuer + R"(/.well-known/openid-configuration
      audiences: [)" + kAudience + R"(]
      algorithms: [ES256, RS256]
callers:
  - match: { id: spiffe://example.org/budget-report }
    rules:
      - id: report-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
        roles: [Budget.Read]
      - id: report-default-deny
        methods: ["*"]
        path: { prefix: / }
        action: deny
  - match: { id: spiffe://example.org/budget-approval }
    rules:
      - id: approval-read
        methods: [GET]
        path: { exact: /budget/read }
        action: allow
        roles: [Budget.Read]
      - id: approval-submit
        methods: [POST]
        path: { exact: /budget/submit }
        action: allow
        roles: [Budget.Submit]
)";
}

// JWT payload claims, for diagnostics and to check what the provider issued.
json payloadOf(const std::string& token) {
  const auto a = token.find('.');
  const auto b = token.find('.', a + 1);
  if (a == std::string::npos || b == std::string::npos) return json::object();
  std::string part = token.substr(a + 1, b - a - 1);
  for (char& c : part) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (part.size() % 4 != 0) part += '=';
  std::string raw(part.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(part.data()),
                                static_cast<int>(part.size()));
  if (n < 0) return json::object();
  raw.resize(static_cast<std::size_t>(n));
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  return json::parse(raw, nullptr, false);
}

class OidcInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string node = findOnPath("node");
    ASSERT_FALSE(node.empty()) << "node is not on PATH; run scripts/setup.sh";
    ASSERT_TRUE(std::filesystem::exists(kInterop + "/node_modules/oidc-provider"))
        << kInterop << "/node_modules/oidc-provider is missing; run scripts/setup.sh";
    provider_ = std::make_unique<OidcProvider>(mesh.dir, node);
    ASSERT_TRUE(provider_->ready()) << provider_->log();
    backend_ = mesh.start(mesh.ingressConfig(
        mesh.backend_cred, mesh.writePolicy(policyFor(provider_->issuer()))));
    ASSERT_NE(backend_, nullptr);
    // Keys before traffic: ready once the discovery document and JWKS were fetched.
    ASSERT_TRUE(waitFor([&] { return backend_->ready(); })) << provider_->log();
  }

  HttpResponse call(const ClientCredential& who, const std::string& method, const std::string& path,
                    const std::string& token) {
    auto c = TestConnection::tls(backend_->ingressEndpoint().port, who);
    EXPECT_NE(c, nullptr);
    if (c == nullptr) return HttpResponse{};
    const std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
    EXPECT_TRUE(c->send(makeRequest(method, path, auth, method == "POST" ? "{}" : "")));
    auto res = c->read(false, kWait);
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }

  static std::string error(const HttpResponse& r) {
    const json body = json::parse(r.body, nullptr, false);
    return body.is_object() ? body.value("error", "") : "";
  }

  Mesh mesh;
  std::unique_ptr<OidcProvider> provider_;
  std::unique_ptr<proxy::Sidecar> backend_;
};

// O1: the provider's ES256 and RS256 access tokens pass layer 3 for the right audience and
// roles; missing roles are 403 and another audience 401, with JSON bodies.
TEST_F(OidcInteropTest, AcceptsProviderTokensAndEnforcesAudienceAndRoles) {
  const std::string report = provider_->token("budget-report", kAudience);
  const std::string approval = provider_->token("budget-approval", kAudience);
  ASSERT_FALSE(report.empty());
  ASSERT_FALSE(approval.empty());
  // What the provider issued (independent of Warden): the claims the policy relies on.
  const json report_claims = payloadOf(report);
  EXPECT_EQ(report_claims.value("iss", ""), provider_->issuer());
  EXPECT_EQ(report_claims.value("aud", ""), kAudience);
  EXPECT_EQ(report_claims["roles"], json({"Budget.Read"}));

  // ES256 token of budget-report: read allowed.
  const auto read = call(mesh.report, "GET", "/budget/read", report);
  EXPECT_EQ(read.status, 200) << read.body;
  if (read.status == 200) {
    const auto echoed = json::parse(read.body)["headers"];
    EXPECT_FALSE(echoed.contains("authorization"));
    EXPECT_EQ(echoed["x-warden-token-issuer"], provider_->issuer());
    EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read");
  }

  // RS256 token of budget-approval: submit allowed.
  const auto submit = call(mesh.approval, "POST", "/budget/submit", approval);
  EXPECT_EQ(submit.status, 200) << submit.body;
  if (submit.status == 200) {
    const auto echoed = json::parse(submit.body)["headers"];
    EXPECT_EQ(echoed["x-warden-token-roles"], "Budget.Read,Budget.Submit");
  }

  // budget-report's token cannot submit: layer 2 denies it first (403, JSON body).
  const auto denied = call(mesh.report, "POST", "/budget/submit", report);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(error(denied), "rule_denied") << denied.body;

  // The same token on a connection whose rule allows submit: layer 3 finds the provider's
  // roles short of Budget.Submit (binding is off in this policy).
  const auto short_roles = call(mesh.approval, "POST", "/budget/submit", report);
  EXPECT_EQ(short_roles.status, 403) << short_roles.body;
  EXPECT_EQ(error(short_roles), "insufficient_roles") << short_roles.body;
}

TEST_F(OidcInteropTest, TokenForAnotherResourceIsWrongAudience) {
  const std::string other = provider_->token("budget-report", "api://other-backend");
  ASSERT_FALSE(other.empty());
  EXPECT_EQ(payloadOf(other).value("aud", ""), "api://other-backend");
  const auto r = call(mesh.report, "GET", "/budget/read", other);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "wrong_audience") << r.body;
  EXPECT_NE(r.header("www-authenticate").find("invalid_token"), std::string::npos);
}

TEST_F(OidcInteropTest, NoTokenIs401) {
  const auto r = call(mesh.report, "GET", "/budget/read", "");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(error(r), "token_missing") << r.body;
  EXPECT_EQ(r.header("www-authenticate"), "Bearer");
}

}  // namespace
}  // namespace warden::testing
