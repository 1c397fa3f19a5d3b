// Test helpers for the control-plane store that need only SQLite: a private temp directory
// and a one-number query.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "controlplane/sqlite_db.h"

namespace warden::controlplane::testing {

// A fresh directory under gtest's TempDir() (which honours TEST_TMPDIR/TMPDIR), removed
// at the end of the test.
class StoreDir {
 public:
  StoreDir() {
    std::string tmpl = ::testing::TempDir() + "warden-store-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~StoreDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  StoreDir(const StoreDir&) = delete;
  StoreDir& operator=(const StoreDir&) = delete;

  std::string db() const { return path_ + "/store.db"; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The first column of the first row of `sql` (-1 on error, with a test failure).
inline std::int64_t queryInt(sqlite::Db& db, const std::string& sql) {
  auto stmt = db.prepare(sql);
  EXPECT_TRUE(stmt.ok()) << (stmt.ok() ? "" : stmt.error().message);
  if (!stmt.ok()) return -1;
  auto row = stmt->step();
  EXPECT_TRUE(row.ok() && *row) << sql;
  return (row.ok() && *row) ? stmt->columnInt(0) : -1;
}

}  // namespace warden::controlplane::testing
