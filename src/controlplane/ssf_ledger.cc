#include "controlplane/ssf_ledger.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace warden::controlplane {

StoreJtiLedger::StoreJtiLedger(Store& store, std::chrono::seconds retention,
                               std::chrono::seconds prune_interval)
    : store_(store),
      retention_s_(std::max<std::int64_t>(1, retention.count())),
      prune_interval_s_(std::max<std::int64_t>(1, prune_interval.count())) {}

bool StoreJtiLedger::remember(std::string_view issuer, std::string_view jti, std::int64_t now_unix) {
  std::int64_t due = next_prune_unix_.load(std::memory_order_relaxed);
  if (now_unix >= due &&
      next_prune_unix_.compare_exchange_strong(due, now_unix + prune_interval_s_)) {
    if (auto pruned = store_.pruneJtis(now_unix); !pruned) {
      spdlog::warn("ssf: expired jtis not pruned: {}", pruned.error().message);
    }
  }
  auto fresh = store_.rememberJti(issuer, jti, now_unix, retention_s_);
  if (!fresh) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("ssf: jti of {} not recorded (a replay would be applied again): {}", issuer,
                  fresh.error().message);
    return true;
  }
  return *fresh;
}

void StoreJtiLedger::forget(std::string_view issuer, std::string_view jti) {
  if (auto st = store_.forgetJti(issuer, jti); !st) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("ssf: jti of {} not forgotten (its retry will be taken for a duplicate): {}",
                  issuer, st.error().message);
  }
}

}  // namespace warden::controlplane
