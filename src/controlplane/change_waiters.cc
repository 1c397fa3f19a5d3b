#include "controlplane/change_waiters.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace warden::controlplane {

namespace asio = boost::asio;

asio::awaitable<void> ChangeWaiters::wait(asio::io_context& ioc, std::uint64_t seen,
                                          std::chrono::milliseconds timeout) {
  if (seen != epoch_) co_return;
  auto timer = std::make_shared<asio::steady_timer>(ioc, timeout);
  auto it = timers_.insert(timers_.end(), timer);
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  timers_.erase(it);
}

void ChangeWaiters::notifyAll() {
  ++epoch_;
  for (auto& t : timers_) t->cancel();
}

}  // namespace warden::controlplane
