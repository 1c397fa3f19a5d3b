// TlsSocketStream (proxy/tls_socket_stream.h) against Asio's own ssl::stream as the peer:
// real loopback sockets, real TLS 1.3 with certificates minted by the test PKI. The peer
// is the memory-BIO implementation the proxy used before, so these tests pin down that
// both speak the same TLS and report the same errors (eof on close_notify, stream_truncated
// on a bare TCP close, beast::error::timeout on a passed deadline).
#include "proxy/tls_socket_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <array>
#include <chrono>
#include <optional>
#include <string>

#include "support/test_pki.h"

namespace warden::proxy {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using error_code = boost::system::error_code;
using PeerStream = ssl::stream<asio::ip::tcp::socket>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using namespace std::chrono_literals;

class TlsSocketStreamTest : public ::testing::Test {
 protected:
  TlsSocketStreamTest() : ca_("example.org") {
    server_cred_ = ca_.issue("spiffe://example.org/server");
    client_cred_ = ca_.issue("spiffe://example.org/client");
    configure(server_ctx_, server_cred_);
    configure(client_ctx_, client_cred_);
    SSL_CTX_set_verify(server_ctx_.native_handle(),
                       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_verify(client_ctx_.native_handle(), SSL_VERIFY_PEER, nullptr);
  }

  void configure(ssl::context& ctx, const testing::Credential& cred) {
    const std::string cert = cred.certPem(), key = cred.keyPem(), root = ca_.certPem();
    ctx.use_certificate_chain(asio::buffer(cert));
    ctx.use_private_key(asio::buffer(key), ssl::context::pem);
    ctx.add_certificate_authority(asio::buffer(root));
  }

  // Runs the loop until `done` or a bound; a test that hangs fails instead.
  void run(const bool& done) {
    ioc_.restart();  // a loop that ran out of work stays stopped until restarted
    for (int i = 0; i < 100 && !done; ++i) ioc_.run_for(50ms);
    ASSERT_TRUE(done) << "the exchange did not finish within 5 s";
  }

  // Accepts one connection and hands its socket over.
  asio::awaitable<asio::ip::tcp::socket> acceptOne() {
    co_return co_await acceptor_.async_accept(asio::use_awaitable);
  }

  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_{ioc_, {asio::ip::make_address("127.0.0.1"), 0}};
  testing::TestCa ca_;
  testing::Credential server_cred_, client_cred_;
  ssl::context server_ctx_{ssl::context::tls_server};
  ssl::context client_ctx_{ssl::context::tls_client};
};

TEST_F(TlsSocketStreamTest, ServesAnAsioClientAndStreamsAMegabyteBackWithBackpressure) {
  const std::string big(1 << 20, 'x');
  std::string got_at_server, got_at_client;
  bool server_done = false, client_done = false;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream s(co_await acceptOne(), server_ctx_);
    auto [hec] = co_await s.async_handshake(ssl::stream_base::server, kTuple);
    EXPECT_FALSE(hec) << hec.message();
    std::array<char, 64> buf{};
    auto [rec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
    EXPECT_FALSE(rec) << rec.message();
    got_at_server.assign(buf.data(), n);
    // The client reads slowly in small pieces: writes must wait (WANT_WRITE) and resume.
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(big), kTuple);
    EXPECT_FALSE(wec) << wec.message();
    EXPECT_EQ(wn, big.size());
    s.expires_after(1s);
    co_await s.async_shutdown(kTuple);
    server_done = true;
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    PeerStream c(ioc_, client_ctx_);
    co_await c.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await c.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    co_await asio::async_write(c, asio::buffer(std::string_view("hello")), asio::use_awaitable);
    std::array<char, 1000> buf{};
    for (;;) {
      auto [ec, n] = co_await c.async_read_some(asio::buffer(buf), kTuple);
      got_at_client.append(buf.data(), n);
      if (ec) {
        EXPECT_EQ(ec, asio::error::eof) << "close_notify reads as eof: " << ec.message();
        break;
      }
    }
    client_done = true;
  }, asio::detached);
  run(server_done);
  run(client_done);
  EXPECT_EQ(got_at_server, "hello");
  EXPECT_EQ(got_at_client.size(), big.size());
  EXPECT_EQ(got_at_client, big);
}

// The ingress also serves TLS 1.2 clients (issue 2). A 1.2 handshake has the server read
// twice (ClientHello, then the client's certificate, key exchange and Finished), and a
// body larger than one record arrives in pieces: every input goes through the stream's
// own receive buffer, in either direction.
TEST_F(TlsSocketStreamTest, ServesATls12ClientBothWaysAcrossManyRecords) {
  const std::string up(100 * 1024 + 7, 'u');
  const std::string down(70 * 1024 + 3, 'd');
  std::string got_at_server, got_at_client;
  std::string version;
  bool server_done = false, client_done = false;
  SSL_CTX_set_max_proto_version(client_ctx_.native_handle(), TLS1_2_VERSION);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream s(co_await acceptOne(), server_ctx_);
    s.expires_after(5s);
    auto [hec] = co_await s.async_handshake(ssl::stream_base::server, kTuple);
    EXPECT_FALSE(hec) << hec.message();
    version = SSL_get_version(s.native_handle());
    got_at_server.resize(up.size());
    auto [rec, n] = co_await asio::async_read(s, asio::buffer(got_at_server), kTuple);
    EXPECT_FALSE(rec) << rec.message();
    got_at_server.resize(n);
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(down), kTuple);
    EXPECT_FALSE(wec) << wec.message();
    EXPECT_EQ(wn, down.size());
    server_done = true;
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    PeerStream c(ioc_, client_ctx_);
    co_await c.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await c.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    co_await asio::async_write(c, asio::buffer(up), asio::use_awaitable);
    got_at_client.resize(down.size());
    auto [ec, n] = co_await asio::async_read(c, asio::buffer(got_at_client), kTuple);
    EXPECT_FALSE(ec) << ec.message();
    got_at_client.resize(n);
    client_done = true;
  }, asio::detached);
  run(server_done);
  run(client_done);
  EXPECT_EQ(version, "TLSv1.2");
  EXPECT_TRUE(got_at_server == up) << "request bytes lost or reordered";
  EXPECT_TRUE(got_at_client == down) << "response bytes lost or reordered";
}

TEST_F(TlsSocketStreamTest, ConnectsAsAClientAndGathersABufferSequenceIntoOneWrite) {
  std::string got;
  bool done = false;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    PeerStream s(co_await acceptOne(), server_ctx_);
    co_await s.async_handshake(ssl::stream_base::server, asio::use_awaitable);
    std::array<char, 64> buf{};
    std::size_t total = 0;
    while (total < 11) {
      total += co_await s.async_read_some(asio::buffer(buf.data() + total, buf.size() - total),
                                          asio::use_awaitable);
    }
    got.assign(buf.data(), total);
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream c(ioc_.get_executor(), client_ctx_);
    c.expires_after(2s);
    auto [cec] = co_await c.async_connect(acceptor_.local_endpoint(), kTuple);
    EXPECT_FALSE(cec) << cec.message();
    auto [hec] = co_await c.async_handshake(ssl::stream_base::client, kTuple);
    EXPECT_FALSE(hec) << hec.message();
    const std::array<asio::const_buffer, 3> parts{asio::buffer(std::string_view("GET ")),
                                                  asio::buffer(std::string_view("/x ")),
                                                  asio::buffer(std::string_view("1.1"))};
    auto [wec, n] = co_await c.async_write_some(parts, kTuple);
    EXPECT_FALSE(wec) << wec.message();
    EXPECT_EQ(n, 10u) << "one write_some carries the whole gathered sequence";
    auto [wec2, n2] = co_await c.async_write_some(asio::buffer(std::string_view("!")), kTuple);
    EXPECT_FALSE(wec2);
    EXPECT_EQ(n2, 1u);
    done = true;
  }, asio::detached);
  run(done);
  for (int i = 0; i < 40 && got.empty(); ++i) {
    ioc_.restart();
    ioc_.run_for(50ms);
  }
  EXPECT_EQ(got, "GET /x 1.1!");
}

TEST_F(TlsSocketStreamTest, AReadThatOutlivesTheDeadlineEndsWithBeastsTimeout) {
  bool done = false;
  error_code read_ec;
  std::chrono::steady_clock::duration waited{};
  std::optional<PeerStream> peer;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    peer.emplace(ioc_, client_ctx_);
    co_await peer->next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await peer->async_handshake(ssl::stream_base::client, asio::use_awaitable);
    // ...and then says nothing, keeping the connection open.
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream s(co_await acceptOne(), server_ctx_);
    co_await s.async_handshake(ssl::stream_base::server, kTuple);
    // A later deadline set first, then an earlier one: the earlier one must bite.
    s.expires_after(10s);
    s.expires_after(150ms);
    const auto t0 = std::chrono::steady_clock::now();
    std::array<char, 16> buf{};
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
    waited = std::chrono::steady_clock::now() - t0;
    read_ec = ec;
    // Once timed out the stream stays failed, like beast::tcp_stream (socket closed).
    auto [ec2, n2] = co_await s.async_read_some(asio::buffer(buf), kTuple);
    EXPECT_TRUE(ec2);
    done = true;
  }, asio::detached);
  run(done);
  EXPECT_EQ(read_ec, boost::beast::error::timeout) << read_ec.message();
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 3s);
}

TEST_F(TlsSocketStreamTest, ADeadlineMovedLaterKeepsAWaitingReadAlive) {
  // A keep-alive connection extends its deadline on every request; the timer armed for
  // the old deadline must re-arm, not close the connection.
  bool done = false;
  std::string got;
  std::optional<PeerStream> peer;
  asio::steady_timer later(ioc_);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream s(co_await acceptOne(), server_ctx_);
    co_await s.async_handshake(ssl::stream_base::server, kTuple);
    std::array<char, 16> buf{};
    s.expires_after(100ms);
    s.expires_after(2s);  // moved later before the read starts
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
    EXPECT_FALSE(ec) << ec.message();
    got.assign(buf.data(), n);
    done = true;
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    peer.emplace(ioc_, client_ctx_);
    co_await peer->next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await peer->async_handshake(ssl::stream_base::client, asio::use_awaitable);
    later.expires_after(300ms);  // past the first deadline, well before the second
    co_await later.async_wait(asio::use_awaitable);
    co_await asio::async_write(*peer, asio::buffer(std::string_view("late")), asio::use_awaitable);
  }, asio::detached);
  run(done);
  EXPECT_EQ(got, "late");
}

TEST_F(TlsSocketStreamTest, ABareTcpCloseIsStreamTruncatedAndACloseNotifyIsEof) {
  for (const bool clean : {true, false}) {
    SCOPED_TRACE(clean ? "close_notify" : "bare TCP close");
    bool done = false;
    error_code read_ec;
    asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
      PeerStream c(ioc_, client_ctx_);
      co_await c.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
      co_await c.async_handshake(ssl::stream_base::client, asio::use_awaitable);
      // async_shutdown sends close_notify and then waits for ours, which never comes: it
      // ends when the server's stream closes the socket.
      if (clean) co_await c.async_shutdown(kTuple);
      c.next_layer().close();
    }, asio::detached);
    asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
      TlsSocketStream s(co_await acceptOne(), server_ctx_);
      co_await s.async_handshake(ssl::stream_base::server, kTuple);
      s.expires_after(2s);
      std::array<char, 16> buf{};
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
      read_ec = ec;
      done = true;
    }, asio::detached);
    run(done);
    if (clean) {
      EXPECT_EQ(read_ec, asio::error::eof) << read_ec.message();
    } else {
      EXPECT_EQ(read_ec, ssl::error::stream_truncated) << read_ec.message();
    }
  }
}

TEST_F(TlsSocketStreamTest, AClientWithoutACertificateFailsTheHandshakeWithAnSslError) {
  ssl::context bare{ssl::context::tls_client};
  SSL_CTX_set_verify(bare.native_handle(), SSL_VERIFY_NONE, nullptr);
  bool done = false;
  error_code server_ec;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    PeerStream c(ioc_, bare);
    co_await c.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await c.async_handshake(ssl::stream_base::client, kTuple);
    std::array<char, 16> buf{};
    co_await c.async_read_some(asio::buffer(buf), kTuple);  // receives the alert
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream s(co_await acceptOne(), server_ctx_);
    s.expires_after(2s);
    auto [ec] = co_await s.async_handshake(ssl::stream_base::server, kTuple);
    server_ec = ec;
    done = true;
  }, asio::detached);
  run(done);
  ASSERT_TRUE(server_ec);
  EXPECT_EQ(server_ec.category(), asio::error::get_ssl_category()) << server_ec.message();
}

TEST_F(TlsSocketStreamTest, AConnectionRefusedIsReportedNotHung) {
  asio::ip::tcp::endpoint closed = acceptor_.local_endpoint();
  acceptor_.close();
  bool done = false;
  error_code ec;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream c(ioc_.get_executor(), client_ctx_);
    c.expires_after(2s);
    auto [cec] = co_await c.async_connect(closed, kTuple);
    ec = cec;
    done = true;
  }, asio::detached);
  run(done);
  EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
}

}  // namespace
}  // namespace warden::proxy
