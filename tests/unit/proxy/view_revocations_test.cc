// The control-plane view's `revocations` compiled into the sidecar's revocation set
// (layer 3 token_revoked).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "governance/governance.h"
#include "proxy/control_plane_client.h"

namespace warden::proxy {
namespace {

using nlohmann::json;

json view(json revocations) {
  governance::GovernanceDocument doc;
  doc.version = "g1";
  json v = {{"generation", 1},
            {"agent", "budget-backend"},
            {"policy", nullptr},
            {"governance", json::parse(governance::governanceToJson(doc))}};
  if (!revocations.is_discarded()) v["revocations"] = std::move(revocations);
  return v;
}

TEST(ViewRevocationsTest, EmptyOrAbsentMeansNoSet) {
  auto empty = compileView(view(json::array()).dump(), 0);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->revocations, nullptr);  // the request path checks one pointer
  auto absent = compileView(view(json(json::value_t::discarded)).dump(), 0);
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_EQ(absent->revocations, nullptr);
}

TEST(ViewRevocationsTest, EntriesBecomeCutoffsBySubject) {
  auto compiled = compileView(
      view(json::array({{{"subject", "spiffe://example.org/report"}, {"issued_before", 1000}, {"reason", "session-revoked"}},
                        {{"subject", "spiffe://example.org/report"}, {"issued_before", 2000}, {"reason", ""}},
                        {{"subject", "client-7"}, {"issued_before", 500}}}))
          .dump(),
      0);
  ASSERT_TRUE(compiled.ok()) << compiled.error().message;
  ASSERT_NE(compiled->revocations, nullptr);
  EXPECT_EQ(compiled->revocations->size(), 2u);
  EXPECT_EQ(compiled->revocations->issuedBefore("spiffe://example.org/report"), 2000);
  EXPECT_EQ(compiled->revocations->issuedBefore("client-7"), 500);
}

TEST(ViewRevocationsTest, MalformedEntriesRefuseTheView) {
  for (const json& bad : {json("x"), json::array({json(1)}), json::array({{{"subject", ""}, {"issued_before", 1}}}),
                          json::array({{{"subject", "a"}}}),
                          json::array({{{"subject", "a"}, {"issued_before", "1"}}})}) {
    auto compiled = compileView(view(bad).dump(), 0);
    ASSERT_FALSE(compiled.ok()) << bad.dump();
    EXPECT_NE(compiled.error().message.find("view.revocations"), std::string::npos);
  }
}

}  // namespace
}  // namespace warden::proxy
