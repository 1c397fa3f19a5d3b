// SPIFFE_ENDPOINT_SOCKET forms (SPIFFE_Workload_Endpoint.md §4; identity-standards §4.2,
// §10.4 W10, and §11 for where Warden is stricter than go-spiffe).
#include "workload/endpoint_address.h"

#include <gtest/gtest.h>

namespace warden::workload {
namespace {

struct Accepted {
  const char* uri;
  EndpointAddress::Kind kind;
  const char* path_or_host;
  std::uint16_t port;
  const char* target;
};

TEST(EndpointAddress, AcceptsTheSpecForms) {
  const Accepted cases[] = {
      {"unix:///run/spire/agent.sock", EndpointAddress::Kind::kUnix,
       "/run/spire/agent.sock", 0, "unix:/run/spire/agent.sock"},
      {"unix:/run/spire/agent.sock", EndpointAddress::Kind::kUnix, "/run/spire/agent.sock", 0,
       "unix:/run/spire/agent.sock"},
      {"unix:///p", EndpointAddress::Kind::kUnix, "/p", 0, "unix:/p"},
      {"unix:/p", EndpointAddress::Kind::kUnix, "/p", 0, "unix:/p"},
      {"UNIX:/p", EndpointAddress::Kind::kUnix, "/p", 0, "unix:/p"},
      {"tcp://127.0.0.1:8081", EndpointAddress::Kind::kTcp, "127.0.0.1", 8081,
       "ipv4:127.0.0.1:8081"},
      {"tcp://[::1]:8081", EndpointAddress::Kind::kTcp, "::1", 8081, "ipv6:[::1]:8081"},
      {"tcp://169.254.1.2:65535", EndpointAddress::Kind::kTcp, "169.254.1.2", 65535,
       "ipv4:169.254.1.2:65535"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.uri);
    auto parsed = parseEndpointAddress(c.uri);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->kind, c.kind);
    if (c.kind == EndpointAddress::Kind::kUnix) {
      EXPECT_EQ(parsed->path, c.path_or_host);
    } else {
      EXPECT_EQ(parsed->host, c.path_or_host);
      EXPECT_EQ(parsed->port, c.port);
    }
    EXPECT_EQ(parsed->grpcTarget(), c.target);
  }
}

struct Rejected {
  const char* uri;
  const char* reason;  // a fragment of the error, so each case fails for its own rule
};

TEST(EndpointAddress, RejectsWhatTheSpecForbids) {
  const Rejected cases[] = {
      // W10's list.
      {"unix:p", "absolute path"},
      {"unix://h/p", "authority"},
      {"tcp://localhost:1", "IP address"},
      {"tcp://127.0.0.1", "needs a port"},
      {"tcp://127.0.0.1:1/x", "path"},
      {"http://127.0.0.1:1", "scheme"},
      // More of §4.2.
      {"unix:relative/path.sock", "absolute path"},
      {"unix://", "absolute path"},
      {"unix:", "absolute path"},
      {"unix:///", "socket path"},
      {"unix:///p?x=1", "query"},
      {"unix:///p#f", "fragment"},
      {"unix:///p%20q", "percent"},
      {"tcp://127.0.0.1:1/", "path"},
      {"tcp://user@127.0.0.1:1", "userinfo"},
      {"tcp://127.0.0.1:1?x", "query"},
      {"tcp://127.0.0.1:1#f", "fragment"},
      {"tcp://127.0.0.1:", "needs a port"},
      {"tcp://127.0.0.1:0", "port"},
      {"tcp://127.0.0.1:65536", "port"},
      {"tcp://127.0.0.1:8x", "port"},
      {"tcp://127.0.0.1:+1", "port"},
      {"tcp://:8081", "IP address"},
      {"tcp://::1:8081", "brackets"},
      {"tcp://[::1]", "needs a port"},
      {"tcp://[fe80::1%25eth0]:1", "IP address"},
      {"tcp://[::1:1", "unterminated"},
      {"tcp:127.0.0.1:1", "tcp://"},
      {"tcp://1.2.3:1", "IP address"},
      {"npipe:agent", "scheme"},
      {"/run/spire/agent.sock", "scheme"},
      {"", "empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.uri);
    auto parsed = parseEndpointAddress(c.uri);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message.find(c.reason), std::string::npos)
        << parsed.error().message;
  }
}

}  // namespace
}  // namespace warden::workload
