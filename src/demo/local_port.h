// Whether a TCP port on a local address can be bound right now: `warden up` checks every
// port of the mesh before it starts anything, so a taken port is refused with its name
// instead of a half-started mesh. Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <string>

namespace warden::demo {

// True when `host:port` (an IP literal) can be bound with SO_REUSEADDR, as the
// listeners do; the probe socket is closed before returning.
bool portIsFree(const std::string& host, std::uint16_t port);

}  // namespace warden::demo
