// Store::open: migrations at open, data and generation kept across reopen, and a database
// written by a newer Warden refused.
#include <gtest/gtest.h>

#include "controlplane/schema.h"
#include "controlplane/sqlite_db.h"
#include "controlplane/store.h"
#include "store_test_util.h"

namespace warden::controlplane {
namespace {

using testing::FakeClock;
using testing::queryInt;
using testing::StoreDir;

TEST(StoreOpen, MigrationsApplyOnceAndReopenKeepsData) {
  StoreDir dir;
  FakeClock clock;
  {
    auto store = testing::openStore(dir.db(), clock);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->createAgent(testing::makeAgent("report"), testing::kAdmin).ok());
  }
  clock.advanceSeconds(3600);
  {
    auto store = testing::openStore(dir.db(), clock);  // second open: nothing to apply
    ASSERT_TRUE(store);
    auto agent = store->getAgent("report");
    ASSERT_TRUE(agent.ok());
    EXPECT_EQ(agent->revision, 1u);
    EXPECT_EQ(store->generation(), 1u);  // persisted, not restarted
  }
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(queryInt(*db, "SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(storeMigrations().size()));
  EXPECT_EQ(queryInt(*db, "SELECT applied_at FROM schema_migrations WHERE version = 1"),
            clock.nowUnix() - 3600);  // from the first open
}

TEST(StoreOpen, NewerDatabaseIsRefusedAndLeftAlone) {
  StoreDir dir;
  FakeClock clock;
  ASSERT_TRUE(testing::openStore(dir.db(), clock));
  {
    auto db = sqlite::Db::open(dir.db());
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("INSERT INTO schema_migrations (version, name, applied_at)"
                         " VALUES (999, 'from the future', 0)")
                    .ok());
  }
  auto store = Store::open(dir.db(), clock.options());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("schema version 999"), std::string::npos)
      << store.error().message;
  EXPECT_NE(store.error().message.find(dir.db()), std::string::npos);

  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(queryInt(*db, "SELECT MAX(version) FROM schema_migrations"), 999);
}

}  // namespace
}  // namespace warden::controlplane
