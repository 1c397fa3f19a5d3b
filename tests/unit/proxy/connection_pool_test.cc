// ConnectionPool keeps connections of one client-credential generation (worker.h): after an
// SVID rotation, a connection made with the old certificate must not carry a request whose
// token is bound to the new one, nor the reverse (RFC 8705 §3).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "proxy/worker.h"

namespace warden::proxy {
namespace {

namespace asio = boost::asio;
using Pool = ConnectionPool<TcpSocketStream>;

// Real loopback connections; the accepted ends stay open so the pool sees live peers.
class ConnectionPoolTest : public ::testing::Test {
 protected:
  Pool::Handle connect() {
    auto s = std::make_unique<TcpSocketStream>(ioc_.get_executor());
    s->socket().connect(acceptor_.local_endpoint());
    peers_.push_back(acceptor_.accept());
    return s;
  }
  static int fd(const Pool::Handle& s) { return s->socket().native_handle(); }

  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_{ioc_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::vector<asio::ip::tcp::socket> peers_;
};

TEST_F(ConnectionPoolTest, ReturnsWhatWasGivenForTheSameGeneration) {
  Pool pool;
  auto s = connect();
  const int handle = fd(s);
  pool.give(std::move(s), 3);
  auto again = pool.take(3);
  ASSERT_TRUE(again);
  EXPECT_EQ(fd(again), handle);
  EXPECT_FALSE(pool.take(3));
}

TEST_F(ConnectionPoolTest, ANewerGenerationClosesTheOlderIdleConnections) {
  Pool pool;
  pool.give(connect(), 1);
  pool.give(connect(), 1);
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_FALSE(pool.take(2)) << "a connection made with the old certificate was reused";
  EXPECT_EQ(pool.idle(), 0u);
}

TEST_F(ConnectionPoolTest, AConnectionOfAnOlderGenerationIsNeitherTakenBackNorHandedOut) {
  Pool pool;
  pool.give(connect(), 2);
  // An exchange that started before the rotation finishes and returns its connection.
  pool.give(connect(), 1);
  EXPECT_EQ(pool.idle(), 1u);
  // A request still using the old credentials (its bound token's successor is not there
  // yet) connects afresh and leaves the newer connections alone.
  EXPECT_FALSE(pool.take(1));
  EXPECT_EQ(pool.idle(), 1u);
  EXPECT_TRUE(pool.take(2));
}

}  // namespace
}  // namespace warden::proxy
