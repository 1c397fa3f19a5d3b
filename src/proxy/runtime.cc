#include "proxy/runtime.h"

#include <ctime>

namespace warden::proxy {

std::chrono::seconds governanceAge(const SharedState& shared) {
  const std::int64_t confirmed = shared.governance_confirmed_unix.load(std::memory_order_relaxed);
  if (confirmed == 0) return std::chrono::seconds(0);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  return std::chrono::seconds(now > confirmed ? now - confirmed : 0);
}

}  // namespace warden::proxy
