#include "audit/audit_shipper.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "support/test_env.h"
#include "support/test_pki.h"

namespace warden::audit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kDeadline = seconds(20);

std::vector<std::string> lines(int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) out.push_back("{\"n\":" + std::to_string(i) + "}");
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out(last - first + 1);
  std::iota(out.begin(), out.end(), first);
  return out;
}

// The server side: stores what it is sent, deduplicating on seq as the real server does
// on (sidecar, seq), and remembers every delivery (duplicates included).
class FakeServer {
 public:
  void store(std::span<const SpooledEvent> batch) {
    std::lock_guard lock(mutex_);
    for (const auto& event : batch) {
      deliveries_.push_back(event.seq);
      stored_.emplace(event.seq, event.json);
    }
    changed_.notify_all();
  }
  int call() {
    std::lock_guard lock(mutex_);
    ++calls_;
    changed_.notify_all();
    return calls_;
  }
  bool waitForStored(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return stored_.size() >= n; });
  }
  bool waitForCalls(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return calls_ >= n; });
  }
  std::vector<std::uint64_t> deliveries() {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }
  std::map<std::uint64_t, std::string> stored() {
    std::lock_guard lock(mutex_);
    return stored_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int calls_ = 0;
  std::vector<std::uint64_t> deliveries_;
  std::map<std::uint64_t, std::string> stored_;
};

std::unique_ptr<AuditSpool> openSpool(const std::string& dir) {
  auto spool = AuditSpool::open(dir);
  EXPECT_TRUE(spool.ok()) << spool.error().message;
  return spool.ok() ? std::move(spool).value() : nullptr;
}

// Tiny backoff so retries are quick; a poll interval so long that only notify() (the
// spool's append listener) can explain a prompt delivery.
AuditShipperOptions fastOptions(std::size_t batch) {
  return {.max_batch_events = batch,
          .poll_interval = std::chrono::hours(1),
          .backoff_initial = milliseconds(1),
          .backoff_max = milliseconds(4)};
}

TEST(AuditShipperTest, DeliversEveryEventOnceInOrderDespiteFailures) {
  testing::TempDir dir;
  auto spool = openSpool(dir.file("spool"));
  FakeServer server;
  constexpr int kFailures = 5;
  AuditShipper shipper(
      *spool,
      [&](std::span<const SpooledEvent> batch) {
        if (server.call() <= kFailures) return ShipResult::retry("server unavailable");
        server.store(batch);
        return ShipResult::ok();
      },
      fastOptions(7));

  // Appends race with the shipper's reads and acks, as the audit writer's would.
  std::thread writer([&] {
    for (int b = 0; b < 20; ++b) ASSERT_TRUE(spool->append(lines(1 + 10 * b, 10)).ok());
  });
  writer.join();
  ASSERT_TRUE(server.waitForStored(200));
  shipper.stop();  // returns after the ack of a send in progress: stats are final

  EXPECT_EQ(server.deliveries(), range(1, 200));  // in order, no gap, no duplicate
  const auto stored = server.stored();
  for (int i = 1; i <= 200; ++i) {
    EXPECT_EQ(stored.at(static_cast<std::uint64_t>(i)), "{\"n\":" + std::to_string(i) + "}");
  }
  const auto stats = shipper.stats();
  EXPECT_EQ(stats.shipped, 200u);
  EXPECT_EQ(stats.failures, static_cast<std::uint64_t>(kFailures));
  EXPECT_EQ(stats.consecutive_failures, 0u);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(stats.last_error, "server unavailable");
  EXPECT_GT(stats.last_success_unix_ms, 0);
  EXPECT_EQ(stats.backlog, 0u);
  EXPECT_EQ(stats.oldest_pending_age_ms, 0);
  EXPECT_EQ(spool->ackedSeq(), 200u);
}

TEST(AuditShipperTest, AfterACrashBetweenSendAndAckOnlyUnackedEventsAreSentAgain) {
  testing::TempDir dir;
  const std::string path = dir.file("spool");
  FakeServer server;
  {
    auto spool = openSpool(path);
    for (int b = 0; b < 10; ++b) ASSERT_TRUE(spool->append(lines(1 + 10 * b, 10)).ok());
    // Batches 1-3 are stored and acknowledged; the server stores batch 4, but the answer
    // never arrives: the sidecar "crashes" before ack().
    auto options = fastOptions(10);
    options.backoff_initial = options.backoff_max = std::chrono::hours(1);
    AuditShipper shipper(
        *spool,
        [&](std::span<const SpooledEvent> batch) {
          const int call = server.call();
          if (call > 4) return ShipResult::retry("unreachable");
          server.store(batch);
          return call < 4 ? ShipResult::ok() : ShipResult::retry("connection reset");
        },
        options);
    ASSERT_TRUE(server.waitForCalls(4));
    shipper.stop();
    EXPECT_EQ(spool->ackedSeq(), 30u);
  }

  auto spool = openSpool(path);
  EXPECT_EQ(spool->ackedSeq(), 30u);
  EXPECT_EQ(spool->pendingEvents(), 70u);
  AuditShipper shipper(
      *spool,
      [&](std::span<const SpooledEvent> batch) {
        server.store(batch);
        return ShipResult::ok();
      },
      fastOptions(10));
  ASSERT_TRUE(server.waitForStored(100));
  shipper.stop();

  const auto deliveries = server.deliveries();
  // 1-40 before the crash, then 31-100: only batch 4 (31-40) went twice.
  std::vector<std::uint64_t> expected = range(1, 40);
  for (std::uint64_t seq = 31; seq <= 100; ++seq) expected.push_back(seq);
  EXPECT_EQ(deliveries, expected);
  // The server's deduplicated store holds every event exactly once.
  std::map<std::uint64_t, int> times;
  for (const auto seq : deliveries) ++times[seq];
  const auto stored = server.stored();
  ASSERT_EQ(stored.size(), 100u);
  for (std::uint64_t seq = 1; seq <= 100; ++seq) {
    EXPECT_EQ(stored.count(seq), 1u);
    EXPECT_EQ(times[seq], seq >= 31 && seq <= 40 ? 2 : 1) << seq;
  }
  EXPECT_EQ(shipper.stats().shipped, 70u);
  EXPECT_EQ(spool->pendingEvents(), 0u);
}

TEST(AuditShipperTest, StopWhileBackingOffIsPrompt) {
  testing::TempDir dir;
  auto spool = openSpool(dir.file("spool"));
  ASSERT_TRUE(spool->append(lines(1, 5)).ok());
  FakeServer server;
  auto options = fastOptions(100);
  options.backoff_initial = options.backoff_max = std::chrono::hours(1);
  AuditShipper shipper(
      *spool,
      [&](std::span<const SpooledEvent>) {
        server.call();
        return ShipResult::retry("503 from the server");
      },
      options);
  ASSERT_TRUE(server.waitForCalls(1));
  ASSERT_TRUE(testing::waitUntil([&] { return shipper.stats().failures == 1; }, kDeadline));

  const auto stats = shipper.stats();
  EXPECT_EQ(stats.backlog, 5u);
  EXPECT_EQ(stats.last_error, "503 from the server");
  EXPECT_EQ(stats.last_success_unix_ms, 0);
  EXPECT_GE(stats.oldest_pending_age_ms, 0);

  const auto start = std::chrono::steady_clock::now();
  shipper.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
  EXPECT_EQ(spool->ackedSeq(), 0u);  // nothing lost: still pending for the next shipper
  EXPECT_EQ(spool->pendingEvents(), 5u);
}

TEST(AuditShipperTest, ARejectedEventIsIsolatedAndSkippedTheRestIsDelivered) {
  testing::TempDir dir;
  auto spool = openSpool(dir.file("spool"));
  ASSERT_TRUE(spool->append(lines(1, 50)).ok());
  FakeServer server;
  AuditShipper shipper(
      *spool,
      [&](std::span<const SpooledEvent> batch) {
        for (const auto& event : batch) {
          if (event.seq == 23) return ShipResult::reject("invalid event");
        }
        server.store(batch);
        return ShipResult::ok();
      },
      fastOptions(16));
  ASSERT_TRUE(server.waitForStored(49));
  shipper.stop();

  std::vector<std::uint64_t> expected = range(1, 22);
  for (std::uint64_t seq = 24; seq <= 50; ++seq) expected.push_back(seq);
  EXPECT_EQ(server.deliveries(), expected);
  const auto stats = shipper.stats();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.shipped, 49u);
  EXPECT_EQ(stats.failures, 0u);
  EXPECT_EQ(stats.last_error, "server rejected seq 23 (skipped): invalid event");
  EXPECT_EQ(spool->ackedSeq(), 50u);
}

}  // namespace
}  // namespace warden::audit
