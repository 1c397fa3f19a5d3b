// The embedded identity server's OIDC discovery for its JWT issuer, over real TLS on
// 127.0.0.1 (certificates made here): with `jwt_issuer` set, the bundle endpoint also
// serves <jwt_issuer path>/.well-known/openid-configuration (OpenID Connect Discovery 1.0
// §4) and the jwks_uri (RFC 7517 JWK Set, keys `use: sig`), with the bundle's
// Cache-Control; keys are read per request, so a rotation shows at once. Without
// `jwt_issuer` nothing of this is served.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "issuer/identity_server.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "support/http_client_harness.h"
#include "support/test_pki.h"

namespace warden::testing {
namespace {

using Json = nlohmann::json;

class JwtIssuerDiscoveryTest : public ::testing::Test {
 protected:
  // An identity server with only a bundle endpoint (on /bundle) and the given jwt_issuer.
  std::unique_ptr<issuer::IdentityServer> start(const std::string& jwt_issuer) {
    LeafOptions web;
    web.uri_san = false;
    web.ips = {"127.0.0.1"};
    const auto leaf = web_ca_.issue("spiffe://web.test/unused", web);
    issuer::IdentityServerConfig config;
    config.trust_domain = "example.org";
    config.state_dir = dir_.file("state");
    config.jwt_key_type = issuer::JwtKeyType::kRsa2048;
    config.jwt_issuer = jwt_issuer;
    issuer::BundleEndpointConfig endpoint;
    endpoint.path = "/bundle";
    endpoint.cert_path = writeFile(dir_.path(), "web.pem", leaf.certPem());
    endpoint.key_path = writeFile(dir_.path(), "web.key", leaf.keyPem());
    config.bundle_endpoint = endpoint;
    auto server = issuer::IdentityServer::start(config);
    EXPECT_TRUE(server.ok()) << server.error().message;
    return server.ok() ? std::move(*server) : nullptr;
  }

  static HttpResponse fetch(std::uint16_t port, const std::string& method,
                            const std::string& path) {
    auto c = TestConnection::tls(port, std::nullopt);
    EXPECT_NE(c, nullptr);
    if (!c) return {};
    EXPECT_TRUE(c->send(makeRequest(method, path)));
    auto res = c->read(method == "HEAD");
    EXPECT_TRUE(res) << c->lastError();
    return res ? *res : HttpResponse{};
  }

  TempDir dir_;
  TestCa web_ca_{"web.test"};
};

TEST_F(JwtIssuerDiscoveryTest, BundleEndpointServesTheJwtIssuersDiscoveryAndKeys) {
  // The issuer URL's path is where the documents live (§4: issuer + /.well-known/...).
  const std::string iss = "https://oidc.example.org/warden";
  auto server = start(iss);
  ASSERT_NE(server, nullptr);
  const auto port = server->bundleEndpointPort();

  const auto discovery = fetch(port, "GET", "/warden/.well-known/openid-configuration");
  ASSERT_EQ(discovery.status, 200) << discovery.body;
  EXPECT_EQ(discovery.header("content-type"), "application/json");
  EXPECT_EQ(discovery.header("cache-control"), "no-store");
  const Json doc = Json::parse(discovery.body, nullptr, false);
  EXPECT_EQ(doc["issuer"], iss);
  EXPECT_EQ(doc["jwks_uri"], iss + "/keys");
  EXPECT_EQ(doc["id_token_signing_alg_values_supported"], Json::array({"RS256"}));
  EXPECT_EQ(doc["response_types_supported"], Json::array({"id_token"}));
  EXPECT_EQ(doc["subject_types_supported"], Json::array({"public"}));

  const auto keys = fetch(port, "GET", "/warden/keys");
  ASSERT_EQ(keys.status, 200) << keys.body;
  EXPECT_EQ(keys.header("cache-control"), "no-store");
  const Json jwks = Json::parse(keys.body, nullptr, false);
  ASSERT_EQ(jwks["keys"].size(), 1u) << keys.body;
  const Json& jwk = jwks["keys"][0];
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["use"], "sig");
  EXPECT_EQ(jwk["alg"], "RS256");
  auto& authority = server->issuer().jwtAuthority();
  EXPECT_EQ(jwk["kid"], authority.activeKid());

  // A JWT-SVID the issuer mints verifies with the served key (iss = jwt_issuer).
  auto minted = authority.mint(identity::SpiffeId::parse("spiffe://example.org/a").value(),
                               {"api://AzureADTokenExchange"}, std::chrono::minutes(5));
  ASSERT_TRUE(minted.ok()) << minted.error().message;
  auto jws = jose::parseCompact(minted->token);
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(jws->payload["iss"], iss);
  auto key = jose::readPublicJwk(jwk);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_TRUE(jose::verify(*jws, jose::Alg::kRS256, key->get()).ok());

  // HEAD as GET without the body; other methods 405; the bundle is still on its path;
  // discovery is only under the issuer's path.
  const auto head = fetch(port, "HEAD", "/warden/keys");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(keys.body.size()));
  EXPECT_EQ(fetch(port, "POST", "/warden/keys").status, 405);
  EXPECT_EQ(fetch(port, "GET", "/bundle").status, 200);
  EXPECT_EQ(fetch(port, "GET", "/.well-known/openid-configuration").status, 404);
  EXPECT_EQ(fetch(port, "GET", "/keys").status, 404);

  // A prepared key is served before it signs (no caching: read per request).
  ASSERT_TRUE(server->issuer().prepareRotation().ok());
  const Json rotated = Json::parse(fetch(port, "GET", "/warden/keys").body, nullptr, false);
  EXPECT_EQ(rotated["keys"].size(), 2u) << rotated.dump();
}

TEST_F(JwtIssuerDiscoveryTest, WithoutJwtIssuerNoDiscoveryIsServed) {
  auto server = start("");
  ASSERT_NE(server, nullptr);
  const auto port = server->bundleEndpointPort();
  EXPECT_EQ(fetch(port, "GET", "/bundle").status, 200);
  EXPECT_EQ(fetch(port, "GET", "/.well-known/openid-configuration").status, 404);
  EXPECT_EQ(fetch(port, "GET", "/keys").status, 404);
}

}  // namespace
}  // namespace warden::testing
