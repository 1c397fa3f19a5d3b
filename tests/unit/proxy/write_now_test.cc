// writeNow / writeRest (proxy/write_now.h) over both of the proxy's streams, on real
// loopback sockets (TLS 1.3 with certificates from the test PKI). The peer does not read
// at first, so the socket fills: writeNow must stop without an error at what the kernel
// took, and writeRest must deliver exactly the rest once the peer reads.
#include "proxy/write_now.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <array>
#include <chrono>
#include <string>

#include "proxy/tcp_socket_stream.h"
#include "proxy/tls_socket_stream.h"
#include "support/test_pki.h"

namespace warden::proxy {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using error_code = boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using namespace std::chrono_literals;

// 8 MiB: far more than loopback socket buffers hold, so a peer that does not read
// leaves writeNow with a partial count.
std::string pattern() {
  std::string s(8 << 20, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 23);
  return s;
}

class WriteNowTest : public ::testing::Test {
 protected:
  WriteNowTest() : ca_("example.org") {
    server_cred_ = ca_.issue("spiffe://example.org/server");
    const std::string cert = server_cred_.certPem(), key = server_cred_.keyPem();
    server_ctx_.use_certificate_chain(asio::buffer(cert));
    server_ctx_.use_private_key(asio::buffer(key), ssl::context::pem);
    SSL_CTX_set_verify(client_ctx_.native_handle(), SSL_VERIFY_NONE, nullptr);
  }

  void run(const bool& done) {
    for (int i = 0; i < 200 && !done; ++i) ioc_.run_for(50ms);
    ASSERT_TRUE(done) << "the exchange did not finish within 10 s";
  }

  // The writer's half: what writeNow took, then the rest once the reader was let go.
  template <class Stream>
  asio::awaitable<void> write(Stream& s, const std::string& data, bool& reader_go) {
    error_code ec;
    const std::size_t now = writeNow(s, asio::buffer(data), ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_GT(now, 0u) << "an empty socket takes some bytes at once";
    EXPECT_LT(now, data.size()) << "a peer that does not read cannot take 8 MiB";
    taken_now_ = now;
    reader_go = true;
    auto [rec, total] = co_await writeRest(s, asio::buffer(data), now, 5s);
    EXPECT_FALSE(rec) << rec.message();
    EXPECT_EQ(total, data.size());
  }

  template <class Peer>
  asio::awaitable<void> read(Peer& peer, std::size_t size, const bool& go, std::string& got) {
    asio::steady_timer wait(ioc_);
    for (int i = 0; i < 200 && !go; ++i) {
      wait.expires_after(10ms);
      co_await wait.async_wait(asio::use_awaitable);
    }
    got.resize(size);
    auto [ec, n] = co_await asio::async_read(peer, asio::buffer(got), kTuple);
    EXPECT_FALSE(ec) << ec.message();
    got.resize(n);
  }

  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_{ioc_, {asio::ip::make_address("127.0.0.1"), 0}};
  testing::TestCa ca_;
  testing::Credential server_cred_;
  ssl::context server_ctx_{ssl::context::tls_server};
  ssl::context client_ctx_{ssl::context::tls_client};
  std::size_t taken_now_ = 0;
};

TEST_F(WriteNowTest, TlsStreamWritesWhatTheSocketTakesThenTheRestWhenThePeerReads) {
  const std::string data = pattern();
  std::string got;
  bool go = false, written = false, read_done = false;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TlsSocketStream s(co_await acceptor_.async_accept(asio::use_awaitable), server_ctx_);
    s.expires_after(5s);
    error_code ec;
    EXPECT_EQ(writeNow(s, asio::buffer(data), ec), 0u) << "no bytes before the handshake";
    EXPECT_FALSE(ec);
    auto [hec] = co_await s.async_handshake(ssl::stream_base::server, kTuple);
    EXPECT_FALSE(hec) << hec.message();
    co_await write(s, data, go);
    written = true;
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    ssl::stream<asio::ip::tcp::socket> peer(ioc_, client_ctx_);
    co_await peer.next_layer().async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await peer.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    co_await read(peer, data.size(), go, got);
    read_done = true;
  }, asio::detached);
  for (int i = 0; i < 200 && !(written && read_done); ++i) ioc_.run_for(50ms);
  ASSERT_TRUE(written && read_done) << "the exchange did not finish within 10 s";
  EXPECT_GT(taken_now_, 0u);
  EXPECT_TRUE(got == data) << "bytes lost, repeated or reordered between the two halves";
}

TEST_F(WriteNowTest, TcpStreamWritesWhatTheSocketTakesThenTheRestWhenThePeerReads) {
  const std::string data = pattern();
  std::string got;
  bool go = false, written = false, read_done = false;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TcpSocketStream s(co_await acceptor_.async_accept(asio::use_awaitable));
    co_await write(s, data, go);
    written = true;
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    asio::ip::tcp::socket peer(ioc_);
    co_await peer.async_connect(acceptor_.local_endpoint(), asio::use_awaitable);
    co_await read(peer, data.size(), go, got);
    read_done = true;
  }, asio::detached);
  for (int i = 0; i < 200 && !(written && read_done); ++i) ioc_.run_for(50ms);
  ASSERT_TRUE(written && read_done) << "the exchange did not finish within 10 s";
  EXPECT_TRUE(got == data) << "bytes lost, repeated or reordered between the two halves";
}

// A connected upstream is re-registered for readiness to read only (async_connect does
// it; an explicit second watchReadsOnly must do no harm): a write that has to wait must
// still be woken when the peer drains its socket, and a read must still see the peer's
// bytes.
TEST_F(WriteNowTest, AStreamWatchingReadsOnlyStillWaitsForWritabilityAndReads) {
  const std::string data = pattern();
  std::string got;
  bool go = false, written = false, read_done = false;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    TcpSocketStream s(ioc_.get_executor());
    s.expires_after(5s);
    auto [cec] = co_await s.async_connect(acceptor_.local_endpoint(), kTuple);
    EXPECT_FALSE(cec) << cec.message();
    error_code ec;
    s.watchReadsOnly(ec);
    EXPECT_FALSE(ec) << ec.message();
    co_await write(s, data, go);
    std::array<char, 5> reply{};
    auto [rec, n] = co_await asio::async_read(s, asio::buffer(reply), kTuple);
    EXPECT_FALSE(rec) << rec.message();
    EXPECT_EQ(std::string(reply.data(), n), "done!");
    written = true;
  }, asio::detached);
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    asio::ip::tcp::socket peer = co_await acceptor_.async_accept(asio::use_awaitable);
    co_await read(peer, data.size(), go, got);
    co_await asio::async_write(peer, asio::buffer(std::string_view("done!")),
                               asio::use_awaitable);
    read_done = true;
    asio::steady_timer linger(ioc_, 1s);  // keep the socket open until the writer read
    co_await linger.async_wait(kTuple);
  }, asio::detached);
  for (int i = 0; i < 200 && !(written && read_done); ++i) ioc_.run_for(50ms);
  ASSERT_TRUE(written && read_done) << "the exchange did not finish within 10 s";
  EXPECT_TRUE(got == data) << "bytes lost, repeated or reordered between the two halves";
}

TEST_F(WriteNowTest, AWriteToAClosedPeerIsAnErrorNotAHang) {
  bool done = false;
  asio::co_spawn(ioc_, [&]() -> asio::awaitable<void> {
    asio::ip::tcp::socket peer(ioc_);
    auto accepted = acceptor_.async_accept(asio::use_awaitable);
    peer.connect(acceptor_.local_endpoint());
    TcpSocketStream s(co_await std::move(accepted));
    peer.close();
    const std::string data(64 * 1024, 'x');
    error_code ec;
    // The first write may still be taken by the kernel; the RST it provokes fails a later one.
    for (int i = 0; i < 50 && !ec; ++i) {
      writeNow(s, asio::buffer(data), ec);
      asio::steady_timer t(ioc_, 10ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_TRUE(ec == asio::error::broken_pipe || ec == asio::error::connection_reset)
        << ec.message();
    done = true;
  }, asio::detached);
  run(done);
}

}  // namespace
}  // namespace warden::proxy
