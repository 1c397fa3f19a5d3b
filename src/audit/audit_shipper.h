// Ships spooled audit events to the server: one thread, transport injected.
//
//          notify() / poll_interval
//   idle <------------------------------+
//    |                                  | nothing after ackedSeq()
//    v                                  |
//   read a batch after ackedSeq() ------+
//    |
//    v
//   send(batch) --kOk-----> spool.ack(last seq) --> read the next batch
//    |--kRetry----------> backoff (doubling from backoff_initial to backoff_max, jittered
//    |                    over its upper half; only stop() cuts it) --> read the same batch
//    `--kReject---------> batch of n > 1: resend its first n/2 (isolates the event the
//                         server refuses); a single refused event is acknowledged, skipped
//                         and counted as rejected
//
// Delivery is at-least-once: a crash (or a failed ack()) after the server stored a batch
// sends it again, under the same seqs. The server deduplicates on (sidecar, spool id, seq)
// (AuditSpool::spoolId()), so every event is stored exactly once. kReject is for a
// definitive refusal of the content (the server parsed the batch and will never accept
// it); anything transient or ambiguous (connection errors, timeouts, 5xx, 401/403, 429)
// must be kRetry, or events are skipped.
//
// The send function runs on the shipper's thread, with no lock held; it must bound its own
// time (a request timeout), since stop() waits for a send in progress.
// Thread-safety: notify(), stop() and stats() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "audit/audit_spool.h"

namespace warden::audit {

enum class ShipOutcome : std::uint8_t { kOk, kRetry, kReject };

struct ShipResult {
  ShipOutcome outcome = ShipOutcome::kOk;
  std::string message{};  // why it failed (kept as last_error)

  static ShipResult ok() { return {}; }
  static ShipResult retry(std::string message) { return {ShipOutcome::kRetry, std::move(message)}; }
  static ShipResult reject(std::string message) {
    return {ShipOutcome::kReject, std::move(message)};
  }
};

using ShipFn = std::function<ShipResult(std::span<const SpooledEvent>)>;

struct AuditShipperOptions {
  std::size_t max_batch_events = 500;
  std::size_t max_batch_bytes = 1024 * 1024;      // JSON bytes; one larger event is sent alone
  std::chrono::milliseconds poll_interval{1000};  // safety net: appends wake it anyway
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{30000};
};

struct AuditShipperStats {
  std::uint64_t shipped = 0;   // events the server acknowledged
  std::uint64_t batches = 0;   // acknowledged sends
  std::uint64_t failures = 0;  // failed attempts: kRetry sends, spool read or ack errors
  std::uint64_t rejected = 0;  // events the server refused for good (skipped)
  std::uint64_t consecutive_failures = 0;
  std::string last_error{};                // "" until something failed
  std::int64_t last_success_unix_ms = 0;   // 0: never
  std::uint64_t backlog = 0;               // spool.pendingEvents()
  std::int64_t oldest_pending_age_ms = 0;  // 0: nothing pending
};

class AuditShipper {
 public:
  // Starts the thread, and becomes the spool's append listener (so each append wakes it).
  // The spool must outlive the shipper.
  AuditShipper(AuditSpool& spool, ShipFn send, AuditShipperOptions options = {});
  ~AuditShipper();  // stop()
  AuditShipper(const AuditShipper&) = delete;
  AuditShipper& operator=(const AuditShipper&) = delete;

  // New events are in the spool: read now rather than at the next poll.
  void notify();
  // Returns once the thread has ended: at once if it is idle or backing off, after the
  // send in progress (and its ack) otherwise. Unacknowledged events stay in the spool.
  void stop();

  AuditShipperStats stats() const;

 private:
  void run();
  void recordFailure(const std::string& message);
  // Waits out the backoff for the current failure count; false if stop() was called.
  bool backoff(std::uint64_t random);

  AuditSpool& spool_;
  const ShipFn send_;
  const AuditShipperOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                    // guarded by mutex_
  bool notified_ = false;                    // guarded by mutex_
  std::int64_t oldest_pending_unix_ms_ = 0;  // guarded by mutex_
  AuditShipperStats stats_;                  // guarded by mutex_ (backlog filled by stats())

  std::mutex join_mutex_;  // stop() from two threads joins once
  std::thread thread_;
};

}  // namespace warden::audit
