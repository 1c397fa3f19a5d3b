// Building blocks shared by ingress and egress exchanges: reading a strictly framed
// message head, relaying a body chunk by chunk with backpressure, and answering with a
// JSON error. Templates over the stream type (plain TCP or TLS).
//
// Relaying parses with Beast's buffer_body: at most one scratch buffer of body bytes is
// held per connection, and the next chunk is read only after the previous one was
// written, so a slow reader slows the writer instead of growing memory (100 MB bodies and
// endless SSE streams cost the same few kilobytes).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <charconv>
#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "proxy/error_response.h"
#include "proxy/http_framing.h"
#include "proxy/message_head.h"
#include "proxy/write_now.h"

namespace warden::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Read buffers start with this capacity: Beast sizes each read by the buffer's free
// capacity (512 bytes minimum), so an empty buffer would relay bodies 512 bytes a time.
inline constexpr std::size_t kRelayBufferBytes = 16 * 1024;

enum class HeadStatus { kOk, kClosed, kIdleTimeout, kTimeout, kMalformed, kTooLarge, kBodyTooLarge, kError };

struct HeadLimits {
  std::size_t max_header_bytes;
  std::chrono::milliseconds first_byte_timeout;  // idle wait for the first byte
  std::chrono::milliseconds header_timeout;      // first byte -> complete head
};

// Reads one message head (a request's, or an upstream's response) into `parser`. Bytes
// already in `buffer` (pipelined requests) are used first. The raw head is scanned by
// scanHeaderBlock before Beast sees it. `io_error`, when given, receives the read error
// behind kClosed / kError / kTimeout (a TLS alert from a peer, for instance).
template <class Stream, class Parser>
asio::awaitable<HeadStatus> readHead(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
                                     const HeadLimits& limits, std::string& why,
                                     beast::error_code* io_error = nullptr) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point header_deadline{};
  for (;;) {
    auto data = buffer.data();
    std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    // RFC 9112 §2.2: ignore empty lines received before the request-line.
    while (bytes.size() >= 2 && bytes[0] == '\r' && bytes[1] == '\n') {
      buffer.consume(2);
      bytes.remove_prefix(2);
    }
    if (!bytes.empty() && header_deadline == Clock::time_point{}) {
      header_deadline = Clock::now() + limits.header_timeout;
    }
    std::size_t end = 0;
    std::string_view malformed;
    const auto scan = scanHeaderBlock(bytes.substr(0, limits.max_header_bytes + 4), end, malformed);
    if (scan == HeaderScan::kMalformed) {
      why = std::string(malformed);
      co_return HeadStatus::kMalformed;
    }
    if (scan == HeaderScan::kComplete) {
      if (end > limits.max_header_bytes) co_return HeadStatus::kTooLarge;
      beast::error_code ec;
      const std::size_t used = parser.put(asio::buffer(bytes.data(), end), ec);
      if (ec == http::error::body_limit) co_return HeadStatus::kBodyTooLarge;
      if (ec || !parser.is_header_done()) {
        why = ec ? ec.message() : "incomplete header";
        co_return HeadStatus::kMalformed;
      }
      buffer.consume(used);
      co_return HeadStatus::kOk;
    }
    if (bytes.size() > limits.max_header_bytes) co_return HeadStatus::kTooLarge;
    auto& socket = beast::get_lowest_layer(stream);
    if (bytes.empty()) {
      socket.expires_after(limits.first_byte_timeout);
    } else {
      socket.expires_at(header_deadline);
    }
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
    if (ec) {
      if (io_error != nullptr) *io_error = ec;
      if (ec == beast::error::timeout) {
        co_return bytes.empty() ? HeadStatus::kIdleTimeout : HeadStatus::kTimeout;
      }
      if (bytes.empty()) co_return HeadStatus::kClosed;
      why = ec.message();
      co_return HeadStatus::kError;
    }
    buffer.commit(n);
  }
}

// The limits for the next request head on a downstream connection: the first request
// must start within the header timeout; later ones may idle up to `idle_ms` first.
inline HeadLimits downstreamHeadLimits(std::uint32_t max_header_bytes, std::uint32_t header_read_ms,
                                       std::uint32_t idle_ms, bool first_request) {
  return HeadLimits{max_header_bytes,
                    std::chrono::milliseconds(first_request ? header_read_ms : idle_ms),
                    std::chrono::milliseconds(header_read_ms)};
}

// True when readHead ended the connection's life quietly (peer closed, idle, I/O error):
// there is nothing to answer.
inline bool connectionEnded(HeadStatus head) {
  return head == HeadStatus::kClosed || head == HeadStatus::kIdleTimeout ||
         head == HeadStatus::kError;
}

enum class RelayStatus { kDone, kReadFailed, kWriteFailed };

struct RelayResult {
  RelayStatus status = RelayStatus::kDone;
  beast::error_code ec;
  std::uint64_t body_bytes = 0;
  bool wrote_anything = false;  // at least the head reached the output
};

// Writes the message held by `parser` (head already parsed, possibly modified) to `out`,
// streaming the body from `in`. `idle` bounds every single read and write. `head` is the
// caller's reusable string for the serialised head (message_head.h); `extra_fields` are
// header lines appended to it.
//
// Framing is written here, not by Beast's serializer: a chunked body goes out as one
// chunk per piece read (RFC 9112 §7.1), ending with the last-chunk; a Content-Length or
// close-delimited body goes out as it is. A message whose head says it has no body (a
// response to HEAD, 204, 304, Content-Length: 0) gets no framing at all. Trailer fields
// are not forwarded. Head, chunk framing and body bytes that are ready together leave in
// one gathered write: a small message is one write.
template <bool isRequest, class InStream, class OutStream>
asio::awaitable<RelayResult> relayMessage(InStream& in, beast::flat_buffer& in_buffer,
                                          http::parser<isRequest, http::buffer_body>& parser,
                                          OutStream& out, std::span<char> scratch,
                                          std::chrono::milliseconds idle, std::string& head,
                                          std::string_view extra_fields = {}) {
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  RelayResult result;
  serializeHead(parser.get().base(), head, extra_fields);
  const bool framed_chunks = parser.get().chunked() && !parser.is_done();
  auto& body = parser.get().body();
  bool head_pending = true;
  std::array<char, sizeof(std::size_t) * 2 + 2> chunk_size;  // hex digits, CRLF

  for (;;) {
    std::size_t got = 0;
    if (!parser.is_done()) {
      body.data = scratch.data();
      body.size = scratch.size();
      beast::error_code ec;
      std::size_t used = 0;
      if (in_buffer.size() > 0) {
        // Body bytes that arrived with the head (the usual case for small messages) are
        // parsed in place: no I/O round trip for them.
        used = parser.put(in_buffer.data(), ec);
        in_buffer.consume(used);
        if (ec == http::error::need_more || ec == http::error::need_buffer) ec = {};
      }
      if (!ec && used == 0) {
        // About to wait for input: the head must not wait with it (an SSE stream or a
        // long poll may send its first byte much later).
        if (head_pending) {
          beast::error_code hec;
          std::size_t hn = writeNow(out, asio::buffer(head), hec);
          if (!hec && hn < head.size()) {
            std::tie(hec, hn) = co_await writeRest(out, asio::buffer(head), hn, idle);
          }
          if (hec) {
            result.status = RelayStatus::kWriteFailed;
            result.ec = hec;
            co_return result;
          }
          result.wrote_anything = true;
          head_pending = false;
        }
        beast::get_lowest_layer(in).expires_after(idle);
        auto [rec, n] = co_await http::async_read_some(in, in_buffer, parser, kTuple);
        ec = rec == http::error::need_buffer ? beast::error_code{} : rec;
      }
      if (ec) {
        result.status = RelayStatus::kReadFailed;
        result.ec = ec;
        co_return result;
      }
      got = scratch.size() - body.size;
      result.body_bytes += got;
      // A read can end on a chunk header with no body bytes yet: nothing to write until
      // there are bytes (or the input is done).
      if (got == 0 && !parser.is_done()) continue;
    }
    // Up to: head, chunk size line, data, CRLF, last-chunk. Unused entries stay empty.
    std::array<asio::const_buffer, 5> parts{};
    std::size_t k = 0;
    if (head_pending) parts[k++] = asio::buffer(head);
    if (got > 0) {
      if (framed_chunks) {
        char* const first = chunk_size.data();
        char* const end = std::to_chars(first, first + chunk_size.size() - 2, got, 16).ptr;
        end[0] = '\r';
        end[1] = '\n';
        parts[k++] = asio::buffer(first, static_cast<std::size_t>(end + 2 - first));
        parts[k++] = asio::buffer(scratch.data(), got);
        parts[k++] = asio::buffer(kCrlf);
      } else {
        parts[k++] = asio::buffer(scratch.data(), got);
      }
    }
    const bool done = parser.is_done();
    if (done && framed_chunks) parts[k++] = asio::buffer(kLastChunk);
    if (k > 0) {
      beast::error_code wec;
      std::size_t wn = writeNow(out, parts, wec);
      if (!wec && wn < asio::buffer_size(parts)) {
        std::tie(wec, wn) = co_await writeRest(out, parts, wn, idle);
      }
      if (wec) {
        result.status = RelayStatus::kWriteFailed;
        result.ec = wec;
        co_return result;
      }
      if (wn > 0) result.wrote_anything = true;
      head_pending = false;
    }
    if (done) break;
  }
  co_return result;
}

// Sends a JSON error response. `keep_alive` false adds Connection: close.
template <class Stream>
asio::awaitable<beast::error_code> writeError(Stream& stream, unsigned version,
                                              http::status status, std::string_view reason,
                                              std::string_view layer,
                                              std::string_view request_id,
                                              std::string_view message, bool keep_alive,
                                              std::chrono::milliseconds timeout,
                                              std::string_view www_authenticate = {}) {
  http::response<http::string_body> res{status, version < 10 ? 11u : version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Request-ID", request_id);
  if (!www_authenticate.empty()) res.set(http::field::www_authenticate, www_authenticate);
  res.body() = errorBody(reason, layer, request_id,
                         message.empty() ? defaultMessage(reason) : message);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto [ec, n] = co_await http::async_write(stream, res, kTuple);
  co_return ec;
}

}  // namespace warden::proxy
