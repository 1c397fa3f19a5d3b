// A test call (docs/sidecar.md#test-calls): one request the control plane asks this
// sidecar to send, so an administrator can compare a What If verdict with what the mesh
// really does. The sidecar sends it to its own egress listener, exactly as its app would:
// the same route, the same SVID, the same token, the same audit line. It never reaches
// anything the app could not.
//
// Sent only when `control_plane.test_calls: true`; the call itself is parsed as strictly
// as any other input from the network (the server is trusted for policy, not for bytes).
// Thread-safety: pure functions, and a coroutine on the caller's executor.
#pragma once

#include <nlohmann/json.hpp>

#include <boost/asio/awaitable.hpp>
#include <string>

#include "common/result.h"
#include "proxy/sidecar_config.h"

namespace warden::proxy {

// The most of an answer's body sent back to the server.
inline constexpr std::size_t kTestCallBodyLimit = 64 * 1024;

struct TestCall {
  std::string id;      // the server's, [0-9a-f]{1,64}
  std::string target;  // SPIFFE ID the route must expect
  std::string method;  // RFC 9110 token
  std::string path;    // origin-form
  std::string body;
  std::string content_type;
};

// One element of the server's `calls` list.
Result<TestCall> parseTestCall(const nlohmann::json& j);

// The Host header that makes this egress route the call to `target` for `path`: the host
// of a route expecting that SPIFFE ID which is also the route the egress selects for that
// Host and path. An error says there is none (the app could not reach the target either).
Result<std::string> testCallHost(const EgressConfig& egress, const std::string& target,
                                 const std::string& path);

// Sends the call to the egress listener at `egress_listener` and returns the answer the
// server expects: {status, latency_ms, body, body_truncated, content_type}, or {failure}.
boost::asio::awaitable<nlohmann::json> runTestCall(const EgressConfig& egress,
                                                   Endpoint egress_listener, TestCall call);

}  // namespace warden::proxy
