// The test client's own timeouts (support/http_client_harness.h): a peer that accepts and
// then says nothing must cost a test its timeout, not hang it until ctest kills it. (Asio's
// blocking reads ignored SO_RCVTIMEO: on EAGAIN they poll with no timeout.)
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>

#include "support/http_client_harness.h"

namespace warden::testing {
namespace {

using std::chrono::milliseconds;

// A listener that completes TCP handshakes (the kernel does) and never reads or writes.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0) return;
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(TestClientTimeoutTest, ReadAndWaitClosedGiveUpAtTheirTimeout) {
  SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  auto c = TestConnection::plain(silent.port());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->send(makeRequest("GET", "/budget/read")));

  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(c->read(false, milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(c->lastError().find("timed out"), std::string::npos) << c->lastError();

  start = std::chrono::steady_clock::now();
  EXPECT_FALSE(c->waitClosed(milliseconds(300)));  // silent, not closed
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(TestClientTimeoutTest, ATlsHandshakeWithASilentPeerFailsInsteadOfHanging) {
  SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  EXPECT_EQ(TestConnection::tls(silent.port(), std::nullopt, &error), nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_NE(error.find("handshake"), std::string::npos) << error;
}

}  // namespace
}  // namespace warden::testing
