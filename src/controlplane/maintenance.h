// The control plane's housekeeping: audit events past their retention, expired SET ids
// and expired revocations are pruned on a timer (every minute, and once at start).
// Thread-safety: one internal thread; the destructor stops and joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "controlplane/store.h"

namespace warden::controlplane {

class Maintenance {
 public:
  Maintenance(Store& store, std::chrono::seconds audit_retention,
              std::chrono::seconds interval = std::chrono::minutes(1));
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // One pass now (also what the timer runs); returns the audit events removed.
  std::uint64_t runOnce();

 private:
  Store& store_;
  std::chrono::seconds retention_;
  std::chrono::seconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace warden::controlplane
