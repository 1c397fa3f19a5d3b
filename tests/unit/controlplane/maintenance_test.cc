// Retention: audit events older than control_plane.audit_retention are pruned; newer ones
// stay (issue 5, "retention configurable").
#include "controlplane/maintenance.h"

#include <gtest/gtest.h>

#include "support/test_pki.h"

namespace warden::controlplane {
namespace {

TEST(Maintenance, PrunesAuditEventsPastRetentionOnly) {
  testing::TempDir dir;
  auto store = Store::open(dir.file("warden.db"));
  ASSERT_TRUE(store.ok()) << store.error().message;
  const std::vector<AuditLine> lines{
      {1, R"({"time":"2020-01-01T00:00:00.000000Z","request_id":"old","decision":"allow"})"},
      {2, R"({"time":"2099-01-01T00:00:00.000000Z","request_id":"future","decision":"deny"})"}};
  ASSERT_TRUE((*store)->insertAuditEvents("spiffe://example.org/a", lines).ok());
  Maintenance maintenance(**store, std::chrono::hours(24), std::chrono::hours(1));
  // The constructor's first pass may already have run; a second one removes nothing more.
  (void)maintenance.runOnce();
  auto left = (*store)->countAuditEvents(AuditQuery{});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 1u);
  AuditQuery future;
  future.request_id = "future";
  EXPECT_EQ((*store)->countAuditEvents(future).value(), 1u);
}

}  // namespace
}  // namespace warden::controlplane
