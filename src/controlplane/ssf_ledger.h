// The control plane's JtiLedger (ssf/jti_ledger.h): (iss, jti) of every verified SET kept
// in the store's ssf_jtis table, so a restart of `warden server` does not apply a recent
// SET again when its transmitter retries it (docs/control-plane.md#shared-signals).
//
// An entry lives `retention` (SetVerifier::acceptanceWindow(): a replay older than that is
// refused as too old anyway). Expired rows are deleted at most once per prune_interval,
// from remember(). When the store cannot record a jti, remember() answers "new": applying
// an event twice is harmless (risk and state are set, a revocation added again), losing
// one is not; the failure is logged and counted.
// Thread-safety: all members may be called from any thread (the store serialises).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "controlplane/store.h"
#include "ssf/jti_ledger.h"

namespace warden::controlplane {

class StoreJtiLedger final : public ssf::JtiLedger {
 public:
  StoreJtiLedger(Store& store, std::chrono::seconds retention,
                 std::chrono::seconds prune_interval = std::chrono::hours(1));

  bool remember(std::string_view issuer, std::string_view jti, std::int64_t now_unix) override;
  // Undoes remember() for a SET that could not be applied, so its retry is applied.
  void forget(std::string_view issuer, std::string_view jti);

  std::uint64_t storeFailures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  Store& store_;
  const std::int64_t retention_s_;
  const std::int64_t prune_interval_s_;
  std::atomic<std::int64_t> next_prune_unix_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace warden::controlplane
