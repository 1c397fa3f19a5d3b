// The `token:` block of an egress route (sidecar_config.h): defaults, cross-field rules, and
// errors that name the file, line and field path.
#include <gtest/gtest.h>

#include "proxy/sidecar_config.h"

namespace warden::proxy {
namespace {

std::string config(const std::string& token_block) {
  return R"(identity:
  cert: svid.pem
  key: svid.key
  bundles: { example.org: bundle.pem }
egress:
  listen: 127.0.0.1:0
  routes:
    - host: budget-backend
      address: 127.0.0.1:8443
      spiffe_id: spiffe://example.org/budget-backend
      token:
)" + token_block;
}

Result<SidecarConfig> parse(const std::string& token_block) {
  return parseSidecarConfig(config(token_block), "/etc/warden/sidecar.yaml");
}

std::string errorOf(const std::string& token_block) {
  auto c = parse(token_block);
  return c.ok() ? std::string("(accepted)") : c.error().message;
}

TEST(EgressTokenConfigTest, PrivateKeyJwtWithDefaults) {
  auto c = parse(R"(        token_endpoint: https://sts.example.org/token
        issuer: https://sts.example.org
        resource: api://budget-backend
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& t = c->egress->routes[0].token;
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->token_endpoint, "https://sts.example.org/token");
  EXPECT_EQ(t->issuer, "https://sts.example.org");
  EXPECT_EQ(t->resource, "api://budget-backend");
  EXPECT_EQ(t->client_auth, TokenClientAuth::kPrivateKeyJwt);
  EXPECT_TRUE(t->client_id.empty());
  EXPECT_TRUE(t->ca_file.empty());
  EXPECT_FALSE(t->refresh_before.has_value());
}

TEST(EgressTokenConfigTest, EveryField) {
  auto c = parse(R"(        token_endpoint: http://127.0.0.1:9000/oauth2/token
        issuer: https://login.example.com/tenant/v2.0
        assertion_audience: api://AzureADTokenExchange
        scope: api://budget-backend/.default
        client_id: 0b8f6e5c-app
        ca_file: roots.pem
        refresh_before: 90s
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& t = *c->egress->routes[0].token;
  EXPECT_EQ(t.assertion_audience, "api://AzureADTokenExchange");
  EXPECT_EQ(t.scope, "api://budget-backend/.default");
  EXPECT_EQ(t.client_id, "0b8f6e5c-app");
  EXPECT_EQ(t.ca_file, "/etc/warden/roots.pem");  // relative to the config file
  EXPECT_EQ(t.refresh_before, std::chrono::seconds(90));

  auto mtls = parse(R"(        token_endpoint: https://127.0.0.1:9443/token
        client_auth: tls_client_auth
        server_spiffe_id: spiffe://example.org/token-service
        resource: api://budget-backend
)");
  ASSERT_TRUE(mtls.ok()) << mtls.error().message;
  EXPECT_EQ(mtls->egress->routes[0].token->client_auth, TokenClientAuth::kTlsClientAuth);
  EXPECT_EQ(mtls->egress->routes[0].token->server_spiffe_id, "spiffe://example.org/token-service");
}

TEST(EgressTokenConfigTest, ErrorsNameTheFieldPath) {
  const std::string p = "egress.routes[0].token";
  EXPECT_NE(errorOf("        issuer: https://a\n        resource: r\n")
                .find(p + ".token_endpoint: is required"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/token\n        resource: r\n")
                .find(p + ".issuer: is required with private_key_jwt"),
            std::string::npos);
  // An assertion audience given instead of the issuer (Entra's FIC) needs no issuer.
  auto fic = parse("        token_endpoint: https://login.example/t/oauth2/v2.0/token\n"
                   "        assertion_audience: api://AzureADTokenExchange\n"
                   "        scope: api://budget-backend/.default\n");
  ASSERT_TRUE(fic.ok()) << fic.error().message;
  EXPECT_TRUE(fic->egress->routes[0].token->issuer.empty());
  EXPECT_EQ(fic->egress->routes[0].token->assertion_audience, "api://AzureADTokenExchange");
  EXPECT_NE(errorOf("        token_endpoint: https://a/token\n        issuer: https://a\n")
                .find("at least one of resource and scope"),
            std::string::npos);
  // Tokens are credentials: never fetched in the clear from another machine.
  EXPECT_NE(errorOf("        token_endpoint: http://sts.example.org/token\n        issuer: x\n"
                    "        resource: r\n")
                .find(p + ".token_endpoint: plain http is allowed only to a loopback"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: http://127.0.0.1:1/t\n"
                    "        client_auth: tls_client_auth\n        resource: r\n")
                .find("tls_client_auth needs an https token endpoint"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n"
                    "        client_auth: client_secret_basic\n        resource: r\n")
                .find(p + ".client_auth: expected private_key_jwt or tls_client_auth"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n        issuer: x\n        resource: r\n"
                    "        ca_file: r.pem\n        server_spiffe_id: spiffe://example.org/sts\n")
                .find("exclusive"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n        issuer: x\n        resource: r\n"
                    "        server_spiffe_id: https://sts\n")
                .find(p + ".server_spiffe_id"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n        issuer: x\n        resource: r\n"
                    "        refresh_before: 60\n")
                .find(p + ".refresh_before"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n        issuer: x\n        resource: r\n"
                    "        client_secret: hunter2\n")
                .find("client_secret"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t?x=1\n        issuer: x\n"
                    "        resource: r\n")
                .find("a query is not allowed"),
            std::string::npos);
  // Line numbers point into the file.
  EXPECT_EQ(errorOf("        token_endpoint: https://a/t\n        issuer: x\n        resource: r\n"
                    "        refresh_before: 60\n")
                .rfind("/etc/warden/sidecar.yaml:", 0),
            0u);
}

// RFC 8693 §2.1: with subject_token_file the grant is token exchange; the file is resolved
// like every other path, and the subject token type defaults to ...:jwt.
TEST(EgressTokenConfigTest, Rfc8693TokenExchangeFromASubjectTokenFile) {
  auto c = parse(R"(        token_endpoint: https://sts.example.org/token
        subject_token_file: run/github-oidc-token
        resource: api://budget-backend
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& t = *c->egress->routes[0].token;
  EXPECT_TRUE(t.tokenExchange());
  EXPECT_EQ(t.subject_token_file, "/etc/warden/run/github-oidc-token");
  EXPECT_EQ(t.subject_token_type, "urn:ietf:params:oauth:token-type:jwt");
  EXPECT_EQ(t.grantName(), "token_exchange");
  EXPECT_EQ(t.clientAuthName(), "none");
  EXPECT_TRUE(t.issuer.empty()) << "no client assertion, so no issuer is required";
  EXPECT_TRUE(t.client_id.empty()) << "client_id is sent only when configured";

  auto id_token = parse(R"(        token_endpoint: http://127.0.0.1:9000/token
        subject_token_file: /var/run/secrets/azure/tokens/azure-identity-token
        subject_token_type: urn:ietf:params:oauth:token-type:id_token
        scope: api://budget-backend/.default
        client_id: budget-approval
)");
  ASSERT_TRUE(id_token.ok()) << id_token.error().message;
  const auto& u = *id_token->egress->routes[0].token;
  EXPECT_EQ(u.subject_token_file, "/var/run/secrets/azure/tokens/azure-identity-token");
  EXPECT_EQ(u.subject_token_type, "urn:ietf:params:oauth:token-type:id_token");
  EXPECT_EQ(u.client_id, "budget-approval");

  // Without the file, the grant stays client_credentials.
  auto cc = parse("        token_endpoint: https://a/t\n        issuer: x\n        resource: r\n");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc->egress->routes[0].token->grantName(), "client_credentials");
  EXPECT_EQ(cc->egress->routes[0].token->clientAuthName(), "private_key_jwt");
}

// RFC 8693 §2.1 has no client authentication: the fields that shape one are refused with a
// token exchange, and subject_token_type means nothing without the file.
TEST(EgressTokenConfigTest, Rfc8693TokenExchangeExcludesClientAuthentication) {
  const std::string p = "egress.routes[0].token";
  const std::string base =
      "        token_endpoint: https://a/t\n        subject_token_file: tok\n"
      "        resource: r\n";
  for (const std::string key : {"client_auth: private_key_jwt", "client_auth: tls_client_auth",
                                "issuer: https://a", "assertion_audience: api://x"}) {
    const std::string field = key.substr(0, key.find(':'));
    EXPECT_NE(errorOf(base + "        " + key + "\n")
                  .find(p + "." + field + ": does not apply with subject_token_file"),
              std::string::npos)
        << key << ": " << errorOf(base + "        " + key + "\n");
  }
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n        issuer: x\n        resource: r\n"
                    "        subject_token_type: urn:ietf:params:oauth:token-type:jwt\n")
                .find(p + ".subject_token_type: applies only with subject_token_file"),
            std::string::npos);
  EXPECT_NE(errorOf(base + "        subject_token_type: urn:ietf:params:oauth:token-type:saml2\n")
                .find(p + ".subject_token_type: expected urn:ietf:params:oauth:token-type:jwt or"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n        subject_token_file: \"\"\n"
                    "        resource: r\n")
                .find(p + ".subject_token_file"),
            std::string::npos);
  // The subject token is a credential: the same transport rule as for every grant.
  EXPECT_NE(errorOf("        token_endpoint: http://sts.example.org/token\n"
                    "        subject_token_file: tok\n        resource: r\n")
                .find(p + ".token_endpoint: plain http is allowed only to a loopback"),
            std::string::npos);
  EXPECT_NE(errorOf("        token_endpoint: https://a/t\n        subject_token_file: tok\n")
                .find("at least one of resource and scope"),
            std::string::npos);
}

}  // namespace
}  // namespace warden::proxy
