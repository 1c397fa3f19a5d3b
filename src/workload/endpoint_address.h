// The Workload API endpoint address (SPIFFE_Workload_Endpoint.md §4; identity-standards
// §4.2, §11): `unix:///abs/path` or `unix:/abs/path` (no authority, query or fragment;
// relative paths rejected), or `tcp://<IP literal>:<port>` (no DNS names, no path,
// userinfo, query or fragment). Anything else is an error naming the rule it breaks.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace warden::workload {

struct EndpointAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;           // kUnix: absolute socket path
  std::string host;           // kTcp: IP literal (v6 without brackets)
  std::uint16_t port = 0;     // kTcp
  std::string grpcTarget() const;  // "unix:/abs/path" or "ipv4:1.2.3.4:5" / "ipv6:[::1]:5"
};

Result<EndpointAddress> parseEndpointAddress(std::string_view uri);

// The `SPIFFE_ENDPOINT_SOCKET` environment variable's name.
inline constexpr const char* kEndpointSocketEnv = "SPIFFE_ENDPOINT_SOCKET";

}  // namespace warden::workload
