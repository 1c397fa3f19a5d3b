#include "controlplane/password_worker.h"

#include <spdlog/spdlog.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <utility>

#include "controlplane/local_users.h"
#include "controlplane/password_hash.h"

namespace warden::controlplane {
namespace asio = boost::asio;

namespace {

// Runs `work` on `pool` and resumes the awaiting coroutine on its own executor with the
// result. `work` must not throw: nothing on the pool's thread would catch it. The job
// holds the caller's executor as outstanding work, so its loop waits for the answer.
template <typename T, typename Work>
asio::awaitable<T> onPool(asio::thread_pool& pool, Work work) {
  const auto caller = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
      [&pool, caller](auto handler, Work job) {
        asio::post(pool, [handler = std::move(handler), job = std::move(job),
                          guard = asio::make_work_guard(caller)]() mutable {
          T result = job();
          asio::post(guard.get_executor(),
                     [handler = std::move(handler), result = std::move(result)]() mutable {
                       std::move(handler)(std::move(result));
                     });
        });
      },
      asio::use_awaitable, std::move(work));
}

// One sign-in, on the password thread: decided, checked and recorded without another
// attempt in between.
SignInCheck checkNow(Store& store, LoginThrottle& throttle,
                     const std::function<void()>& before_work, const std::string& user,
                     const std::string& password, const std::string& source) {
  using Outcome = SignInCheck::Outcome;
  const auto now = LoginThrottle::Clock::now();
  if (const auto wait = throttle.waitFor(user, source, now)) {
    return SignInCheck{Outcome::kThrottled, Role::kNone, *wait};
  }
  if (before_work)
    before_work();
  std::optional<Role> role;
  try {
    role = checkUserPassword(store, user, password);
  } catch (const std::exception& e) {
    // The dummy hash of unknown names could not be made: no answer is honest but "failed".
    spdlog::error("control plane sign-in: the password check failed: {}", e.what());
    return SignInCheck{};
  }
  if (!role) {
    throttle.recordFailure(user, source, now);
    return SignInCheck{Outcome::kRefused, Role::kNone, {}};
  }
  throttle.recordSuccess(user, now);
  return SignInCheck{Outcome::kAccepted, *role, {}};
}

}  // namespace

PasswordWorker::PasswordWorker(Store& store, LoginThrottle& throttle,
                               std::function<void()> before_work)
    : store_(store), throttle_(throttle), before_work_(std::move(before_work)) {
  pool_.emplace(1);
}

PasswordWorker::~PasswordWorker() {
  stop();
}

asio::awaitable<SignInCheck> PasswordWorker::checkSignIn(std::string user, std::string password,
                                                         std::string source) {
  if (!pool_)
    co_return SignInCheck{};
  auto work = [this, user = std::move(user), password = std::move(password),
               source = std::move(source)] {
    return checkNow(store_, throttle_, before_work_, user, password, source);
  };
  co_return co_await onPool<SignInCheck>(*pool_, std::move(work));
}

asio::awaitable<Result<std::string>> PasswordWorker::hash(std::string password) {
  if (!pool_)
    co_return Error{"the password thread is stopped"};
  auto work = [this, password = std::move(password)]() -> Result<std::string> {
    if (before_work_)
      before_work_();
    try {
      return hashPassword(password);
    } catch (const std::exception& e) {
      return Error{std::string("hashing the password failed: ") + e.what()};
    }
  };
  co_return co_await onPool<Result<std::string>>(*pool_, std::move(work));
}

void PasswordWorker::stop() {
  if (!pool_)
    return;
  // Work in progress finishes (one hash at most); queued work is never started, and is
  // destroyed with the pool, here.
  pool_->stop();
  pool_->join();
  pool_.reset();
}

}  // namespace warden::controlplane
