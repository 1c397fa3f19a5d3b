// A test hook that holds each thread calling it until the test opens the gate, and lets
// the test wait until a number of callers have arrived: to show what a server still does
// while one of its threads is busy at a known point, without timing (e.g. the control
// plane's password thread, ApiServerHooks::before_password_work). A caller is let go
// after `hold_limit` even when the gate stays shut, so a server that wrongly blocks on
// the hook fails its test (held() is 0 by the time it answers) instead of hanging it.
// Thread-safety: all members may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace warden::testing {

class HookGate : public std::enable_shared_from_this<HookGate> {
 public:
  static std::shared_ptr<HookGate> create(
      std::chrono::milliseconds hold_limit = std::chrono::seconds(20)) {
    return std::shared_ptr<HookGate>(new HookGate(hold_limit));
  }

  // The hook to install; it keeps the gate alive.
  std::function<void()> hook() {
    return [self = shared_from_this()] { self->pass(); };
  }
  // True once `n` callers have arrived (held, or let through).
  bool waitForArrivals(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return arrivals_ >= n; });
  }
  int arrivals() const {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }
  // How many callers are being held right now.
  int held() const {
    std::lock_guard lock(mutex_);
    return held_;
  }
  // Lets the held callers go, and every later one through.
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

  // Opens the gate when the test's scope ends, however it ends: a server whose thread is
  // still held could not stop.
  struct OpenOnExit {
    std::shared_ptr<HookGate> gate;
    ~OpenOnExit() { gate->open(); }
  };

 private:
  explicit HookGate(std::chrono::milliseconds hold_limit) : hold_limit_(hold_limit) {}
  void pass() {
    std::unique_lock lock(mutex_);
    ++arrivals_;
    ++held_;
    cv_.notify_all();
    cv_.wait_for(lock, hold_limit_, [&] { return open_; });
    --held_;
  }

  const std::chrono::milliseconds hold_limit_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int arrivals_ = 0;
  int held_ = 0;
  bool open_ = false;
};

}  // namespace warden::testing
