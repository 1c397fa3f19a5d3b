// Password work of the API server (scrypt, password_hash.h) on a thread of its own: both
// sign-ins' password checks (POST /api/v1/login, the portal's /oauth2/authorize form) and
// the hashing of generated passwords (users, credential rotation). scrypt costs tens of
// milliseconds and 32 MiB by design; on the API's one I/O thread it stalled every other
// request for that long (sidecars' long-polls and audit shipping, health probes).
//
// One thread, on purpose: a sign-in's throttle decision, its check and the record of its
// outcome (login_throttle.h) are one step there, so attempts are decided one at a time in
// arrival order, as they were on the I/O thread: a burst of concurrent guesses cannot all
// pass the throttle before the first failure is recorded. It also keeps scrypt's memory to
// one computation at a time. Sign-ins queue behind each other, never behind other requests.
//
// Trust posture: user names and passwords come from anyone on the network; the check is
// checkUserPassword's (local_users.h: one scrypt for unknown names too).
// Thread-safety: checkSignIn() and hash() may be awaited from any executor, and resume
// their caller on it. stop() once, when no caller can start more work (after the I/O
// thread stopped) and while the executors of waiting callers still exist: queued work is
// dropped there, with the handlers that would have resumed its callers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/result.h"
#include "controlplane/login_throttle.h"
#include "controlplane/principal.h"
#include "controlplane/store.h"

namespace warden::controlplane {

struct SignInCheck {
  enum class Outcome { kAccepted, kRefused, kThrottled, kFailed };
  Outcome outcome = Outcome::kFailed;
  Role role = Role::kNone;              // kAccepted
  std::chrono::seconds retry_after{0};  // kThrottled: refused before any hashing
};

class PasswordWorker {
 public:
  // `before_work` (tests): called on the password thread before each piece of password
  // work that hashes (a check past the throttle, a new hash).
  PasswordWorker(Store& store, LoginThrottle& throttle, std::function<void()> before_work = {});
  ~PasswordWorker();
  PasswordWorker(const PasswordWorker&) = delete;
  PasswordWorker& operator=(const PasswordWorker&) = delete;

  // The throttle (kThrottled), then checkUserPassword (kAccepted with the user's role, or
  // kRefused), then the throttle's record of the outcome. kFailed: the check itself failed
  // (no hash could be computed); nothing is recorded.
  boost::asio::awaitable<SignInCheck> checkSignIn(std::string user, std::string password,
                                                  std::string source);
  // hashPassword().
  boost::asio::awaitable<Result<std::string>> hash(std::string password);

  void stop();

 private:
  Store& store_;
  LoginThrottle& throttle_;
  std::function<void()> before_work_;
  std::optional<boost::asio::thread_pool> pool_;  // one thread; reset by stop()
};

}  // namespace warden::controlplane
