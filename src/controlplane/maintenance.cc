#include "controlplane/maintenance.h"

#include <spdlog/spdlog.h>

namespace warden::controlplane {

Maintenance::Maintenance(Store& store, std::chrono::seconds audit_retention,
                         std::chrono::seconds interval)
    : store_(store), retention_(audit_retention), interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      runOnce();
      lock.lock();
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

Maintenance::~Maintenance() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Maintenance::runOnce() {
  const auto now = std::chrono::system_clock::now();
  const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto cutoff_us =
      std::chrono::duration_cast<std::chrono::microseconds>((now - retention_).time_since_epoch()).count();
  std::uint64_t removed = 0;
  if (auto n = store_.pruneAuditEvents(cutoff_us)) {
    removed = *n;
    if (removed > 0) spdlog::info("control plane: {} audit events past retention removed", removed);
  } else {
    spdlog::error("control plane: audit retention: {}", n.error().message);
  }
  if (auto n = store_.pruneJtis(now_unix); !n) spdlog::error("control plane: SET ids: {}", n.error().message);
  if (auto n = store_.pruneRevocations(now_unix); !n) {
    spdlog::error("control plane: revocations: {}", n.error().message);
  }
  return removed;
}

}  // namespace warden::controlplane
