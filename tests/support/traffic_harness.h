// Continuous GET traffic to a plain-HTTP port (an egress listener) from two threads: one
// keep-alive connection (reconnecting after a failure) and a stream of fresh connections.
// For "zero failed requests while X changes underneath" tests (rotation, reloads).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client_harness.h"

namespace warden::testing {

class TrafficDriver {
 public:
  // Starts both threads at once.
  TrafficDriver(std::uint16_t port, std::string path);
  ~TrafficDriver();  // stop()
  TrafficDriver(const TrafficDriver&) = delete;
  TrafficDriver& operator=(const TrafficDriver&) = delete;

  void stop();  // idempotent; joins
  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  // "<what>: <status> <body>" of the first failure, or "".
  std::string firstFailure() const;

 private:
  void record(const std::optional<HttpResponse>& r, const char* what);

  const std::uint16_t port_;
  const std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  mutable std::mutex mutex_;
  std::string first_failure_;  // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace warden::testing
