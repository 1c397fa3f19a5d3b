#include "proxy/socket_deadline.h"

#include <unistd.h>

namespace warden::proxy {

SocketDeadline::SocketDeadline(boost::asio::ip::tcp::socket s)
    : socket(std::move(s)), timer(socket.get_executor()) {}

void SocketDeadline::close() {
  error_code ignored;
  socket.close(ignored);
  timer.cancel();
}

void SocketDeadline::watchReadsOnly(error_code& ec) {
  const auto endpoint = socket.local_endpoint(ec);
  if (ec) return;
  const auto fd = socket.release(ec);
  if (ec) return;
  socket.assign(endpoint.protocol(), fd, ec);
  if (ec) ::close(fd);  // the stream is then closed: its next operation fails cleanly
}

bool SocketDeadline::beginWait() {
  if (timed_out) return false;
  if (deadline != Clock::time_point::max()) {
    if (Clock::now() >= deadline) {
      timeOut();
      return false;
    }
    // Armed for a later time than now needed (the deadline moved earlier): re-arm. A
    // deadline moved later is handled when the timer fires.
    if (!timer_armed_ || armed_for_ > deadline) armTimer();
  }
  ++waiting_;
  return true;
}

void SocketDeadline::armTimer() {
  timer_armed_ = true;
  armed_for_ = deadline;
  const std::uint64_t generation = ++timer_generation_;
  timer.expires_at(deadline);  // cancels an earlier wait: its handler sees an old generation
  timer.async_wait([self = shared_from_this(), generation](const error_code& ec) {
    self->onTimer(generation, ec);
  });
}

void SocketDeadline::onTimer(std::uint64_t generation, const error_code& ec) {
  if (generation != timer_generation_) return;
  timer_armed_ = false;
  if (ec || waiting_ == 0 || deadline == Clock::time_point::max()) return;
  if (Clock::now() >= deadline) {
    timeOut();
    return;
  }
  armTimer();
}

void SocketDeadline::timeOut() {
  timed_out = true;
  error_code ignored;
  socket.close(ignored);  // waiting operations complete (aborted) and report the timeout
}

}  // namespace warden::proxy
