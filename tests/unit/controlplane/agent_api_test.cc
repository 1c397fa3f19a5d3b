// The agent's JSON shape on the API (and in the seed): what it accepts and keeps.
#include "controlplane/agent_api.h"

#include <gtest/gtest.h>

namespace warden::controlplane {
namespace {

using json = nlohmann::json;

TEST(AgentApiJsonTest, AnEmptyRoleListIsStillAnAssignment) {
  // The token service issues tokens only for audiences the agent has an assignment for;
  // `[]` means "may get a token for it, without roles" (a target whose rules need none).
  const auto parsed = agentFromApiJson(json::parse(
      R"({"name":"r","spiffe_id":"spiffe://example.org/r","roles":{"api://a":[],"api://b":["Read"]}})"));
  ASSERT_TRUE(std::holds_alternative<AgentRecord>(parsed)) << std::get<std::string>(parsed);
  const auto& a = std::get<AgentRecord>(parsed);
  ASSERT_EQ(a.roles.size(), 2u);
  EXPECT_TRUE(a.roles.at("api://a").empty());
  EXPECT_EQ(a.roles.at("api://b"), std::vector<std::string>{"Read"});
}

TEST(AgentApiJsonTest, RolesMustBeListsOfStrings) {
  const auto parsed = agentFromApiJson(json::parse(R"({"name":"r","roles":{"api://a":[1]}})"));
  ASSERT_TRUE(std::holds_alternative<std::string>(parsed));
  EXPECT_EQ(std::get<std::string>(parsed), "roles.api://a: expected a list of strings");
}

}  // namespace
}  // namespace warden::controlplane
