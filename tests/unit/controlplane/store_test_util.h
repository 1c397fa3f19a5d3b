// Helpers for the Store tests: a fake clock, actors, opening a store and a valid agent.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "controlplane/store.h"
#include "test_db.h"

namespace warden::controlplane::testing {

// Shared by the store and the test; starts at 2026-01-01T00:00:00Z.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> now_us =
      std::make_shared<std::atomic<std::int64_t>>(1'767'225'600'000'000);

  StoreOptions options() const {
    return StoreOptions{[n = now_us] { return n->load(); }};
  }
  std::int64_t nowUnix() const { return now_us->load() / 1'000'000; }
  void advanceSeconds(std::int64_t s) { *now_us += s * 1'000'000; }
};

inline const Actor kAdmin{"spiffe://example.org/admin", "mtls"};
inline const Actor kBootstrap{"admin", "bootstrap"};

inline std::unique_ptr<Store> openStore(const std::string& path, const FakeClock& clock) {
  auto store = Store::open(path, clock.options());
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
  return store.ok() ? std::move(*store) : nullptr;
}

inline AgentRecord makeAgent(const std::string& name) {
  AgentRecord r;
  r.name = name;
  r.spiffe_id = "spiffe://example.org/agent/" + name;
  r.display_name = "Agent " + name;
  r.owner = "team-" + name;
  r.tags = {{"team", "finance"}};
  r.roles = {{"api://budget", {"reader"}}};
  return r;
}

}  // namespace warden::controlplane::testing
