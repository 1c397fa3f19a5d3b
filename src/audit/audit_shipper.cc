#include "audit/audit_shipper.h"

#include <algorithm>
#include <cstdint>
#include <random>

namespace warden::audit {
namespace {

std::int64_t nowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

AuditShipper::AuditShipper(AuditSpool& spool, ShipFn send, AuditShipperOptions options)
    : spool_(spool), send_(std::move(send)), options_(options) {
  // Listener first: an append between the two would otherwise find nobody to wake, and
  // the thread's first (empty) read could then sleep a whole poll interval.
  spool_.setAppendListener([this] { notify(); });
  thread_ = std::thread([this] { run(); });
}

AuditShipper::~AuditShipper() {
  stop();
}

void AuditShipper::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void AuditShipper::stop() {
  // First, so that no append calls notify() on a shipper being destroyed: once this
  // returns, the listener is neither running nor called again.
  spool_.setAppendListener(nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  std::lock_guard join(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

AuditShipperStats AuditShipper::stats() const {
  AuditShipperStats out;
  std::int64_t oldest = 0;
  {
    std::lock_guard lock(mutex_);
    out = stats_;
    oldest = oldest_pending_unix_ms_;
  }
  // Outside mutex_: the shipper never holds its lock while it calls the spool.
  out.backlog = spool_.pendingEvents();
  if (out.backlog > 0 && oldest > 0)
    out.oldest_pending_age_ms = std::max<std::int64_t>(0, nowUnixMs() - oldest);
  return out;
}

void AuditShipper::recordFailure(const std::string& message) {
  std::lock_guard lock(mutex_);
  ++stats_.failures;
  ++stats_.consecutive_failures;
  stats_.last_error = message;
}

bool AuditShipper::backoff(std::uint64_t random) {
  std::unique_lock lock(mutex_);
  using std::chrono::milliseconds;
  milliseconds delay = std::max(options_.backoff_initial, milliseconds(1));
  for (std::uint64_t i = 1; i < stats_.consecutive_failures && delay < options_.backoff_max; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, std::max(options_.backoff_max, milliseconds(1)));
  // Jitter over the upper half: sidecars that lost the server together must not all come
  // back in the same instant.
  const auto half = static_cast<std::uint64_t>(delay.count() / 2);
  delay = milliseconds(static_cast<std::int64_t>(half + random % (half + 1)));
  // Not cut by notify(): new events do not make the server healthier.
  return !wake_.wait_for(lock, delay, [&] { return stopping_; });
}

void AuditShipper::run() {
  // Jitter needs spread across sidecars, not secrecy; std::random_device could throw.
  std::mt19937_64 random{
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<std::uintptr_t>(this)};
  // While isolating a rejected event, batches are smaller; the full size returns once
  // everything up to the rejected batch's last seq is acknowledged.
  std::size_t limit = std::max<std::size_t>(options_.max_batch_events, 1);
  std::uint64_t isolating_until = 0;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      // Cleared before reading: an append after this point sets it again, so no wake-up
      // is lost between an empty read and the wait below.
      notified_ = false;
    }
    const std::uint64_t acked = spool_.ackedSeq();
    if (acked >= isolating_until) limit = std::max<std::size_t>(options_.max_batch_events, 1);
    auto batch = spool_.readFrom(acked, limit, options_.max_batch_bytes);
    if (!batch) {
      recordFailure(batch.error().message);
      if (!backoff(random())) return;
      continue;
    }
    if (batch->empty()) {
      std::unique_lock lock(mutex_);
      oldest_pending_unix_ms_ = 0;
      wake_.wait_for(lock, options_.poll_interval, [&] { return stopping_ || notified_; });
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      oldest_pending_unix_ms_ = batch->front().appended_unix_ms;
    }

    const ShipResult result = send_(*batch);
    const std::uint64_t last = batch->back().seq;
    switch (result.outcome) {
      case ShipOutcome::kOk: {
        // Acked even if stop() was called meanwhile: the server has these events.
        if (Status done = spool_.ack(last); !done) {
          recordFailure(done.message());  // sent again later; the server deduplicates
          if (!backoff(random())) return;
          continue;
        }
        std::lock_guard lock(mutex_);
        stats_.shipped += batch->size();
        ++stats_.batches;
        stats_.consecutive_failures = 0;
        stats_.last_success_unix_ms = nowUnixMs();
        break;
      }
      case ShipOutcome::kRetry:
        recordFailure(result.message);
        if (!backoff(random())) return;
        break;
      case ShipOutcome::kReject: {
        if (batch->size() > 1) {
          limit = batch->size() / 2;
          isolating_until = std::max(isolating_until, last);
          std::lock_guard lock(mutex_);
          stats_.last_error = "server rejected a batch (isolating the event): " + result.message;
          break;
        }
        // One event the server will never take: skip it, or it blocks every later event.
        // It stays in the local audit log.
        if (Status done = spool_.ack(last); !done) {
          recordFailure(done.message());
          if (!backoff(random())) return;
          continue;
        }
        std::lock_guard lock(mutex_);
        ++stats_.rejected;
        stats_.consecutive_failures = 0;
        stats_.last_error =
            "server rejected seq " + std::to_string(last) + " (skipped): " + result.message;
        break;
      }
    }
  }
}

}  // namespace warden::audit
