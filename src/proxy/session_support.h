// Small pieces every downstream session (ingress and egress) uses: clocks for audit
// timestamps and durations, the peer address, and the guard that counts a connection in
// the worker and in the metrics for exactly as long as its coroutine lives.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "proxy/worker.h"

namespace warden::proxy {

using SessionClock = std::chrono::steady_clock;

inline std::int64_t nowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::uint64_t microsSince(SessionClock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(SessionClock::now() - t0).count());
}

// "ip:port" of the peer, or "" if the socket has no peer any more.
inline std::string remoteAddress(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return {};
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

class ConnectionScope {
 public:
  ConnectionScope(Worker& worker, bool ingress) : worker_(worker), ingress_(ingress) {
    worker_.connectionStarted();
    worker_.shared().metrics->connectionOpened(ingress_);
  }
  ~ConnectionScope() {
    worker_.connectionEnded();
    worker_.shared().metrics->connectionClosed(ingress_);
  }
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;

 private:
  Worker& worker_;
  bool ingress_;
};

}  // namespace warden::proxy
