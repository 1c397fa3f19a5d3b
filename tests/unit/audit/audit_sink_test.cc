#include "audit/audit_sink.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "support/test_pki.h"

namespace warden::audit {
namespace {

AuditEvent sampleEvent(int i) {
  AuditEvent e;
  e.time_unix_us = 1'764'000'000'000'000 + i;
  e.request_id = "req-" + std::to_string(i);
  e.allowed = (i % 2) == 0;
  e.layer = "rbac";
  e.reason = e.allowed ? "allowed" : "rule_denied";
  e.status = e.allowed ? 200 : 403;
  e.caller_id = "spiffe://example.org/budget-report";
  e.method = "GET";
  e.path = "/budget/\"quoted\"\n\x01\xff";  // must be escaped, invalid UTF-8 replaced
  return e;
}

TEST(AuditEventTest, JsonLineIsValidJsonWithEscapedFields) {
  const std::string line = toJsonLine(sampleEvent(1));
  ASSERT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["decision"], "deny");
  EXPECT_EQ(j["reason"], "rule_denied");
  EXPECT_EQ(j["status"], 403);
  EXPECT_EQ(j["path"], "/budget/\"quoted\"\n\x01\xEF\xBF\xBD");
  EXPECT_EQ(j["time"], "2025-11-24T16:00:00.000001Z");
}

TEST(AuditSinkTest, WritesEveryEventToFileInOrder) {
  testing::TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  {
    auto sink = AuditSink::create({.file_path = path});
    ASSERT_TRUE(sink.ok()) << sink.error().message;
    for (int i = 0; i < 1000; ++i) (*sink)->submit(sampleEvent(i));
    (*sink)->flush();
    EXPECT_EQ((*sink)->written(), 1000u);
    EXPECT_EQ((*sink)->dropped(), 0u);
  }
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(nlohmann::json::parse(line)["request_id"], "req-" + std::to_string(n));
    ++n;
  }
  EXPECT_EQ(n, 1000);
}

TEST(AuditSinkTest, UnwritableFileIsAClearError) {
  auto sink = AuditSink::create({.file_path = "/nonexistent-dir/audit.jsonl"});
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().message.find("audit.file: cannot open /nonexistent-dir"),
            std::string::npos);
}

}  // namespace
}  // namespace warden::audit
