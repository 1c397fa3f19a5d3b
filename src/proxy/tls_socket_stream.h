// A TLS stream in which OpenSSL writes the socket itself and reads what Asio received.
//
// Asio's ssl::stream runs every record through a memory BIO pair and drives OpenSSL from a
// chain of composed operations (engine step, socket read or write, BIO copy, engine step
// again), and Beast's ssl_stream adds a coalescing layer on top. On a keep-alive proxy
// that machinery, not the cryptography, was most of the per-request cost. Here OpenSSL
// gets a BIO of its own: writes are non-blocking sends on the socket; reads are served from
// one buffer that only the socket's own async_read_some fills (read-ahead on). Reading a
// request is then one receive and one SSL_read, and the reactor is involved only when
// OpenSSL wants input it does not have, or the socket is full. (A readiness wait instead
// of the receive costs an epoll_ctl and an empty receive per request: Asio re-arms the
// descriptor for every wait.)
//
// The stream is its own lowest layer (beast::get_lowest_layer returns it) and keeps the
// timeout contract of beast::tcp_stream that the proxy code relies on (socket_deadline.h).
//
// Errors look like Asio's SSL stream's: OpenSSL errors in asio::error::get_ssl_category()
// (so describeTlsAlert works), a close_notify is asio::error::eof, a peer that vanished
// without one is asio::ssl::error::stream_truncated.
//
// Thread-safety: like any Asio I/O object: one read and one write may be outstanding at
// a time, all on the stream's executor. Movable only while no operation is outstanding.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/error.hpp>
#include <cstddef>
#include <memory>
#include <vector>

#include "proxy/socket_deadline.h"

namespace warden::proxy {

namespace detail {
// What the stream's BIO reads and writes through (its data pointer). Writes go straight to
// the socket; reads are served from `in`, which only Asio's own receive fills (see
// TlsSocketStream), so the BIO never makes a receive that could only say "nothing yet".
struct TlsBioState {
  static constexpr std::size_t kInCapacity = 17 * 1024;  // a whole TLS record and then some
  int fd = -1;
  bool eof = false;     // the peer closed its side (after the bytes in `in`)
  int last_errno = 0;   // of the last failed send
  std::unique_ptr<char[]> in;  // allocated on the first receive
  std::size_t in_begin = 0, in_end = 0;
};
}  // namespace detail

class TlsSocketStream : public DeadlineStreamBase<TlsSocketStream> {
 public:
  using error_code = boost::system::error_code;

  // A connected socket (ingress, after accept).
  TlsSocketStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context);
  // Not connected yet (egress): async_connect first.
  TlsSocketStream(const executor_type& executor, boost::asio::ssl::context& context);
  TlsSocketStream(TlsSocketStream&&) noexcept = default;
  TlsSocketStream& operator=(TlsSocketStream&& other) noexcept;
  ~TlsSocketStream();

  SSL* native_handle() noexcept { return core_->ssl; }

  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Token&& token) {
    core_->prepareHandshake(type);
    return asyncSsl<void(error_code)>(HandshakeStep{}, std::forward<Token>(token));
  }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return asyncSsl<void(error_code, std::size_t)>(
        ReadStep{firstNonEmpty(buffers)}, std::forward<Token>(token));
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return asyncSsl<void(error_code, std::size_t)>(core_->writeStep(buffers),
                                                   std::forward<Token>(token));
  }

  // A write that does not wait (write_now.h): SSL_write of what fits in one gather, at
  // once. Returns the bytes written, or 0 when the socket cannot take any now (then the
  // same bytes must go through async_write_some: OpenSSL may hold a record half sent);
  // `ec` only for a real failure.
  template <class ConstBufferSequence>
  std::size_t try_write_some(const ConstBufferSequence& buffers, error_code& ec) {
    if (core_->timed_out) {
      ec = boost::beast::error::timeout;
      return 0;
    }
    if (!core_->bio_attached) return 0;  // no handshake yet: the asynchronous path does it
    WriteStep step = core_->writeStep(buffers);
    std::size_t n = 0;
    const int ret = step(*core_, n, ec);
    if (ec || ret > 0) return n;
    core_->classify(ret, ec);  // WANT_READ / WANT_WRITE leave `ec` clear: wait and retry
    return 0;
  }

  // Sends close_notify, then reads (and drops) until the peer's close_notify, its EOF or
  // the deadline (a lingering close: the peer's unread bytes must not turn our FIN into
  // an RST that destroys the response it has not read yet).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return asyncSsl<void(error_code)>(ShutdownStep{}, std::forward<Token>(token));
  }

 private:
  enum class Want { kNothing, kRead, kWrite };

  friend class DeadlineStreamBase<TlsSocketStream>;

  struct Impl : SocketDeadline {
    Impl(boost::asio::ip::tcp::socket s, boost::asio::ssl::context& context);
    ~Impl() override;
    SSL* ssl = nullptr;
    detail::TlsBioState bio_state;
    bool bio_attached = false;
    bool receiving = false;       // an operation's receive into bio_state.in is outstanding
    std::vector<char> coalesced;  // a write's buffers gathered into one (reused)

    // Where the next receive goes: the free end of bio_state.in (allocated on first use).
    boost::asio::mutable_buffer receiveSpace();

    void prepareHandshake(boost::asio::ssl::stream_base::handshake_type type);
    bool attachBio(error_code& ec);
    // The outcome of an SSL call that returned `ret` <= 0: what to wait for, or the error.
    Want classify(int ret, error_code& ec);

    template <class ConstBufferSequence>
    auto writeStep(const ConstBufferSequence& buffers);
  };

  // One OpenSSL call; returns its result (> 0 success) and sets `n` to bytes moved, or
  // sets `ec` for a failure that is not OpenSSL's to report.
  struct HandshakeStep {
    int operator()(Impl& impl, std::size_t& n, error_code& ec);
  };
  struct ReadStep {
    boost::asio::mutable_buffer buffer;
    int operator()(Impl& impl, std::size_t& n, error_code& ec);
  };
  struct WriteStep {
    const char* data;
    std::size_t size;
    int operator()(Impl& impl, std::size_t& n, error_code& ec);
  };
  struct ShutdownStep {
    bool sent = false;
    int operator()(Impl& impl, std::size_t& n, error_code& ec);
  };

  template <class Signature, class Step, class Token>
  auto asyncSsl(Step step, Token&& token) {
    return boost::asio::async_compose<Token, Signature>(SslOp<Step, Signature>(core_, step),
                                                        token, core_->socket);
  }

  template <class MutableBufferSequence>
  static boost::asio::mutable_buffer firstNonEmpty(const MutableBufferSequence& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      boost::asio::mutable_buffer b(*it);
      if (b.size() > 0) return b;
    }
    return {};
  }

  // Drives one Step to completion: call it; when OpenSSL wants input, receive into the
  // BIO's buffer with Asio's own read (which registers with the reactor once and skips the
  // speculative receive right after one that emptied the socket: no epoll_ctl and no
  // EAGAIN receive per request, as a wait for readability would cost), or wait until the
  // socket is writable; then call it again. Completions never run inside the initiating
  // call (posted instead), which is what Asio's and Beast's own operations guarantee.
  template <class Step, class Signature>
  struct SslOp {
    SslOp(std::shared_ptr<Impl> i, Step s) : impl(std::move(i)), step(s) {}
    std::shared_ptr<Impl> impl;
    Step step;
    bool waited = false;     // suspended at least once: completions are no longer inline
    bool suspended = false;  // resuming from a receive or a wait
    bool received = false;   // ... that was this operation's receive
    bool delivering = false;
    error_code result;
    std::size_t transferred = 0;

    template <class Self>
    void operator()(Self& self, error_code io_ec = {}, std::size_t got = 0) {
      if (delivering) return deliver(self);
      if (suspended) {
        suspended = false;
        impl->endWait();
        if (received) {
          received = false;
          impl->receiving = false;
          impl->bio_state.in_end += got;
          // The peer's FIN is OpenSSL's to judge (close_notify first, or truncation).
          if (io_ec == boost::asio::error::eof) {
            impl->bio_state.eof = true;
            io_ec = {};
          }
        }
        if (impl->timed_out) return finish(self, boost::beast::error::timeout, 0);
        if (io_ec) return finish(self, io_ec, 0);
      }
      if (impl->timed_out) return finish(self, boost::beast::error::timeout, 0);
      std::size_t n = 0;
      error_code ec;
      const int ret = step(*impl, n, ec);
      if (ec) return finish(self, ec, 0);
      if (ret > 0) return finish(self, {}, n);
      const Want want = impl->classify(ret, ec);
      if (want == Want::kNothing) return finish(self, ec, 0);
      if (!impl->beginWait()) return finish(self, boost::beast::error::timeout, 0);
      waited = suspended = true;
      if (want == Want::kRead && !impl->receiving) {
        received = impl->receiving = true;
        impl->socket.async_read_some(impl->receiveSpace(), std::move(self));
        return;
      }
      // Writable, or readable while the other direction's operation is already receiving
      // (a write that must read a handshake message): that receive feeds both.
      impl->socket.async_wait(want == Want::kRead ? boost::asio::socket_base::wait_read
                                                  : boost::asio::socket_base::wait_write,
                              std::move(self));
    }

    template <class Self>
    void finish(Self& self, error_code ec, std::size_t n) {
      result = ec;
      transferred = n;
      if (waited) return deliver(self);
      delivering = true;
      boost::asio::post(impl->socket.get_executor(), std::move(self));  // never inline
    }

    template <class Self>
    void deliver(Self& self) {
      if constexpr (std::is_same_v<Signature, void(error_code)>) {
        self.complete(result);
      } else {
        self.complete(result, transferred);
      }
    }
  };

  std::shared_ptr<Impl> core_;
};

template <class ConstBufferSequence>
auto TlsSocketStream::Impl::writeStep(const ConstBufferSequence& buffers) {
  // SSL_write takes one contiguous buffer; a single non-empty buffer goes as it is, a
  // sequence (Beast's serialised head and body) is gathered into one record's worth.
  constexpr std::size_t kMaxGather = 16 * 1024;
  std::size_t count = 0;
  boost::asio::const_buffer only;
  for (auto it = boost::asio::buffer_sequence_begin(buffers);
       it != boost::asio::buffer_sequence_end(buffers); ++it) {
    boost::asio::const_buffer b(*it);
    if (b.size() == 0) continue;
    if (++count == 1) only = b;
  }
  if (count <= 1) return WriteStep{static_cast<const char*>(only.data()), only.size()};
  coalesced.resize(kMaxGather);
  const std::size_t n = boost::asio::buffer_copy(
      boost::asio::buffer(coalesced.data(), coalesced.size()), buffers);
  return WriteStep{coalesced.data(), n};
}

}  // namespace warden::proxy
