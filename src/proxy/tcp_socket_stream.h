// A plain TCP stream with beast::tcp_stream's timeout contract at a lower cost
// (socket_deadline.h): the proxy's connections to the local app and from the app to the
// egress listener, where every request otherwise paid for a timer queued and cancelled
// around each read and write, and for an implementation re-allocated on every move.
//
// It is its own lowest layer (beast::get_lowest_layer returns it). Reads and writes are
// the socket's own operations (speculative, so data already there costs no reactor wait).
// Thread-safety: like any Asio I/O object: one read and one write outstanding at a time.
#pragma once

#include <sys/uio.h>

#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <array>
#include <memory>

#include "proxy/socket_deadline.h"

namespace warden::proxy {

class TcpSocketStream : public DeadlineStreamBase<TcpSocketStream> {
 public:
  using error_code = boost::system::error_code;

  explicit TcpSocketStream(boost::asio::ip::tcp::socket socket)
      : core_(std::make_shared<SocketDeadline>(std::move(socket))) {}
  explicit TcpSocketStream(const executor_type& executor)
      : TcpSocketStream(boost::asio::ip::tcp::socket(executor)) {}
  TcpSocketStream(TcpSocketStream&&) noexcept = default;
  TcpSocketStream& operator=(TcpSocketStream&& other) noexcept {
    if (this != &other) {
      if (core_) close();
      core_ = std::move(other.core_);
    }
    return *this;
  }
  ~TcpSocketStream() {
    if (core_) close();
  }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(error_code, std::size_t)>(
        IoOp<MutableBufferSequence, true>{core_, buffers}, token, core_->socket);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(error_code, std::size_t)>(
        IoOp<ConstBufferSequence, false>{core_, buffers}, token, core_->socket);
  }

  // A write that does not wait (write_now.h): one non-blocking sendmsg of up to eight of
  // the buffers. Returns the bytes written, 0 when the socket cannot take any now; `ec`
  // only for a real failure.
  template <class ConstBufferSequence>
  std::size_t try_write_some(const ConstBufferSequence& buffers, error_code& ec) {
    if (core_->timed_out) {
      ec = boost::beast::error::timeout;
      return 0;
    }
    std::array<iovec, 8> iov;
    std::size_t count = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && count < iov.size(); ++it) {
      const boost::asio::const_buffer b(*it);
      if (b.size() > 0) iov[count++] = iovec{const_cast<void*>(b.data()), b.size()};
    }
    if (count == 0 || !core_->socket.is_open()) return 0;
    return sendNow(core_->socket.native_handle(), iov.data(), count, ec);
  }

 private:
  friend class DeadlineStreamBase<TcpSocketStream>;

  static std::size_t sendNow(int fd, const iovec* iov, std::size_t count, error_code& ec);

  template <class Buffers, bool kRead>
  struct IoOp {
    std::shared_ptr<SocketDeadline> core;
    Buffers buffers;
    bool started = false;

    template <class Self>
    void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
      if (!started) {
        started = true;
        if (!core->beginWait()) {
          return postCompletion(core, std::move(self),
                                error_code(boost::beast::error::timeout), std::size_t{0});
        }
        if constexpr (kRead) {
          core->socket.async_read_some(buffers, std::move(self));
        } else {
          core->socket.async_write_some(buffers, std::move(self));
        }
        return;
      }
      core->endWait();
      if (core->timed_out) ec = boost::beast::error::timeout;
      self.complete(ec, n);
    }
  };

  std::shared_ptr<SocketDeadline> core_;
};

}  // namespace warden::proxy
