// Coroutines that wait for "something changed" (a new store generation, new audit events),
// woken by notifyAll().
//
// A waiter reads epoch() before it checks its condition and passes that to wait(): a change
// announced in between (while the waiter was suspended writing its last answer, say) then
// ends the wait at once instead of being lost until the timeout. Without the epoch, a live
// audit stream that was busy sending one sidecar's event missed the other sidecar's, for up
// to its 15 s keep-alive.
// I/O thread only: no locking.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>

namespace warden::controlplane {

class ChangeWaiters {
 public:
  // Counts notifyAll() calls.
  std::uint64_t epoch() const { return epoch_; }
  // Returns at once if notifyAll() ran since epoch() was `seen`; otherwise at the next
  // notifyAll() or after `timeout`. Either way the caller re-checks its condition.
  boost::asio::awaitable<void> wait(boost::asio::io_context& ioc, std::uint64_t seen,
                                    std::chrono::milliseconds timeout);
  void notifyAll();

 private:
  std::uint64_t epoch_ = 0;
  std::list<std::shared_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace warden::controlplane
