// The socket and deadline core of the proxy's streams (TlsSocketStream, TcpSocketStream).
//
// It keeps beast::tcp_stream's timeout contract at a fraction of its cost: expires_after /
// expires_at / expires_never only record a deadline (a clock read); an operation that has
// to wait registers as waiting, and one timer per stream is armed lazily for the earliest
// deadline a waiting operation needs. A deadline moved later (every request of a
// keep-alive connection does that) is noticed when the timer fires, which then re-arms;
// when a deadline passes while an operation waits, the socket is closed and the
// operation reports beast::error::timeout. beast::tcp_stream instead queues and cancels
// a timer around every single read and write (a heap insert, a cancel and one more
// handler per operation), and re-allocates its state when moved.
//
// Thread-safety: one strand of operations, like any Asio I/O object.
#pragma once

#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace warden::proxy {

struct SocketDeadline : std::enable_shared_from_this<SocketDeadline> {
  using Clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;

  explicit SocketDeadline(boost::asio::ip::tcp::socket s);
  virtual ~SocketDeadline() = default;

  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;

  // Before an operation suspends: arms the timer if needed. False when the deadline has
  // already passed (the socket is then closed; the caller reports the timeout).
  bool beginWait();
  void endWait() { --waiting_; }
  // Closes the socket and stops the timer (pending operations complete, aborted).
  void close();
  // Registers the connected socket with the reactor afresh, for readiness to read only. A
  // connect leaves Asio watching for writability too, for good: every send the peer
  // acknowledges then wakes the event loop and re-arms a speculative receive that finds
  // nothing (an EAGAIN per proxied request). The proxy writes around Asio (write_now.h);
  // a write that has to wait registers writability again. On failure the socket is closed.
  void watchReadsOnly(error_code& ec);

 private:
  void armTimer();
  void onTimer(std::uint64_t generation, const error_code& ec);
  void timeOut();

  Clock::time_point armed_for_{};
  bool timer_armed_ = false;
  std::uint64_t timer_generation_ = 0;
  int waiting_ = 0;
};

// Completes `self` with `args` from the executor, never inside the initiating call (what
// Asio's and Beast's own operations guarantee their callers).
template <class Self, class... Args>
void postCompletion(const std::shared_ptr<SocketDeadline>& core, Self&& self, Args... args) {
  boost::asio::post(core->socket.get_executor(),
                    [s = std::forward<Self>(self), args...]() mutable { s.complete(args...); });
}

// async_connect under the deadline; a connected socket is then watched for reads only.
struct DeadlineConnectOp {
  std::shared_ptr<SocketDeadline> core;
  boost::asio::ip::tcp::endpoint endpoint;
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    if (!started) {
      started = true;
      if (!core->beginWait()) {
        return postCompletion(core, std::move(self),
                              boost::system::error_code(boost::beast::error::timeout));
      }
      core->socket.async_connect(endpoint, std::move(self));
      return;
    }
    core->endWait();
    if (core->timed_out) ec = boost::beast::error::timeout;
    if (!ec) core->watchReadsOnly(ec);
    self.complete(ec);
  }
};

// The tcp_stream-like members both streams share; `Derived` holds `core_`.
template <class Derived>
class DeadlineStreamBase {
 public:
  using Clock = SocketDeadline::Clock;
  using executor_type = boost::asio::any_io_executor;

  executor_type get_executor() noexcept { return core().socket.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return core().socket; }
  void expires_after(Clock::duration d) { core().deadline = Clock::now() + d; }
  void expires_at(Clock::time_point t) { core().deadline = t; }
  void expires_never() { core().deadline = Clock::time_point::max(); }
  void cancel() {
    boost::system::error_code ignored;
    core().socket.cancel(ignored);
  }
  void close() { core().close(); }

  // SocketDeadline::watchReadsOnly; async_connect already does it.
  void watchReadsOnly(boost::system::error_code& ec) { core().watchReadsOnly(ec); }

  template <class Token>
  auto async_connect(const boost::asio::ip::tcp::endpoint& endpoint, Token&& token) {
    auto& self = static_cast<Derived&>(*this);
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(
        DeadlineConnectOp{self.core_, endpoint}, token, self.core_->socket);
  }

 private:
  SocketDeadline& core() { return *static_cast<Derived&>(*this).core_; }
};

}  // namespace warden::proxy
