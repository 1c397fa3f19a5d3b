// Test calls on the sidecar's side (proxy/test_call.h): the call from the server is parsed
// strictly, is sent only over a route the app itself could use, and the option that turns
// test calls on is validated with an error naming the field.
#include <gtest/gtest.h>

#include "proxy/sidecar_config.h"
#include "proxy/test_call.h"

namespace warden::proxy {
namespace {

using nlohmann::json;

const std::string kBackend = "spiffe://example.org/budget-backend";
const std::string kApproval = "spiffe://example.org/budget-approval";

json goodCall() {
  return json{{"id", "0a1b2c"}, {"target", kBackend}, {"method", "GET"}, {"path", "/budget/read"}};
}

TEST(TestCallParseTest, AcceptsTheServersShape) {
  auto call = parseTestCall(goodCall());
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->id, "0a1b2c");
  EXPECT_EQ(call->target, kBackend);
  EXPECT_EQ(call->method, "GET");
  EXPECT_EQ(call->path, "/budget/read");
  EXPECT_TRUE(call->body.empty());
  json with_body = goodCall();
  with_body["method"] = "POST";
  with_body["body"] = "{}";
  with_body["content_type"] = "application/json";
  call = parseTestCall(with_body);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->body, "{}");
  EXPECT_EQ(call->content_type, "application/json");
}

TEST(TestCallParseTest, RefusesAnythingElseNamingTheMember) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& j) { j.erase("id"); }, "id is required"},
      {[](json& j) { j["id"] = "../../etc"; }, "id: expected lower-case hex"},
      {[](json& j) { j["id"] = "ABC"; }, "id: expected lower-case hex"},
      {[](json& j) { j["id"] = 7; }, "id: expected a string"},
      {[](json& j) { j["target"] = "https://example.org/x"; }, "target:"},
      {[](json& j) { j["method"] = "GET /x HTTP/1.1\r\nX:"; },
       "method: expected an HTTP method token"},
      {[](json& j) { j["method"] = "CONNECT"; }, "method:"},
      {[](json& j) { j["method"] = ""; }, "method:"},
      {[](json& j) { j["path"] = "budget/read"; }, "path: expected an origin-form path"},
      {[](json& j) { j["path"] = "/a b"; }, "path:"},
      {[](json& j) { j["path"] = "/a\r\nHost: evil"; }, "path:"},
      {[](json& j) { j["path"] = "http://evil/"; }, "path:"},
      {[](json& j) { j["body"] = std::string(kTestCallBodyLimit + 1, 'x'); },
       "body: larger than 64 KiB"},
      {[](json& j) { j["content_type"] = "text/plain\r\nX-Forwarded-SPIFFE-ID: x"; },
       "content_type:"},
      {[](json& j) { j["headers"] = json::object(); }, "unknown member headers"},
  };
  for (const auto& [mutate, expected] : cases) {
    json j = goodCall();
    mutate(j);
    auto call = parseTestCall(j);
    ASSERT_FALSE(call.ok()) << j.dump();
    EXPECT_NE(call.error().message.find(expected), std::string::npos)
        << j.dump() << " -> " << call.error().message;
  }
  EXPECT_FALSE(parseTestCall(json::array()).ok());
}

EgressConfig egressWith(std::vector<EgressRoute> routes) {
  EgressConfig e;
  e.listen = {"127.0.0.1", 0};
  e.routes = std::move(routes);
  return e;
}

EgressRoute route(std::string host, std::string prefix, std::string id) {
  EgressRoute r;
  r.host = std::move(host);
  r.path_prefix = std::move(prefix);
  r.address = {"127.0.0.1", 1};
  r.spiffe_id = std::move(id);
  return r;
}

TEST(TestCallHostTest, TheRouteThatExpectsTheTarget) {
  const auto egress =
      egressWith({route("approval", "", kApproval), route("budget-backend", "", kBackend)});
  auto host = testCallHost(egress, kBackend, "/budget/read");
  ASSERT_TRUE(host.ok()) << host.error().message;
  EXPECT_EQ(*host, "budget-backend");
  host = testCallHost(egress, kApproval, "/a2a/status");
  ASSERT_TRUE(host.ok()) << host.error().message;
  EXPECT_EQ(*host, "approval");
}

TEST(TestCallHostTest, NoRouteMeansNoCall) {
  const auto egress = egressWith({route("budget-backend", "/budget", kBackend)});
  auto host = testCallHost(egress, "spiffe://example.org/employee-menus", "/budget/read");
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.error().message.find("no egress route to spiffe://example.org/employee-menus"),
            std::string::npos);
  // The prefix is segment-aware: /budgets is not under /budget.
  EXPECT_FALSE(testCallHost(egress, kBackend, "/budgets").ok());
  EXPECT_TRUE(testCallHost(egress, kBackend, "/budget/read").ok());
}

TEST(TestCallHostTest, AnotherRouteOfTheSameHostThatWinsForThePathIsNotUsed) {
  // For /shared/admin the egress picks the longer prefix, which expects another identity:
  // a call "to the backend" on that path would really go to the approval agent.
  const auto egress =
      egressWith({route("shared", "/", kBackend), route("shared", "/shared/admin", kApproval)});
  EXPECT_TRUE(testCallHost(egress, kBackend, "/shared/read").ok());
  EXPECT_FALSE(testCallHost(egress, kBackend, "/shared/admin").ok());
  auto host = testCallHost(egress, kApproval, "/shared/admin/x");
  ASSERT_TRUE(host.ok()) << host.error().message;
  EXPECT_EQ(*host, "shared");
}

std::string sidecarYaml(const std::string& control_plane_extra, bool egress) {
  std::string y =
      "identity:\n  cert: svid.pem\n  key: svid.key\n  bundles: { example.org: bundle.pem }\n"
      "control_plane:\n  url: https://127.0.0.1:8443\n  server_id: "
      "spiffe://example.org/warden/server\n"
      "  state_dir: state\n" +
      control_plane_extra;
  if (egress) {
    y += "egress:\n  listen: 127.0.0.1:0\n  routes:\n"
         "    - { host: budget-backend, address: 127.0.0.1:8443, spiffe_id: " +
         kBackend + " }\n";
  }
  return y;
}

TEST(TestCallConfigTest, OffUnlessConfigured) {
  auto c = parseSidecarConfig(sidecarYaml("", true), "/etc/warden/sidecar.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->control_plane->test_calls);
  c = parseSidecarConfig(sidecarYaml("  test_calls: true\n", true), "/etc/warden/sidecar.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->control_plane->test_calls);
}

TEST(TestCallConfigTest, NeedsEgressAndABoolean) {
  auto c =
      parseSidecarConfig(sidecarYaml("  test_calls: true\n", false), "/etc/warden/sidecar.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("control_plane.test_calls: needs egress"), std::string::npos)
      << c.error().message;
  c = parseSidecarConfig(sidecarYaml("  test_calls: sometimes\n", true),
                         "/etc/warden/sidecar.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("control_plane.test_calls"), std::string::npos)
      << c.error().message;
}

}  // namespace
}  // namespace warden::proxy
