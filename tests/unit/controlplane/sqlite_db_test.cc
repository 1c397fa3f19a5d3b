// The SQLite wrapper: pragmas and file mode at open, transactions, error messages.
#include "controlplane/sqlite_db.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_db.h"

namespace warden::controlplane {
namespace {

using testing::queryInt;
using testing::StoreDir;

TEST(SqliteDb, OpensWithWalForeignKeysAndFullSync) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(mode->columnText(0), "wal");
  EXPECT_EQ(queryInt(*db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(queryInt(*db, "PRAGMA synchronous"), 2);  // FULL
  std::error_code ec;
  const auto perms = std::filesystem::status(dir.db(), ec).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::group_all, std::filesystem::perms::none);
  EXPECT_EQ(perms & std::filesystem::perms::others_all, std::filesystem::perms::none);
}

TEST(SqliteDb, TransactionRollsBackUnlessCommitted) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER, s TEXT NOT NULL)").ok());
  {
    auto tx = sqlite::Transaction::begin(*db, sqlite::Transaction::Mode::kImmediate);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1, 'a')").ok());
  }  // destroyed without commit
  EXPECT_EQ(queryInt(*db, "SELECT COUNT(*) FROM t"), 0);
  {
    auto tx = sqlite::Transaction::begin(*db, sqlite::Transaction::Mode::kImmediate);
    ASSERT_TRUE(tx.ok());
    auto insert = db->prepare("INSERT INTO t VALUES (?, ?)");
    ASSERT_TRUE(insert.ok());
    insert->bind(1, std::int64_t{7}).bind(2, std::string_view());  // empty, not NULL
    ASSERT_TRUE(insert->run().ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_EQ(queryInt(*db, "SELECT x FROM t WHERE s = ''"), 7);
}

TEST(SqliteDb, ErrorsCarrySqliteMessage) {
  StoreDir dir;
  auto db = sqlite::Db::open(dir.db());
  ASSERT_TRUE(db.ok());
  auto stmt = db->prepare("SELECT * FROM no_such_table");
  ASSERT_FALSE(stmt.ok());
  EXPECT_NE(stmt.error().message.find("no such table"), std::string::npos)
      << stmt.error().message;
  auto bad_bind = db->prepare("SELECT ?");
  ASSERT_TRUE(bad_bind.ok());
  bad_bind->bind(2, std::int64_t{1});  // out of range: reported by step()
  auto step = bad_bind->step();
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.error().message.find("bind parameter 2"), std::string::npos);
  EXPECT_FALSE(sqlite::Db::open(dir.path() + "/missing-dir/store.db").ok());
}

}  // namespace
}  // namespace warden::controlplane
