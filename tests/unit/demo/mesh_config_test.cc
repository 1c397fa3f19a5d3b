// The demo mesh file: the shipped example parses, and every mistake is named by file,
// line and field path (docs/demo.md).
#include "demo/mesh_config.h"

#include <gtest/gtest.h>

namespace warden::demo {
namespace {

const std::string kExample = std::string(WARDEN_SOURCE_DIR) + "/examples/budget/mesh.yaml";

std::string errorOf(const std::string& yaml) {
  auto c = parseMeshConfig(yaml, "/m/mesh.yaml");
  return c ? std::string("parsed") : c.error().message;
}

const std::string kMinimal = R"(name: m
base_port: 40000
trust_domains: [example.org]
seed: seed.yaml
agents:
  - {name: backend, spiffe_id: spiffe://example.org/backend, app: backend, ingress: true}
  - name: caller
    spiffe_id: spiffe://example.org/caller
    routes: [backend]
)";

TEST(MeshConfigTest, TheShippedExampleDescribesTheBudgetMesh) {
  auto c = loadMeshConfig(kExample);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "budget");
  EXPECT_EQ(c->home_trust_domain, "example.org");
  ASSERT_EQ(c->trust_domains.size(), 2u);
  EXPECT_EQ(c->trust_domains[1], "gcp.example");
  EXPECT_EQ(c->token_ttl, std::chrono::seconds(30));
  for (const char* name : {"budget-backend", "budget-report", "budget-approval", "employee-menus", "demo-agent",
                           "google-budget-reader", "github-budget-reader"}) {
    EXPECT_NE(c->agent(name), nullptr) << name;
  }
  const auto* backend = c->agent("budget-backend");
  EXPECT_EQ(backend->app, AppKind::kBackend);
  EXPECT_TRUE(backend->ingress);
  EXPECT_EQ(c->agent("google-budget-reader")->trust_domain, "gcp.example");
  EXPECT_TRUE(c->agent("github-budget-reader")->external_oidc_credential);
  ASSERT_TRUE(c->external_oidc.has_value());
  EXPECT_EQ(c->external_oidc->agent, "github-budget-reader");
  // Routes default their Host to the target and their audience to api://<target>.
  const auto& routes = c->agent("budget-report")->routes;
  ASSERT_EQ(routes.size(), 5u);
  EXPECT_EQ(routes[0].host, "budget-backend");
  EXPECT_EQ(routes[0].audience, "api://budget-backend");
  EXPECT_FALSE(routes[3].token);
  EXPECT_EQ(routes[3].host, "budget-backend.no-token");
  EXPECT_EQ(routes[4].audience, "api://budget-approval");
  EXPECT_EQ(c->seed_path, std::string(WARDEN_SOURCE_DIR) + "/examples/budget/seed.yaml");
}

TEST(MeshConfigTest, MinimalMeshParses) { EXPECT_EQ(errorOf(kMinimal), "parsed"); }

TEST(MeshConfigTest, UnknownKeysNameFileLineAndPath) {
  const auto e = errorOf(kMinimal + "    colour: blue\n");
  EXPECT_NE(e.find("/m/mesh.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("agents[1]"), std::string::npos) << e;
  EXPECT_NE(e.find("colour"), std::string::npos) << e;
}

TEST(MeshConfigTest, CrossReferencesAreChecked) {
  std::string y = kMinimal;
  y.replace(y.find("routes: [backend]"), 17, "routes: [ledger]");
  EXPECT_NE(errorOf(y).find("no agent named ledger"), std::string::npos) << errorOf(y);

  y = kMinimal;
  y.replace(y.find("app: backend, ingress: true"), 27, "app: backend");
  EXPECT_NE(errorOf(y).find("takes no calls"), std::string::npos) << errorOf(y);

  y = kMinimal;
  y.replace(y.find("routes: [backend]"), 17, "routes: [backend, backend]");
  EXPECT_NE(errorOf(y).find("host: used twice"), std::string::npos) << errorOf(y);

  y = kMinimal;
  y.replace(y.find("spiffe://example.org/caller"), 27, "spiffe://other.example/caller");
  EXPECT_NE(errorOf(y).find("not in trust_domains"), std::string::npos) << errorOf(y);

  y = kMinimal;
  y.replace(y.find("routes: [backend]"), 17, "routes: [{target: backend, token: false, audience: api://x}]");
  EXPECT_NE(errorOf(y).find("needs token: true"), std::string::npos) << errorOf(y);

  EXPECT_NE(errorOf(kMinimal + "    credential: external_oidc\n").find("needs the external_oidc section"),
            std::string::npos);
}

TEST(MeshConfigTest, ValuesAreValidated) {
  std::string y = kMinimal;
  y.replace(y.find("base_port: 40000"), 16, "base_port: 65520");
  EXPECT_NE(errorOf(y).find("too high"), std::string::npos) << errorOf(y);

  y = kMinimal;
  y.replace(y.find("name: m"), 7, "name: M!");
  EXPECT_NE(errorOf(y).find("name: expected"), std::string::npos) << errorOf(y);

  EXPECT_NE(errorOf(kMinimal + "host: 0.0.0.0\n").find("127.0.0.1 only"), std::string::npos);

  y = kMinimal;
  y.replace(y.find("spiffe://example.org/backend"), 28, "spiffe://example.org");
  EXPECT_NE(errorOf(y).find("a workload ID needs a path"), std::string::npos) << errorOf(y);

  y = kMinimal;
  y.replace(y.find("app: backend"), 12, "app: frontend");
  EXPECT_NE(errorOf(y).find("expected backend, agent or none"), std::string::npos) << errorOf(y);
}

}  // namespace
}  // namespace warden::demo
