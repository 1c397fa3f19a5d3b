// One plain HTTP/1.1 exchange with a listener on 127.0.0.1: how `warden up` reads the
// sidecars' /readyz and how `warden matrix` drives the sample agents and the egress
// listeners (both loopback and plain HTTP by design). Blocking, one connection per call,
// bounded by a deadline.
// Thread-safety: free function.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace warden::demo {

struct LocalHttpResult {
  int status = 0;       // 0: no answer (see error)
  std::string body;
  std::string error;
};

LocalHttpResult localHttp(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::vector<std::pair<std::string, std::string>>& headers = {},
                          const std::string& body = "",
                          std::chrono::milliseconds timeout = std::chrono::seconds(10),
                          const std::string& host = "127.0.0.1");

}  // namespace warden::demo
