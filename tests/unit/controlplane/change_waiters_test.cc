#include "controlplane/change_waiters.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

namespace warden::controlplane {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Starts a wait and reports whether it has returned.
std::shared_ptr<bool> startWait(asio::io_context& ioc, ChangeWaiters& waiters, std::uint64_t seen,
                                milliseconds timeout) {
  auto done = std::make_shared<bool>(false);
  asio::co_spawn(
      ioc,
      [&waiters, &ioc, seen, timeout, done]() -> asio::awaitable<void> {
        co_await waiters.wait(ioc, seen, timeout);
        *done = true;
      },
      asio::detached);
  return done;
}

TEST(ChangeWaitersTest, AChangeAnnouncedBeforeTheWaitIsNotLost) {
  // The live audit stream's case: it read the epoch, queried, and was writing when another
  // sidecar's events were stored and announced.
  asio::io_context ioc;
  ChangeWaiters waiters;
  const std::uint64_t seen = waiters.epoch();
  waiters.notifyAll();
  auto done = startWait(ioc, waiters, seen, seconds(30));
  ioc.run_for(milliseconds(500));
  EXPECT_TRUE(*done) << "the wait slept through a change announced after its epoch was read";
  EXPECT_EQ(waiters.epoch(), seen + 1);
}

TEST(ChangeWaitersTest, NotifyWakesEveryWaiterAndTimeoutEndsAQuietWait) {
  asio::io_context ioc;
  ChangeWaiters waiters;
  auto first = startWait(ioc, waiters, waiters.epoch(), seconds(30));
  auto second = startWait(ioc, waiters, waiters.epoch(), seconds(30));
  ioc.run_for(milliseconds(100));
  EXPECT_FALSE(*first);
  EXPECT_FALSE(*second);
  asio::post(ioc, [&] { waiters.notifyAll(); });
  ioc.run_for(milliseconds(500));
  EXPECT_TRUE(*first);
  EXPECT_TRUE(*second);

  // Nothing announced: the wait ends at its timeout, not before.
  auto quiet = startWait(ioc, waiters, waiters.epoch(), milliseconds(300));
  ioc.restart();
  ioc.run_for(milliseconds(100));
  EXPECT_FALSE(*quiet);
  ioc.restart();
  ioc.run_for(milliseconds(1000));
  EXPECT_TRUE(*quiet);
}

}  // namespace
}  // namespace warden::controlplane
