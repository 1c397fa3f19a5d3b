// Layer 3 configuration validation: every error names the field it is about.
#include "token/token_config.h"

#include <gtest/gtest.h>

#include "token/fetch_url.h"
#include "token_test_util.h"

namespace warden::token {
namespace {

using testing::issuerConfig;
using testing::kIssuer;

std::string errorOf(const TokenIssuerConfig& c) {
  const Status st = validateIssuerConfig(c, "token_issuers[0]");
  return st.ok() ? std::string("ok") : st.message();
}

TEST(TokenIssuerConfigTest, DefaultsWithOneSourceAndAudiencesAreValid) {
  EXPECT_EQ(errorOf(issuerConfig()), "ok");
  TokenIssuerConfig c = issuerConfig();
  EXPECT_EQ(c.algorithms, (std::vector<std::string>{"RS256", "PS256", "ES256"}));
  EXPECT_EQ(c.clock_skew, std::chrono::seconds(60));
  EXPECT_EQ(c.require_typ, "at+jwt");
  EXPECT_EQ(c.roles_claim, "roles");
}

TEST(TokenIssuerConfigTest, IssuerIsRequiredAndPlain) {
  TokenIssuerConfig c = issuerConfig();
  c.issuer = "";
  EXPECT_EQ(errorOf(c), "token_issuers[0].issuer: required");
  c.issuer = "https://idp.example.com/ tenant";
  EXPECT_NE(errorOf(c).find("token_issuers[0].issuer:"), std::string::npos);
}

TEST(TokenIssuerConfigTest, NoneIsNeverAllowed) {
  TokenIssuerConfig c = issuerConfig();
  c.algorithms = {"ES256", "none"};
  EXPECT_NE(errorOf(c).find("token_issuers[0].algorithms[1]: \"none\" is never allowed"),
            std::string::npos);
}

TEST(TokenIssuerConfigTest, UnknownDuplicateAndOtherHmacAlgorithmsAreRefused) {
  TokenIssuerConfig c = issuerConfig();
  c.algorithms = {"ES256", "ES256"};
  EXPECT_NE(errorOf(c).find("algorithms[1]: \"ES256\" is listed twice"), std::string::npos);
  c.algorithms = {"EdDSA"};
  EXPECT_NE(errorOf(c).find("algorithms[0]: \"EdDSA\" is not supported"), std::string::npos);
  c.algorithms = {"HS512"};
  EXPECT_NE(errorOf(c).find("algorithms[0]: HS512 is not supported"), std::string::npos);
  c.algorithms = {};
  EXPECT_NE(errorOf(c).find("algorithms: at least one"), std::string::npos);
}

TEST(TokenIssuerConfigTest, Hs256OnlyWithASecretOfFullLength) {
  TokenIssuerConfig c = issuerConfig();
  c.algorithms = {"ES256", "HS256"};
  EXPECT_NE(errorOf(c).find("token_issuers[0].hs256_secret: HS256 needs a shared secret"),
            std::string::npos);
  c.hs256_secret = std::string(31, 'k');
  EXPECT_NE(errorOf(c).find("(it has 31)"), std::string::npos);
  c.hs256_secret = std::string(32, 'k');
  EXPECT_EQ(errorOf(c), "ok");
  c.algorithms = {"ES256"};
  EXPECT_NE(errorOf(c).find("hs256_secret: set, but HS256 is not in algorithms"),
            std::string::npos);
}

TEST(TokenIssuerConfigTest, ExactlyOneKeySourceUnlessOnlyHs256) {
  TokenIssuerConfig c = issuerConfig();
  c.discovery_url = kIssuer + "/.well-known/openid-configuration";
  EXPECT_NE(errorOf(c).find("exactly one of discovery_url, jwks_url and jwks_file is required "
                            "(2 given)"),
            std::string::npos);
  c.discovery_url.clear();
  c.jwks_url.clear();
  EXPECT_NE(errorOf(c).find("(0 given)"), std::string::npos);
  c.algorithms = {"HS256"};
  c.hs256_secret = std::string(32, 's');
  EXPECT_EQ(errorOf(c), "ok");
  c.jwks_file = "/etc/warden/jwks.json";
  EXPECT_NE(errorOf(c).find("the only algorithm is HS256"), std::string::npos);
}

TEST(TokenIssuerConfigTest, UrlsAreHttpsOrLoopbackHttp) {
  TokenIssuerConfig c = issuerConfig();
  c.jwks_url = "http://idp.example.com/jwks";
  EXPECT_NE(errorOf(c).find("token_issuers[0].jwks_url: \"http://idp.example.com/jwks\": plain "
                            "http is allowed only to a loopback IP address"),
            std::string::npos);
  c.jwks_url = "http://127.0.0.1:8080/jwks";
  EXPECT_EQ(errorOf(c), "ok");
  c.jwks_url.clear();
  c.discovery_url = "ftp://idp.example.com/";
  EXPECT_NE(errorOf(c).find("discovery_url: \"ftp://idp.example.com/\": the scheme must be https"),
            std::string::npos);
}

TEST(TokenIssuerConfigTest, CaFileOnlyWithUrls) {
  TokenIssuerConfig c = issuerConfig();
  c.ca_file = "/etc/ssl/idp.pem";
  EXPECT_EQ(errorOf(c), "ok");
  c.jwks_url.clear();
  c.jwks_file = "/etc/warden/jwks.json";
  EXPECT_NE(errorOf(c).find("token_issuers[0].ca_file: only used with"), std::string::npos);
}

TEST(TokenIssuerConfigTest, SkewTypClaimsAndTiming) {
  TokenIssuerConfig c = issuerConfig();
  c.clock_skew = std::chrono::seconds(301);
  EXPECT_NE(errorOf(c).find("token_issuers[0].clock_skew: must be between 0 and 300"),
            std::string::npos);
  c = issuerConfig();
  c.require_typ = "at jwt";
  EXPECT_NE(errorOf(c).find("token_issuers[0].require_typ:"), std::string::npos);
  c.require_typ = "";
  EXPECT_EQ(errorOf(c), "ok");
  c.required_claims = {"jti", "client_id", "jti"};
  EXPECT_NE(errorOf(c).find("required_claims[2]: \"jti\" is listed twice"), std::string::npos);
  c = issuerConfig();
  c.audiences = {"api://a", ""};
  EXPECT_NE(errorOf(c).find("token_issuers[0].audiences[1]: must not be empty"), std::string::npos);
  c = issuerConfig();
  c.jwks.max_refresh = std::chrono::seconds(10);
  EXPECT_NE(errorOf(c).find("token_issuers[0].jwks.max_refresh: must not be below min_refresh"),
            std::string::npos);
  c = issuerConfig();
  c.jwks.min_refetch_interval = std::chrono::milliseconds(0);
  EXPECT_NE(errorOf(c).find("jwks.min_refetch_interval: must be positive"), std::string::npos);
}

TEST(TokenIssuerConfigTest, AnIssuerIsConfiguredOnce) {
  std::vector<TokenIssuerConfig> configs = {issuerConfig(), issuerConfig()};
  const Status st = validateIssuerConfigs(configs, "token_issuers");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "token_issuers[1].issuer: \"https://idp.example.com\" is configured twice");
  configs[1].issuer = kIssuer + "/";  // a different issuer: compared exactly
  EXPECT_TRUE(validateIssuerConfigs(configs, "token_issuers").ok());
}

std::string errorOf(const TokenRequirements& r) {
  const Status st = validateTokenRequirements(r, {issuerConfig()}, "targets.budget.token");
  return st.ok() ? std::string("ok") : st.message();
}

TEST(TokenRequirementsTest, IssuersMustBeConfiguredExactly) {
  EXPECT_EQ(errorOf(testing::requirements()), "ok");
  EXPECT_EQ(errorOf(testing::requirements({})),
            "targets.budget.token.issuers: at least one is required");
  EXPECT_NE(errorOf(testing::requirements({kIssuer + "/"}))
                .find("targets.budget.token.issuers[0]: \"https://idp.example.com/\" is not a "
                      "configured token issuer"),
            std::string::npos);
}

TEST(TokenRequirementsTest, SomeAudienceMustBeInForce) {
  TokenIssuerConfig c = issuerConfig();
  c.audiences.clear();
  TokenRequirements r = testing::requirements();
  Status st = validateTokenRequirements(r, {c}, "t");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("has no audiences and t.audiences is empty"), std::string::npos);
  r.audiences = {"api://target"};
  EXPECT_TRUE(validateTokenRequirements(r, {c}, "t").ok());
}

TEST(TokenRequirementsTest, BindingParameters) {
  TokenRequirements r = testing::requirements();
  r.binding = BindingMode::kSubToSpiffe;
  r.binding_claim = "oid";
  EXPECT_NE(errorOf(r).find("binding_claim: \"oid\" is not one of sub, azp, appid, client_id"),
            std::string::npos);
  r.binding_claim = "azp";
  r.client_ids = {{"11111111-2222-3333-4444-555555555555", "spiffe://example.org/agent/a"}};
  EXPECT_EQ(errorOf(r), "ok");
  r.client_ids["c2"] = "https://example.org/agent";
  EXPECT_NE(errorOf(r).find("client_ids[\"c2\"]:"), std::string::npos);
  r.client_ids.erase("c2");
  r.binding = BindingMode::kCnfX5t;
  EXPECT_NE(
      errorOf(r).find("client_ids: only used with binding sub_to_spiffe (binding is cnf_x5t)"),
      std::string::npos);
}

TEST(FetchUrlTest, Forms) {
  auto url = parseFetchUrl("https://Login.Example.com/tenant/discovery/v2.0/keys?appid=1");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "login.example.com");
  EXPECT_EQ(url->port_number, 443);
  EXPECT_EQ(url->target, "/tenant/discovery/v2.0/keys?appid=1");
  EXPECT_EQ(url->host_header, "login.example.com");

  url = parseFetchUrl("http://127.0.0.1:8080/jwks");
  ASSERT_TRUE(url.ok());
  EXPECT_FALSE(url->tls);
  EXPECT_TRUE(url->host_is_ip);
  EXPECT_EQ(url->host_header, "127.0.0.1:8080");
  url = parseFetchUrl("http://[::1]:9/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host_header, "[::1]:9");

  for (const char* bad :
       {"http://localhost/jwks", "http://10.0.0.1/jwks", "https://user@idp.example.com/",
        "https://idp.example.com/#frag", "https://idp.example.com:0/", "https:///jwks",
        "https://idp_example.com/", "file:///etc/jwks.json", "not a url"}) {
    EXPECT_FALSE(parseFetchUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace warden::token
