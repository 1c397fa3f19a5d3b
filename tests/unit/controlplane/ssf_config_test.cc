// `control_plane.ssf:` in the server configuration: defaults, and strict validation with
// field-path errors.
#include <gtest/gtest.h>

#include "controlplane/api_config.h"

namespace warden::controlplane {
namespace {

const std::string kHead = R"(control_plane:
  listen: 127.0.0.1:8443
  tls: { svid: warden-server }
)";

Result<std::optional<ControlPlaneConfig>> parse(const std::string& ssf) {
  return parseControlPlaneConfig(kHead + ssf, "/etc/warden/server.yaml", "/var/lib/warden");
}

std::string errorOf(const std::string& ssf) {
  auto c = parse(ssf);
  EXPECT_FALSE(c.ok()) << ssf;
  return c.ok() ? "" : c.error().message;
}

TEST(SsfConfigTest, AbsentMeansNoReceiver) {
  auto c = parse("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE((*c)->ssf.has_value());
}

TEST(SsfConfigTest, FullAndDefaults) {
  auto c = parse(R"(  ssf:
    audience: https://warden.example/ssf
    max_age: 2h
    revocation_ttl: 12h
    transmitters:
      - issuer: https://idp.example
        jwks_url: https://idp.example/jwks
        ca_file: idp-ca.pem
        algorithms: [RS256]
        push_authorization: Bearer s3cret token
      - issuer: https://soc.example
        jwks_file: keys/soc.json
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& ssf = *(*c)->ssf;
  EXPECT_EQ(ssf.audience, "https://warden.example/ssf");
  EXPECT_EQ(ssf.max_age, std::chrono::hours(2));
  EXPECT_EQ(ssf.revocation_ttl, std::chrono::hours(12));
  ASSERT_EQ(ssf.transmitters.size(), 2u);
  EXPECT_EQ(ssf.transmitters[0].issuer, "https://idp.example");
  EXPECT_EQ(ssf.transmitters[0].jwks_url, "https://idp.example/jwks");
  EXPECT_EQ(ssf.transmitters[0].ca_file, "/etc/warden/idp-ca.pem");  // relative to the file
  EXPECT_EQ(ssf.transmitters[0].algorithms, std::vector<std::string>{"RS256"});
  EXPECT_EQ(ssf.transmitters[0].push_authorization, "Bearer s3cret token");
  EXPECT_EQ(ssf.transmitters[1].jwks_file, "/etc/warden/keys/soc.json");
  EXPECT_EQ(ssf.transmitters[1].algorithms, (std::vector<std::string>{"RS256", "PS256", "ES256"}));
  EXPECT_TRUE(ssf.transmitters[1].push_authorization.empty());

  auto d = parse("  ssf:\n    transmitters: [{issuer: https://idp.example, jwks_file: /k.json}]\n");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE((*d)->ssf->audience.empty());  // the API's base URL, once it listens
  EXPECT_EQ((*d)->ssf->max_age, std::chrono::hours(24));
  EXPECT_EQ((*d)->ssf->revocation_ttl, std::chrono::hours(24));
}

TEST(SsfConfigTest, ErrorsNameTheField) {
  const std::string tx = "      - issuer: https://idp.example\n        jwks_file: /k.json\n";
  EXPECT_NE(errorOf("  ssf: yes\n").find("control_plane.ssf: expected a mapping"), std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    audience: x\n").find("control_plane.ssf.transmitters: is required"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters: []\n").find("control_plane.ssf.transmitters:"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    colour: red\n    transmitters:\n" + tx).find("control_plane.ssf.colour: unknown key"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n      - jwks_file: /k.json\n")
                .find("control_plane.ssf.transmitters[0].issuer: is required"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n      - issuer: https://idp.example\n")
                .find("control_plane.ssf.transmitters[0]: exactly one of jwks_url and jwks_file"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n      - issuer: https://idp.example\n"
                    "        jwks_file: /k.json\n        jwks_url: https://idp.example/k\n")
                .find("exactly one of jwks_url and jwks_file"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n" + tx + "        ca_file: /ca.pem\n")
                .find("control_plane.ssf.transmitters[0].ca_file: only used with jwks_url"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n      - issuer: https://idp.example\n"
                    "        jwks_url: ftp://idp.example/k\n")
                .find("control_plane.ssf.transmitters[0].jwks_url:"),
            std::string::npos);
  for (const char* alg : {"HS256", "none", "rs256"}) {
    EXPECT_NE(errorOf("  ssf:\n    transmitters:\n" + tx + "        algorithms: [ES256, " + alg + "]\n")
                  .find("control_plane.ssf.transmitters[0].algorithms[1]: expected one of"),
              std::string::npos)
        << alg;
  }
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n" + tx + "        algorithms: [ES256, ES256]\n")
                .find("algorithms[1]: ES256 is listed twice"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n" + tx + "        algorithms: []\n")
                .find("transmitters[0].algorithms:"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n" + tx + tx).find("transmitters[1].issuer: issuer listed twice"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n" + tx + "        push_authorization: \"Bearer a\\nb\"\n")
                .find("transmitters[0].push_authorization:"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n" + tx + "        push_authorization: Bearer a\n"
                    "      - issuer: https://other.example\n        jwks_file: /k.json\n"
                    "        push_authorization: Bearer a\n")
                .find("transmitters[1].push_authorization: another transmitter has the same value"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    transmitters:\n      - issuer: \"" + std::string(253, 'a') +
                    "\"\n        jwks_file: /k.json\n")
                .find("transmitters[0].issuer: printable ASCII without spaces, at most 252 bytes"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    audience: \"a b\"\n    transmitters:\n" + tx).find("control_plane.ssf.audience:"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    max_age: 10s\n    transmitters:\n" + tx).find("control_plane.ssf.max_age:"),
            std::string::npos);
  EXPECT_NE(errorOf("  ssf:\n    revocation_ttl: 3\n    transmitters:\n" + tx)
                .find("control_plane.ssf.revocation_ttl:"),
            std::string::npos);
  // File and line come first.
  EXPECT_EQ(errorOf("  ssf:\n    transmitters: []\n").rfind("/etc/warden/server.yaml:", 0), 0u);
}

}  // namespace
}  // namespace warden::controlplane
