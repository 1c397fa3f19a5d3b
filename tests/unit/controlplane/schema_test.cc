// Migrations: applied once, in order, in one transaction; a newer database is refused.
#include "controlplane/schema.h"

#include <gtest/gtest.h>

#include <array>

#include "controlplane/sqlite_db.h"
#include "test_db.h"

namespace warden::controlplane {
namespace {

using testing::queryInt;
using testing::StoreDir;

TEST(Schema, StoreMigrationsApplyOnce) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  const auto known = static_cast<std::int64_t>(storeMigrations().size());
  auto first = migrate(*db, storeMigrations(), 100);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, known);
  auto second = migrate(*db, storeMigrations(), 200);  // nothing left to apply
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(queryInt(*db, "SELECT COUNT(*) FROM schema_migrations"), known);
  EXPECT_EQ(queryInt(*db, "SELECT applied_at FROM schema_migrations WHERE version = 1"), 100);
  EXPECT_EQ(queryInt(*db, "SELECT value FROM meta WHERE key = 'generation'"), 0);
  auto version = schemaVersion(*db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, known);
}

TEST(Schema, EmptyDatabaseIsVersionZero) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  auto version = schemaVersion(*db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
}

TEST(Schema, LaterMigrationsApplyOnTopOfEarlierOnesOnly) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  const std::array<Migration, 2> both{{
      {1, "one", "CREATE TABLE t1 (x INTEGER); INSERT INTO t1 VALUES (1);"},
      {2, "two", "CREATE TABLE t2 (y INTEGER);"},
  }};
  auto v1 = migrate(*db, std::span(both).first(1), 10);
  ASSERT_TRUE(v1.ok()) << v1.error().message;
  EXPECT_EQ(*v1, 1);
  auto v2 = migrate(*db, both, 20);
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  EXPECT_EQ(*v2, 2);
  auto again = migrate(*db, both, 30);  // re-running would fail on CREATE TABLE t1
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(queryInt(*db, "SELECT COUNT(*) FROM t1"), 1);
  EXPECT_EQ(queryInt(*db, "SELECT applied_at FROM schema_migrations WHERE version = 2"), 20);
}

TEST(Schema, NewerDatabaseIsRefusedAndLeftAlone) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  const std::array<Migration, 2> both{{
      {1, "one", "CREATE TABLE t1 (x INTEGER);"},
      {2, "two", "CREATE TABLE t2 (y INTEGER);"},
  }};
  ASSERT_TRUE(migrate(*db, both, 10).ok());
  auto older_code = migrate(*db, std::span(both).first(1), 20);
  ASSERT_FALSE(older_code.ok());
  EXPECT_NE(older_code.error().message.find("schema version 2, newer than this build of "
                                            "Warden knows (1)"),
            std::string::npos)
      << older_code.error().message;
  EXPECT_EQ(queryInt(*db, "SELECT MAX(version) FROM schema_migrations"), 2);
}

TEST(Schema, FailingMigrationRollsBackEverything) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  const std::array<Migration, 2> broken{{
      {1, "fine", "CREATE TABLE t1 (x INTEGER);"},
      {2, "broken", "CREATE TABLE t2 (y INTEGER); THIS IS NOT SQL;"},
  }};
  auto result = migrate(*db, broken, 10);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("migration 2 (broken)"), std::string::npos)
      << result.error().message;
  auto version = schemaVersion(*db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
  EXPECT_EQ(queryInt(*db, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('t1', 't2')"), 0);
}

TEST(Schema, MigrationNumbersMustBeContiguous) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  const std::array<Migration, 1> gap{{{2, "two", "SELECT 1;"}}};
  EXPECT_FALSE(migrate(*db, gap, 0).ok());
}

}  // namespace
}  // namespace warden::controlplane
