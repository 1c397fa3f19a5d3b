// Writing a message without a trip through the event loop when the socket takes it at
// once, which is the usual case for a proxied request or response of a few kilobytes.
//
// An Asio write that completes immediately still delivers its completion through the
// executor (an allocation, a pass through the scheduler's queue, a coroutine suspended
// and resumed): two of those per proxied request. Callers offer the bytes to writeNow
// first (the stream's try_write_some: a non-blocking sendmsg, or SSL_write over one) and
// co_await writeRest only for what the socket did not take; the fast path creates no
// coroutine frame and reads no clock. A stream without try_write_some always waits.
//
//   std::size_t n = writeNow(out, buffers, ec);
//   if (!ec && n < asio::buffer_size(buffers))
//     std::tie(ec, n) = co_await writeRest(out, buffers, n, idle);
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <chrono>
#include <cstddef>
#include <tuple>

namespace warden::proxy {

// Writes what `out` takes now, up to all of `buffers`; returns the bytes written. `ec` is
// set only for a failure (a socket that is merely full is not one).
template <class Stream, class ConstBufferSequence>
std::size_t writeNow(Stream& out, const ConstBufferSequence& buffers,
                     boost::beast::error_code& ec) {
  if constexpr (requires { out.try_write_some(buffers, ec); }) {
    const std::size_t total = boost::asio::buffer_size(buffers);
    boost::beast::buffers_suffix<ConstBufferSequence> rest(buffers);
    std::size_t done = 0;
    while (done < total) {
      const std::size_t n = out.try_write_some(rest, ec);
      if (ec || n == 0) break;
      rest.consume(n);
      done += n;
    }
    return done;
  } else {
    return 0;
  }
}

// Writes the part of `buffers` after the first `skip` bytes, waiting as needed, each wait
// bounded by `idle`; completes with the error and the bytes of `buffers` written in all.
template <class Stream, class ConstBufferSequence>
boost::asio::awaitable<std::tuple<boost::beast::error_code, std::size_t>> writeRest(
    Stream& out, const ConstBufferSequence& buffers, std::size_t skip,
    std::chrono::milliseconds idle) {
  boost::beast::buffers_suffix<ConstBufferSequence> rest(buffers);
  rest.consume(skip);
  boost::beast::get_lowest_layer(out).expires_after(idle);
  auto [ec, n] = co_await boost::asio::async_write(
      out, rest, boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return std::tuple{ec, skip + n};
}

}  // namespace warden::proxy
