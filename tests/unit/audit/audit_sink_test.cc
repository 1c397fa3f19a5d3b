#include "audit/audit_sink.h"

#include "audit/audit_shipper.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

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

TEST(AuditSinkTest, WithSpoolDirEveryBatchIsAlsoSpooled) {
  testing::TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  auto sink = AuditSink::create({.file_path = path, .spool_dir = dir.file("spool")});
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  AuditSpool* spool = (*sink)->spool();
  ASSERT_NE(spool, nullptr);
  for (int i = 0; i < 300; ++i) (*sink)->submit(sampleEvent(i));
  (*sink)->flush();

  auto spooled = spool->readFrom(0, 1000, 1 << 30);
  ASSERT_TRUE(spooled.ok()) << spooled.error().message;
  std::ifstream in(path);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(n, spooled->size());
    EXPECT_EQ((*spooled)[n].seq, n + 1);
    EXPECT_EQ((*spooled)[n].json, line);  // the very line the file got
    ++n;
  }
  EXPECT_EQ(n, 300u);
  EXPECT_EQ(spooled->size(), 300u);
  EXPECT_EQ(spool->stats().dropped, 0u);
}

TEST(AuditSinkTest, WithoutSpoolDirThereIsNoSpool) {
  auto sink = AuditSink::create({});
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->spool(), nullptr);
}

TEST(AuditSinkTest, UnusableSpoolDirIsAClearError) {
  testing::TempDir dir;
  std::ofstream(dir.file("not-a-dir")) << "x";
  auto sink = AuditSink::create({.spool_dir = dir.file("not-a-dir") + "/spool"});
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.error().message.rfind("audit.spool_dir: ", 0), 0u) << sink.error().message;
}

TEST(AuditSinkTest, SubmittedEventsReachTheServerThroughSpoolAndShipper) {
  testing::TempDir dir;
  auto sink = AuditSink::create({.spool_dir = dir.file("spool")});
  ASSERT_TRUE(sink.ok()) << sink.error().message;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> received;
  {
    AuditShipper shipper(
        *(*sink)->spool(),
        [&](std::span<const SpooledEvent> batch) {
          std::lock_guard lock(mutex);
          for (const auto& event : batch) received.push_back(event.json);
          changed.notify_all();
          return ShipResult::ok();
        },
        {.poll_interval = std::chrono::hours(1)});  // woken by the spool's appends only
    for (int i = 0; i < 50; ++i) (*sink)->submit(sampleEvent(i));
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(20),
                                 [&] { return received.size() >= 50; }));
  }
  ASSERT_EQ(received.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(nlohmann::json::parse(received[static_cast<std::size_t>(i)])["request_id"],
              "req-" + std::to_string(i));
  }
}

}  // namespace
}  // namespace warden::audit
