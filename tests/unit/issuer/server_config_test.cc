// `warden server` identity config: strict parsing with file:line: field-path errors.
#include "issuer/server_config.h"

#include <gtest/gtest.h>

namespace warden::issuer {
namespace {

constexpr const char* kGood = R"(trust_domain: example.org
state_dir: state
ca_ttl: 24h
workload_api:
  socket: /tmp/warden-test/agent.sock
bundle_endpoint:
  listen: 127.0.0.1:8443
  cert: web.pem
  key: web.key
  refresh_hint: 30s
federation:
  - trust_domain: gcp.example
    bundle_endpoint_url: https://127.0.0.1:9443/
    profile: https_web
    ca_file: gcp-web-ca.pem
entries:
  - name: budget-report
    spiffe_id: spiffe://example.org/budget-report
    selectors: [unix:uid:1000, unix:path:/usr/bin/app]
    x509_ttl: 1h
    federates_with: [gcp.example]
  - name: budget-backend
    spiffe_id: spiffe://example.org/budget-backend
    socket: /tmp/warden-test/backend.sock
)";

// SPIRE's jwt_issuer and jwt_key_type; absent, nothing changes (EC keys, no `iss`).
TEST(ServerConfig, ParsesJwtIssuerAndKeyType) {
  auto c = parseIdentityServerConfig(
      std::string(kGood) + "jwt_issuer: https://oidc.example.org/example\njwt_key_type: rsa-2048\n",
      "/etc/warden/server.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->jwt_issuer, "https://oidc.example.org/example");
  EXPECT_EQ(c->jwt_key_type, JwtKeyType::kRsa2048);
  auto ec = parseIdentityServerConfig(std::string(kGood) + "jwt_key_type: ec-p256\n", "s.yaml");
  ASSERT_TRUE(ec.ok()) << ec.error().message;
  EXPECT_EQ(ec->jwt_key_type, JwtKeyType::kEcP256);
  auto defaults = parseIdentityServerConfig(kGood, "s.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->jwt_key_type, JwtKeyType::kEcP256);
  EXPECT_TRUE(defaults->jwt_issuer.empty());
}

TEST(ServerConfig, ParsesAFullConfig) {
  auto c = parseIdentityServerConfig(kGood, "/etc/warden/server.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->trust_domain, "example.org");
  EXPECT_EQ(c->state_dir, "/etc/warden/state");
  EXPECT_EQ(c->bundle_refresh_hint, std::chrono::seconds(30));
  ASSERT_TRUE(c->bundle_endpoint.has_value());
  EXPECT_EQ(c->bundle_endpoint->listen_port, 8443);
  EXPECT_EQ(c->bundle_endpoint->cert_path, "/etc/warden/web.pem");
  ASSERT_EQ(c->federation.size(), 1u);
  EXPECT_EQ(c->federation[0].profile, FederationProfile::kHttpsWeb);
  EXPECT_EQ(c->federation[0].ca_file, "/etc/warden/gcp-web-ca.pem");
  ASSERT_EQ(c->entries.size(), 2u);
  // Selectors are kept sorted so matching is a set inclusion.
  EXPECT_EQ(c->entries[0].selectors,
            (std::vector<std::string>{"unix:path:/usr/bin/app", "unix:uid:1000"}));
  EXPECT_EQ(c->entries[1].socket_path, "/tmp/warden-test/backend.sock");
}

struct BadCase {
  const char* name;
  std::string yaml;
  const char* expected;  // substring of the error
};

TEST(ServerConfig, ErrorsNameTheLineAndField) {
  const std::string base = "trust_domain: example.org\nstate_dir: s\nworkload_api: {socket: /tmp/a.sock}\n";
  const BadCase cases[] = {
      {"unknown key", base + "colour: blue\n", ":4:1: colour: unknown key"},
      {"no trust domain", "state_dir: s\n", "trust_domain: is required"},
      {"bad trust domain", "trust_domain: Example.ORG\nstate_dir: s\n", "trust_domain"},
      {"bad selector",
       base + "entries:\n  - {name: a, spiffe_id: 'spiffe://example.org/a', selectors: ['unix:pid:1']}\n",
       "entries[0].selectors[0]"},
      {"entry open to anyone",
       base + "entries:\n  - {name: a, spiffe_id: 'spiffe://example.org/a'}\n",
       "needs selectors or a socket"},
      {"foreign id",
       base + "entries:\n  - {name: a, spiffe_id: 'spiffe://other.org/a', selectors: ['unix:uid:1']}\n",
       "not in trust domain"},
      {"duplicate names",
       base + "entries:\n  - {name: a, spiffe_id: 'spiffe://example.org/a', selectors: ['unix:uid:1']}\n"
              "  - {name: a, spiffe_id: 'spiffe://example.org/b', selectors: ['unix:uid:2']}\n",
       "duplicate entry name"},
      {"bad duration", base + "ca_ttl: 10\n", "ca_ttl: expected a duration"},
      {"https_spiffe without id",
       base + "federation:\n  - {trust_domain: gcp.example, bundle_endpoint_url: 'https://h/', profile: https_spiffe}\n",
       "https_spiffe needs endpoint_spiffe_id"},
      {"unknown profile",
       base + "federation:\n  - {trust_domain: gcp.example, bundle_endpoint_url: 'https://h/', profile: http}\n",
       "expected https_web or https_spiffe"},
      {"federating with itself",
       base + "federation:\n  - {trust_domain: example.org, bundle_endpoint_url: 'https://h/', profile: https_web}\n",
       "own trust domain"},
      // jwt_issuer must be an https URL (OpenID Connect Discovery 1.0 §4; oidc_discovery.h).
      {"jwt_issuer over http", base + "jwt_issuer: http://oidc.example.org\n",
       ":4:13: jwt_issuer: \"http://oidc.example.org\" must use https"},
      {"jwt_issuer not a URL", base + "jwt_issuer: oidc.example.org\n",
       "jwt_issuer: \"oidc.example.org\" must be an absolute https URL"},
      {"jwt_issuer with a trailing slash", base + "jwt_issuer: https://oidc.example.org/\n",
       "jwt_issuer: \"https://oidc.example.org/\" must not end with '/'"},
      {"jwt_issuer with userinfo", base + "jwt_issuer: https://u@oidc.example.org\n",
       "jwt_issuer: \"https://u@oidc.example.org\" must not contain userinfo"},
      {"jwt_issuer with a query", base + "jwt_issuer: https://oidc.example.org/?a=b\n",
       "must not contain a query"},
      {"empty jwt_issuer", base + "jwt_issuer: ''\n", "jwt_issuer"},
      {"unknown key type", base + "jwt_key_type: rsa-1024\n",
       ":4:15: jwt_key_type: \"rsa-1024\" is not a key type (expected rsa-2048 or ec-p256)"},
      {"bundle path taken by discovery",
       base + "jwt_issuer: https://oidc.example.org\nbundle_endpoint:\n  listen: 127.0.0.1:0\n"
              "  path: /keys\n  cert: c.pem\n  key: k.pem\n",
       "bundle_endpoint.path: \"/keys\" is where the jwt_issuer's OIDC discovery is served"},
      {"no socket at all",
       "trust_domain: example.org\nstate_dir: s\nentries:\n  - {name: a, spiffe_id: 'spiffe://example.org/a', selectors: ['unix:uid:1']}\n",
       "workload_api.socket: is required"},
  };
  for (const auto& c : cases) {
    auto parsed = parseIdentityServerConfig(c.yaml, "server.yaml");
    ASSERT_FALSE(parsed.ok()) << c.name;
    EXPECT_NE(parsed.error().message.find(c.expected), std::string::npos)
        << c.name << ": " << parsed.error().message;
  }
}

}  // namespace
}  // namespace warden::issuer
